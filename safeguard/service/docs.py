"""The API's documentation pages, Swagger UI and ReDoc, from assets shipped in a package
(``fastapi-offline``) rather than a CDN: they work on a network with no way out. A
content security policy keeps everything they fetch on the service itself (ReDoc's
footer would otherwise fetch its logo from the internet)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL, REDOC_URL, DOCS_ASSETS = "/docs", "/redoc", "/docs-assets"
_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# The pages start their viewers with inline scripts; nothing may come from elsewhere.
_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc (create the app with ``docs_url=None, redoc_url=None``)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS), name="docs-assets")
    assert app.openapi_url is not None
    openapi_url = app.openapi_url

    # The pages never change while the service runs: made once, served with the policy.
    pages = {
        DOCS_URL: get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        ).body,
        REDOC_URL: get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        ).body,
    }

    def serve(request: Request) -> HTMLResponse:
        return HTMLResponse(pages[request.url.path], headers={"Content-Security-Policy": _POLICY})

    for path in pages:
        app.add_api_route(path, serve, methods=["GET"], include_in_schema=False)
