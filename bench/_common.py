"""Helpers shared by the benchmarks: where the corpus is, and noise-resistant timing."""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SAFEGUARD_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS = SHARED_DATA / "corpus"


def corpus_photos() -> list[Path]:
    if not (CORPUS / "manifest.csv").exists():
        raise SystemExit(f"corpus not found at {CORPUS} (set SAFEGUARD_SHARED_DATA)")
    with (CORPUS / "manifest.csv").open(newline="") as handle:
        return [CORPUS / row["path"] for row in csv.DictReader(handle)]


def interleaved_seconds(
    methods: dict[str, Callable[[Path], object]], files: Sequence[Path], rounds: int
) -> dict[str, float]:
    """Median over rounds of the time each method takes for all files.

    Methods run one after another inside each round, so a noisy neighbour slows
    all of them alike instead of whichever happened to run during the noise.
    """
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for method in methods.values():  # warm caches and lazy imports
        method(files[0])
    for _ in range(rounds):
        for name, method in methods.items():
            start = time.perf_counter()
            for path in files:
                method(path)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def write_webp_bomb(path: Path, side: int = 11_300) -> Path:
    """A few KB of lossless WebP that decodes to ``side`` x ``side`` pixels (2.2 GB at
    11,300): what a hostile client uploads to make a worker allocate."""
    from PIL import Image

    Image.new("RGB", (side, side), (90, 140, 200)).save(path, lossless=True)
    return path


def peak_kib(pid: int | str = "self") -> int:
    """A process's peak resident memory since it started (its high-water mark, VmHWM).
    Read from /proc, not ``wait4``: a child's ``ru_maxrss`` starts from its parent's
    size at fork, which would hide small peaks."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def distinct_copies(folder: Path, photos: list[Path], copies: int, limit: int | None = None) -> int:
    """``copies`` rounds of the photos in ``folder`` (``limit`` files at most), each file given
    a few distinct trailing bytes so no two share a SHA-256 (a scan's de-duplication would
    otherwise flatter it); returns the bytes written."""
    folder.mkdir(parents=True)
    total = 0
    for round_ in range(copies):
        for index, photo in enumerate(photos):
            if limit is not None and round_ * len(photos) + index >= limit:
                return total
            data = photo.read_bytes() + f"safeguard-bench-{round_}-{index}".encode()
            (folder / f"{round_:02d}-{index:04d}.jpg").write_bytes(data)
            total += len(data)
    return total


def fat32_image(folder: Path, image: Path, total: int) -> None:
    """A FAT32 disk image holding the folder's files (dosfstools and mtools)."""
    size_kib = max(64 * 1024, (total * 2) // 1024)
    environment = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    subprocess.run(
        ["mkfs.fat", "-C", "-F", "32", str(image), str(size_kib)], check=True, capture_output=True
    )
    files = sorted(str(p) for p in folder.iterdir())
    for start in range(0, len(files), 200):
        subprocess.run(
            ["mcopy", "-i", str(image), *files[start : start + 200], "::/"],
            check=True, capture_output=True, env=environment,
        )  # fmt: skip
