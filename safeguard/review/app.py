"""The review workspace's web application (``safeguard review``).

Access: a login sets one session cookie (``HttpOnly``, ``SameSite=Strict``, and
``Secure`` behind TLS) that the store keeps only as a digest; every change must
carry the session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf``)
and come from this origin. A viewer sees counts only: no grid, no picture. An
account limited to cases sees only those.

Exposure: a picture reaches the browser only as its review thumbnail, only for
an item no list grades (a list-graded item is never sent, not even blurred), and
with ``Cache-Control: no-store``. Every grade is written with its audit record.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from safeguard.errors import UsageError
from safeguard.review.pages import STYLE, grid_page, home_page, login_page, page
from safeguard.review.queue import review_queue
from safeguard.store import Scheme, Store
from safeguard.store.audit import AuditEvent
from safeguard.store.cases import Cases, Exhibit
from safeguard.store.grades import GradeConflict, GradeFlags, Grades
from safeguard.store.items import ExhibitItems
from safeguard.store.reviewers import IDLE_TIMEOUT, LoginRefused, Reviewers, Session
from safeguard.triage.counting import ALERT_KINDS
from safeguard.triage.report import ExhibitSection, summarise

COOKIE = "safeguard_review"
_SCRIPT = resources.files("safeguard.review").joinpath("review.js").read_text()
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it a browser sends "Origin: null" with a form, and the
    # same-origin check below could no longer tell this workspace's forms from others'.
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    idle: timedelta = IDLE_TIMEOUT
    secure_cookies: bool = False  # served over TLS (by a proxy in front)


class GradeRequest(BaseModel):
    case: str
    exhibit: str
    seq: int
    scheme: Scheme
    category: str = Field(max_length=16)
    seen_version: int = Field(ge=0)
    family: bool = False
    flags: GradeFlags = GradeFlags()


class UndoRequest(BaseModel):
    action_id: str = Field(max_length=64)


def create_review_app(store: Store, settings: ReviewSettings = ReviewSettings()) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    accounts, grades = Reviewers(store.engine), Grades(store.engine)
    cases, items = Cases(store), ExhibitItems(store)

    @app.middleware("http")
    async def guarded(request: Request, call_next):
        if request.method == "POST" and not _same_origin(request):
            return JSONResponse({"detail": "cross-origin request refused"}, 403)
        answer = await call_next(request)
        for name, value in _HEADERS.items():
            answer.headers.setdefault(name, value)
        return answer

    def session_of(request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        return accounts.session(token, idle=settings.idle) if token else None

    def change_by(request: Request, form_token: str | None = None) -> Session:
        session = session_of(request)
        if session is None:
            raise HTTPException(401, "log in first")
        sent = form_token or request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, "missing or wrong CSRF token")
        return session

    def opened(session: Session, case: str, exhibit: str) -> Exhibit:
        if not session.reviewer.may_open(case):
            raise HTTPException(403, "this account may not open that case")
        try:
            return cases.exhibit(case, exhibit)
        except UsageError as missing:
            raise HTTPException(404, str(missing)) from None

    def section_of(exhibit: Exhibit) -> ExhibitSection:
        return summarise(
            exhibit,
            items.items(exhibit.id, thumbnails=False),
            lambda seqs: items.by_seq(exhibit.id, seqs),
            grades.of_exhibit(exhibit.id),
        )

    @app.get("/static/review.js")
    def script() -> Response:
        return Response(_SCRIPT, media_type="text/javascript")

    @app.get("/static/review.css")
    def style() -> Response:
        return Response(STYLE, media_type="text/css")

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> str:
        return login_page()

    @app.post("/login")
    def login(name: str = Form(max_length=200), password: str = Form(max_length=1024)):
        try:
            token, _ = accounts.log_in(name, password)
        except LoginRefused as refused:
            return HTMLResponse(login_page(str(refused)), 401)
        answer = RedirectResponse("/", 303)
        answer.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies
        )
        return answer

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        change_by(request, csrf)
        accounts.log_out(request.cookies[COOKIE])
        answer = RedirectResponse("/login", 303)
        answer.delete_cookie(COOKIE)
        return answer

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        shown = []
        for case in cases.cases():
            if session.reviewer.may_open(case.name):
                for exhibit in cases.exhibits(case.name):
                    shown.append((case.name, exhibit.name, section_of(exhibit).summary))
        return home_page(session.reviewer, session.csrf, shown)

    @app.get("/case/{case}/{exhibit}", response_class=HTMLResponse)
    def exhibit_page(request: Request, case: str, exhibit: str, scheme: Scheme = Scheme.UK):
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        chosen = opened(session, case, exhibit)
        section = section_of(chosen)
        if not session.reviewer.sees_pictures:
            counts = "".join(
                f"<tr><td>{key}</td><td>{section.summary[key]:,}</td></tr>"
                for key in ("files", "matched_files", "unknown_images", "graded_images")
            )
            body = f"<h1>{case} / {exhibit}</h1><p>Counts only.</p><table>{counts}</table>"
            return page(exhibit, body, session.reviewer, session.csrf)
        queue = review_queue(section, items.locators(chosen.id), grades.of_exhibit(chosen.id))
        return grid_page(
            session.reviewer, session.csrf, case, exhibit, scheme, queue, section.summary
        )

    @app.get("/thumb/{case}/{exhibit}/{seq}")
    def thumbnail(request: Request, case: str, exhibit: str, seq: int) -> Response:
        session = session_of(request)
        if session is None:
            raise HTTPException(401, "log in first")
        if not session.reviewer.sees_pictures:
            raise HTTPException(403, "a viewer sees counts only")
        found = items.by_seq(opened(session, case, exhibit).id, [seq])
        if not found or not found[0].thumbnail:
            raise HTTPException(404, "no picture to show")
        if any(match.list_kind in ALERT_KINDS for match in found[0].matches):
            raise HTTPException(404, "a picture a list grades is never shown")
        return Response(found[0].thumbnail, media_type="image/jpeg")

    @app.post("/api/grade")
    def grade(request: Request, asked: GradeRequest) -> dict:
        session = change_by(request)
        chosen = opened(session, asked.case, asked.exhibit)
        family: list[int] = []
        if asked.family:
            section = section_of(chosen)
            families = section.families.first(len(section.families))
            family = next((f for f in families if asked.seq in f), [])
        try:
            action = grades.grade(
                chosen.id, asked.seq, asked.scheme, asked.category,
                by=session.reviewer, seen_version=asked.seen_version, flags=asked.flags,
                family=family, audit=_audit(request, session, "grade.set", asked.model_dump()),
            )  # fmt: skip
        except GradeConflict as conflict:
            raise HTTPException(409, str(conflict)) from None
        except UsageError as refused:
            raise HTTPException(422, str(refused)) from None
        version = grades.of_exhibit(chosen.id)[asked.seq].version
        return {"action_id": action.action_id, "changed": action.changed,
                "kept": action.kept, "version": version}  # fmt: skip

    @app.post("/api/undo")
    def undo(request: Request, asked: UndoRequest) -> dict:
        session = change_by(request)
        try:
            action = grades.undo(
                asked.action_id,
                by=session.reviewer,
                audit=_audit(request, session, "grade.undo", asked.model_dump()),
            )
        except GradeConflict as conflict:
            raise HTTPException(409, str(conflict)) from None
        except UsageError as refused:
            raise HTTPException(422, str(refused)) from None
        return {"action_id": action.action_id, "changed": action.changed}

    return app


def _audit(request: Request, session: Session, event: str, detail: dict):
    origin = request.client.host if request.client else "unknown"
    return lambda action: AuditEvent(
        f"reviewer:{session.reviewer.name}",
        origin,
        event,
        {**detail, "action_id": action.action_id, "changed": list(action.changed)},
    )


def _same_origin(request: Request) -> bool:
    """A browser names the page a POST came from; it must be this workspace's."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")
