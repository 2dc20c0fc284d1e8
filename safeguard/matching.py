"""The one matching path: hashes in, list hits out, for every front door.

Exact signals (MD5, SHA-1, SHA-256) are looked up in the store; PDQ goes through
the radius index with the largest threshold any enabled list asks for, and each
candidate is then held to its own list's threshold (default 31). Disabled
entries and lists never match. A PDQ hash of quality below 50 is not matched
(Meta's guidance: such pictures, flat or nearly blank, collide), but the file's
exact hashes still are.

Hits on ``known-good`` lists are returned apart from alerts: they exclude a file
from review and never raise an alert.

A video's vPDQ frames are matched as a bag: its usable frames (quality >= 50,
repeats once) are looked up in the frame index, which names the video entries
holding any frame within reach; each of those is then compared in full with the
reference rule (a frame within the list's PDQ threshold has a partner; a match
when >= 80 % of the query's frames have one, and >= 0 % of the banked video's: both
per list, ``lists policy --vpdq-percents``). Its ``distance`` is 100 less that
percentage (0: every frame of the query found).

For the match service a matcher can also return *review-band* hits: PDQ
distances above a list's threshold and up to its review threshold, which a
person should look at. Triage never asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from safeguard.index.hamming import HammingIndex
from safeguard.signals import CRYPTOGRAPHIC, PDQ, VPDQ
from safeguard.signals.extract import FileHashes
from safeguard.signals.vpdq import match_percents, usable_hashes
from safeguard.store import Action, EntryHit, ListKind, Scheme, Store


@dataclass(frozen=True, slots=True)
class Match:
    list: str
    entry: int
    signal: str
    distance: int
    category: str | None
    scheme: Scheme
    kind: ListKind
    action: Action | None = None  # the list's: None for known-good lists
    in_review_band: bool = False  # near, not close enough to be a match

    @property
    def decision(self) -> Action | None:
        """What this hit asks a platform to do."""
        return Action.REVIEW if self.in_review_band else self.action

    def to_json(self) -> dict:
        return {
            "list": self.list,
            "entry": self.entry,
            "signal": self.signal,
            "distance": self.distance,
            "category": self.category,
            "scheme": self.scheme.value,
        }


@dataclass(slots=True)
class MatchResult:
    alerts: list[Match] = field(default_factory=list)
    known_good: list[Match] = field(default_factory=list)

    def add(self, match: Match) -> None:
        (self.known_good if match.kind is ListKind.KNOWN_GOOD else self.alerts).append(match)


class Matcher:
    def __init__(
        self,
        store: Store,
        pdq_index: HammingIndex | None = None,
        lists: Sequence[str] | None = None,
        *,
        review_band: bool = False,
    ) -> None:
        self.store = store
        self.review_band = review_band
        self.pdq_index = pdq_index if pdq_index is not None else HammingIndex(store)
        self.only_lists = set(lists) if lists else None
        self._frame_index: HammingIndex | None = None  # opened on the first video
        self._radius: int | None = None
        self._radius_at = -1.0
        if self.only_lists:
            for name in self.only_lists:
                store.get_list(name)  # a misspelt --list fails loudly, not silently empty

    def radius(self) -> int:
        """The largest PDQ distance any enabled list asks for (re-read with the index's refresh)."""
        if self._radius is None or self._radius_at != self.pdq_index.refreshed_at:
            thresholds = [
                threshold
                for hash_list in self.store.lists()
                if hash_list.enabled
                for threshold in (
                    hash_list.pdq_threshold,
                    hash_list.review_threshold if self.review_band else None,
                )
                if threshold is not None
            ]
            self._radius = max([PDQ.default_threshold, *thresholds])
            self._radius_at = self.pdq_index.refreshed_at
        return self._radius

    @property
    def frame_index(self) -> HammingIndex:
        if self._frame_index is None:
            self._frame_index = HammingIndex(
                self.store, signal=VPDQ.name, max_staleness=self.pdq_index.max_staleness
            )
        return self._frame_index

    def match_file(self, hashes: FileHashes, *, dihedral: bool = False) -> MatchResult:
        return self.match_files([hashes], dihedral=dihedral)[0]

    def match_files(
        self, many: Sequence[FileHashes], *, dihedral: bool = False
    ) -> list[MatchResult]:
        """Hits for several files at once: one store query for all their exact hashes."""
        exact = [
            [(s.name, h.digests[s.name]) for s in CRYPTOGRAPHIC if s.name in h.digests]
            for h in many
        ]
        videos = [h.values.get(VPDQ.name) for h in many]
        return self.match_many(exact, [_pdq_queries(h, dihedral) for h in many], videos)

    def match_hashes(
        self,
        exact: Iterable[tuple[str, bytes]],
        pdq_values: Sequence[bytes] = (),
        video: bytes | None = None,
    ) -> MatchResult:
        """Hits for exact (signal, value) pairs, PDQ values (variants of one picture) and a
        video's vPDQ frames."""
        return self.match_many([list(exact)], [list(pdq_values)], [video])[0]

    def match_many(
        self,
        exact: Sequence[list[tuple[str, bytes]]],
        pdq: Sequence[list[bytes]],
        videos: Sequence[bytes | None] | None = None,
    ) -> list[MatchResult]:
        """For each query i: hits of its exact pairs ``exact[i]``, its PDQ values ``pdq[i]``
        and its video frames ``videos[i]``."""
        results = [MatchResult() for _ in exact]
        wanted = {pair: [] for pairs in exact for pair in pairs}
        for index, pairs in enumerate(exact):
            for pair in pairs:
                wanted[pair].append(index)
        for hit in self.store.lookup_many(list(wanted)):
            for index in wanted.get((hit.signal, hit.value), ()):
                self._add(results[index], hit, 0)
        for result, pdq_values in zip(results, pdq, strict=True):
            if pdq_values:
                self._add_pdq(result, pdq_values)
        for result, frames in zip(results, videos or [None] * len(results), strict=True):
            if frames:
                self._add_video(result, frames)
        return results

    def _add_video(self, result: MatchResult, value: bytes) -> None:
        query = VPDQ.decode(value)
        candidates = self.frame_index.search(usable_hashes(query), self.radius())
        hits = {hit.entry_id: hit for hit in self.store.entries_by_id(list(candidates))}
        banked = self.store.video_frames(list(hits))
        for entry_id, hit in hits.items():
            limit = hit.pdq_threshold if hit.pdq_threshold is not None else PDQ.default_threshold
            bag = VPDQ.compare(query, banked[entry_id], limit)
            if bag.is_match(*match_percents(hit.vpdq_query_percent, hit.vpdq_compared_percent)):
                self._add(result, hit, 100 - int(bag.query_percent))

    def _add_pdq(self, result: MatchResult, pdq_values: Sequence[bytes]) -> None:
        candidates = self.pdq_index.search(pdq_values, self.radius())
        for hit in self.store.entries_by_id(list(candidates)):
            # Measured again on the stored value: the store, not the index, is the truth.
            distance = min(PDQ.distance(hit.value, value) for value in pdq_values)
            limit = hit.pdq_threshold if hit.pdq_threshold is not None else PDQ.default_threshold
            if distance <= limit:
                self._add(result, hit, distance)
            elif self.review_band and distance <= (hit.review_threshold or -1):
                self._add(result, hit, distance, in_review_band=True)

    def _add(
        self, result: MatchResult, hit: EntryHit, distance: int, *, in_review_band: bool = False
    ) -> None:
        if self.only_lists is not None and hit.list_name not in self.only_lists:
            return
        result.add(
            Match(
                list=hit.list_name,
                entry=hit.entry_id,
                signal=hit.signal,
                distance=distance,
                category=hit.category,
                scheme=hit.scheme,
                kind=hit.list_kind,
                action=hit.action,
                in_review_band=in_review_band,
            )
        )


def _pdq_queries(hashes: FileHashes, dihedral: bool) -> list[bytes]:
    """The PDQ values to search for a file: none when its hash is too weak to match."""
    if hashes.pdq is None or hashes.pdq.low_quality:
        return []
    variants = hashes.pdq.dihedral if dihedral and hashes.pdq.dihedral else None
    return list(variants.values()) if variants else [hashes.pdq.value]
