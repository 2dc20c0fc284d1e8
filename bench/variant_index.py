"""What enrolled variants cost the PDQ index: memory per picture, search latency, and the
memory at 1M enrolled pictures, against the same pictures enrolled without variants.

    python bench/variant_index.py [--pictures 100000] [--per-picture 136] [--queries 300]

Builds Safeguard's multi-index twice in one run over synthetic 256-bit codes: once with
one code a picture (its own PDQ), once with ``--per-picture`` codes a picture (its own
and its enrolled variants; 136 is what ``lists enrol --variants geometric`` keeps on
average for the corpus photos, ``bench/robustness.py`` prints it). Each query is what
``match --variants all`` looks up for one photo: 14 codes (8 rotations and flips, the
views) at radius 31, half of them near an indexed picture. Prints the index's bytes a
code and a picture, the build time, p50/p99 latency of a whole query with the ratio to
the index without variants, and the memory at 1M pictures (bytes a code measured here,
times the codes; the index's arrays are memory-mapped, so this is disk and page cache).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from safeguard.index.mih import MultiIndex, as_words

RADIUS = 31
QUERY_CODES = 14


def _flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    flipped = np.unpackbits(code.copy())
    flipped[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(flipped)


def _measure(index: MultiIndex, queries: list[np.ndarray]) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        for code in query:
            index.search(code, RADIUS)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=100_000)
    parser.add_argument("--per-picture", type=int, default=136)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(20261130)
    pictures = args.pictures
    codes = rng.integers(0, 256, (pictures * args.per_picture, 32), dtype=np.uint8)
    ids = np.repeat(np.arange(pictures, dtype=np.int64), args.per_picture)
    own = codes[:: args.per_picture]
    queries = []
    for number in range(args.queries):
        picture = own[rng.integers(pictures)]
        near = [_flip(picture, int(rng.integers(0, 24)), rng)] if number % 2 == 0 else []
        rest = rng.integers(0, 256, (QUERY_CODES - len(near), 32), dtype=np.uint8)
        queries.append(as_words(np.vstack([*near, rest]) if near else rest))
    rows = {}
    for name, chosen, chosen_ids in (
        ("own PDQ only", own, np.arange(pictures, dtype=np.int64)),
        (f"with variants ({args.per_picture} a picture)", codes, ids),
    ):
        started = time.perf_counter()
        index = MultiIndex.build(chosen, chosen_ids)
        built = time.perf_counter() - started
        _measure(index, queries[:20])  # compile and warm
        latencies = sorted(_measure(index, queries))
        rows[name] = (
            index.nbytes() / len(chosen),
            index.nbytes() / pictures,
            built,
            statistics.median(latencies),
            latencies[int(len(latencies) * 0.99) - 1],
        )
        del index
    print(f"{pictures:,} pictures; {args.queries} queries of {QUERY_CODES} codes, radius {RADIUS}")
    base = rows["own PDQ only"]
    for name, (per_code, per_picture, built, p50, p99) in rows.items():
        print(
            f"{name:34} {per_code:5.1f} B a code, {per_picture / 1024:6.2f} KiB a picture, "
            f"built in {built:5.1f} s, query p50 {p50:6.2f} ms p99 {p99:6.2f} ms "
            f"(p99 {p99 / base[4]:.1f}x without variants)"
        )
    per_code = rows[next(iter(rows.keys() - {"own PDQ only"}))][0]
    million = per_code * args.per_picture * 1_000_000 / 2**30
    print(
        f"at 1M enrolled pictures with variants: {args.per_picture}M codes, "
        f"{million:.1f} GiB of index (at the bytes a code measured here); without variants "
        f"{base[0] * 1_000_000 / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
