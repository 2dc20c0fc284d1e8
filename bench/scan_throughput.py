"""Exhibit scan throughput against plain hashing of the same files, in the same run.

    python bench/scan_throughput.py [--photos 300] [--scale 10] [--workers 2]

Builds a folder of corpus photos and a FAT32 disk image holding the same photos
(dosfstools + mtools), at 1x and at ``--scale``x size; every copy gets a few
distinct trailing bytes so no two files share a SHA-256 (the scan's de-duplication
would otherwise flatter it). Then times, on each: ``safeguard scan`` (hashing,
matching against a list, recording, reporting) and ``safeguard hash -r`` on the
same files. Prints files/s, MB/s, the ratio scan / hash (target >= 0.8), and the
peak resident memory of the scan (parent and workers together), which should
stay flat as the exhibit grows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from _common import corpus_photos, distinct_copies, fat32_image


def _measure(command: list[str], environment: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command and all its children."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=environment)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return time.perf_counter() - start, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not (shutil.which("mkfs.fat") and shutil.which("mcopy")):
        raise SystemExit("needs dosfstools and mtools (apt-get install dosfstools mtools)")
    photos = [p for p in corpus_photos() if "highres" not in p.parts][: args.photos]
    safeguard = [sys.executable, "-m", "safeguard"]
    print(
        f"{'exhibit':22} {'files':>6} {'MB':>7} {'scan s':>7} {'files/s':>8} {'MB/s':>6} "
        f"{'hash s':>7} {'scan/hash':>9} {'peak MiB':>9}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        environment = {**os.environ, "SAFEGUARD_INDEX_DIR": str(root / "index")}
        db = str(root / "bench.db")
        listed = root / "list.txt"
        listed.write_text("\n".join(os.urandom(16).hex() for _ in range(1000)) + "\n")
        subprocess.run(
            [*safeguard, "lists", "import", str(listed), "--list", "bench", "--category", "A",
             "--db", db],
            check=True, capture_output=True, env=environment,
        )  # fmt: skip
        for copies in (1, args.scale):
            folder = root / f"folder-{copies}x"
            total = distinct_copies(folder, photos, copies)
            image = root / f"disk-{copies}x.img"
            fat32_image(folder, image, total)
            count = len(photos) * copies
            hash_seconds, _ = _measure(
                [*safeguard, "hash", "-r", "--workers", str(args.workers), str(folder)], environment
            )
            for label, source in (("folder", folder), ("FAT32 disk image", image)):
                exhibit = f"{label}-{copies}"
                seconds, peak = _measure(
                    [*safeguard, "scan", str(source), "--case", "bench", "--exhibit", exhibit,
                     "--workers", str(args.workers), "--db", db],
                    environment,
                )  # fmt: skip
                name, megabytes = f"{label} {copies}x", total / 1e6
                print(
                    f"{name:22} {count:6d} {megabytes:7.1f} {seconds:7.1f} {count / seconds:8.1f} "
                    f"{megabytes / seconds:6.1f} {hash_seconds:7.1f} "
                    f"{hash_seconds / seconds:9.2f} {peak:9.0f}"
                )
    print(
        "\nscan/hash = time of `safeguard hash -r` on the same files / time of the scan "
        "(target >= 0.8). Peak MiB: the scan's processes together."
    )


if __name__ == "__main__":
    main()
