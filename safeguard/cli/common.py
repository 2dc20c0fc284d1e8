"""Options and helpers shared by the commands."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Store: a SQLite file or a postgresql:// URL [default: $SAFEGUARD_DB or ./safeguard.db].",
)
WORKERS_OPTION = typer.Option(
    None, "--workers", min=1, help="Processes to hash with [default: all cores]."
)
