"""``safeguard report``: the case report in JSON, CSV, HTML, PDF, or as a VICS case export."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from safeguard.cli.common import DB_OPTION, audit_from_cli, open_store
from safeguard.cli.scan import warn_if_not_complete
from safeguard.errors import UsageError
from safeguard.store.audit import cli_actor


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"
    VICS = "vics"


def report_command(
    case: str = typer.Option(..., "--case"),
    exhibit: str = typer.Option(None, "--exhibit", help="One exhibit \\[default: all of them]."),
    report_format: ReportFormat = typer.Option(ReportFormat.JSON, "--format"),
    output: Path = typer.Option(
        None, "-o", "--output", help="File to write \\[default: stdout; a PDF needs one]."
    ),
    db: str = DB_OPTION,
) -> None:
    """Report a case (or one exhibit): json, csv item schedule, html, pdf, or vics export."""
    from safeguard.triage.report import case_report

    if report_format is ReportFormat.PDF and output is None:
        raise UsageError("a PDF report needs a file: add -o REPORT.pdf")
    store = open_store(db)
    actor, origin = cli_actor()
    report = case_report(store, case, exhibit, generated_by=f"{actor} ({origin})")
    warn_if_not_complete(store, [section.exhibit for section in report.sections])
    content = _render(store, report, report_format, output)
    if output is None:
        sys.stdout.write(content.decode("utf-8"))
    elif report_format is not ReportFormat.PDF:
        output.write_bytes(content)
    audit_from_cli(
        store,
        "report.write",
        {
            "case": case,
            "exhibits": [section.exhibit.name for section in report.sections],
            "format": report_format.value,
            "output": str(output.resolve()) if output else "stdout",
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    if output is not None:
        typer.echo(f"wrote the {report_format.value} report of case {case} to {output}", err=True)


def _render(store, report, report_format: ReportFormat, output: Path | None) -> bytes:
    """The report's bytes (a PDF is printed straight to ``output``, and its bytes returned)."""
    from safeguard.triage.exports import write_schedule, write_vics_case
    from safeguard.triage.html import render

    if report_format is ReportFormat.JSON:
        return (json.dumps(report.document, indent=1) + "\n").encode()
    if report_format is ReportFormat.HTML:
        return render(report).encode()
    if report_format is ReportFormat.PDF:
        from safeguard.triage.pdf import write_pdf

        write_pdf(render(report, printable=True), output)
        return output.read_bytes()
    text = io.StringIO()
    if report_format is ReportFormat.CSV:
        write_schedule(report, text)
    else:
        from safeguard.store.grades import Grades
        from safeguard.store.items import ExhibitItems

        items, grades = ExhibitItems(store), Grades(store.engine)
        exhibits = (
            (s.exhibit, items.items(s.exhibit.id), grades.of_exhibit(s.exhibit.id))
            for s in report.sections
        )
        write_vics_case(report.document["case"], exhibits, text)
    return text.getvalue().encode()
