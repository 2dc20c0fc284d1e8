"""The operator console at ``/console``: what an administrator of a platform's Safeguard
needs to see and do without the command line. Lists with their counts, policies and
provenance; an entry search; a match tester; recent decisions; keys (a new one's token
shown once; revoke); webhook deliveries and failures; the audit log and whether its
chain holds.

Log in with an admin API key; the session cookie is HttpOnly and SameSite=Strict (Secure
behind TLS), every change carries the session's form token and must come from this
origin, and every page is ``no-store`` under a policy that loads nothing from elsewhere.
Changes made here are audited as the key that opened the session.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from safeguard.service import console_pages as ui
from safeguard.service.auth import Caller, client_origin
from safeguard.service.decisions import DecisionDesk, UnhashableUpload, UploadTooLarge
from safeguard.store import Store
from safeguard.store.audit import AuditLog
from safeguard.store.console_sessions import ConsoleSession, ConsoleSessions
from safeguard.store.entry_search import find_entries
from safeguard.store.keys import KeyStore, Scope, parse_token
from safeguard.store.webhooks import WebhookStore

COOKIE = "safeguard_console"
PREFIX = "/console"
_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it a browser sends "Origin: null" with the console's own forms.
    "Referrer-Policy": "same-origin",
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


class _LoginNeeded(Exception):
    pass


def install(app: FastAPI, store: Store, desk: DecisionDesk, *, secure_cookie: bool) -> None:
    sessions = ConsoleSessions(store.engine)
    keys = KeyStore(store.engine)
    audit = AuditLog(store.engine)
    webhooks = WebhookStore(store.engine)

    @app.exception_handler(_LoginNeeded)
    async def to_login(_request: Request, _error: _LoginNeeded) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    def current(request: Request) -> ConsoleSession:
        found = sessions.find(request.cookies.get(COOKIE))
        if found is None:
            raise _LoginNeeded
        return found

    async def change(request: Request) -> tuple[ConsoleSession, dict]:
        """The session and form of a change, refused unless same-origin with its token."""
        found = current(request)
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            raise HTTPException(403, "a change must come from the console's own pages")
        form = await request.form()
        if form.get("csrf") != found.csrf:
            raise HTTPException(403, "the form is stale: reload the page")
        return found, form

    def shown(title: str, body: str, found: ConsoleSession) -> HTMLResponse:
        return _html(ui.page(title, body, who=found.key.name, csrf=found.csrf))

    def caller(request: Request, found: ConsoleSession) -> Caller:
        return Caller(found.key, client_origin(request))

    @app.get(f"{PREFIX}/console.css", include_in_schema=False)
    def style() -> Response:
        return Response(ui.STYLE, media_type="text/css", headers=_HEADERS)

    @app.get(f"{PREFIX}/login", include_in_schema=False)
    def login_page() -> HTMLResponse:
        return _html(ui.login())

    @app.post(f"{PREFIX}/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        token = str((await request.form()).get("key", "")).strip()
        parsed = parse_token(token)
        stored = keys.find(parsed[0]) if parsed else None
        key = stored.key if stored and stored.verifies(parsed[1]) else None
        if key is None or key.revoked_at is not None or not key.allows(Scope.ADMIN):
            return _html(ui.login("That is not a live admin key."), status=401)
        answer = RedirectResponse(PREFIX, status_code=303)
        answer.set_cookie(
            COOKIE,
            sessions.open(key),
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path=PREFIX,
        )
        audit.append([Caller(key, client_origin(request)).event("console.login", {})])
        return answer

    @app.post(f"{PREFIX}/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        await change(request)
        sessions.close(request.cookies.get(COOKIE, ""))
        answer = RedirectResponse(f"{PREFIX}/login", status_code=303)
        answer.delete_cookie(COOKIE, path=PREFIX)
        return answer

    @app.get(PREFIX, include_in_schema=False)
    def lists_page(request: Request) -> HTMLResponse:
        found = current(request)
        counts = store.entry_counts()
        rows = [
            (
                f'<a href="{PREFIX}/lists/{ui.cell(h.name)}">{ui.cell(h.name)}</a>',
                ui.cell(h.kind),
                ui.cell(h.scheme),
                "yes" if h.enabled else "no",
                ui.cell(h.effective_action or "none"),
                ui.cell(", ".join(f"{s} {n:,}" for s, n in sorted(counts.get(h.id, {}).items()))),
                f"<code>{ui.cell(json.dumps(h.thresholds_json()))}</code>",
                f"<code>{ui.cell(json.dumps(h.category_policies_json()))}</code>",
                ui.cell(f"{h.source_file or '-'} ({h.imported_by or '-'})"),
                ui.cell(h.updated_at.isoformat(timespec="seconds")),
            )
            for h in store.lists()
        ]
        headings = (
            "list",
            "kind",
            "scheme",
            "enabled",
            "action",
            "entries",
            "thresholds",
            "category actions",
            "source (by)",
            "last change",
        )
        return shown("Lists", ui.table(headings, rows), found)

    @app.get(f"{PREFIX}/lists/{{name}}", include_in_schema=False)
    def entries_page(request: Request, name: str, hash: str = "", category: str = ""):
        found = current(request)
        target = store.get_list(name)
        page = find_entries(
            store, target.id, hash_text=hash or None, category=category or None, limit=200
        )
        form = (
            f'<form method="get"><label for="hash">Hash</label><input id="hash" name="hash" '
            f'value="{ui.cell(hash)}" size="70"><label for="category">Category</label>'
            f'<input id="category" name="category" value="{ui.cell(category)}"> '
            "<button>Find</button></form>"
        )
        rows = [
            (
                ui.cell(r["id"]),
                ui.cell(r["signal"]),
                f'<span class="mono">{ui.cell(r["value"])}</span>',
                ui.cell(r["category"]),
                "yes" if r["disabled"] else "",
                ui.cell(r["external_id"]),
                ui.cell(r["notes"]),
            )
            for r in page.rows
        ]
        more = "<p>Showing the first 200; narrow the search.</p>" if page.next_after else ""
        body = (
            form
            + ui.table(
                ("id", "signal", "value", "category", "disabled", "external id", "notes"), rows
            )
            + more
        )
        return shown(f"Entries of {name}", body, found)

    @app.get(f"{PREFIX}/match", include_in_schema=False)
    def match_page(request: Request) -> HTMLResponse:
        found = current(request)
        return shown("Match tester", _match_form(found.csrf), found)

    @app.post(f"{PREFIX}/match", include_in_schema=False)
    async def match_test(request: Request) -> HTMLResponse:
        found, form = await change(request)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "choose a file")
        data = await upload.read()
        try:
            answer = desk.match_upload(data, upload.filename, caller(request, found))
        except (UploadTooLarge, UnhashableUpload) as error:
            result = f'<p class="bad">Cannot hash this file: {ui.cell(error)}</p>'
        else:
            rows = [
                (
                    ui.cell(m.get("action")),
                    ui.cell(m.get("list")),
                    ui.cell(m.get("signal")),
                    ui.cell(m.get("distance")),
                    ui.cell(m.get("category")),
                )
                for m in answer["matches"] or []
            ]
            result = (
                f'<p>Decision: <strong id="decision">{ui.cell(answer["action"])}</strong>'
                f" for {ui.cell(upload.filename)}</p>"
                + ui.table(("action", "list", "signal", "distance", "category"), rows)
            )
        return shown("Match tester", result + _match_form(found.csrf), found)

    @app.get(f"{PREFIX}/decisions", include_in_schema=False)
    def decisions_page(request: Request) -> HTMLResponse:
        found = current(request)
        return shown("Recent decisions", _records(audit.latest(100, ["match.decision"])), found)

    @app.get(f"{PREFIX}/keys", include_in_schema=False)
    def keys_page(request: Request) -> HTMLResponse:
        found = current(request)
        return shown("Keys", _keys_body(keys, found.csrf), found)

    @app.post(f"{PREFIX}/keys", include_in_schema=False)
    async def create_key(request: Request) -> HTMLResponse:
        found, form = await change(request)
        scopes = [Scope(s) for s in form.getlist("scope")]
        made, token = keys.create(
            str(form.get("name", "")),
            scopes,
            audit=lambda key: caller(request, found).event(
                "key.create", {"key": key.key_id, "name": key.name}
            ),
        )
        shown_once = (
            f'<p class="token">The new key for {ui.cell(made.name)}, shown this once: '
            f'<code id="token">{ui.cell(token)}</code></p>'
        )
        return shown("Keys", shown_once + _keys_body(keys, found.csrf), found)

    @app.post(f"{PREFIX}/keys/revoke", include_in_schema=False)
    async def revoke_key(request: Request) -> Response:
        found, form = await change(request)
        key_id = str(form.get("key_id", ""))
        keys.revoke(
            key_id,
            audit=lambda revoked: caller(request, found).event(
                "key.revoke", {"keys": [k.key_id for k in revoked]}
            ),
        )
        return RedirectResponse(f"{PREFIX}/keys", status_code=303)

    @app.get(f"{PREFIX}/webhooks", include_in_schema=False)
    def webhooks_page(request: Request) -> HTMLResponse:
        found = current(request)
        hooks = [(ui.cell(h.id), ui.cell(h.to_json()["url"])) for h in webhooks.all()]
        deliveries = [
            (
                ui.cell(d.id),
                ui.cell(d.webhook_id),
                ui.cell(d.event),
                ui.cell(d.status),
                ui.cell(d.attempts),
                f'<span class="bad">{ui.cell(d.last_error)}</span>',
            )
            for d in webhooks.deliveries(newest=200)
        ]
        body = (
            ui.table(("id", "url"), hooks)
            + "<h2>Deliveries</h2>"
            + ui.table(("id", "webhook", "event", "status", "attempts", "last error"), deliveries)
        )
        return shown("Webhooks", body, found)

    @app.get(f"{PREFIX}/audit", include_in_schema=False)
    def audit_page(request: Request) -> HTMLResponse:
        found = current(request)
        check = audit.verify()
        state = (
            f'<p class="ok" id="chain">Chain intact: {check.checked:,} records, head '
            f"<code>{ui.cell(check.head)}</code></p>"
            if check.ok
            else f'<p class="bad" id="chain">Chain broken at record {check.broken_at}: '
            f"{ui.cell(check.reason)}</p>"
        )
        return shown("Audit log", state + _records(audit.latest(200)), found)


def _match_form(csrf: str) -> str:
    return (
        f'<form method="post" enctype="multipart/form-data" action="{PREFIX}/match">'
        f'{ui.csrf_field(csrf)}<label for="file">A file to match (not kept)</label>'
        '<input id="file" name="file" type="file" required> <button>Match</button></form>'
    )


def _records(records) -> str:
    rows = [
        (
            ui.cell(r.seq),
            ui.cell(r.at),
            ui.cell(r.actor),
            ui.cell(r.origin),
            ui.cell(r.event),
            f'<span class="mono">{ui.cell(r.detail[:400])}</span>',
        )
        for r in records
    ]
    return ui.table(("seq", "at", "who", "from", "event", "detail"), rows)


def _keys_body(keys: KeyStore, csrf: str) -> str:
    def revoke(key_id: str) -> str:
        return (
            f'<form class="inline" method="post" action="{PREFIX}/keys/revoke">'
            f'{ui.csrf_field(csrf)}<input type="hidden" name="key_id" value="{ui.cell(key_id)}">'
            "<button>Revoke</button></form>"
        )

    rows = [
        (
            ui.cell(k.name),
            f"<code>{ui.cell(k.key_id)}</code>",
            ui.cell(" ".join(sorted(k.scopes))),
            ui.cell(k.created_at.isoformat(timespec="seconds")),
            ui.cell(k.revoked_at.isoformat(timespec="seconds"))
            if k.revoked_at
            else revoke(k.key_id),
        )
        for k in keys.all()
    ]
    scopes = "".join(
        f'<label><input type="checkbox" name="scope" value="{s.value}"> {s.value}</label>'
        for s in Scope
    )
    create = (
        f'<h2>New key</h2><form method="post" action="{PREFIX}/keys">{ui.csrf_field(csrf)}'
        '<label for="name">Who it is for</label><input id="name" name="name" required>'
        f"{scopes}<button>Create</button></form>"
    )
    return ui.table(("name", "id", "scopes", "created", "revoked"), rows) + create
