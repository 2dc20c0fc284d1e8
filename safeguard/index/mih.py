"""Exact Hamming-radius search over 256-bit codes by multi-index hashing.

Norouzi, Punjani and Fleet: split each code into m disjoint chunks. If two codes
are within r bits and r = m * q + a (0 <= a < m), then one of any a + 1 chosen
chunks is within q bits, or one of the other m - a - 1 chunks is within q - 1
bits (otherwise the distance would be at least m * q + a + 1). So a query probes,
in each chunk's table, the buckets of every value within that chunk's radius,
verifies those candidates against the full code, and returns *every* code within
r: recall is 100 % by construction, not by tuning.

The chunking is chosen by size, by measurement (``bench/match_index.py``):

* up to 2M codes: 16 chunks of 16 bits, probe radius 1 each at r = 31
  (17 buckets a table; 4 MiB of bucket offsets in all);
* beyond: 12 chunks, eight of 21 bits probed at radius 2 and four of 22 bits at
  radius 1. Buckets hold ~2 codes each at 10M, so a query verifies ~5k
  candidates instead of ~42k (128 MiB of offsets, ~13 B a code at 10M).

Layout (plain NumPy arrays, saved as ``.npy`` and memory-mapped on load):

* ``codes``   (N, 4) uint64, sorted by chunk 0, so table 0 needs no order array;
* ``ids``     (N,) uint32 (int64 if any id needs it), the caller's id of each code;
* ``offsets`` uint32, each table's bucket starts, tables one after another;
* ``order``   (m - 1, N) uint32, the positions of tables 1..m-1, bucket by bucket;
* ``chunks``  (m, 2) int64: each chunk's first bit and width.

Per code: 32 bytes of code, 4 of id, 4 per table after the first (60 with 16
chunks, 44 with 12), plus the offsets.
"""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np
from llvmlite import binding, ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

MAX_PROBE_RADIUS = 3  # beyond this per chunk, scanning every code is cheaper
FORMAT_VERSION = 2
WIDE_FROM = 2_000_000  # codes from which the 12-chunk layout wins (measured)


NARROW = (16,) * 16
WIDE = (21,) * 8 + (22,) * 4  # narrow chunks first: the first tables take the larger radius


def chunk_layout(count: int, widths: tuple[int, ...] | None = None) -> np.ndarray:
    """(first bit, width) of each chunk for an index of ``count`` codes."""
    widths = widths or (NARROW if count < WIDE_FROM else WIDE)
    if sum(widths) != 256:
        raise ValueError("chunks must cover the 256 bits exactly")
    starts = np.cumsum([0, *widths[:-1]])
    return np.array(list(zip(starts, widths, strict=True)), dtype=np.int64)


def probe_radii(layout: np.ndarray, radius: int) -> list[int]:
    """Each table's probe radius for a query radius (-1: the table is not probed)."""
    tables = len(layout)
    quotient, remainder = divmod(radius, tables)
    return [quotient if t <= remainder else quotient - 1 for t in range(tables)]


@lru_cache(maxsize=128)
def _masks(width: int, radius: int) -> np.ndarray:
    """Every ``width``-bit value with at most ``radius`` bits set."""
    masks = [0]
    for bits in range(1, radius + 1):
        masks += [sum(1 << b for b in chosen) for chosen in combinations(range(width), bits)]
    return np.array(masks, dtype=np.int64)


def _probe_plan(layout: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """All tables' probe masks in one array, and where each table's run begins."""
    runs = [
        _masks(int(width), r) if r >= 0 else np.empty(0, np.int64)
        for (_, width), r in zip(layout, probe_radii(layout, radius), strict=True)
    ]
    bounds = np.cumsum([0, *(len(run) for run in runs)]).astype(np.int64)
    return np.concatenate(runs), bounds


# LLVM 17 made pointers opaque, which renamed the prefetch intrinsic.
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch_row(typingctx, array, row):
    """Ask the processor to start loading ``array[row]`` now (a hint; never faults)."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1], zero])
        byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer.type, int32, int32, int32]),
            _PREFETCH,
        )
        # read, keep in all cache levels, data cache
        builder.call(function, [byte_pointer, int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, row), codegen


@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True)
def _distance(codes, position, query):
    # Kept in uint64 throughout: mixing it with a signed int makes Numba use floats.
    total = np.uint64(0)
    for word in range(4):
        total += _popcount(codes[position, word] ^ query[word])
    return np.int64(total)


@njit(cache=True, inline="always")
def _chunk_value(words, start, width):
    """Bits start..start+width-1 of a code (bit b is bit b % 64 of word b // 64)."""
    word, shift = start // 64, start % 64
    value = words[word] >> np.uint64(shift)
    if shift + width > 64:
        value |= words[word + 1] << np.uint64(64 - shift)
    return value & np.uint64((1 << width) - 1)


@njit(cache=True)
def _build_tables(codes, layout, table_base):
    count = codes.shape[0]
    offsets = np.zeros(table_base[-1], dtype=np.int64)
    for table in range(layout.shape[0]):
        base, start, width = table_base[table], layout[table, 0], layout[table, 1]
        for position in range(count):
            offsets[base + np.int64(_chunk_value(codes[position], start, width)) + 1] += 1
        for bucket in range(1 << width):
            offsets[base + bucket + 1] += offsets[base + bucket]
    order = np.empty((layout.shape[0] - 1, count), dtype=np.uint32)
    for table in range(1, layout.shape[0]):
        base, start, width = table_base[table], layout[table, 0], layout[table, 1]
        cursor = offsets[base : base + (1 << width)].copy()
        for position in range(count):
            key = np.int64(_chunk_value(codes[position], start, width))
            order[table - 1, cursor[key]] = position
            cursor[key] += 1
    return offsets.astype(np.uint32), order


@njit(cache=True, nogil=True)  # threads search at once (concurrent scans, service threads)
def _search(codes, offsets, table_base, layout, order, query, radius, masks, mask_bounds):
    """Positions and distances of every code within ``radius`` of ``query`` (may repeat).

    Each table first gathers (and prefetches) its candidates' positions, then
    verifies them, so the processor keeps many cache misses in flight. Buffers
    are sized before the hot loops, never inside them.
    """
    candidates = np.empty(4096, dtype=np.int64)
    found_positions = np.empty(64, dtype=np.int64)
    found_distances = np.empty(64, dtype=np.int64)
    found = 0
    for table in range(layout.shape[0]):
        base = table_base[table]
        query_chunk = np.int64(_chunk_value(query, layout[table, 0], layout[table, 1]))
        total = 0
        for m in range(mask_bounds[table], mask_bounds[table + 1]):
            key = base + (query_chunk ^ masks[m])
            total += np.int64(offsets[key + 1]) - np.int64(offsets[key])
        if total == 0:
            continue
        if total > candidates.shape[0]:
            candidates = np.empty(2 * total, dtype=np.int64)
        if found + total > found_positions.shape[0]:  # room even if every candidate matches
            grown = 2 * (found + total)
            found_positions = np.concatenate((found_positions[:found], np.empty(grown, np.int64)))
            found_distances = np.concatenate((found_distances[:found], np.empty(grown, np.int64)))
        gathered = 0
        for m in range(mask_bounds[table], mask_bounds[table + 1]):
            key = base + (query_chunk ^ masks[m])
            for slot in range(np.int64(offsets[key]), np.int64(offsets[key + 1])):
                position = slot if table == 0 else np.int64(order[table - 1, slot])
                _prefetch_row(codes, position)
                candidates[gathered] = position
                gathered += 1
        for k in range(gathered):
            distance = _distance(codes, candidates[k], query)
            if distance <= radius:  # rarely taken, so well predicted
                found_positions[found] = candidates[k]
                found_distances[found] = distance
                found += 1
    return found_positions[:found], found_distances[:found]


@njit(cache=True, nogil=True)
def _scan(codes, query, radius):
    """Every code within ``radius``, by checking them all (small sets, large radii)."""
    within = np.empty(codes.shape[0], dtype=np.int64)
    found = 0
    for position in range(codes.shape[0]):
        within[found] = position
        found += _distance(codes, position, query) <= radius
    positions = within[:found].copy()
    distances = np.empty(found, dtype=np.int64)
    for k in range(found):
        distances[k] = _distance(codes, positions[k], query)
    return positions, distances


def as_words(codes: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 codes as (N, 4) uint64 words, the layout every kernel here reads."""
    return np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, 32).view("<u8")


def _table_base(layout: np.ndarray) -> np.ndarray:
    return np.cumsum([0, *((1 << int(width)) + 1 for _, width in layout)]).astype(np.int64)


_ARRAYS = ("codes", "ids", "offsets", "order", "layout")


class MultiIndex:
    """An immutable multi-index over a set of codes; build once, query many times."""

    def __init__(self, codes, ids, offsets, order, layout) -> None:
        self.codes = codes
        self.ids = ids
        self.offsets = offsets
        self.order = order
        self.layout = np.asarray(layout, dtype=np.int64)
        self.table_base = _table_base(self.layout)

    @classmethod
    def build(
        cls, codes: np.ndarray, ids: np.ndarray, widths: tuple[int, ...] | None = None
    ) -> MultiIndex:
        words = as_words(codes)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and ids.min() >= 0 and ids.max() < 2**32:
            ids = ids.astype(np.uint32)  # half the memory; store ids stay far below 2**32
        if len(words) >= 2**32:
            raise ValueError("a segment holds at most 2**32 codes")
        layout = chunk_layout(len(words), widths)
        first_start, first_width = int(layout[0, 0]), int(layout[0, 1])
        # Sort by chunk 0 so table 0's positions are the rows themselves.
        first = (words[:, first_start // 64] >> np.uint64(first_start % 64)) & np.uint64(
            (1 << first_width) - 1
        )
        by_first_chunk = np.argsort(first, kind="stable")
        words = np.ascontiguousarray(words[by_first_chunk])
        ids = np.ascontiguousarray(ids[by_first_chunk])
        offsets, order = _build_tables(words, layout, _table_base(layout))
        return cls(words, ids, offsets, order, layout)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) of every code within ``radius`` of one query (4 uint64 words)."""
        if len(self.ids) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if max(probe_radii(self.layout, radius)) > MAX_PROBE_RADIUS:
            positions, distances = _scan(self.codes, query, radius)
        else:
            masks, bounds = _probe_plan(self.layout, radius)
            positions, distances = _search(
                self.codes,
                self.offsets,
                self.table_base,
                self.layout,
                self.order,
                query,
                radius,
                masks,
                bounds,
            )
        positions, first = np.unique(positions, return_index=True)
        return self.ids[positions].astype(np.int64), distances[first]

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in _ARRAYS)

    def save(self, directory: Path, manifest: dict) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(directory / f"{name}.npy", getattr(self, name))
        manifest = {**manifest, "format": FORMAT_VERSION, "count": len(self)}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))

    @classmethod
    def load(cls, directory: Path) -> tuple[MultiIndex, dict]:
        """Memory-map a saved index: opening costs milliseconds whatever its size."""
        manifest = json.loads((directory / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"index format {manifest.get('format')} is not {FORMAT_VERSION}")
        arrays = [np.load(directory / f"{name}.npy", mmap_mode="r") for name in _ARRAYS]
        return cls(*arrays), manifest


def scan(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, radius: int):
    """Brute-force (ids, distances) within ``radius``: the index's small, mutable tail."""
    if len(ids) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    positions, distances = _scan(codes, query, radius)
    return ids[positions], distances
