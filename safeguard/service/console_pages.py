"""The operator console's pages: plain server-rendered HTML, every value escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

NAV = (
    ("/console", "Lists"),
    ("/console/match", "Match tester"),
    ("/console/decisions", "Recent decisions"),
    ("/console/keys", "Keys"),
    ("/console/webhooks", "Webhooks"),
    ("/console/audit", "Audit log"),
)

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1f}
header{background:#1e293b;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;flex-wrap:wrap}
header a{color:#e2e8f0}main{padding:1rem;max-width:80rem}
table{border-collapse:collapse;margin:.6rem 0;width:100%}
th,td{border:1px solid #cbd5e1;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f5f9}code,.mono{font-family:ui-monospace,monospace;word-break:break-all}
.ok{color:#166534;font-weight:600}.bad{color:#9f1239;font-weight:600}
form.inline{display:inline}button{font:inherit;padding:.3rem .8rem}
label{display:block;margin:.4rem 0 .1rem;font-weight:600}.token{background:#fef9c3;padding:.5rem}
"""


def cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; ``rows`` hold HTML already escaped (see :func:`cell`)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str, *, who: str | None = None, csrf: str | None = None) -> str:
    nav = ""
    if who is not None:
        links = "".join(f'<a href="{href}">{escape(label)}</a>' for href, label in NAV)
        logout = (
            f'<form class="inline" method="post" action="/console/logout">'
            f"{csrf_field(csrf or '')}<button>Log out {escape(who)}</button></form>"
        )
        nav = f"<header><strong>Safeguard console</strong>{links}{logout}</header>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - Safeguard console</title>"
        f'<link rel="stylesheet" href="/console/console.css"></head>'
        f"<body>{nav}<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def login(problem: str | None = None) -> str:
    said = f'<p class="bad" role="alert">{escape(problem)}</p>' if problem else ""
    return page(
        "Log in",
        f'{said}<form method="post" action="/console/login">'
        '<label for="key">Admin API key</label>'
        '<input id="key" name="key" type="password" autocomplete="off" size="60" required>'
        " <button>Log in</button></form><p>Only keys with the <code>admin</code> scope open "
        "the console. The key is checked and forgotten; the session ends after 30 minutes "
        "without a page, on logout, or when the key is revoked.</p>",
    )
