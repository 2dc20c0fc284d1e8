"""The PDQ index at national scale: memory and latency at 10M, 50M and 100M hashes, and how
soon a new entry is matchable beside 100M.

    python bench/index_scale.py [--sizes 10000000,50000000,100000000] [--queries 1000]

For each size: synthetic 256-bit codes (uniform; half the queries are copies of indexed
codes with 0-31 bits flipped, half are other codes), built into Safeguard's multi-index,
saved, and opened again memory-mapped as ``safeguard serve`` opens it. Prints the build
time, the saved size, this process's resident memory after opening and after the queries
(pages the queries touched: what a worker holds in RAM; the rest stays on disk and in the
page cache), and the single-query p50/p99 at radius 31, with the ratio to a brute-force
scan of the same codes measured on a sample (``--scan-sample``) in the same run. Last, at
the largest size: an entry written to the store is matchable at the next search (the
index's tail follows the store by revision), and how long that took.

Memory figures are of this process (psutil); the build itself needs about 4x the codes'
size while it runs, which a deployment does once, offline.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from safeguard.index.hamming import HammingIndex
from safeguard.index.mih import MultiIndex, as_words, scan
from safeguard.store import ListSpec, NewEntry, Store

RADIUS = 31
CHUNK = 5_000_000  # codes generated at a time


def _codes(count: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((count, 32), np.uint8)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        out[start:stop] = rng.integers(0, 256, (stop - start, 32), dtype=np.uint8)
    return out


def _queries(codes: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picked = codes[rng.integers(0, len(codes), count)].copy()
    for row in range(0, count, 2):  # near copies: 0-31 bits flipped
        bits = np.unpackbits(picked[row])
        bits[rng.choice(256, int(rng.integers(0, 32)), replace=False)] ^= 1
        picked[row] = np.packbits(bits)
    picked[1::2] = rng.integers(0, 256, (len(picked[1::2]), 32), dtype=np.uint8)
    return as_words(picked)


def _latencies(search, queries: np.ndarray) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def _p99(times: list[float]) -> float:
    return times[max(0, int(len(times) * 0.99) - 1)]


def _resident_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _measure(size: int, args, rng: np.random.Generator, work: Path) -> Path:
    codes = _codes(size, rng)
    queries = _queries(codes, args.queries, rng)
    sample = as_words(codes[: args.scan_sample])
    started = time.perf_counter()
    index = MultiIndex.build(codes, np.arange(size, dtype=np.int64))
    built = time.perf_counter() - started
    saved = work / f"index-{size}"
    index.save(saved, {})
    del index, codes
    on_disk = sum(f.stat().st_size for f in saved.iterdir()) / 2**30
    before = _resident_mb()
    opened, _ = MultiIndex.load(saved)
    after_open = _resident_mb()
    opened.search(queries[0], RADIUS)  # compile
    times = _latencies(lambda q: opened.search(q, RADIUS), queries)
    after_queries = _resident_mb()
    sample_ids = np.arange(len(sample), dtype=np.int64)
    brute = _latencies(lambda q: scan(sample, sample_ids, q, RADIUS), queries[:50])
    brute_full = statistics.median(brute) * size / len(sample)  # a scan is linear in the codes
    print(
        f"{size:>11,} codes: built in {built:5.0f} s, {on_disk:5.2f} GiB saved; resident "
        f"+{after_open - before:,.0f} MB opened, +{after_queries - before:,.0f} MB after "
        f"{len(queries)} queries; p50 {statistics.median(times):.2f} ms, p99 "
        f"{_p99(times):.2f} ms; a brute-force scan ~{brute_full:,.0f} ms "
        f"({brute_full / statistics.median(times):,.0f}x the p50)",
        flush=True,
    )
    return saved


def _freshness(saved: Path, work: Path) -> None:
    """A new entry beside the largest index: written to a store, found by the next search."""
    store = Store.open(str(work / "store.db"))
    index = HammingIndex(store, work / "store-index")
    main, _ = MultiIndex.load(saved)
    index._parts = (main, *index._parts[1:])  # the big memory-mapped part, as if built
    value = np.random.default_rng(7).integers(0, 256, 32, dtype=np.uint8).tobytes()
    started = time.perf_counter()
    store.import_entries("graded", [NewEntry("pdq", value, "A", record=1)], spec=ListSpec())
    found = index.search([value], RADIUS)
    took = time.perf_counter() - started
    assert found, "the new entry was not found"
    print(f"a new entry beside {len(main):,} codes: written and matched in {took * 1000:.0f} ms "
          f"(the next search reads it from the store by revision; no rebuild)")  # fmt: skip
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000000,50000000,100000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--scan-sample", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(20261130)
    work = Path(tempfile.mkdtemp(prefix="index-scale-"))
    try:
        saved = None
        for size in (int(s) for s in args.sizes.split(",")):
            if saved is not None:
                shutil.rmtree(saved)
            saved = _measure(size, args, rng, work)
        if saved is not None:
            _freshness(saved, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
