"""The review workspace's web application (``safeguard review``): its pages.

Access: a login sets one session cookie (``HttpOnly``, ``SameSite=Strict``, and
``Secure`` behind TLS) that the store keeps only as a digest; every change must
carry the session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf``)
and come from this origin. A viewer sees counts only: no grid, no picture. An
account limited to cases sees only those.

Exposure: a picture reaches the browser as its review thumbnail or, one at a
time and audited, revealed (:mod:`safeguard.review.reveal`); only for an item no
list grades (a list-graded item is never sent, not even blurred), and always
with ``Cache-Control: no-store``. Every grade is written with its audit record
(:mod:`safeguard.review.api`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from safeguard.review.api import add_api
from safeguard.review.desk import COOKIE, Desk, ReviewSettings
from safeguard.review.pages import (
    STYLE,
    confirm_page,
    counts_page,
    dashboard_page,
    day_page,
    grid_page,
    home_page,
    login_page,
)
from safeguard.review.queue import review_queue
from safeguard.review.reveal import add_reveal
from safeguard.store import Scheme, Store
from safeguard.store.reviewers import LoginRefused, Role
from safeguard.vocabulary.entries import ALERT_KINDS

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


def create_review_app(store: Store, settings: ReviewSettings = ReviewSettings()) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    desk = Desk(store, settings)

    @app.middleware("http")
    async def guarded(request: Request, call_next):
        if request.method == "POST" and not _same_origin(request):
            return JSONResponse({"detail": "cross-origin request refused"}, 403)
        answer = await call_next(request)
        for name, value in _HEADERS.items():
            answer.headers.setdefault(name, value)
        return answer

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
            token, _ = desk.accounts.log_in(name, password)
        except LoginRefused as refused:
            return HTMLResponse(login_page(str(refused)), 401)
        answer = RedirectResponse("/", 303)
        answer.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies
        )
        return answer

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        desk.change_by(request, csrf)
        desk.accounts.log_out(request.cookies[COOKIE])
        answer = RedirectResponse("/login", 303)
        answer.delete_cookie(COOKIE)
        return answer

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        session = desk.session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        shown = []
        for case in desk.cases.cases():
            if session.reviewer.may_open(case.name):
                for exhibit in desk.cases.exhibits(case.name):
                    counts = {
                        **desk.section(exhibit).summary,
                        "graded_images": len(desk.grades.of_exhibit(exhibit.id)),
                    }
                    shown.append((case.name, exhibit.name, counts))
        return home_page(session.reviewer, session.csrf, shown)

    @app.get("/case/{case}/{exhibit}", response_class=HTMLResponse)
    def exhibit_page(
        request: Request, case: str, exhibit: str, scheme: Scheme = Scheme.UK, page: int = 0
    ):
        session = desk.session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        chosen = desk.opened(session, case, exhibit)
        section = desk.section(chosen)
        grades = desk.grades.of_exhibit(chosen.id)
        if not session.reviewer.sees_pictures:
            return counts_page(session.reviewer, session.csrf, case, exhibit, section.summary,
                               len(grades))  # fmt: skip
        queue = review_queue(section, desk.items.locators(chosen.id), grades)
        videos = [
            video for video in desk.items.of_kind(chosen.id, "video")
            if not any(match.list_kind in ALERT_KINDS for match in video.matches)
        ] if page <= 0 else []  # fmt: skip
        return grid_page(
            session.reviewer, session.csrf, case, exhibit, scheme, queue, section.summary,
            max(page, 0), settings, videos,
        )  # fmt: skip

    @app.get("/case/{case}/{exhibit}/confirm", response_class=HTMLResponse)
    def confirm_view(request: Request, case: str, exhibit: str):
        session = desk.session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        if session.reviewer.role is not Role.SUPERVISOR:
            raise HTTPException(403, "second opinions are a supervisor's")
        chosen = desk.opened(session, case, exhibit)
        graded = desk.grades.of_exhibit(chosen.id)
        return confirm_page(session.reviewer, session.csrf, case, exhibit, graded, settings)

    @app.get("/case/{case}/{exhibit}/exposure", response_class=HTMLResponse)
    def exposure_view(request: Request, case: str, exhibit: str):
        session = desk.session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        chosen = desk.opened(session, case, exhibit)
        graded = desk.grades.of_exhibit(chosen.id).values()
        exposure = {
            "via_family": sum(1 for grade in graded if grade.via_seq is not None),
            "seen": desk.exposure.pictures_seen(chosen.id),
            "revealed": desk.exposure.pictures_seen(chosen.id, revealed=True),
        }
        summary = desk.section(chosen).summary
        return dashboard_page(session.reviewer, session.csrf, case, exhibit, summary, exposure)

    @app.get("/today", response_class=HTMLResponse)
    def today(request: Request):
        session = desk.session_of(request)
        if session is None:
            return RedirectResponse("/login", 303)
        mine = session.reviewer.role is not Role.SUPERVISOR
        names = [session.reviewer.name] if mine else None
        summaries = desk.exposure.day(datetime.now(UTC).date(), names)
        return day_page(session.reviewer, session.csrf, summaries)

    @app.get("/thumb/{case}/{exhibit}/{seq}")
    def thumbnail(request: Request, case: str, exhibit: str, seq: int) -> Response:
        session = desk.viewer(request)
        chosen, item = desk.picture(session, case, exhibit, seq, lambda i: bool(i.thumbnail))
        desk.exposure.record_view(session.reviewer.name, chosen.id, seq)
        return Response(item.thumbnail, media_type="image/jpeg")

    add_api(app, desk)
    add_reveal(app, desk)
    return app


def _same_origin(request: Request) -> bool:
    """A browser names the page a POST came from; it must be this workspace's."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")
