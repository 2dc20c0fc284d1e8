"""Unknown pictures grouped into near-duplicate families, so each is reviewed once.

Byte-identical copies belong together, and so do pictures whose PDQ hashes lie
within 31 bits, transitively (union-find over a multi-index search). Pictures
too flat for PDQ (quality under 50) join a family only through identical bytes:
their hashes collide.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from safeguard.index.mih import MultiIndex, as_words
from safeguard.signals import PDQ


class Unknown(NamedTuple):
    """What grouping needs of an unknown picture: small, so a million of them fit."""

    seq: int
    sha256: bytes | None
    pdq: bytes
    quality: int | None


def near_duplicate_families(pictures: Sequence[Unknown]) -> list[list[int]]:
    """Union-find over unknown images: same bytes, or PDQ within 31 (good quality only).

    Returns the families as lists of the pictures' sequence numbers, in order found.
    """
    parent = list(range(len(pictures)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    first_by_bytes: dict[bytes | None, int] = {}
    for index, picture in enumerate(pictures):
        if picture.sha256 in first_by_bytes:
            join(index, first_by_bytes[picture.sha256])
        else:
            first_by_bytes[picture.sha256] = index
    good = [i for i, p in enumerate(pictures) if (p.quality or 0) >= PDQ.min_quality]
    if good:
        codes = np.frombuffer(b"".join(pictures[i].pdq for i in good), np.uint8).reshape(-1, 32)
        index = MultiIndex.build(codes, np.arange(len(good)))
        for position, query in enumerate(as_words(codes)):
            found, _ = index.search(query, PDQ.default_threshold)
            for other in found:
                join(good[position], good[int(other)])
    families: dict[int, list[int]] = defaultdict(list)
    for index, picture in enumerate(pictures):
        families[root(index)].append(picture.seq)
    return sorted(families.values(), key=lambda family: family[0])
