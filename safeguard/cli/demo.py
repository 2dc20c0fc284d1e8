"""``safeguard demo``: the main job end to end on bundled, benign, synthetic pictures."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeguard.demo.pictures import write_demo_folder
from safeguard.formats.hash_records import JsonLinesWriter
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import PDQ
from safeguard.signals.extract import FileHashes, HashOptions, hash_file


def demo_command(
    out: Path = typer.Option(Path("safeguard-demo"), "--out", help="Folder for the demo files."),
    workers: int = typer.Option(None, "--workers", min=1),
) -> None:
    """Draw a small benign exhibit, hash it, and show what Safeguard sees."""
    console = Console()
    exhibit = out / "exhibit"
    files = write_demo_folder(exhibit)
    options = HashOptions(dihedral=True)
    results = list(
        ordered_map(
            partial(hash_file, options=options),
            [str(path) for path in files],
            workers=workers or default_workers(),
            on_crash=lambda path, reason: FileHashes(path, error=reason),
        )
    )
    records = out / "hashes.jsonl"
    with records.open("w", encoding="utf-8") as handle:
        writer = JsonLinesWriter(handle)
        for hashes in results:
            writer.write(hashes)

    originals = [r for r in results if r.pdq and Path(r.path).parent == exhibit]
    table = Table(title=f"Demo exhibit: {exhibit}")
    for column in ("file", "type", "size", "PDQ", "quality", "nearest original", "note"):
        table.add_column(column)
    for hashes in results:
        nearest = _nearest_original(hashes, originals) if hashes.pdq else None
        table.add_row(
            str(Path(hashes.path).relative_to(exhibit)),
            hashes.media_type.mime if hashes.media_type else "-",
            f"{hashes.size:,}" if hashes.size is not None else "-",
            PDQ.to_text(hashes.pdq.value)[:16] + "…" if hashes.pdq else "-",
            str(hashes.pdq.quality) if hashes.pdq else "-",
            nearest or "-",
            hashes.error or "",
        )
    console.print(table)
    console.print(f"Records written to [bold]{records}[/bold] (one JSON object per file).")


def _nearest_original(hashes: FileHashes, originals: list[FileHashes]) -> str | None:
    assert hashes.pdq is not None and hashes.pdq.dihedral is not None
    best: tuple[int, str] | None = None
    for original in originals:
        if original.path == hashes.path or original.pdq is None:
            continue
        distance = min(PDQ.distance(v, original.pdq.value) for v in hashes.pdq.dihedral.values())
        if best is None or distance < best[0]:
            best = (distance, Path(original.path).name)
    if best is None or best[0] > PDQ.default_threshold:
        return None
    return f"{best[1]} ({best[0]} bits)"
