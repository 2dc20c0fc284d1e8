"""``safeguard cases``: which cases a store holds, their exhibits, and what they are for."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.store.cases import Cases

app = typer.Typer(help="Cases and their exhibits: list, show, describe.", no_args_is_help=True)


@app.command("ls")
def ls_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per case."),
    db: str = DB_OPTION,
) -> None:
    """Every case, with its reference, agency, examiner and its exhibits' states."""
    cases = Cases(open_store(db))
    rows = []
    for case in cases.cases():
        exhibits = cases.exhibits(case.name)
        rows.append({**case.to_json(), "exhibits": {e.name: e.state for e in exhibits}})
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table()
    for column in ("case", "reference", "agency", "examiner", "exhibits"):
        table.add_column(column)
    for row in rows:
        states = ", ".join(f"{name} ({state})" for name, state in row["exhibits"].items())
        table.add_row(row["name"], row["reference"] or "-", row["agency"] or "-",
                      row["examiner"] or "-", states or "-")  # fmt: skip
    Console().print(table)


@app.command("show")
def show_command(
    case: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="The case as one JSON object."),
    db: str = DB_OPTION,
) -> None:
    """A case: its details and, per exhibit, source, status, who scanned it, when, which lists."""
    from safeguard.store.items import ExhibitItems

    store = open_store(db)
    cases, items = Cases(store), ExhibitItems(store)
    found = cases.case(case)
    exhibits = [
        {
            "name": e.name,
            "source": e.source,
            "status": e.state,
            "examiner": e.examiner,
            "started_at": _iso(e.started_at),
            "finished_at": _iso(e.finished_at),
            "matched_at": _iso(e.matched_at),
            "items": items.item_count(e.id),
            "lists": {used["name"]: used["revision"] for used in e.lists_used},
            "warnings": [problem.to_json() for problem in e.problems],
        }
        for e in cases.exhibits(case)
    ]
    document = {**found.to_json(), "exhibits": exhibits}
    if as_json:
        typer.echo(json.dumps(document, indent=1))
        return
    for key in ("name", "reference", "agency", "examiner", "notes", "created_at"):
        typer.echo(f"{key:12} {document[key] if document[key] is not None else '-'}")
    for exhibit in exhibits:
        lists = ", ".join(f"{name} (rev {rev})" for name, rev in exhibit["lists"].items())
        typer.echo(
            f"\nexhibit {exhibit['name']}: {exhibit['status']}, {exhibit['items']:,} items\n"
            f"  source    {exhibit['source']}\n"
            f"  scanned   by {exhibit['examiner'] or '-'}, {exhibit['started_at']} to "
            f"{exhibit['finished_at'] or '(not finished)'}\n"
            f"  matched   {exhibit['matched_at'] or '-'} against {lists or '(not recorded)'}"
        )
        for warning in exhibit["warnings"]:
            typer.echo(f"  {warning['level']}: {warning['message']}")


@app.command("set")
def set_command(
    case: str = typer.Argument(...),
    examiner: str = typer.Option(None, "--examiner", help="The case's examiner."),
    agency: str = typer.Option(None, "--agency"),
    reference: str = typer.Option(None, "--reference", help="The agency's own case number."),
    notes: str = typer.Option(None, "--notes"),
    grading: str = typer.Option(
        None,
        "--grading",
        help="dual: a grade counts as verified once a supervisor confirms it (the default); "
        "single: as soon as it is made.",
    ),
    db: str = DB_OPTION,
) -> None:
    """Describe a case (created if new): what a report is signed on."""
    store = open_store(db)
    details = {"examiner": examiner, "agency": agency, "reference": reference, "notes": notes,
               "grading": grading}  # fmt: skip
    given = {k: v for k, v in details.items() if v is not None}
    described = Cases(store).describe_case(
        case, audit=cli_audit("case.describe", {"case": case, **given}), **details
    )
    typer.echo(json.dumps(described.to_json()))


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
