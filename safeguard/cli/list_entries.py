"""``safeguard lists show``: find a list's entries (their ids are what disabling needs)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.common import DB_OPTION, open_store
from safeguard.store.entry_search import MAX_PAGE, find_entries


def show_command(
    name: str = typer.Argument(...),
    hash_text: str = typer.Option(None, "--hash", help="Only entries holding this hash (hex)."),
    category: str = typer.Option(None, "--category", help="Only entries of this category."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many entries."),
    after: int = typer.Option(0, "--after", min=0, help="Only entries with a larger id."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
    db: str = DB_OPTION,
) -> None:
    """A list's entries, oldest first: id, signal, value, category and details."""
    store = open_store(db)
    target = store.get_list(name)
    shown = 0
    rows = []
    while shown < limit:
        page = find_entries(
            store, target.id, hash_text=hash_text, category=category, after=after,
            limit=min(MAX_PAGE, limit - shown),
        )  # fmt: skip
        rows += page.rows
        shown += len(page.rows)
        if page.next_after is None:
            break
        after = page.next_after
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table()
    for column in ("id", "signal", "value", "category", "disabled", "external id", "notes"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]), row["signal"], row["value"], row["category"] or "-",
            "yes" if row["disabled"] else "", row["external_id"] or "", row["notes"] or "",
        )  # fmt: skip
    Console().print(table)
    typer.echo(f"{len(rows):,} entr{'y' if len(rows) == 1 else 'ies'} of {name!r}", err=True)
