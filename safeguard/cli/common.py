"""Options and helpers shared by the commands."""

from __future__ import annotations

import typer

from safeguard.store import Store
from safeguard.store.audit import AuditEvent, AuditLog, cli_actor

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Store: a SQLite file or a postgresql:// URL [default: $SAFEGUARD_DB or ./safeguard.db].",
)
WORKERS_OPTION = typer.Option(
    None, "--workers", min=1, help="Processes to hash with [default: all cores]."
)


def audit_from_cli(store: Store, event: str, detail: dict) -> None:
    """Write a change made from the command line to the audit log, as its user."""
    actor, origin = cli_actor()
    AuditLog(store.engine).append([AuditEvent(actor, origin, event, detail)])
