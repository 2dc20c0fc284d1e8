"""``safeguard scan`` and ``safeguard rematch``: triage an exhibit, match it again later."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import typer

from safeguard.cli.common import (
    DB_OPTION,
    VARIANTS_OPTION,
    WORKERS_OPTION,
    audit_from_cli,
    cli_audit,
    open_store,
    warn_without_alert_lists,
)
from safeguard.cli.failures import INTERRUPTED
from safeguard.cli.progress import progress_bar, stderr_is_terminal
from safeguard.interrupts import stop_between_items
from safeguard.media.options import PdqMode, Variants
from safeguard.store import Store
from safeguard.store.cases import COMPLETE, RUNNING, Cases, Exhibit, other_settings

NOT_COMPLETE_EXIT = 3  # the exhibit was not fully read: incomplete or failed

EXAMINER_OPTION = typer.Option(
    None,
    "--examiner",
    help="Who runs this scan \\[default: $SAFEGUARD_EXAMINER, else your user name].",
)
AGENCY_OPTION = typer.Option(None, "--agency", help="The case's agency (kept on the case).")
REFERENCE_OPTION = typer.Option(None, "--reference", help="The case's own reference number.")
NOTES_OPTION = typer.Option(None, "--notes", help="Notes kept on the case.")
CLUSTER_OPTION = typer.Option(
    None,
    "--cluster",
    help="Scan on a Dask cluster: its scheduler (tcp://HOST:8786), or local:N for N worker "
    "processes here. Every worker must see the evidence at the same path; needs a "
    "PostgreSQL --db.",
)


def examiner_name(given: str | None) -> str:
    return given or os.environ.get("SAFEGUARD_EXAMINER") or getpass.getuser()


def scan_command(
    source: Path = typer.Argument(..., exists=True, help="A folder, a disk image or a file."),
    case: str = typer.Option(..., "--case"),
    exhibit: str = typer.Option(..., "--exhibit"),
    pdq_mode: PdqMode = typer.Option(PdqMode.FAST, "--pdq-mode"),
    variants: Variants = VARIANTS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the exhibit summary as JSON."),
    max_archive_members: int = typer.Option(
        None,
        "--max-archive-members",
        min=1,
        help="Members read from all the exhibit's archives together \\[default: 1,000,000].",
    ),
    max_archive_bytes: int = typer.Option(
        None,
        "--max-archive-bytes",
        min=1,
        help="Bytes expanded from all the exhibit's archives together \\[default: 64 GiB].",
    ),
    examiner: str = EXAMINER_OPTION,
    agency: str = AGENCY_OPTION,
    reference: str = REFERENCE_OPTION,
    notes: str = NOTES_OPTION,
    workers: int = WORKERS_OPTION,
    cluster: str = CLUSTER_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Hash, match and record every file of an exhibit (resumes a killed scan)."""
    from safeguard.triage.scan import ScanOptions

    store = open_store(db)
    if cluster is not None:
        from safeguard.triage.cluster import require_shared_store

        require_shared_store(store)
    warn_without_alert_lists(store)
    cases = Cases(store)
    given = {"agency": agency, "reference": reference, "notes": notes, "examiner": examiner}
    changed = {k: v for k, v in given.items() if v is not None}
    cases.describe_case(
        case, audit=cli_audit("case.describe", {"case": case, **changed}) if changed else None,
        **given,
    )  # fmt: skip
    before = cases.exhibits(case, exhibit)
    budgets = {"archive_members": max_archive_members, "archive_bytes": max_archive_bytes}
    options = ScanOptions(
        pdq_mode=pdq_mode, variants=variants, **{k: v for k, v in budgets.items() if v}
    )
    if before and (before[0].options, before[0].source) != (
        options.to_json(),
        str(source.resolve()),
    ):
        raise other_settings(case, exhibit, before[0].source, before[0].options)
    if before and before[0].status == COMPLETE:
        typer.echo(
            f"safeguard: exhibit {exhibit} of case {case} was scanned completely "
            f"({(before[0].finished_at or before[0].started_at).isoformat(timespec='seconds')}); "
            "to match it against today's lists without reading the evidence again, run: "
            f"safeguard rematch --case {case} --exhibit {exhibit}",
            err=True,
        )
    else:
        with scanner(store, cluster, workers) as scan:
            _run_scan(store, scan, source, case, exhibit, options,
                      examiner_name(examiner), resumed=bool(before))  # fmt: skip
    summary = exhibit_summary(store, case, exhibit)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in summary.items() if k != "schedule"}))
    else:
        print_summary(summary)
    warn_if_not_complete(store, cases.exhibits(case, exhibit))
    if summary["status"] != "complete":
        raise typer.Exit(NOT_COMPLETE_EXIT)
    typer.echo(
        f"next: safeguard report --case {case} --format html -o {_file_name(case)}.html", err=True
    )


@contextmanager
def scanner(store: Store, cluster: str | None, workers: int | None) -> Iterator[Callable]:
    """What scans one exhibit, called as (source, case, exhibit, options=, on_item=,
    examiner=): this machine's processes, or the Dask cluster named by ``--cluster``."""
    if cluster is None:
        from safeguard.triage.scan import scan_exhibit

        yield partial(scan_exhibit, store, workers=workers)
        return
    from safeguard.triage.cluster import (
        TRIM_SETTING,
        TRIM_VARIABLE,
        cluster_client,
        dashboard_link,
        scan_on_cluster,
        slowed_workers,
    )

    with cluster_client(cluster) as client:
        threads = sum(client.nthreads().values())
        typer.echo(f"cluster {cluster}: {len(client.nthreads())} workers, {threads} threads",
                   err=True)  # fmt: skip
        if slowed := slowed_workers(client):
            typer.echo(
                f"safeguard: {len(slowed)} worker(s) run with {TRIM_VARIABLE} set (Dask's default "
                "for workers its nannies start), which makes decoding pictures about 45 % slower: "
                f"start them with the Dask setting {TRIM_SETTING}: null, or without the variable",
                err=True,
            )
        link = dashboard_link(client)
        shown = link or "not served (it needs bokeh>=3.1 where the scheduler runs)"
        typer.echo(f"Dask dashboard: {shown}", err=True)
        yield partial(scan_on_cluster, store, client)


def _run_scan(store, scan, source, case, exhibit, options, examiner, *, resumed) -> None:
    from safeguard.store.items import ExhibitItems
    from safeguard.triage.scan import plan

    cases, items = Cases(store), ExhibitItems(store)
    state = cases.exhibits(case, exhibit)
    done_files = done_bytes = 0
    if resumed and state:
        done_files, done_bytes = items.top_level_done(state[0].id)
        typer.echo(f"resuming {exhibit}: {items.item_count(state[0].id):,} items already done",
                   err=True)  # fmt: skip
    listed, total = plan(source) if stderr_is_terminal() else (0, 0)
    try:
        with stop_between_items(), progress_bar(
            f"scanning {exhibit}", total_bytes=total, total_files=listed,
            done_files=done_files, done_bytes=done_bytes,
        ) as progress:  # fmt: skip

            def advance(record) -> None:
                if _top_level(record):  # archive members and carved finds are extra work
                    progress.advance(record.size or 0)

            scan(source, case, exhibit, options=options, on_item=advance, examiner=examiner)
    except KeyboardInterrupt:
        saved = items.item_count(cases.exhibit(case, exhibit).id)
        detail = {"case": case, "exhibit": exhibit, "status": "interrupted", "items": saved}
        audit_from_cli(store, "exhibit.scan", detail)
        typer.echo(
            f"\nsafeguard: interrupted: {saved:,} items saved; run the same command to resume",
            err=True,
        )
        raise typer.Exit(INTERRUPTED) from None
    if stderr_is_terminal():
        typer.echo(f"scanned {exhibit} in {progress.elapsed:.1f} s", err=True)
    summary = exhibit_summary(store, case, exhibit)
    audit_from_cli(store, "exhibit.scan", audit_detail(case, summary))


def rematch_command(
    case: str = typer.Option(..., "--case"),
    exhibit: str = typer.Option(None, "--exhibit", help="One exhibit \\[default: all of them]."),
    db: str = DB_OPTION,
) -> None:
    """Match scanned exhibits again against today's lists, without reading the evidence."""
    from safeguard.triage.rematch import rematch_exhibit

    store = open_store(db)
    warn_without_alert_lists(store)
    cases = Cases(store)
    chosen = cases.exhibits(case, exhibit)
    if not chosen:
        raise _no_exhibit(case, exhibit)
    for found in chosen:
        if found.status == RUNNING:
            typer.echo(f"safeguard: {found.name} is not fully scanned: finish it with the same "
                       "`safeguard scan` first; skipped", err=True)  # fmt: skip
            continue
        total, changed, unrotated = rematch_exhibit(store, found)
        summary = exhibit_summary(store, case, found.name)
        audit_from_cli(store, "exhibit.rematch", audit_detail(case, summary))
        typer.echo(f"{found.name}: {total:,} items matched again, {changed:,} with new results")
        if unrotated:
            typer.echo(
                f"safeguard: {unrotated:,} pictures of {found.name} were scanned before their "
                "rotated and flipped hashes were kept: matched without them (scan again under a "
                "new exhibit name to match rotations)",
                err=True,
            )
        print_summary(summary)
    typer.echo(f"next: safeguard report --case {case} --format html -o {_file_name(case)}.html",
               err=True)  # fmt: skip


def exhibit_summary(store: Store, case: str, exhibit: str) -> dict:
    from safeguard.triage.report import case_report

    return case_report(store, case, exhibit).document["exhibits"][0]


def print_summary(summary: dict) -> None:
    categories = ", ".join(
        f"{key}: {value['files']} ({value['unique']} unique"
        + (f", {value['perceptual']} perceptual" if value["perceptual"] else "")
        + ")"
        for key, value in summary["categories"].items()
    )
    typer.echo(
        f"{summary['exhibit']} ({summary['status']}): {summary['files']:,} files, "
        f"{summary['images']:,} images, {summary['videos']:,} videos, "
        f"{summary['empty']:,} empty, {summary['errors']:,} errors, "
        f"{summary['known_good']:,} known-good; matched: {categories or 'none'}; "
        f"{summary['unknown_images']:,} unknown images in {summary['unknown_groups']:,} families"
    )


def warn_if_not_complete(store: Store, exhibits: list[Exhibit]) -> None:
    """Say on stderr, whatever the output format, that an exhibit was not fully read."""
    from safeguard.store.items import ExhibitItems

    for exhibit in exhibits:
        if exhibit.state == "incomplete":
            done = ExhibitItems(store).item_count(exhibit.id)
            what = f"INCOMPLETE: scan interrupted or still running ({done:,} items so far)"
        elif exhibit.state == "failed":
            what = "FAILED: some of the evidence could not be read"
        else:
            continue
        typer.echo(f"safeguard: exhibit {exhibit.name}: {what}", err=True)
        for problem in exhibit.problems:
            typer.echo(f"  {problem.level.value}: {problem.message}", err=True)


def audit_detail(case: str, summary: dict) -> dict:
    """What the audit log keeps of a scan or re-match: enough to show the report is that one."""
    counted = {k: v for k, v in summary.items() if k != "schedule"}
    digest = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return {
        "case": case,
        "exhibit": summary["exhibit"],
        "status": summary["status"],
        "files": summary["files"],
        "categories": {key: value["files"] for key, value in counted["categories"].items()},
        "lists": {used["name"]: used["revision"] for used in summary["lists_used"]},
        "result_sha256": digest,
    }


def _top_level(record) -> bool:
    from safeguard.triage.scan import is_top_level

    return is_top_level(record)


def _no_exhibit(case: str, exhibit: str | None):
    from safeguard.errors import UsageError

    named = f" named {exhibit!r}" if exhibit else ""
    return UsageError(f"no scanned exhibit{named} in case {case!r} (see `safeguard cases ls`)")


def _file_name(case: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in case)
