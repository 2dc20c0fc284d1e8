"""``safeguard audit``: read and verify the hash-chained audit log."""

from __future__ import annotations

import json

import typer

from safeguard.cli.common import DB_OPTION, open_store
from safeguard.store.audit import AuditLog

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify_command(db: str = DB_OPTION) -> None:
    """Check every record's hash and link; exit 1 naming the first broken record."""
    result = AuditLog(open_store(db).engine).verify()
    if result.ok:
        typer.echo(f"audit log intact: {result.checked:,} records; head {result.head}")
        return
    typer.echo(
        f"audit log BROKEN at record {result.broken_at}: {result.reason} "
        f"({result.checked:,} records before it verified)",
        err=True,
    )
    raise typer.Exit(1)


@app.command("ls")
def ls_command(
    after: int = typer.Option(0, "--after", help="Only records after this sequence number."),
    limit: int = typer.Option(None, "--limit", min=1),
    db: str = DB_OPTION,
) -> None:
    """Audit records as JSON lines, oldest first."""
    for record in AuditLog(open_store(db).engine).records(after, limit):
        typer.echo(json.dumps(record.to_json()))
