"""``safeguard lists enrol``: pictures into a list, with the geometric variants of each
(crops, cuts, small rotations: see media.variants), so that their cropped and turned
copies match too (``--variants all`` on match, scan and serve)."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import StrEnum

import typer

from safeguard.cli.common import DB_OPTION, WORKERS_OPTION, cli_audit, found_paths, open_store
from safeguard.cli.hash_files import hash_with_progress
from safeguard.errors import NotFound, UsageError
from safeguard.store import ListKind, ListSpec, NewEntry, Scheme, normalise_category
from safeguard.store.audit import cli_actor


class EnrolVariants(StrEnum):
    GEOMETRIC = "geometric"  # crops 1-20 %, side cuts, rotations 2-7 degrees, 1:1 and 4:5
    NONE = "none"  # the pictures' own hashes only


def enrol_command(
    paths: list[str] = typer.Argument(..., help="Pictures, or folders of them with -r."),
    list_name: str = typer.Option(..., "--list", help="List to add to (created if missing)."),
    variants: EnrolVariants = typer.Option(
        EnrolVariants.GEOMETRIC,
        "--variants",
        help="geometric: also keep the PDQ of each picture's crops (1-20 %% a side), side cuts, "
        "rotations (2-7 degrees) and square and 4:5 crops, as variants of its entry.",
    ),
    category: str = typer.Option(None, "--category", help="The pictures' category."),
    kind: ListKind = typer.Option(ListKind.ALERT, "--kind", help="For a new list."),
    scheme: Scheme = typer.Option(Scheme.UK, "--scheme", help="For a new list."),
    recursive: bool = typer.Option(False, "--recursive", "-r"),
    workers: int = WORKERS_OPTION,
    create: bool = typer.Option(
        False, "--create", help="Create the store if there is none at --db yet."
    ),
    db: str = DB_OPTION,
) -> None:
    """Enrol pictures in a list: each one's MD5, SHA-1, SHA-256 and exact-mode PDQ, with the
    PDQ of its geometric variants. Enrolling again replaces the variants, adds nothing twice."""
    from safeguard.media.images import PdqMode
    from safeguard.signals.extract import HashOptions

    store = open_store(db, create=create)
    with contextlib.suppress(NotFound):  # an existing list's pictures take its scheme
        scheme = store.get_list(list_name).scheme
    if category is not None:
        try:
            category = normalise_category(scheme, category)
        except ValueError as error:
            raise UsageError(str(error)) from None
    found = found_paths(paths, recursive=recursive)
    options = HashOptions(
        pdq_mode=PdqMode.EXACT,  # what a partner's reference hasher gives for the same file
        enrolment_variants=variants is EnrolVariants.GEOMETRIC,
    )
    rows: list[NewEntry] = []
    enrolled: dict[bytes, dict[str, bytes]] = {}
    failed: list[dict[str, str]] = []
    for hashes in hash_with_progress(found, options, workers, "enrolling"):
        pdq = hashes.pdq
        if pdq is None or pdq.low_quality:
            reason = hashes.error or (
                f"PDQ quality {pdq.quality} is under 50: too flat to match safely"
                if pdq is not None
                else "not a picture"
            )
            failed.append({"path": hashes.path, "error": reason})
            typer.echo(f"safeguard: {hashes.path}: not enrolled: {reason}", err=True)
            continue
        name = hashes.path.rsplit("/", 1)[-1][-200:]
        rows += [
            NewEntry(signal, value, category=category, external_id=name, record=len(rows) + 1)
            for signal, value in hashes.values.items()
        ]
        enrolled[pdq.value] = hashes.variants
    if not rows:
        raise UsageError("no picture could be enrolled")
    actor, origin = cli_actor()
    spec = ListSpec(
        kind=kind,
        scheme=scheme,
        source_file=f"{len(enrolled)} pictures enrolled",
        importer="safeguard lists enrol",
        imported_by=f"{actor} ({origin})",
    )
    report = store.import_entries(
        list_name,
        rows,
        spec=spec,
        collapse_duplicates=True,
        audit=cli_audit("list.import", lambda r: {"list": list_name, "imported": r.imported}),
    )
    with_variants = store.enrol_variants(
        list_name,
        {value: found for value, found in enrolled.items() if found},
        audit=cli_audit("list.enrol", lambda done: {"list": list_name, **done}),
    )
    summary = {
        "list": list_name,
        "pictures": len(enrolled),
        "entries_added": report.imported,
        "entries_with_variants": with_variants,
        "variants": sum(len(found) for found in enrolled.values()),
        "failed": failed,
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    if failed:
        raise typer.Exit(1)
