"""``safeguard lists import``: a list file into the store, as a new list, an addition, or
a new edition of the list (``--update``); and the matching options import shares with
``lists policy``."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path

import typer

from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.errors import UsageError
from safeguard.formats.lists import ReadOptions, csv_lists, detect_format, read_list
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


def option_thresholds(
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
    CHECKSUMS = "checksums"
    HASHDEEP = "hashdeep"


# What a plain text list's one-hash lines can be: every signal written as one hex string.
SignalChoice = StrEnum(
    "SignalChoice",
    {
        name.upper(): name
        for name, signal in SIGNAL_TYPES.items()
        if signal.index is not IndexKind.FRAME_BAG
    },
)


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
        None,
        "--vics-profile",
        help="VICS category numbering, us or dhs \\[default: the profile the file names; us "
        "if it names none; a UK-profile file is refused without this].",
    ),
    action: Action = ACTION_OPTION,
    review_threshold: int = REVIEW_THRESHOLD_OPTION,
    signal_thresholds: list[str] = SIGNAL_THRESHOLD_OPTION,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Import the good rows; report the bad."
    ),
    verify: str = typer.Option(
        None,
        "--verify",
        help="ed25519:KEY: import only if FILE.sig is that key's signature of the file.",
        metavar="PUBLIC_KEY",
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
    if verify is not None:
        verified_file(file, verify)
    is_nsrl = fmt == "nsrl"
    kind_said = kind is not None
    declared = csv_lists.declared_list(file) if fmt == "csv" else None
    if declared is not None:  # a Safeguard export: its list's kind and scheme, unless told
        kind, scheme = _declared(declared, kind, scheme)
        kind_said = True
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
        thresholds=option_thresholds(pdq_threshold, review_threshold, signal_thresholds),
        source_sha256=_sha256(file),
        imported_by=f"{actor} ({origin})",
    )
    if prune is not None and not update:
        raise UsageError("--prune applies to --update only")
    rows = read_list(file, fmt, options)
    if fmt == "csv" and not kind_said and category is None:
        rows = _graded_somewhere(rows, file)
    store = open_store(db, create=create)
    if update:
        _apply_edition(store, list_name, rows, spec, prune, skip_bad)
        return
    try:
        report = store.import_entries(
            list_name,
            rows,
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


def _declared(
    declared: tuple[str, str], kind: ListKind | None, scheme: Scheme | None
) -> tuple[ListKind, Scheme]:
    """An exported CSV's own kind and scheme; an option may repeat them, not contradict."""
    try:
        found = ListKind(declared[0]), Scheme(declared[1])
    except ValueError:
        raise UsageError(f"the CSV names an unknown list kind or scheme: {declared}") from None
    for said, named, option in ((kind, found[0], "--kind"), (scheme, found[1], "--scheme")):
        if said is not None and said is not named:
            raise UsageError(f"the CSV is an export of a {named} list; {option} {said} says not")
    return found


def _graded_somewhere(rows, file: Path):
    """Pass the rows on; refuse the import at the end if none had a category: an ungraded
    alert list would raise an alert on every match (an exported known-good list, say)."""
    graded = False
    for row in rows:
        graded = graded or bool(getattr(row, "category", None))
        yield row
    if not graded:
        raise UsageError(
            f"{file.name} grades nothing and does not say what kind of list it is: "
            "say --kind alert (or --kind known-good), or give --category"
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


def signature_file(store, exported: Path) -> None:
    """Write ``FILE.sig``: the store's newest signing key and its signature of the file."""
    from safeguard.store.signing import Signer

    signed = Signer(store.engine).sign(exported.read_bytes())
    if signed is None:
        raise UsageError("this store has no signing key: safeguard keys signing create --name N")
    public, signature = signed
    record = {"public_key": public, "signature": signature, "sha256": _sha256(exported)}
    exported.with_name(exported.name + ".sig").write_text(json.dumps(record, indent=2) + "\n")


def verified_file(file: Path, public: str) -> None:
    """Refuse ``file`` unless ``FILE.sig`` beside it is ``public``'s signature of it."""
    from safeguard.store.signing import verify

    if file.is_dir():
        raise UsageError("--verify checks one signed file (a csv or vics export)")
    sig = file.with_name(file.name + ".sig")
    if not sig.exists():
        raise UsageError(f"--verify: no signature beside the file ({sig.name})")
    try:
        record = json.loads(sig.read_text())
        signature = record["signature"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{sig.name} is not a Safeguard signature file") from None
    verify(public, signature, file.read_bytes())
