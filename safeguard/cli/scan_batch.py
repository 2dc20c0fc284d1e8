"""``safeguard scan-batch MANIFEST.csv``: many exhibits, concurrently, each resumable on its own.

The manifest has one exhibit per row, with the columns ``case``, ``exhibit`` and
``source`` (a path, relative to the manifest's folder unless absolute). Every row
is checked before anything is scanned. Exhibits already complete are skipped;
unfinished ones carry on where they stopped; the rest start. With ``--cluster``
several exhibits run at once on the cluster's workers (their shards interleave);
without it they run one after another on this machine.
"""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import typer

from safeguard.cli.common import (
    DB_OPTION,
    VARIANTS_OPTION,
    WORKERS_OPTION,
    audit_from_cli,
    open_store,
    warn_without_alert_lists,
)
from safeguard.cli.failures import INTERRUPTED
from safeguard.cli.progress import progress_bar, stderr_is_terminal
from safeguard.cli.scan import (
    CLUSTER_OPTION,
    EXAMINER_OPTION,
    NOT_COMPLETE_EXIT,
    audit_detail,
    examiner_name,
    exhibit_summary,
    print_summary,
    scanner,
    warn_if_not_complete,
)
from safeguard.errors import UsageError
from safeguard.interrupts import stop_between_items, stop_if_asked
from safeguard.media.options import PdqMode, Variants
from safeguard.store.cases import COMPLETE, Cases, other_settings

_COLUMNS = ("case", "exhibit", "source")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    case: str
    exhibit: str
    source: Path


def read_manifest(manifest: Path) -> list[Row]:
    """Every row, checked: all three columns, a source that exists, no exhibit twice."""
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(
                f"{manifest}: no column {', '.join(missing)} (needs case,exhibit,source)"
            )
        rows, seen = [], set()
        for line, values in enumerate(reader, start=2):
            case, exhibit, where = (str(values.get(c) or "").strip() for c in _COLUMNS)
            if not (case and exhibit and where):
                raise UsageError(
                    f"{manifest}, line {line}: case, exhibit and source are all needed"
                )
            source = Path(where) if Path(where).is_absolute() else manifest.parent / where
            if not source.exists():
                raise UsageError(f"{manifest}, line {line}: {source} does not exist")
            if (case, exhibit) in seen:
                raise UsageError(f"{manifest}, line {line}: exhibit {exhibit} of {case} twice")
            seen.add((case, exhibit))
            rows.append(Row(line, case, exhibit, source.resolve()))
    if not rows:
        raise UsageError(f"{manifest}: no exhibit in it")
    return rows


def scan_batch_command(
    manifest: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: case,exhibit,source."
    ),
    cluster: str = CLUSTER_OPTION,
    concurrent: int = typer.Option(
        4, "--concurrent", min=1, help="Exhibits scanned at once on the cluster."
    ),
    pdq_mode: PdqMode = typer.Option(PdqMode.FAST, "--pdq-mode"),
    variants: Variants = VARIANTS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON summary per exhibit."),
    examiner: str = EXAMINER_OPTION,
    workers: int = WORKERS_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Scan every exhibit of a manifest (resumes the unfinished ones)."""
    from safeguard.triage.scan import ScanOptions, plan

    rows = read_manifest(manifest)
    store = open_store(db)
    if cluster is not None:
        from safeguard.triage.cluster import require_shared_store

        require_shared_store(store)
    warn_without_alert_lists(store)
    options = ScanOptions(pdq_mode=pdq_mode, variants=variants)
    cases = Cases(store)
    for row in rows:  # refused before anything starts, as `scan` refuses it
        before = cases.exhibits(row.case, row.exhibit)
        if before and (before[0].options, before[0].source) != (options.to_json(), str(row.source)):
            raise other_settings(row.case, row.exhibit, before[0].source, before[0].options)
    waiting = [row for row in rows if not _complete(cases, row)]
    for row in rows:
        if row not in waiting:
            typer.echo(f"{row.case}/{row.exhibit}: already complete, skipped", err=True)
    planned = [plan(row.source) for row in waiting] if stderr_is_terminal() else []
    failures: dict[Row, str] = {}
    with (
        scanner(store, cluster, workers) as scan,
        progress_bar(
            f"scanning {len(waiting)} exhibits",
            total_files=sum(files for files, _ in planned),
            total_bytes=sum(size for _, size in planned),
        ) as progress,
    ):
        lock = threading.Lock()

        def advance(record) -> None:
            from safeguard.triage.scan import is_top_level

            if is_top_level(record):
                with lock:
                    progress.advance(record.size or 0)

        def run(row: Row) -> None:
            try:
                scan(row.source, row.case, row.exhibit, options=options, on_item=advance,
                     examiner=examiner_name(examiner))  # fmt: skip
            except KeyboardInterrupt:  # Ctrl-C: this exhibit stopped at a safe point
                pass
            except Exception as error:  # one exhibit's failure is reported, the rest go on
                failures[row] = f"{type(error).__name__}: {error}"

        _run_all(waiting, run, concurrent if cluster is not None else 1)
    _report(store, rows, failures, as_json=as_json)


def _complete(cases: Cases, row: Row) -> bool:
    found = cases.exhibits(row.case, row.exhibit)
    return bool(found) and found[0].status == COMPLETE


def _run_all(rows: list[Row], run, concurrent: int) -> None:
    """Each row in a thread, ``concurrent`` at a time. Ctrl-C stops each running exhibit
    at its next safe point, saving what is whole (a second Ctrl-C stops at once); the
    same command resumes each exhibit."""
    slots = threading.Semaphore(concurrent)
    threads = []
    try:
        with stop_between_items():
            for row in rows:
                slots.acquire()
                stop_if_asked()  # no new exhibit is started once Ctrl-C was pressed
                thread = threading.Thread(target=_in_slot, args=(run, row, slots), daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)
            stop_if_asked()
    except KeyboardInterrupt:
        typer.echo("\nsafeguard: interrupted: run the same command to resume", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _in_slot(run, row: Row, slots: threading.Semaphore) -> None:
    try:
        run(row)
    finally:
        slots.release()


def _report(store, rows: list[Row], failures: dict[Row, str], *, as_json: bool) -> None:
    cases = Cases(store)
    incomplete = False
    for row in rows:
        if row in failures:
            typer.echo(f"safeguard: {row.case}/{row.exhibit} stopped: {failures[row]}", err=True)
            incomplete = True
            continue
        summary = exhibit_summary(store, row.case, row.exhibit)
        audit_from_cli(store, "exhibit.scan", audit_detail(row.case, summary))
        if as_json:
            shown = {k: v for k, v in summary.items() if k != "schedule"}
            typer.echo(json.dumps({"case": row.case, **shown}))
        else:
            print_summary(summary)
        warn_if_not_complete(store, cases.exhibits(row.case, row.exhibit))
        incomplete |= summary["status"] != "complete"
    if incomplete:
        raise typer.Exit(NOT_COMPLETE_EXIT)
