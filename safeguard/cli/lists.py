"""``safeguard lists``: import, list, export, delete and disable graded hash lists."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli import list_entries
from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.errors import UsageError
from safeguard.formats.lists import WRITERS, ReadOptions, detect_format, read_list, vpdq_files
from safeguard.signals import PDQ, SIGNAL_TYPES, IndexKind
from safeguard.store import (
    Action,
    ImportRejected,
    ImportReport,
    ListKind,
    ListSpec,
    Scheme,
    Thresholds,
    normalise_category,
)
from safeguard.store.audit import cli_actor
from safeguard.store.editions import Prune, apply_edition

app = typer.Typer(
    help="Graded hash lists: import, list, export, remove, disable.", no_args_is_help=True
)

_SHOWN_BAD = 50

# A list's matching policy, set at import or later with `lists policy`.
PDQ_THRESHOLD_OPTION = typer.Option(
    None, "--pdq-threshold", min=0, max=128, help="This list's PDQ match distance \\[default: 31]."
)
ACTION_OPTION = typer.Option(
    None,
    "--action",
    help="What the match service does on a hit: block, quarantine, report or review "
    "\\[default: block].",
)
REVIEW_THRESHOLD_OPTION = typer.Option(
    None,
    "--review-threshold",
    min=1,
    max=128,
    help="PDQ distances above the match threshold and up to this go to review.",
)
SIGNAL_THRESHOLD_OPTION = typer.Option(
    None,
    "--threshold",
    help="SIGNAL=N: this list's match distance for a signal (vpdq: per frame) "
    r"\[default: the signal's; repeatable].",
    metavar="SIGNAL=N",
)


def _thresholds(
    pdq_threshold: int | None, review_threshold: int | None, per_signal: list[str] | None
) -> dict[str, Thresholds]:
    """The thresholds the options set, by signal (``--pdq-threshold`` is ``--threshold pdq=``)."""
    found: dict[str, Thresholds] = {}
    for text in per_signal or ():
        signal, _, number = text.partition("=")
        if not number.strip().isdigit():
            raise UsageError(f"--threshold {text!r}: write SIGNAL=N, for example vpdq=25")
        found[signal.strip()] = Thresholds(int(number))
    if pdq_threshold is not None or review_threshold is not None:
        given = found.get(PDQ.name, Thresholds())
        if pdq_threshold is not None and given.threshold not in (None, pdq_threshold):
            raise UsageError("--pdq-threshold and --threshold pdq= disagree")
        found[PDQ.name] = Thresholds(
            pdq_threshold if pdq_threshold is not None else given.threshold, review_threshold
        )
    return found


class ImportFormat(StrEnum):
    AUTO = "auto"
    VICS = "vics"
    CSV = "csv"
    TEXT = "text"
    NSRL = "nsrl"
    HMA = "hma"
    VPDQ = "vpdq"


class ExportFormat(StrEnum):
    VICS = "vics"
    CSV = "csv"
    VPDQ = "vpdq"  # one reference file per video entry, into the folder given as -o


# What a plain text list's one-hash lines can be: every signal written as one hex string.
SignalChoice = StrEnum(
    "SignalChoice",
    {
        name.upper(): name
        for name, signal in SIGNAL_TYPES.items()
        if signal.index is not IndexKind.FRAME_BAG
    },
)


@app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., exists=True, readable=True, help="The list file (for vPDQ: a file or a folder)."
    ),
    list_name: str = typer.Option(..., "--list", help="List to add to (created if missing)."),
    file_format: ImportFormat = typer.Option(ImportFormat.AUTO, "--format"),
    signal: SignalChoice = typer.Option(
        None, "--signal", help="What the hashes of a plain text list are (needed for 64-hex lines)."
    ),
    kind: ListKind = typer.Option(
        None,
        "--kind",
        help="alert, known-good or self-reported \\[default: alert; nsrl: known-good].",
    ),
    scheme: Scheme = typer.Option(
        None, "--scheme", help="uk or vics \\[default: vics for VICS files, else uk]."
    ),
    category: str = typer.Option(
        None, "--category", help="Category for entries the file does not grade."
    ),
    pdq_threshold: int = PDQ_THRESHOLD_OPTION,
    vics_profile: str = typer.Option(
        "us", "--vics-profile", help="VICS category numbering: us or dhs."
    ),
    action: Action = ACTION_OPTION,
    review_threshold: int = REVIEW_THRESHOLD_OPTION,
    signal_thresholds: list[str] = SIGNAL_THRESHOLD_OPTION,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Import the good rows; report the bad."
    ),
    update: bool = typer.Option(
        False,
        "--update",
        help="The file is a new edition of the list: add new entries, apply regrades and "
        "corrections, keep entry ids and local disables; print and audit the difference.",
    ),
    prune: Prune = typer.Option(
        None,
        "--prune",
        help="With --update: remove, or disable, entries the new edition no longer holds "
        r"\[default: leave them].",
    ),
    create: bool = typer.Option(
        False, "--create", help="Create the store if there is none at --db yet."
    ),
    db: str = DB_OPTION,
) -> None:
    """Import a hash list file (VICS, CSV, plain text, NSRL, HMA, vPDQ) in one transaction."""
    fmt = detect_format(file) if file_format is ImportFormat.AUTO else file_format.value
    if file.is_dir() and fmt != "vpdq":
        raise UsageError(f"{file} is a folder: only vPDQ lists come as a folder of files")
    is_nsrl = fmt == "nsrl"
    kind = kind or (ListKind.KNOWN_GOOD if is_nsrl else ListKind.ALERT)
    if is_nsrl and kind is not ListKind.KNOWN_GOOD:
        raise UsageError("NSRL lists are known-good software files: they cannot be alert lists")
    scheme = scheme or (Scheme.VICS if fmt == "vics" else Scheme.UK)
    options = ReadOptions(
        scheme=scheme,
        category=category,
        signal=signal.value if signal else None,
        vics_profile=vics_profile,
    )
    if category is not None:
        try:
            normalise_category(scheme, category)
        except ValueError as error:
            raise UsageError(str(error)) from None
    actor, origin = cli_actor()
    spec = ListSpec(
        kind=kind,
        scheme=scheme,
        source_file=str(file.resolve()),
        importer=f"safeguard lists import --format {fmt}",
        action=action,
        thresholds=_thresholds(pdq_threshold, review_threshold, signal_thresholds),
        source_sha256=_sha256(file),
        imported_by=f"{actor} ({origin})",
    )
    if prune is not None and not update:
        raise UsageError("--prune applies to --update only")
    store = open_store(db, create=create)
    if update:
        _apply_edition(store, list_name, read_list(file, fmt, options), spec, prune, skip_bad)
        return
    try:
        report = store.import_entries(
            list_name,
            read_list(file, fmt, options),
            spec=spec,
            skip_bad=skip_bad,
            collapse_duplicates=is_nsrl,
            audit=cli_audit(
                "entries.add",
                lambda done: {
                    "list": list_name,
                    "created": done.created,
                    "imported": done.imported,
                    "bad": done.bad_count,
                    "file": str(file.resolve()),
                    "sha256": spec.source_sha256,
                },
            ),
        )
    except ImportRejected as rejected:
        _print_bad(rejected.report)
        typer.echo(f"safeguard: {rejected}", err=True)
        raise typer.Exit(1) from None
    _print_bad(report)
    created = " (new list)" if report.created else ""
    collapsed = (
        f", {report.collapsed_duplicates:,} repeated hashes merged"
        if report.collapsed_duplicates
        else ""
    )
    skipped = f", {report.bad_count:,} bad records skipped" if report.bad_count else ""
    typer.echo(
        f"imported {report.imported:,} entries into {list_name!r}{created} from {fmt} file "
        f"{file}{collapsed}{skipped}"
    )


def _apply_edition(store, name, rows, spec, prune, skip_bad) -> None:
    try:
        report = apply_edition(
            store, name, rows, spec=spec, prune=prune, skip_bad=skip_bad,
            audit=cli_audit("entries.update", lambda done: {
                **done.summary(), "file": spec.source_file, "sha256": spec.source_sha256,
            }),
        )  # fmt: skip
    except ImportRejected as rejected:
        _print_bad(rejected.report)
        typer.echo(f"safeguard: {rejected}", err=True)
        raise typer.Exit(1) from None
    _print_bad(report)
    for signal, value, old, new in report.regrades[:_SHOWN_BAD]:
        typer.echo(f"  regraded {signal} {value}: {old or 'none'} -> {new or 'none'}", err=True)
    done = report.summary()
    typer.echo(
        f"updated {name!r}{' (new list)' if report.created else ''}: "
        + ", ".join(f"{count:,} {what.replace('_', ' ')}" for what, count in done.items()
                    if what != "list")
    )  # fmt: skip


def _policy(name: str, changed) -> dict:
    return {
        "list": name,
        "action": changed.effective_action.value if changed.effective_action else None,
        "pdq_threshold": changed.pdq_threshold,
        "review_threshold": changed.review_threshold,
        "vpdq_percents": list(changed.vpdq_percents),
        "thresholds": changed.thresholds_json(),
    }


def _sha256(path: Path) -> str:
    """The file's SHA-256; for a folder, that of its files' names and SHA-256s, one a line."""
    if path.is_dir():
        lines = "".join(f"{_sha256(f)}  {f.name}\n" for f in sorted(path.glob("*.txt")))
        return hashlib.sha256(lines.encode()).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _print_bad(report: ImportReport) -> None:
    for bad in report.bad[:_SHOWN_BAD]:
        typer.echo(f"  bad record {bad}", err=True)
    if report.bad_count > _SHOWN_BAD:
        typer.echo(f"  ... and {report.bad_count - _SHOWN_BAD:,} more bad records", err=True)


app.command("show")(list_entries.show_command)


@app.command("ls")
def ls_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per list."),
    db: str = DB_OPTION,
) -> None:
    """Lists with their kind, scheme, entries per signal and last change."""
    store = open_store(db)
    counts = store.entry_counts()
    rows = []
    for hash_list in store.lists():
        rows.append(
            {
                "name": hash_list.name,
                "kind": hash_list.kind.value,
                "scheme": hash_list.scheme.value,
                "enabled": hash_list.enabled,
                "pdq_threshold": hash_list.pdq_threshold,
                "action": hash_list.effective_action.value if hash_list.effective_action else None,
                "review_threshold": hash_list.review_threshold,
                "vpdq_percents": list(hash_list.vpdq_percents),
                "thresholds": hash_list.thresholds_json(),
                "entries": counts.get(hash_list.id, {}),
                "updated_at": hash_list.updated_at.isoformat(),
                "source_file": hash_list.source_file,
            }
        )
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table()
    for column in ("name", "kind", "scheme", "enabled", "entries", "last change"):
        table.add_column(column)
    for row in rows:
        entries = (
            ", ".join(f"{signal} {n:,}" for signal, n in sorted(row["entries"].items())) or "-"
        )
        table.add_row(
            row["name"],
            row["kind"],
            row["scheme"],
            "yes" if row["enabled"] else "no",
            entries,
            row["updated_at"][:19],
        )
    Console().print(table)


@app.command("export")
def export_command(
    name: str = typer.Argument(...),
    file_format: ExportFormat = typer.Option(..., "--format"),
    output: Path = typer.Option(..., "-o", "--output", help="A file (for vpdq: a folder)."),
    db: str = DB_OPTION,
) -> None:
    """Write a list as VICS 2.0, CSV or vPDQ files (re-importing gives the same entries)."""
    store = open_store(db)
    hash_list = store.get_list(name)
    if file_format is ExportFormat.VICS and hash_list.scheme is not Scheme.VICS:
        raise UsageError(
            f"{name!r} uses the {hash_list.scheme} scheme; VICS carries Project VIC codes only "
            "(export it as csv)"
        )
    if file_format is ExportFormat.VPDQ:
        count = vpdq_files.write_folder(store.iter_entries(hash_list.id), output)
        typer.echo(f"wrote {count:,} vPDQ files (video entries) of {name!r} to {output}/")
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = WRITERS[file_format.value](store.iter_entries(hash_list.id), handle)
    unit = "media records" if file_format is ExportFormat.VICS else "entries"
    typer.echo(f"wrote {count:,} {unit} of {name!r} to {output}")


@app.command("rm")
def rm_command(name: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Delete a list and all its entries."""
    store = open_store(db)
    store.delete_list(name, audit=cli_audit("list.delete", {"list": name}))
    typer.echo(f"removed list {name!r}")


@app.command("disable")
def disable_command(
    name: str = typer.Argument(...),
    entry: int = typer.Option(None, "--entry", help="Disable one entry instead of the list."),
    until: datetime = typer.Option(
        None, "--until", help="For --entry: active again after this time."
    ),
    db: str = DB_OPTION,
) -> None:
    """Stop a list (or one entry of it) from matching."""
    store = open_store(db)
    if entry is None:
        if until is not None:
            raise UsageError("--until applies to --entry")
        store.set_list_enabled(
            name, False, audit=cli_audit("list.change", {"list": name, "enabled": False})
        )
        typer.echo(f"disabled list {name!r}")
    else:
        detail = {"list": name, "entry": entry, "until": until.isoformat() if until else None}
        store.disable_entry(name, entry, until, audit=cli_audit("entry.disable", detail))
        typer.echo(f"disabled entry {entry} of {name!r}" + (f" until {until}" if until else ""))


@app.command("enable")
def enable_command(name: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Let a disabled list match again."""
    store = open_store(db)
    store.set_list_enabled(
        name, True, audit=cli_audit("list.change", {"list": name, "enabled": True})
    )
    typer.echo(f"enabled list {name!r}")


@app.command("policy")
def policy_command(
    name: str = typer.Argument(...),
    action: Action = ACTION_OPTION,
    pdq_threshold: int = PDQ_THRESHOLD_OPTION,
    review_threshold: int = REVIEW_THRESHOLD_OPTION,
    signal_thresholds: list[str] = SIGNAL_THRESHOLD_OPTION,
    vpdq_percents: tuple[float, float] = typer.Option(
        None,
        "--vpdq-percents",
        help="A video matches when at least Q % of the query's frames and C % of the banked "
        "video's find a partner \\[default: 80 0].",
        metavar="Q C",
    ),
    db: str = DB_OPTION,
) -> None:
    """Set what a list's hits lead to, and how near counts as a match."""
    store = open_store(db)
    changed = store.set_policy(
        name,
        action=action,
        thresholds=_thresholds(pdq_threshold, review_threshold, signal_thresholds),
        vpdq_percents=vpdq_percents,
        audit=cli_audit("list.change", lambda changed: _policy(name, changed)),
    )
    detail = _policy(name, changed)
    typer.echo(json.dumps(detail))


@app.command("promote")
def promote_command(
    case: str = typer.Option(..., "--case", help="The case whose grades are promoted."),
    list_name: str = typer.Option(..., "--list", help="The local alert list (made if new)."),
    verified_only: bool = typer.Option(
        False, "--verified-only", help="Only grades a supervisor confirmed."
    ),
    scheme: Scheme = typer.Option(
        None, "--scheme", help="Only grades of this scheme (needed if the case has both)."
    ),
    db: str = DB_OPTION,
) -> None:
    """Make examiners' grades an alert list: the next exhibit matches them unseen."""
    from safeguard.triage.promote import promote_grades

    done = promote_grades(
        open_store(db),
        case,
        list_name,
        verified_only=verified_only,
        scheme=scheme,
        imported_by=cli_actor()[0],
        audit=cli_audit(
            "list.promote",
            lambda report: {"list": list_name, "case": case, "imported": report.imported},
        ),
    )
    left = []
    if done.unverified_left:
        left.append(f"{done.unverified_left:,} unconfirmed grades left out")
    if done.non_pertinent_left:
        left.append(f"{done.non_pertinent_left:,} non-pertinent grades not promoted")
    already = done.report.collapsed_duplicates
    typer.echo(
        f"promoted {done.items:,} graded items of case {case!r} into {list_name!r}: "
        f"{done.report.imported:,} new entries"
        + (f", {already:,} already there" if already else "")
        + "".join(f"; {note}" for note in left)
    )
