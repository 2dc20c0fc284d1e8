"""``safeguard hash``: cryptographic, PDQ and (asked for) vPDQ hashes of files, one record
per file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

import typer

from safeguard.cli.common import WORKERS_OPTION, found_paths
from safeguard.cli.progress import progress_bar, stderr_is_terminal
from safeguard.media.options import DecodeLimits, PdqMode

if TYPE_CHECKING:
    from safeguard.signals.extract import FileHashes, HashOptions
    from safeguard.sources.files import FoundPath


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def hash_command(
    paths: list[str] = typer.Argument(..., help="Files or directories to hash."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into directories."),
    pdq_mode: PdqMode = typer.Option(
        PdqMode.FAST,
        "--pdq-mode",
        help="fast: scaled JPEG decode, a few bits from exact. "
        "exact: bit-identical to Meta's reference hasher (use for hashes you share).",
    ),
    dihedral: bool = typer.Option(
        False, "--dihedral", help="Add the 8 rotated/flipped PDQ variants (key pdq_dihedral)."
    ),
    vpdq: bool = typer.Option(
        False, "--vpdq", help="Hash videos with vPDQ too (key vpdq: a PDQ hash per sampled frame)."
    ),
    seconds_per_hash: float = typer.Option(
        1.0,
        "--seconds-per-hash",
        min=0,
        help="With --vpdq: hash one frame per this many seconds (0: every frame).",
    ),
    output_format: OutputFormat = typer.Option(OutputFormat.JSONL, "--format"),
    workers: int = WORKERS_OPTION,
    max_pixels: int = typer.Option(
        None,
        "--max-pixels",
        min=1,
        help="Refuse to decode larger images (decompression bombs) "
        "\\[default: $SAFEGUARD_MAX_PIXELS or 128,000,000].",
    ),
) -> None:
    """Hash files: MD5, SHA-1, SHA-256 for every file; PDQ for images; vPDQ for videos with
    --vpdq. JSON Lines on stdout."""
    from safeguard.formats.hash_records import WRITERS
    from safeguard.signals.extract import HashOptions

    limits = DecodeLimits(max_pixels) if max_pixels else DecodeLimits()
    options = HashOptions(
        pdq_mode=pdq_mode, dihedral=dihedral, limits=limits,
        seconds_per_hash=seconds_per_hash if vpdq else None,
    )  # fmt: skip
    found = found_paths(paths, recursive=recursive)
    writer = WRITERS[output_format](sys.stdout, dihedral=dihedral, vpdq=vpdq)
    counts = {"files": 0, "errors": 0, "images": 0, "low_quality": 0, "videos": 0}
    for hashes in hash_with_progress(found, options, workers, "hashing"):
        writer.write(hashes)
        counts["files"] += 1
        counts["errors"] += hashes.error is not None
        counts["images"] += hashes.pdq is not None
        counts["low_quality"] += bool(hashes.pdq and hashes.pdq.low_quality)
        counts["videos"] += hashes.video is not None
    sys.stdout.flush()
    if stderr_is_terminal():
        typer.echo(
            f"{counts['files']:,} files, {counts['images']:,} images hashed, "
            f"{counts['low_quality']:,} with PDQ quality < 50 (weak for matching), "
            + (f"{counts['videos']:,} videos hashed with vPDQ, " if vpdq else "")
            + f"{counts['errors']:,} errors",
            err=True,
        )


def hash_with_progress(
    found: list[FoundPath], options: HashOptions, workers: int | None, description: str
) -> Iterator[FileHashes]:
    """Hash the paths over all cores, in input order, with a progress bar on a terminal."""
    from safeguard.parallel import default_workers, ordered_map
    from safeguard.signals.extract import FileHashes

    total = sum(_size(path.path) for path in found) if stderr_is_terminal() else 0
    with progress_bar(description, total_bytes=total, total_files=len(found)) as progress:
        for hashes in ordered_map(
            partial(hash_found, options=options),
            found,
            workers=workers or default_workers(),
            on_crash=lambda item, reason: FileHashes(item.path, error=reason),
        ):
            yield hashes
            progress.advance(hashes.size or 0)
    if stderr_is_terminal():
        typer.echo(f"{description}: {progress.files:,} files in {progress.elapsed:.1f} s", err=True)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def hash_found(found: FoundPath, options: HashOptions) -> FileHashes:
    from safeguard.signals.extract import FileHashes, hash_file

    if found.error is not None:
        return FileHashes(found.path, error=str(found.error))
    return hash_file(found.path, options)
