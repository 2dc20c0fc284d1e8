"""``safeguard serve``: the match service, in as many worker processes as asked."""

from __future__ import annotations

import os
import shutil
import tempfile

import typer

from safeguard.cli.common import DB_OPTION
from safeguard.index.pdq import PdqIndex
from safeguard.store import Store
from safeguard.store.database import database_url


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: int = typer.Option(
        2, "--workers", min=1, help="Worker processes (each follows the store on its own)."
    ),
    max_body: int = typer.Option(
        32 << 20, "--max-body", min=1024, help="Largest request body in bytes (else 413)."
    ),
    log_level: str = typer.Option("warning", "--log-level"),
    db: str = DB_OPTION,
) -> None:
    """Serve the match API (/v1) with its OpenAPI document at /docs and /openapi.json."""
    import uvicorn

    url = database_url(db)
    # Build or bring the saved index up to date once, here, so that the workers
    # all open the same saved file instead of each rebuilding it.
    store = Store.open(url)
    PdqIndex(store)
    store.close()
    metrics_dir = tempfile.mkdtemp(prefix="safeguard-metrics-")
    os.environ.update(
        SAFEGUARD_DB=url,
        SAFEGUARD_SERVICE_WORKERS=str(workers),
        SAFEGUARD_MAX_BODY_BYTES=str(max_body),
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
    )
    # Fewer malloc arenas: the decode threads otherwise each keep their own and
    # a worker's resident memory creeps up under upload load.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    typer.echo(f"safeguard: serving on http://{host}:{port} with {workers} worker(s)", err=True)
    try:
        uvicorn.run(
            "safeguard.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
