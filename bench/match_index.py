"""PDQ radius search: Safeguard's multi-index against FAISS, same codes, same queries.

    python bench/match_index.py [--sizes 1000000,10000000] [--queries 500] [--no-multihash]

For each size and for two kinds of data, builds three indexes over the same
256-bit codes and runs the same single-threaded queries (radius 31) on each:

* safeguard: ``safeguard.index.mih.MultiIndex`` (16 tables of 16-bit chunks);
* FAISS ``IndexBinaryFlat`` (exhaustive, SIMD popcount);
* FAISS ``IndexBinaryMultiHash`` (16 tables of 16 bits, ``nflip=1``: exact at 31).

Data: "random" is uniform codes; "realistic" starts from PDQ hashes of the corpus
photos and of transformed copies, moves them 48-64 bits to make distinct
"pictures" with real hashes' bit statistics, and gives each picture about 100
near copies (0-24 bits), so buckets are as uneven as in real graded lists. Half
the queries are near copies of indexed codes (0-31 bits flipped), half are
hashes of other pictures. Every query's result set is
checked to be identical across the three. Prints build time, memory per code,
p50/p99 latency and the speed-up over FAISS Flat.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from PIL import Image, ImageFilter

from safeguard.index.mih import MultiIndex, as_words
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals.extract import HashOptions, hash_content

from _common import corpus_photos

RADIUS = 31
SEEDS_CACHE = Path("/tmp/safeguard-bench-pdq-seeds.npy")


def _variants(path: str) -> list[bytes]:
    """PDQ of a photo and of a few transformed copies of it."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    copies = [
        image,
        image.resize((image.width // 2, image.height // 2)),
        image.filter(ImageFilter.GaussianBlur(2)),
        image.convert("L").convert("RGB"),
        image.crop((10, 10, image.width - 10, image.height - 10)),
    ]
    out = []
    for copy in copies:
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=80)
        data = buffer.getvalue()
        result = hash_content("bench", lambda data=data: io.BytesIO(data), HashOptions())
        if result.pdq is not None:
            out.append(result.pdq.value)
    return out


def _seed_codes() -> np.ndarray:
    if SEEDS_CACHE.exists():
        return np.load(SEEDS_CACHE)
    photos = [str(p) for p in corpus_photos()]
    hashed = ordered_map(_variants, photos, workers=default_workers(), on_crash=lambda p, r: [])
    codes = np.frombuffer(b"".join(v for vs in hashed for v in vs), np.uint8).reshape(-1, 32)
    np.save(SEEDS_CACHE, codes)
    return codes


def _flip_bits(
    codes: np.ndarray, max_bits: int, rng: np.random.Generator, min_bits: int = 0
) -> np.ndarray:
    """Copies of ``codes`` with min_bits..max_bits random bits flipped in each (about)."""
    bits = np.unpackbits(codes, axis=1)
    counts = rng.integers(min_bits, max_bits + 1, len(codes))
    for k in range(max_bits):
        rows = np.nonzero(counts > k)[0]
        bits[rows, rng.integers(0, 256, len(rows))] ^= 1
    return np.packbits(bits, axis=1)


def _dataset(kind: str, size: int, queries: int, rng: np.random.Generator):
    if kind == "random":
        codes = rng.integers(0, 256, (size, 32), dtype=np.uint8)
        others = rng.integers(0, 256, (queries - queries // 2, 32), dtype=np.uint8)
    else:
        seeds = _seed_codes()
        held_out = rng.choice(len(seeds), len(seeds) // 10, replace=False)
        mask = np.ones(len(seeds), bool)
        mask[held_out] = False
        base = seeds[mask]
        # Pictures: real hashes moved 48-64 bits (distinct images with real hashes'
        # bit statistics), about 100 near copies each (0-24 bits), as in graded lists.
        pictures = base[rng.integers(0, len(base), max(1, size // 100))]
        pictures = _flip_bits(pictures, 64, rng, min_bits=48)
        codes = np.empty((size, 32), np.uint8)
        for start in range(0, size, 1_000_000):
            chunk = min(1_000_000, size - start)
            picked = pictures[rng.integers(0, len(pictures), chunk)]
            codes[start : start + chunk] = _flip_bits(picked, 24, rng)
        others = seeds[held_out][rng.integers(0, len(held_out), queries - queries // 2)]
    near = _flip_bits(codes[rng.integers(0, size, queries // 2)], RADIUS, rng)
    return codes, np.concatenate([near, others])


def _timed(search, queries: np.ndarray) -> tuple[list[set], list[float]]:
    results, latencies = [], []
    search(queries[0])
    for query in queries:
        start = time.perf_counter()
        found = search(query)
        latencies.append(time.perf_counter() - start)
        results.append(found)
    return results, latencies


def _pct(latencies: list[float], q: float) -> float:
    return float(np.percentile(np.array(latencies) * 1000, q))


def run(kind: str, size: int, n_queries: int, multihash: bool, rng) -> None:
    codes, queries = _dataset(kind, size, n_queries, rng)
    ids = np.arange(size, dtype=np.int64)
    rows = []

    start = time.perf_counter()
    ours = MultiIndex.build(codes, ids)
    ours_build = time.perf_counter() - start
    words = as_words(queries)

    # Queried by position in the query array, so the timing covers the search alone.
    def ours_by_position(position):
        found, distances = ours.search(words[position], RADIUS)
        return set(zip(found.tolist(), distances.tolist(), strict=True))

    ours_results, ours_latency = _timed(ours_by_position, np.arange(len(queries)))
    rows.append(("safeguard MIH", ours_build, ours.nbytes() / size, ours_latency))

    faiss.omp_set_num_threads(1)
    start = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes)
    flat_build = time.perf_counter() - start

    def faiss_search(index):
        def search(query):
            _, distances, labels = index.range_search(query[None, :], RADIUS + 1)
            return set(zip(labels.tolist(), distances.tolist(), strict=True))

        return search

    flat_results, flat_latency = _timed(faiss_search(flat), queries)
    rows.append(("FAISS IndexBinaryFlat", flat_build, 32.0, flat_latency))
    results = {"FAISS IndexBinaryFlat": flat_results}

    if multihash:
        start = time.perf_counter()
        multi = faiss.IndexBinaryMultiHash(256, 16, 16)
        multi.nflip = 1
        multi.add(codes)
        multi_build = time.perf_counter() - start
        multi_results, multi_latency = _timed(faiss_search(multi), queries)
        rows.append(("FAISS IndexBinaryMultiHash", multi_build, float("nan"), multi_latency))
        results["FAISS IndexBinaryMultiHash"] = multi_results

    identical = all(r == ours_results for r in results.values())
    hits = sum(len(r) for r in ours_results)
    print(
        f"\n{kind} codes, {size:,} indexed, {len(queries)} queries (radius {RADIUS}, 1 thread), "
        f"{hits} hits; identical result sets: {'yes' if identical else 'NO'}"
    )
    print(f"  {'index':28} {'build s':>8} {'B/code':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    flat_mean = statistics.mean(flat_latency)
    for name, build, per_code, latency in rows:
        print(
            f"  {name:28} {build:8.1f} {per_code:7.1f} {_pct(latency, 50):8.3f} "
            f"{_pct(latency, 99):8.3f} {statistics.mean(latency) * 1000:8.3f}"
        )
    print(
        f"  speed-up over FAISS Flat (mean latency): "
        f"{flat_mean / statistics.mean(ours_latency):.1f}x  (target >= 10x at 10M)"
    )
    if not identical:
        raise SystemExit("result sets differ")
    _reload(ours, words)


def _reload(index: MultiIndex, words: np.ndarray) -> None:
    """Save, then time opening the saved index and its first queries (cold pages)."""
    with tempfile.TemporaryDirectory(dir=Path.home()) as scratch:
        start = time.perf_counter()
        index.save(Path(scratch) / "index", {"bench": True})
        saved = time.perf_counter() - start
        start = time.perf_counter()
        loaded, _ = MultiIndex.load(Path(scratch) / "index")
        opened = time.perf_counter() - start
        start = time.perf_counter()
        for query in words[:20]:
            loaded.search(query, RADIUS)
        first = (time.perf_counter() - start) / 20
    print(
        f"  saved in {saved:.1f} s; opened (memory-mapped) in {opened * 1000:.1f} ms; "
        f"first 20 queries after opening {first * 1000:.2f} ms each"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--kinds", default="random,realistic")
    parser.add_argument("--no-multihash", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in args.kinds.split(","):
            run(kind, size, args.queries, not args.no_multihash, rng)
    print(
        "\nMemory per code: 32 B of code + 4 B of id + 4 B per table after the first "
        "(16 tables below 2M codes: 96 B; 12 tables above: 80 B), plus bucket offsets "
        "(4 MiB, or 128 MiB for 12 tables): 100M codes take about 8.1 GB."
    )


if __name__ == "__main__":
    main()
