"""Unknown pictures grouped into near-duplicate families, so each is reviewed once.

Byte-identical copies belong together, and so do pictures whose PDQ hashes lie
within 31 bits, transitively (union-find over a multi-index search). Pictures
too flat for PDQ (quality under 50) join a family only through identical bytes:
their hashes collide.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from safeguard.index.mih import MultiIndex, as_words
from safeguard.signals import PDQ
from safeguard.store.items import ItemRecord


def near_duplicate_families(records: list[ItemRecord]) -> list[list[ItemRecord]]:
    """Union-find over unknown images: same bytes, or PDQ within 31 (good quality only)."""
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    first_by_bytes: dict[bytes | None, int] = {}
    for index, record in enumerate(records):
        if record.sha256 in first_by_bytes:
            join(index, first_by_bytes[record.sha256])
        else:
            first_by_bytes[record.sha256] = index
    good = [
        i
        for i, r in enumerate(records)
        if r.pdq_quality is not None and r.pdq_quality >= PDQ.min_quality
    ]
    if good:
        codes = np.frombuffer(b"".join(records[i].pdq for i in good), np.uint8).reshape(-1, 32)
        index = MultiIndex.build(codes, np.arange(len(good)))
        for position, query in enumerate(as_words(codes)):
            found, _ = index.search(query, PDQ.default_threshold)
            for other in found:
                join(good[position], good[int(other)])
    families: dict[int, list[ItemRecord]] = defaultdict(list)
    for index, record in enumerate(records):
        families[root(index)].append(record)
    return sorted(families.values(), key=lambda family: family[0].seq)
