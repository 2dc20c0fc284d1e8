"""Exact Hamming-radius search over 256-bit codes by multi-index hashing.

Norouzi, Punjani and Fleet's observation: split each code into m chunks; if two
codes are within r bits, at least one chunk pair is within ``r // m`` bits
(pigeonhole). With m = 16 chunks of 16 bits and PDQ's radius 31, every match
shares at least one chunk with the query up to one flipped bit. So a query reads
17 buckets in each of 16 tables (the chunk and its 16 one-bit neighbours),
verifies those candidates against the full code, and returns *every* code
within the radius: recall is 100 % by construction, not by tuning.

Layout (all plain NumPy arrays, saved as ``.npy`` and memory-mapped on load):

* ``codes``   (N, 4) uint64, sorted by chunk 0, so table 0 needs no order array;
* ``ids``     (N,) uint32 (int64 if any id needs it), the caller's id of each code;
* ``offsets`` (16, 65537) uint32, where each bucket starts in its table;
* ``order``   (15, N) uint32, the positions of tables 1-15, bucket by bucket.

That is 32 bytes of code and 64 of index (4 of id, 60 of bucket order) per code,
plus 4 MiB of offsets in all: 100M codes fit in under 10 GB.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from llvmlite import binding, ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

CHUNKS = 16
CHUNK_BITS = 16
BUCKETS = 1 << CHUNK_BITS
MAX_CHUNK_RADIUS = 2  # radius up to 47; beyond that the scan is cheaper than probing
FORMAT_VERSION = 1


def _probe_masks(chunk_radius: int) -> np.ndarray:
    masks = [m for m in range(BUCKETS) if m.bit_count() <= chunk_radius]
    return np.array(sorted(masks, key=int.bit_count), dtype=np.int64)


_MASKS = {r: _probe_masks(r) for r in range(MAX_CHUNK_RADIUS + 1)}


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


@njit(cache=True)
def _chunk(code_words, table):
    # Chunk t is the t-th 16-bit slice of the code, counting from the low end of word 0.
    return (code_words[table // 4] >> np.uint64(16 * (table % 4))) & np.uint64(0xFFFF)


@njit(cache=True)
def _build_tables(codes):
    count = codes.shape[0]
    offsets = np.zeros((CHUNKS, BUCKETS + 1), dtype=np.int64)
    for table in range(CHUNKS):
        for position in range(count):
            offsets[table, _chunk(codes[position], table) + 1] += 1
        for bucket in range(BUCKETS):
            offsets[table, bucket + 1] += offsets[table, bucket]
    order = np.empty((CHUNKS - 1, count), dtype=np.uint32)
    for table in range(1, CHUNKS):
        cursor = offsets[table, :BUCKETS].copy()
        for position in range(count):
            key = _chunk(codes[position], table)
            order[table - 1, cursor[key]] = position
            cursor[key] += 1
    # Half the cache footprint of int64: each query reads 272 random offsets.
    return offsets.astype(np.uint32), order


@njit(cache=True)
def _search(codes, offsets, order, query, radius, masks):
    """Positions and distances of every code within ``radius`` of ``query`` (may repeat).

    Each table first gathers its candidates' positions, then verifies them: the
    verification loads are then independent of each other, so the processor keeps
    many cache misses in flight. Buffers are sized before the hot loops, never
    inside them (a reassigned array in a loop stops Numba keeping it in registers).
    """
    candidates = np.empty(4096, dtype=np.int64)
    found_positions = np.empty(64, dtype=np.int64)
    found_distances = np.empty(64, dtype=np.int64)
    found = 0
    for table in range(CHUNKS):
        query_chunk = _chunk(query, table)
        total = 0
        for mask in masks:
            key = query_chunk ^ np.uint64(mask)
            total += np.int64(offsets[table, key + 1]) - np.int64(offsets[table, key])
        if total > candidates.shape[0]:
            candidates = np.empty(2 * total, dtype=np.int64)
        if found + total > found_positions.shape[0]:  # room even if every candidate matches
            grown = 2 * (found + total)
            found_positions = np.concatenate((found_positions[:found], np.empty(grown, np.int64)))
            found_distances = np.concatenate((found_distances[:found], np.empty(grown, np.int64)))
        gathered = 0
        for mask in masks:
            key = query_chunk ^ np.uint64(mask)
            for slot in range(np.int64(offsets[table, key]), np.int64(offsets[table, key + 1])):
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


@njit(cache=True)
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


class MultiIndex:
    """An immutable multi-index over a set of codes; build once, query many times."""

    def __init__(self, codes: np.ndarray, ids: np.ndarray, offsets: np.ndarray, order: np.ndarray):
        self.codes = codes
        self.ids = ids
        self.offsets = offsets
        self.order = order

    @classmethod
    def build(cls, codes: np.ndarray, ids: np.ndarray) -> MultiIndex:
        words = as_words(codes)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and ids.min() >= 0 and ids.max() < 2**32:
            ids = ids.astype(np.uint32)  # half the memory; store ids stay far below 2**32
        if len(words) >= 2**32:
            raise ValueError("a segment holds at most 2**32 codes")
        # Sort by chunk 0 so table 0's positions are the rows themselves.
        by_first_chunk = np.argsort(words[:, 0] & np.uint64(0xFFFF), kind="stable")
        words = np.ascontiguousarray(words[by_first_chunk])
        ids = np.ascontiguousarray(ids[by_first_chunk])
        offsets, order = _build_tables(words)
        return cls(words, ids, offsets, order)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) of every code within ``radius`` of one query (4 uint64 words)."""
        if len(self.ids) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        chunk_radius = radius // CHUNKS
        if chunk_radius > MAX_CHUNK_RADIUS:
            positions, distances = _scan(self.codes, query, radius)
        else:
            positions, distances = _search(
                self.codes, self.offsets, self.order, query, radius, _MASKS[chunk_radius]
            )
        positions, first = np.unique(positions, return_index=True)
        return self.ids[positions].astype(np.int64), distances[first]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.codes, self.ids, self.offsets, self.order))

    def save(self, directory: Path, manifest: dict) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("codes", "ids", "offsets", "order"):
            np.save(directory / f"{name}.npy", getattr(self, name))
        manifest = {**manifest, "format": FORMAT_VERSION, "count": len(self)}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))

    @classmethod
    def load(cls, directory: Path) -> tuple[MultiIndex, dict]:
        """Memory-map a saved index: opening costs milliseconds whatever its size."""
        manifest = json.loads((directory / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"index format {manifest.get('format')} is not {FORMAT_VERSION}")
        arrays = [
            np.load(directory / f"{n}.npy", mmap_mode="r")
            for n in ("codes", "ids", "offsets", "order")
        ]
        return cls(*arrays), manifest


def scan(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, radius: int):
    """Brute-force (ids, distances) within ``radius``: the index's small, mutable tail."""
    if len(ids) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    positions, distances = _scan(codes, query, radius)
    return ids[positions], distances
