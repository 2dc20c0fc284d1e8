"""Cluster scans (``--cluster local:N``) against single-machine scans, in the same run.

    python bench/cluster_scan.py [--files 3000] [--rounds 1]

Builds a folder of ``--files`` corpus photos (every file made distinct by a few
trailing bytes) and a FAT32 disk image holding the same files, then scans each,
on one PostgreSQL store, with: this machine's scan at 1 and 2 worker processes,
and a local Dask cluster of 1 and 2 worker processes (cluster start-up included:
it is part of what an examiner waits for). Prints wall seconds and files/s, the
scaling from 1 to 2 cluster workers (on a 2-core machine 2x is the ceiling), the
overhead of cluster mode over single-machine mode at one worker (target <= 15 %),
and the share of the cluster scan spent writing to the store (batched writes: the
database must not be the bottleneck). Rounds alternate the modes, so a noisy
neighbour slows them alike; the median is shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import corpus_photos, distinct_copies, fat32_image

ADMIN_URL = os.environ.get("SAFEGUARD_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1/postgres")
DATABASE = "safeguard_bench_cluster"


def _fresh_database() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}"


def _single(store, source: Path, exhibit: str, workers: int) -> dict:
    from safeguard.triage.scan import scan_exhibit

    started = time.perf_counter()
    scan_exhibit(store, source, "bench", exhibit, workers=workers)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "scan": seconds, "saving": None}


def _cluster(store, source: Path, exhibit: str, workers: int) -> dict:
    """End to end (the local cluster started and stopped) and the scan alone (what a scan
    on a standing cluster, ``tcp://``, takes)."""
    from safeguard.triage.cluster import cluster_client, scan_on_cluster

    started = time.perf_counter()
    with cluster_client(f"local:{workers}") as client:
        scanning = time.perf_counter()
        outcome = scan_on_cluster(store, client, source, "bench", exhibit)
        scan = time.perf_counter() - scanning
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "scan": scan, "saving": outcome.saving_seconds}


def _medians(timings: dict[str, list[dict]], key: str) -> dict[str, float]:
    return {mode: statistics.median(t[key] for t in measured) for mode, measured in timings.items()}


MODES = {
    "single, 1 worker": (_single, 1),
    "cluster local:1": (_cluster, 1),
    "single, 2 workers": (_single, 2),
    "cluster local:2": (_cluster, 2),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not (shutil.which("mkfs.fat") and shutil.which("mcopy")):
        raise SystemExit("needs dosfstools and mtools (apt-get install dosfstools mtools)")
    from safeguard.store import Store

    photos = [p for p in corpus_photos() if "highres" not in p.parts]
    copies = -(-args.files // len(photos))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["SAFEGUARD_INDEX_DIR"] = str(root / "index")
        folder = root / "folder"
        total = distinct_copies(folder, photos, copies, limit=args.files)
        image = root / "disk.img"
        fat32_image(folder, image, total)
        store = Store.open(_fresh_database())
        print(f"{args.files:,} photos, {total / 1e6:.0f} MB; {os.cpu_count()} cores; "
              f"PostgreSQL store; {args.rounds} round(s)\n")  # fmt: skip
        print(f"{'exhibit':18} {'mode':20} {'seconds':>8} {'scan only':>10} {'files/s':>8} "
              f"{'store writes':>13}")  # fmt: skip
        for label, source in (("folder", folder), ("FAT32 disk image", image)):
            timings: dict[str, list[dict]] = {mode: [] for mode in MODES}
            for round_ in range(args.rounds):
                for mode, (run, workers) in MODES.items():
                    exhibit = f"{label}-{mode}-{round_}".replace(" ", "_").replace(",", "")
                    timings[mode].append(run(store, source, exhibit, workers))
            seconds = _medians(timings, "seconds")
            scan = _medians(timings, "scan")
            for mode, measured in timings.items():
                saving = [t["saving"] for t in measured if t["saving"] is not None]
                writes = f"{statistics.median(saving) / seconds[mode]:12.1%}" if saving else ""
                print(f"{label:18} {mode:20} {seconds[mode]:8.1f} {scan[mode]:10.1f} "
                      f"{args.files / seconds[mode]:8.1f} {writes:>13}")  # fmt: skip
            single, one, two = seconds["single, 1 worker"], "cluster local:1", "cluster local:2"
            both = seconds["single, 2 workers"] / seconds[two]
            print(
                f"{label:18} scaling local:1 -> local:2: {seconds[one] / seconds[two]:.2f}x end "
                f"to end, {scan[one] / scan[two]:.2f}x scan only (2x is the ceiling); cluster "
                f"overhead at 1 worker: {seconds[one] / single - 1:+.1%} end to end, "
                f"{scan[one] / single - 1:+.1%} scan only (target <= 15 %); local:2 vs single "
                f"at 2 workers: {both:.2f}x\n"
            )


if __name__ == "__main__":
    main()
