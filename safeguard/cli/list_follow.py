"""``safeguard lists follow``: keep a local list in step with another Safeguard's list."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.errors import UsageError


def follow_command(
    url: str = typer.Argument(
        ..., help="The list on the other Safeguard: https://HOST/v1/lists/NAME"
    ),
    list_name: str = typer.Option(..., "--list", help="The local list (made on the first run)."),
    key_file: Path = typer.Option(
        ..., "--key-file", help="A file holding an API key with lists:read on the other side."
    ),
    every: float = typer.Option(
        None, "--every", min=1, help="Keep following, looking again every this many seconds."
    ),
    page_size: int = typer.Option(1000, "--page-size", min=1, max=5000),
    verify: str = typer.Option(
        None,
        "--verify",
        help="ed25519:KEY: refuse any page that key did not sign.",
        metavar="PUBLIC_KEY",
    ),
    db: str = DB_OPTION,
) -> None:
    """Apply every change the other list has made since the last run (resumable, idempotent)."""
    from safeguard.exchange.follow import follow_once

    key = key_file.read_text().strip()
    if not key:
        raise UsageError(f"{key_file} holds no key")
    store = open_store(db)
    while True:
        done = follow_once(
            store, url, list_name, key, page_size=page_size, verify_with=verify,
            audit=cli_audit("list.follow", lambda detail: detail),
        )  # fmt: skip
        typer.echo(
            f"followed {url} into {list_name!r}: {done.upserted:,} added or changed, "
            f"{done.removed:,} removed in {done.pages} page(s); at {done.cursor}"
        )
        if every is None:
            return
        time.sleep(every)
