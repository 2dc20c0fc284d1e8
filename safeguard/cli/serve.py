"""``safeguard serve``: the match service, in as many worker processes as asked."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile

import typer

from safeguard.cli.common import DB_OPTION, open_store, warn_without_alert_lists
from safeguard.errors import UsageError


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: int = typer.Option(
        2, "--workers", min=1, help="Worker processes (each follows the store on its own)."
    ),
    max_body: int = typer.Option(
        32 << 20, "--max-body", min=1024, help="Largest request body in bytes (else 413)."
    ),
    max_upload_pixels: int = typer.Option(
        40_000_000,
        "--max-upload-pixels",
        min=262_144,
        help="Most pixels one upload's decode may allocate (else 413).",
    ),
    self_report_origins: list[str] = typer.Option(
        None,
        "--self-report-origin",
        help="Where a self-report page built with `safeguard self-report build` is hosted "
        "(https://...): lets it call the API (repeatable).",
    ),
    trusted_proxies: list[str] = typer.Option(
        None,
        "--trusted-proxy",
        help="Address or network (CIDR) of a reverse proxy in front: X-Forwarded-For is read "
        "only from these, and gives the client's address to audit records and limits "
        "(repeatable; $SAFEGUARD_TRUSTED_PROXIES, comma-separated) \\[default: none trusted].",
    ),
    redis: str = typer.Option(
        None,
        "--redis",
        help="redis://HOST:PORT/DB: keep per-key rate limits there, shared by every instance "
        "of the service ($SAFEGUARD_REDIS_URL) \\[default: each worker keeps its share].",
    ),
    log_level: str = typer.Option("warning", "--log-level"),
    db: str = DB_OPTION,
) -> None:
    """Serve the match API (/v1) with its OpenAPI document at /docs and /openapi.json, and
    the self-report page at /report/."""
    import uvicorn

    from safeguard.index.hamming import HammingIndex
    from safeguard.service.http_limits import GuardedHttpToolsProtocol
    from safeguard.service.settings import ServiceSettings
    from safeguard.store.database import database_url

    proxies = _trusted(trusted_proxies)
    url = database_url(db)
    store = open_store(db)
    warn_without_alert_lists(store)
    _check_free(host, port)  # say so now, not after "serving on" has been printed
    # Build or bring the saved index up to date once, here, so that the workers
    # all open the same saved file instead of each rebuilding it.
    HammingIndex(store)
    store.close()
    metrics_dir = tempfile.mkdtemp(prefix="safeguard-metrics-")
    os.environ.update(
        SAFEGUARD_DB=url,
        SAFEGUARD_SERVICE_WORKERS=str(workers),
        SAFEGUARD_MAX_BODY_BYTES=str(max_body),
        SAFEGUARD_MAX_UPLOAD_PIXELS=str(max_upload_pixels),
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
    )
    if redis:
        os.environ["SAFEGUARD_REDIS_URL"] = redis
    if self_report_origins:
        os.environ["SAFEGUARD_SELF_REPORT_ORIGINS"] = ",".join(
            origin.rstrip("/") for origin in self_report_origins
        )
    settings = ServiceSettings()
    # Fewer malloc arenas: the decode threads otherwise each keep their own and
    # a worker's resident memory creeps up under upload load.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    typer.echo(
        f"safeguard: serving on http://{host}:{port} with {workers} worker(s); "
        f"self-report page at http://{host}:{port}/report/",
        err=True,
    )
    try:
        uvicorn.run(
            "safeguard.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            http=GuardedHttpToolsProtocol,  # header size and time limits: see http_limits
            limit_concurrency=settings.max_connections,
            # Without a trusted proxy, a forwarded address is never believed (uvicorn
            # would otherwise believe any from 127.0.0.1: a local client could name itself).
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _trusted(given: list[str] | None) -> list[str]:
    """The proxies' addresses or networks, checked: a typo must not trust the world."""
    named = given or [
        part.strip()
        for part in os.environ.get("SAFEGUARD_TRUSTED_PROXIES", "").split(",")
        if part.strip()
    ]
    for entry in named:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise UsageError(f"--trusted-proxy {entry!r} is not an address or network") from None
        if network.prefixlen == 0:
            raise UsageError(f"--trusted-proxy {entry!r} would trust every address")
    return named


def _check_free(host: str, port: int) -> None:
    """Raise the bind error (a port in use, an address not on this machine) before starting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
