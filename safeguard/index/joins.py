"""Every two codes of a set within a Hamming radius of each other, joined in a union-find.

Grouping a million unknown pictures into near-duplicate families is a self-join:
searching each code against the index (one query at a time) pays a random read
per probed bucket and per candidate, ~80 us a code at 300k. Here the multi-index
tables are swept instead: per table, the codes are copied into bucket order, and
each bucket is compared with itself and with the buckets its probe masks reach,
so every candidate is read from memory in sequence. The same pigeonhole argument
as a search (see :mod:`safeguard.index.mih`) makes it exact: every pair within the
radius shares a bucket, or neighbouring buckets, in at least one table.

Joined pairs are never materialised, so a burst of ten thousand near-identical
photos costs a union per pair, not a list of fifty million pairs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from safeguard.index.mih import MAX_PROBE_RADIUS, MultiIndex, _distance, _probe_plan, probe_radii


def join_within(index: MultiIndex, radius: int, parent: np.ndarray) -> None:
    """Join, in the union-find forest ``parent`` (indexed by the index's ids), every two
    indexed codes within ``radius``. ``parent`` is updated in place."""
    if len(index) < 2:
        return
    ids = np.asarray(index.ids, dtype=np.int64)
    if max(probe_radii(index.layout, radius)) > MAX_PROBE_RADIUS:
        _join_by_scan(index.codes, ids, radius, parent)
        return
    masks, bounds = _probe_plan(index.layout, radius)
    for table in range(len(index.layout)):
        positions = (
            np.arange(len(ids)) if table == 0 else index.order[table - 1].astype(np.int64)
        )  # the table's codes in bucket order
        base, width = int(index.table_base[table]), int(index.layout[table, 1])
        _join_table(
            np.ascontiguousarray(index.codes[positions]),
            ids[positions],
            index.offsets[base : base + (1 << width) + 1].astype(np.int64),
            masks[bounds[table] : bounds[table + 1]],
            radius,
            parent,
        )


def roots(parent: np.ndarray) -> np.ndarray:
    """Each member's root: its component's label."""
    _flatten(parent)
    return parent


@njit(cache=True)
def _find(parent, member):
    while parent[member] != member:
        parent[member] = parent[parent[member]]
        member = parent[member]
    return member


@njit(cache=True)
def join_pairs(parent, left, right):
    """Join each (left[k], right[k]) in ``parent``."""
    for k in range(len(left)):
        a, b = _find(parent, left[k]), _find(parent, right[k])
        if a != b:
            parent[a] = b


@njit(cache=True)
def _join_table(codes, ids, offsets, masks, radius, parent):
    """Compare each bucket with itself and with every bucket a probe mask reaches from
    it (each unordered pair of buckets once: the mask set is closed under xor)."""
    buckets = len(offsets) - 1
    for bucket in range(buckets):
        start, end = offsets[bucket], offsets[bucket + 1]
        if start == end:
            continue
        for m in range(len(masks)):
            other = bucket ^ masks[m]
            if other < bucket:
                continue
            other_start, other_end = offsets[other], offsets[other + 1]
            for a in range(start, end):
                first = a + 1 if other == bucket else other_start
                for b in range(first, other_end):
                    if _distance(codes, b, codes[a]) <= radius:
                        root_a, root_b = _find(parent, ids[a]), _find(parent, ids[b])
                        if root_a != root_b:
                            parent[root_a] = root_b


@njit(cache=True)
def _join_by_scan(codes, ids, radius, parent):
    for a in range(codes.shape[0]):
        for b in range(a + 1, codes.shape[0]):
            if _distance(codes, b, codes[a]) <= radius:
                root_a, root_b = _find(parent, ids[a]), _find(parent, ids[b])
                if root_a != root_b:
                    parent[root_a] = root_b


@njit(cache=True)
def _flatten(parent):
    for member in range(len(parent)):
        parent[member] = _find(parent, member)
