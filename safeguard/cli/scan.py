"""``safeguard scan`` and ``safeguard report``: triage an exhibit, then report on the case."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from safeguard.cli.common import DB_OPTION, WORKERS_OPTION
from safeguard.cli.progress import stderr_is_terminal
from safeguard.errors import UsageError
from safeguard.media.images import PdqMode
from safeguard.store.cases import Cases, Exhibit
from safeguard.store.lists import Store
from safeguard.triage.exports import write_schedule, write_vics_case
from safeguard.triage.html import render
from safeguard.triage.report import case_report
from safeguard.triage.scan import ScanOptions, is_top_level, plan, scan_exhibit

NOT_COMPLETE_EXIT = 3  # the exhibit was not fully read: incomplete or failed


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    VICS = "vics"


def scan_command(
    source: Path = typer.Argument(..., exists=True, help="A folder, a disk image or a file."),
    case: str = typer.Option(..., "--case"),
    exhibit: str = typer.Option(..., "--exhibit"),
    pdq_mode: PdqMode = typer.Option(PdqMode.FAST, "--pdq-mode"),
    as_json: bool = typer.Option(False, "--json", help="Print the exhibit summary as JSON."),
    workers: int = WORKERS_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Hash, match and record every file of an exhibit (resumes a killed scan)."""
    store = Store.open(db)
    options = ScanOptions(pdq_mode=pdq_mode)
    if stderr_is_terminal():
        listed, total = plan(source)
        progress = Progress(
            TextColumn(f"[bold]scanning {exhibit}"),
            BarColumn(),
            TextColumn(f"{{task.fields[files]:,}} files ({listed:,} listed)"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        with progress:
            # Progress is counted in bytes of the source's own files (archive members
            # are extra work inside them), so the ETA holds for any mix of sizes.
            task = progress.add_task("scan", total=max(total, 1), files=0)

            def advance(record) -> None:
                progress.update(task, files=progress.tasks[0].fields["files"] + 1)
                if is_top_level(record):
                    progress.update(task, advance=record.size or 0)

            scan_exhibit(
                store, source, case, exhibit, options=options, workers=workers, on_item=advance
            )
    else:
        scan_exhibit(store, source, case, exhibit, options=options, workers=workers)
    cases = Cases(store)
    summary = case_report(cases, case, exhibit)["exhibits"][0]
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _print_summary(exhibit, summary)
    warn_if_not_complete(cases, cases.exhibits(case, exhibit))
    if summary["status"] != "complete":
        raise typer.Exit(NOT_COMPLETE_EXIT)


def warn_if_not_complete(cases: Cases, exhibits: list[Exhibit]) -> None:
    """Say on stderr, whatever the output format, that an exhibit was not fully read."""
    for exhibit in exhibits:
        if exhibit.state == "incomplete":
            done = cases.item_count(exhibit.id)
            what = f"INCOMPLETE: scan interrupted or still running ({done:,} items so far)"
        elif exhibit.state == "failed":
            what = "FAILED: some of the evidence could not be read"
        else:
            continue
        typer.echo(f"safeguard: exhibit {exhibit.name}: {what}", err=True)
        for problem in exhibit.problems:
            typer.echo(f"  {problem.level.value}: {problem.message}", err=True)


def _print_summary(exhibit: str, summary: dict) -> None:
    categories = ", ".join(
        f"{k}: {v['files']} ({v['unique']} unique)" for k, v in summary["categories"].items()
    )
    typer.echo(
        f"{exhibit} ({summary['status']}): {summary['files']:,} files, "
        f"{summary['images']:,} images, {summary['videos']:,} videos, "
        f"{summary['empty']:,} empty, {summary['errors']:,} errors, "
        f"{summary['known_good']:,} known-good; matched: {categories or 'none'}; "
        f"{summary['unknown_images']:,} unknown images in {summary['unknown_groups']:,} families"
    )


def report_command(
    case: str = typer.Option(..., "--case"),
    exhibit: str = typer.Option(None, "--exhibit"),
    report_format: ReportFormat = typer.Option(ReportFormat.JSON, "--format"),
    output: Path = typer.Option(None, "-o", "--output", help="File to write [default: stdout]."),
    db: str = DB_OPTION,
) -> None:
    """Report a case (or one exhibit): json summary, csv schedule, html, or vics case export."""
    cases = Cases(Store.open(db))
    chosen = cases.exhibits(case, exhibit)
    if not chosen:
        named = f" named {exhibit!r}" if exhibit else ""
        raise UsageError(f"no scanned exhibit for case {case!r}{named}")
    warn_if_not_complete(cases, chosen)
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if report_format is ReportFormat.JSON:
            out.write(json.dumps(case_report(cases, case, exhibit), indent=1) + "\n")
        elif report_format is ReportFormat.CSV:
            write_schedule(((e, cases.items(e.id)) for e in chosen), out)
        elif report_format is ReportFormat.HTML:
            out.write(render(case, ((e, list(cases.items(e.id))) for e in chosen)))
        else:
            write_vics_case(case, ((e, cases.items(e.id)) for e in chosen), out)
    finally:
        if output:
            out.close()
