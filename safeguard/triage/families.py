"""Unknown pictures grouped into near-duplicate families, so each is reviewed once.

Byte-identical copies belong together, and so do pictures whose PDQ hashes lie
within 31 bits, transitively (union-find over a sweep of the multi-index tables,
:mod:`safeguard.index.joins`). Pictures
too flat for PDQ (quality under 50) join a family only through identical bytes:
their hashes collide.

A report meets every unknown picture of an exhibit, a million of them on a big
one, so they are kept as packed arrays (about 80 bytes a picture), never as
Python objects, and the families come back as two arrays, not a list of lists.

Unknown videos are grouped the same way by their vPDQ frames (:class:`UnknownVideos`):
the same bytes, or one video matching another by the reference rule (80 % of its
frames with a partner within 31 bits), either way round, so a clip joins the video
it was cut from.
"""

from __future__ import annotations

from array import array

import numpy as np

from safeguard.index.joins import join_pairs, join_within, roots
from safeguard.index.mih import MultiIndex, as_words
from safeguard.signals import PDQ, VPDQ
from safeguard.signals.vpdq import FrameHash, usable_hashes

_NO_SHA256 = np.void(bytes(32))


class UnknownPictures:
    """The unknown pictures of an exhibit, in the order met: what grouping needs of each."""

    def __init__(self) -> None:
        self._seqs = array("q")
        self._sha256 = bytearray()
        self._pdq = bytearray()
        self._quality = array("h")

    def __len__(self) -> int:
        return len(self._seqs)

    def add(self, seq: int, sha256: bytes | None, pdq: bytes, quality: int | None) -> None:
        self._seqs.append(seq)
        self._sha256 += sha256 or bytes(32)
        self._pdq += pdq
        self._quality.append(quality or 0)

    def families(self) -> Families:
        """Union-find over the pictures: same bytes, or PDQ within 31 (good quality only)."""
        count = len(self)
        seqs = np.frombuffer(self._seqs, np.int64)
        parent = np.arange(count)
        _join_equal(parent, np.frombuffer(self._sha256, "V32"), ignore=_NO_SHA256)
        good = np.flatnonzero(np.frombuffer(self._quality, np.int16) >= PDQ.min_quality)
        if len(good):
            codes = np.frombuffer(self._pdq, "V32")[good]
            _join_equal(parent, codes, members=good)  # identical hashes: no search needed
            distinct = good[np.unique(codes, return_index=True)[1]]
            matrix = np.frombuffer(self._pdq, np.uint8).reshape(-1, 32)[distinct]
            join_within(MultiIndex.build(matrix, distinct), PDQ.default_threshold, parent)
        return Families.from_roots(seqs, roots(parent))


class UnknownVideos:
    """The unknown videos of an exhibit: their bytes' SHA-256 and vPDQ frames."""

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._sha256: list[bytes] = []
        self._frames: list[list[FrameHash]] = []

    def __len__(self) -> int:
        return len(self._seqs)

    def add(self, seq: int, sha256: bytes | None, vpdq: bytes | None) -> None:
        self._seqs.append(seq)
        self._sha256.append(sha256 or bytes(32))
        self._frames.append(VPDQ.decode(vpdq) if vpdq else [])

    def families(self) -> Families:
        count = len(self)
        parent = np.arange(count)
        if count:
            sha256 = np.frombuffer(b"".join(self._sha256), "V32")
            _join_equal(parent, sha256, ignore=_NO_SHA256)
        owners, codes = [], []
        for video, frames in enumerate(self._frames):
            usable = usable_hashes(frames)
            owners += [video] * len(usable)
            codes += usable
        if codes:
            # Which videos share a frame within reach; only those are compared in full.
            matrix = np.frombuffer(b"".join(codes), np.uint8).reshape(-1, 32)
            index, owner = MultiIndex.build(matrix, np.arange(len(codes))), np.array(owners)
            words = as_words(matrix)
            for video in range(count):
                near = {
                    int(other)
                    for position in np.flatnonzero(owner == video)
                    for other in owner[index.search(words[position], PDQ.default_threshold)[0]]
                    if other > video
                }
                for other in near:
                    if _same_video(self._frames[video], self._frames[other]):
                        join_pairs(parent, np.array([video]), np.array([other]))
        return Families.from_roots(np.array(self._seqs, np.int64), roots(parent))


def _same_video(a: list[FrameHash], b: list[FrameHash]) -> bool:
    return VPDQ.compare(a, b).is_match() or VPDQ.compare(b, a).is_match()


def _join_equal(parent, values, *, members=None, ignore=None) -> None:
    """Join the members (positions in ``parent``; all by default) whose values are equal."""
    members = np.arange(len(values)) if members is None else members
    _, first, group = np.unique(values, return_index=True, return_inverse=True)
    repeated = first[group] != np.arange(len(values))
    if ignore is not None:
        repeated &= values != ignore
    join_pairs(parent, members[repeated], members[first[group][repeated]])


class Families:
    """Families as ``seqs`` grouped family by family and each family's start in it.

    Families are in the order of their first picture; pictures in the order met.
    """

    def __init__(self, seqs: np.ndarray, starts: np.ndarray) -> None:
        self.seqs, self.starts = seqs, starts

    @classmethod
    def from_roots(cls, seqs: np.ndarray, roots: np.ndarray) -> Families:
        _, first, member_of = np.unique(roots, return_index=True, return_inverse=True)
        rank = np.empty(len(first), np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        family = rank[member_of]
        order = np.argsort(family, kind="stable")
        sizes = np.bincount(family, minlength=len(first))
        return cls(seqs[order], np.cumsum(sizes) - sizes)

    def __len__(self) -> int:
        return len(self.starts)

    def first(self, count: int) -> list[list[int]]:
        """The first ``count`` families, each as its pictures' sequence numbers."""
        ends = np.append(self.starts[1:], len(self.seqs))[: len(self.starts)]
        return [
            self.seqs[start:end].tolist()
            for start, end in zip(self.starts[:count], ends[:count], strict=True)
        ]
