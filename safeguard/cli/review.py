"""``safeguard review``: the review workspace, served on this machine."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import typer

from safeguard.cli.common import DB_OPTION, open_store
from safeguard.errors import UsageError


def review_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8100, "--port", min=0, max=65535),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow an address other than loopback (put TLS in front)."
    ),
    tls_in_front: bool = typer.Option(
        False, "--tls-in-front", help="A TLS proxy serves the workspace: cookies are Secure."
    ),
    idle_minutes: int = typer.Option(30, "--idle-minutes", min=1, help="Idle sessions end."),
    break_minutes: int = typer.Option(
        45, "--break-minutes", min=0, help="Minutes of active review before a break reminder."
    ),
    reveal_seconds: int = typer.Option(
        10,
        "--reveal-seconds",
        min=1,
        max=120,
        help="A revealed picture blurs again after this many seconds (or when focus moves).",
    ),
    db: str = DB_OPTION,
) -> None:
    """Serve the review workspace: grade unknown pictures, blurred by default."""
    import uvicorn

    from safeguard.review.app import create_review_app
    from safeguard.review.desk import ReviewSettings

    if not _loopback(host):
        if not allow_remote:
            raise UsageError(
                f"{host} is not a loopback address: the workspace shows pictures and takes "
                "passwords, so it listens on this machine only unless --allow-remote is given"
            )
        typer.echo(
            "safeguard: WARNING: serving beyond this machine; put a TLS proxy in front "
            "(passwords, session cookies and pictures would otherwise cross the network in "
            "clear) and pass --tls-in-front",
            err=True,
        )
    settings = ReviewSettings(
        idle=timedelta(minutes=idle_minutes),
        secure_cookies=tls_in_front,
        break_minutes=break_minutes,
        reveal_seconds=reveal_seconds,
    )
    app = create_review_app(open_store(db), settings)
    typer.echo(f"safeguard: review workspace on http://{host}:{port}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
