"""The one matching path: hashes in, list hits out, for every front door.

A query is one item's (signal, value) pairs, and each signal is served by the kind
of index it declares. Exact signals (MD5, SHA-1, SHA-256) are looked up in the
store. A Hamming signal (PDQ) goes through its radius index with the largest
threshold any enabled list asks for, and each candidate is then held to its own
list's threshold for that signal (PDQ's default 31); several values of one signal
in a query are variants of one picture (its rotations and flips), and an entry
counts once, at its nearest. Disabled entries and lists never match. A perceptual
hash below its signal's quality floor (PDQ: 50) is not queried (Meta's guidance:
such pictures, flat or nearly blank, collide), but the file's exact hashes still are.

Hits on ``known-good`` lists are returned apart from alerts: they exclude a file
from review and never raise an alert.

A video's vPDQ frames are matched as a bag: its usable frames (quality >= 50,
repeats once) are looked up in the frame index, which names the video entries
holding any frame within reach; each of those is then compared in full with the
reference rule (a frame within the list's vPDQ threshold has a partner; a match
when >= 80 % of the query's frames have one, and >= 0 % of the banked video's: both
per list, ``lists policy --vpdq-percents``). Its ``distance`` is 100 less that
percentage (0: every frame of the query found).

Variants (``--variants query|all``): a query may carry the PDQ of normalised views of
its picture (borders and bands cut away), and an entry may hold the PDQ of geometric
variants enrolled with its picture (crops, cuts, small rotations), each found by the
index as the entry. A hit is measured on the query's own value against the entry's
first; only when that misses does the nearest variant pair count, labelled ``via``, and
such a hit goes to review unless its list chose its action. A list may take fewer
tiers than the command asks (``lists policy --variants``).

For the match service a matcher can also return *review-band* hits: PDQ
distances above a list's threshold and up to its review threshold, which a
person should look at. Triage never asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from safeguard.index.hamming import HammingIndex
from safeguard.signals import PDQ, SIGNAL_TYPES, VPDQ, IndexKind
from safeguard.signals.extract import FileHashes
from safeguard.signals.vpdq import match_percents, usable_hashes
from safeguard.store import Action, EntryHit, ListKind, Scheme, Store

# One item's (signal, value) pairs; a pair may carry a third element, the name of the
# normalised view it was hashed from ("trim", "band": see media.geometry).
Query = Sequence[tuple[str, bytes] | tuple[str, bytes, str]]


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
    # Found only through a variant: a view of the query ("query:trim"), a variant enrolled
    # with the entry's picture ("enrolled:crop-8%"), or both ("query:band+enrolled:top-10%").
    via: str | None = None
    action_chosen: bool = False  # the list (or the category) names its action itself

    @property
    def decision(self) -> Action | None:
        """What this hit asks a platform to do: a hit found only through a variant goes
        to a person unless its list chose its action itself."""
        if self.in_review_band or (self.via and self.action and not self.action_chosen):
            return Action.REVIEW
        return self.action

    def to_json(self) -> dict:
        shown = {
            "list": self.list,
            "entry": self.entry,
            "signal": self.signal,
            "distance": self.distance,
            "category": self.category,
            "scheme": self.scheme.value,
        }
        if self.via:
            shown["via"] = self.via
        return shown


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
        enrolled_variants: bool = False,
    ) -> None:
        self.store = store
        self.review_band = review_band
        # Whether the variants enrolled with entries' pictures count (--variants all).
        self.enrolled_variants = enrolled_variants
        # One index per Hamming or frame-bag signal, opened when first needed.
        self._indexes: dict[str, HammingIndex] = {}
        self._indexes[PDQ.name] = pdq_index if pdq_index is not None else HammingIndex(store)
        self.only_lists = set(lists) if lists else None
        self._radius: dict[str, tuple[float, int]] = {}  # signal -> (index refresh, radius)
        if self.only_lists:
            for name in self.only_lists:
                store.get_list(name)  # a misspelt --list fails loudly, not silently empty

    @property
    def pdq_index(self) -> HammingIndex:
        return self._indexes[PDQ.name]

    def index(self, signal: str) -> HammingIndex:
        if signal not in self._indexes:
            self._indexes[signal] = HammingIndex(
                self.store, signal=signal, max_staleness=self.pdq_index.max_staleness
            )
        return self._indexes[signal]

    def radius(self, signal: str = PDQ.name) -> int:
        """The largest distance any enabled list asks for on a signal (re-read with its
        index's refresh)."""
        refreshed_at = self.index(signal).refreshed_at
        cached = self._radius.get(signal)
        if cached is None or cached[0] != refreshed_at:
            enabled = [hash_list for hash_list in self.store.lists() if hash_list.enabled]
            thresholds = [
                threshold
                for hash_list in enabled
                if signal in hash_list.thresholds
                for threshold in (
                    hash_list.thresholds[signal].threshold,
                    hash_list.thresholds[signal].review_threshold if self.review_band else None,
                )
                if threshold is not None
            ]
            if self.review_band and SIGNAL_TYPES[signal].index is IndexKind.HAMMING:
                thresholds += [  # review bands set per category reach as far
                    policy.review_threshold
                    for hash_list in enabled
                    for policy in hash_list.category_policies.values()
                    if policy.review_threshold is not None
                ]
            cached = (refreshed_at, max([SIGNAL_TYPES[signal].default_threshold, *thresholds]))
            self._radius[signal] = cached
        return cached[1]

    def match_file(self, hashes: FileHashes, *, dihedral: bool = False) -> MatchResult:
        return self.match_files([hashes], dihedral=dihedral)[0]

    def match_files(
        self, many: Sequence[FileHashes], *, dihedral: bool = False
    ) -> list[MatchResult]:
        """Hits for several files at once: one store query for all their exact hashes."""
        return self.match_many([file_query(hashes, dihedral) for hashes in many])

    def match_hashes(self, query: Iterable[tuple[str, bytes]]) -> MatchResult:
        """Hits for one item's (signal, value) pairs."""
        return self.match_many([list(query)])[0]

    def match_many(self, queries: Sequence[Query]) -> list[MatchResult]:
        """For each query, the hits of its pairs, each signal served by its kind of index."""
        results = [MatchResult() for _ in queries]
        exact: dict[tuple[str, bytes], list[int]] = {}
        near: list[tuple[int, str, list[tuple[bytes, str | None]]]] = []
        bags: list[tuple[int, str, bytes]] = []
        for position, query in enumerate(queries):
            variants: dict[str, list[tuple[bytes, str | None]]] = {}
            for signal, value, *view in query:
                kind = SIGNAL_TYPES[signal].index
                if kind is IndexKind.EXACT:
                    exact.setdefault((signal, value), []).append(position)
                elif kind is IndexKind.HAMMING:
                    variants.setdefault(signal, []).append((value, view[0] if view else None))
                else:
                    bags.append((position, signal, value))
            near += [(position, signal, values) for signal, values in variants.items()]
        for hit in self.store.lookup_many(list(exact)):
            for position in exact.get((hit.signal, hit.value), ()):
                self._add(results[position], hit, 0)
        for position, signal, values in near:
            self._add_near(results[position], signal, values)
        for position, signal, value in bags:
            self._add_bag(results[position], signal, value)
        return results

    def _add_bag(self, result: MatchResult, signal: str, value: bytes) -> None:
        query = VPDQ.decode(value)
        candidates = self.index(signal).search(usable_hashes(query), self.radius(signal))
        hits = {hit.entry_id: hit for hit in self.store.entries_by_id(list(candidates))}
        banked = self.store.video_frames(list(hits))
        for entry_id, hit in hits.items():
            bag = VPDQ.compare(query, banked[entry_id], self._threshold(hit))
            if bag.is_match(*match_percents(hit.vpdq_query_percent, hit.vpdq_compared_percent)):
                self._add(result, hit, 100 - int(bag.query_percent))

    def _add_near(
        self, result: MatchResult, signal: str, values: Sequence[tuple[bytes, str | None]]
    ) -> None:
        signal_type = SIGNAL_TYPES[signal]
        candidates = self.index(signal).search([v for v, _ in values], self.radius(signal))
        hits = self.store.entries_by_id(list(candidates))
        wanted = [hit.entry_id for hit in hits if hit.variants.enrolled]
        enrolled = self.store.entry_variants(wanted) if self.enrolled_variants and wanted else {}
        for hit in hits:
            banked = [(hit.value, None), *((v, name) for name, v in enrolled.get(hit.entry_id, ()))]
            queried = [pair for pair in values if pair[1] is None or hit.variants.query_views]
            # Measured again on the stored values: the store, not the index, is the truth.
            scored = _scored(signal_type.distance, queried, banked)
            if not scored:
                continue
            distance, via = _nearest(scored, self._threshold(hit))
            if distance <= self._threshold(hit):
                self._add(result, hit, distance, via=via)
            elif self.review_band and distance <= (hit.review_threshold or -1):
                distance, via = _nearest(scored, hit.review_threshold or -1)
                self._add(result, hit, distance, in_review_band=True, via=via)

    @staticmethod
    def _threshold(hit: EntryHit) -> int:
        return (
            hit.threshold
            if hit.threshold is not None
            else SIGNAL_TYPES[hit.signal].default_threshold
        )

    def _add(
        self,
        result: MatchResult,
        hit: EntryHit,
        distance: int,
        *,
        in_review_band: bool = False,
        via: str | None = None,
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
                via=via,
                action_chosen=hit.action_chosen,
            )
        )


def _is_tile(name: str | None) -> bool:
    return name is not None and name.startswith("tile-")


def _scored(
    distance: Callable[[bytes, bytes], int],
    queried: Sequence[tuple[bytes, str | None]],
    banked: Sequence[tuple[bytes, str | None]],
) -> list[tuple[int, str | None]]:
    """(distance, via) of each pair of the query's values and an entry's that counts.

    A quadrant of the query is compared with the entry's own picture (a collage holds it
    whole), and with the same quadrant enrolled with it only in a vote: two aligned
    quadrants within reach, reported at the farther of the two nearest, so that what is
    laid over one part of the picture does not hide it, and one quadrant alone, a much
    smaller picture, never decides.
    """
    scored: list[tuple[int, str | None]] = []
    aligned: list[int] = []
    for value, view in queried:
        for known, variant in banked:
            if _is_tile(variant):
                if view == variant:
                    aligned.append(distance(known, value))
            elif variant is None or not _is_tile(view):
                scored.append((distance(known, value), _via(view, variant)))
    if len(aligned) >= 2:
        scored.append((sorted(aligned)[1], "query:tiles+enrolled:tiles"))
    return scored


def _via(view: str | None, variant: str | None) -> str | None:
    """How a pair was compared: None for the query's own value against the entry's."""
    named = [f"query:{view}" if view else None, f"enrolled:{variant}" if variant else None]
    return "+".join(part for part in named if part) or None


def _nearest(scored: list[tuple[int, str | None]], limit: int) -> tuple[int, str | None]:
    """The distance a hit is reported at, and the variant it came through: the query's own
    value against the entry's whenever that is within ``limit`` (a variant only adds what
    the picture misses, and a match through one alone is treated more cautiously), else
    the nearest."""
    own = [distance for distance, view in scored if view is None]
    if own and min(own) <= limit:
        return min(own), None
    return min(scored, key=lambda pair: (pair[0], pair[1] is not None))


def file_query(hashes: FileHashes, dihedral: bool = False) -> list[tuple[str, bytes]]:
    """A file's (signal, value) pairs to match: every value, a perceptual hash with its
    rotated and flipped variants when asked for, and none too weak to match."""
    query = [(name, v) for name, v in hashes.values.items() if name not in hashes.perceptual]
    for name, found in hashes.perceptual.items():
        if found.low_quality:
            continue
        variants = found.dihedral.values() if dihedral and found.dihedral else (found.value,)
        query += [(name, value) for value in variants]
    query += [(PDQ.name, value, view) for view, value in hashes.views.items()]
    return query
