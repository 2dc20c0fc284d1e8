"""``safeguard match``: hash files exactly as ``safeguard hash`` does and match them."""

from __future__ import annotations

import json
import sys

import typer

from safeguard.cli.common import (
    DB_OPTION,
    VARIANTS_OPTION,
    WORKERS_OPTION,
    found_paths,
    open_store,
    warn_without_alert_lists,
)
from safeguard.cli.hash_files import hash_with_progress
from safeguard.media.options import PdqMode, Variants


def match_command(
    paths: list[str] = typer.Argument(..., help="Files or directories to match."),
    lists: list[str] = typer.Option(None, "--list", help="Match only these lists (repeatable)."),
    dihedral: bool = typer.Option(False, "--dihedral", help="Also match rotated/flipped copies."),
    variants: Variants = VARIANTS_OPTION,
    recursive: bool = typer.Option(False, "--recursive", "-r"),
    pdq_mode: PdqMode = typer.Option(PdqMode.FAST, "--pdq-mode"),
    seconds_per_hash: float = typer.Option(
        1.0,
        "--seconds-per-hash",
        min=0,
        help="vPDQ of videos: a frame per this many seconds (videos are hashed only when a "
        "list holds vPDQ entries).",
    ),
    workers: int = WORKERS_OPTION,
    db: str = DB_OPTION,
) -> None:
    """One JSON line per file: path, sha256, and the list entries it matches."""
    from safeguard.matching import Matcher
    from safeguard.signals.extract import HashOptions

    found = found_paths(paths, recursive=recursive)
    store = open_store(db)
    warn_without_alert_lists(store)
    matcher = Matcher(store, lists=lists or None, enrolled_variants=variants.enrolled)
    # Decoding video costs; it is done only when some list could match what it gives.
    videos = store.holds_signal("vpdq")
    options = HashOptions(
        pdq_mode=pdq_mode,
        dihedral=dihedral,
        seconds_per_hash=seconds_per_hash if videos else None,
        query_views=variants.query_views,
    )
    out = sys.stdout  # bound before any progress bar is drawn, which must never capture it
    for hashes in hash_with_progress(found, options, workers, "matching"):
        result = matcher.match_file(hashes, dihedral=dihedral)
        sha256 = hashes.values.get("sha256")
        record = {
            "path": hashes.path,
            "sha256": sha256.hex() if sha256 else None,
            "matches": [m.to_json() for m in result.alerts],
        }
        out.write(json.dumps(record) + "\n")
        if hashes.error:
            typer.echo(f"safeguard: {hashes.path}: {hashes.error}", err=True)
