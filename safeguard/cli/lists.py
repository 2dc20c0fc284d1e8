"""``safeguard lists``: import, list, export, delete and disable graded hash lists."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli import list_enrol, list_entries, list_follow, list_import
from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.cli.list_import import (
    ACTION_OPTION,
    PDQ_THRESHOLD_OPTION,
    REVIEW_THRESHOLD_OPTION,
    SIGNAL_THRESHOLD_OPTION,
    option_thresholds,
    signature_file,
)
from safeguard.errors import UsageError
from safeguard.formats.lists import (
    WRITERS,
    vpdq_files,
)
from safeguard.media.options import Variants
from safeguard.store import (
    Action,
    ListKind,
    Scheme,
)
from safeguard.store.audit import cli_actor
from safeguard.store.category_policies import CategoryPolicy, category_key

app = typer.Typer(
    help="Graded hash lists: import, list, export, remove, disable.", no_args_is_help=True
)


class ExportFormat(StrEnum):
    VICS = "vics"
    CSV = "csv"
    VPDQ = "vpdq"  # one reference file per video entry, into the folder given as -o


def _policy(name: str, changed) -> dict:
    return {
        "list": name,
        "action": changed.effective_action.value if changed.effective_action else None,
        "pdq_threshold": changed.pdq_threshold,
        "review_threshold": changed.review_threshold,
        "vpdq_percents": list(changed.vpdq_percents),
        "thresholds": changed.thresholds_json(),
        "category_policies": changed.category_policies_json(),
        "variants": changed.variants.value,
    }


def _category_policies(
    scheme: Scheme, actions: list[str] | None, reviews: list[str] | None
) -> dict[str, CategoryPolicy]:
    """``C=ACTION`` and ``C=N`` options as policies by category (``none``: uncategorised)."""
    found: dict[str, CategoryPolicy] = {}
    for texts, is_action in ((actions or [], True), (reviews or [], False)):
        for text in texts:
            category, _, value = text.partition("=")
            if not value.strip() or (not is_action and not value.strip().isdigit()):
                example = "2=review" if is_action else "2=40"
                raise UsageError(f"{text!r}: write CATEGORY={'ACTION' if is_action else 'N'}, "
                                 f"for example {example}")  # fmt: skip
            key = category_key(scheme, category)
            current = found.get(key, CategoryPolicy())
            found[key] = (
                CategoryPolicy(value.strip().lower(), current.review_threshold)
                if is_action
                else CategoryPolicy(current.action, int(value))
            )
    return found


app.command("import")(list_import.import_command)
app.command("enrol")(list_enrol.enrol_command)
app.command("show")(list_entries.show_command)
app.command("follow")(list_follow.follow_command)


@app.command("ls")
def ls_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per list."),
    db: str = DB_OPTION,
) -> None:
    """Lists with their kind, scheme, entries per signal and last change."""
    store = open_store(db)
    counts = store.entry_counts()
    enrolled = store.variant_counts()
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
                "category_policies": hash_list.category_policies_json(),
                "variants": hash_list.variants.value,
                "entries": counts.get(hash_list.id, {}),
                "entries_with_variants": enrolled.get(hash_list.id, 0),
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
        if row["entries_with_variants"]:
            entries += f" ({row['entries_with_variants']:,} with enrolled variants)"
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
    sign: bool = typer.Option(
        False, "--sign", help="Also write FILE.sig, the store's Ed25519 signature of the file."
    ),
    db: str = DB_OPTION,
) -> None:
    """Write a list as VICS 2.0, CSV or vPDQ files (re-importing gives the same entries)."""
    store = open_store(db)
    hash_list = store.get_list(name)
    if sign and file_format is ExportFormat.VPDQ:
        raise UsageError("--sign signs one file: export as csv or vics to sign it")
    if file_format is ExportFormat.VICS and hash_list.scheme is not Scheme.VICS:
        raise UsageError(
            f"{name!r} uses the {hash_list.scheme} scheme; VICS carries Project VIC codes only "
            "(export it as csv)"
        )
    if file_format is ExportFormat.VICS and hash_list.kind is not ListKind.ALERT:
        raise UsageError(
            f"{name!r} is a {hash_list.kind} list; a VICS file carries graded material and "
            "would come back as an alert list (export it as csv, which keeps its kind)"
        )
    if file_format is ExportFormat.VPDQ:
        count = vpdq_files.write_folder(store.iter_entries(hash_list.id), output)
        typer.echo(f"wrote {count:,} vPDQ files (video entries) of {name!r} to {output}/")
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        about = (
            {"kind": hash_list.kind.value, "scheme": hash_list.scheme.value}
            if file_format is ExportFormat.CSV
            else {}
        )
        count = WRITERS[file_format.value](store.iter_entries(hash_list.id), handle, **about)
    if sign:
        signature_file(store, output)
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
    variants: Variants = typer.Option(
        None,
        "--variants",
        help="The most this list takes of matches found only through a variant (see match "
        "--variants): none, query (views of the query) or all (those and the variants "
        "enrolled with its pictures) \\[default: all].",
    ),
    category_actions: list[str] = typer.Option(
        None,
        "--category-action",
        help="CATEGORY=ACTION: what a hit on that grade leads to (block, quarantine, report, "
        "review or none; repeatable) \\[default: the list's --action; VICS 0: none].",
        metavar="C=ACTION",
    ),
    category_reviews: list[str] = typer.Option(
        None,
        "--category-review-threshold",
        help="CATEGORY=N: that grade's PDQ review threshold (repeatable).",
        metavar="C=N",
    ),
    db: str = DB_OPTION,
) -> None:
    """Set what a list's hits lead to, and how near counts as a match."""
    store = open_store(db)
    scheme = store.get_list(name).scheme
    changed = store.set_policy(
        name,
        action=action,
        category_policies=_category_policies(scheme, category_actions, category_reviews),
        variants=variants,
        thresholds=option_thresholds(pdq_threshold, review_threshold, signal_thresholds),
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
    variants: list_enrol.EnrolVariants = typer.Option(
        list_enrol.EnrolVariants.NONE,
        "--variants",
        help="geometric: also read each picture back from the evidence (checked against its "
        "scanned SHA-256) and keep its geometric variants, as lists enrol does.",
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
        variants=variants is list_enrol.EnrolVariants.GEOMETRIC,
        variants_audit=cli_audit("list.enrol", lambda done: {"list": list_name, **done}),
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
    if done.variants is not None:
        typer.echo(f"geometric variants kept for {done.variants.pictures:,} pictures")
        for failed in done.variants.failed:
            typer.echo(f"safeguard: no variants for {failed}", err=True)
