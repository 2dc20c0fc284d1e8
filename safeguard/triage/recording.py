"""Recording a scan's items: matched a few dozen at a time, saved in batches, in walk order.

Whoever hashed the items (this process's workers, or a cluster's), the records are
completed here: a copy of content seen recently takes its original's hashes and
matches, the rest are matched against every enabled list together (one store query
covers a group's exact hashes), and the records are saved in batches keyed by their
locators, so that a scan killed at any moment resumes without losing or repeating one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from safeguard.interrupts import stop_if_asked
from safeguard.matching import Matcher, MatchResult
from safeguard.signals import DIHEDRAL_NAMES
from safeguard.signals.extract import FileHashes
from safeguard.sources.base import Problem
from safeguard.store.cases import Cases
from safeguard.store.items import COLUMN_SIGNALS, VIEW_PREFIX, ExhibitItems, ItemRecord, MatchRecord
from safeguard.store.lists import Store
from safeguard.vocabulary.content import EMPTY

BATCH_ITEMS = 200
BATCH_SECONDS = 2.0
MATCH_GROUP = 32


@dataclass(slots=True)
class Job:
    record: ItemRecord
    data: bytes | None  # the item's bytes, or None: already hashed, a copy, or unreadable
    copy_of: bytes | None = None  # SHA-256 of identical content scanned earlier
    hashes: FileHashes | None = None


class Recorder:
    """Completes, matches and saves one exhibit's records, in the order they are given.

    ``problems`` is asked for the exhibit's problems so far each time a batch is
    saved, so that a scan killed later still shows what its walk had found wrong.
    """

    def __init__(
        self,
        store: Store,
        exhibit_id: int,
        matcher: Matcher,
        problems: Callable[[], list[Problem]],
        on_item: Callable[[ItemRecord], None] | None = None,
    ) -> None:
        self.exhibit_id = exhibit_id
        self.items = ExhibitItems(store)
        self.cases = Cases(store)
        self.matcher = matcher
        self.problems = problems
        self.on_item = on_item
        self.recent = RecentContent()
        self.batch: list[ItemRecord] = []
        self.flushed = time.monotonic()
        self.saving_seconds = 0.0  # time spent writing to the store: is it the bottleneck?

    def add(self, jobs: Iterable[Job]) -> None:
        jobs = iter(jobs)
        while True:
            stop_if_asked()  # before the next group is read: every record in the batch is whole
            group = list(islice(jobs, MATCH_GROUP))
            if not group:
                return
            for record in complete_group(group, self.recent, self.matcher):
                self.batch.append(record)
                if self.on_item is not None:
                    self.on_item(record)
            if len(self.batch) >= BATCH_ITEMS or time.monotonic() - self.flushed > BATCH_SECONDS:
                self.flush()

    @contextlib.contextmanager
    def saved_on_interrupt(self) -> Iterator[None]:
        """If Ctrl-C ends the block, the records completed so far are saved first."""
        try:
            yield
        except KeyboardInterrupt:
            # Whole records only; if the interrupt came just after a batch was committed,
            # saving it again is refused, and the resumed scan skips those items anyway.
            with contextlib.suppress(Exception):
                self.flush()
            raise

    def flush(self) -> None:
        started = time.perf_counter()
        self.items.save_items(self.exhibit_id, self.batch)
        self.cases.note_problems(self.exhibit_id, self.problems())
        self.saving_seconds += time.perf_counter() - started
        self.batch, self.flushed = [], time.monotonic()


_CONTENT_FIELDS = (
    "size", "type", "md5", "sha1", "sha256", "pdq", "pdq_quality", "pdq_dihedral", "width",
    "height", "values", "qualities",
)  # fmt: skip


class RecentContent:
    """What the scan learnt about recently seen content, by SHA-256, in bounded memory.

    A copy of content still remembered reuses the first copy's hashes and matches
    (same bytes, same matches) instead of being decoded again. Content forgotten
    (beyond ``capacity`` distinct contents) is simply hashed again: slower, never wrong.
    """

    def __init__(self, capacity: int = 20_000) -> None:  # ~60 MiB at most, thumbnails included
        self.capacity = capacity
        self._known: OrderedDict[bytes, ItemRecord | None] = OrderedDict()

    def claim(self, digest: bytes) -> bool:
        """True when this content was seen recently (its first copy is, or was, hashed)."""
        if digest in self._known:
            self._known.move_to_end(digest)
            return True
        self._known[digest] = None
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)
        return False

    def remember(self, record: ItemRecord) -> None:
        """Keep a hashed record for its copies (claimed first or not: a cluster's worker
        claims content on its own side)."""
        if record.sha256 is None:
            return
        self._known[record.sha256] = record
        self._known.move_to_end(record.sha256)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def recall(self, digest: bytes) -> ItemRecord | None:
        # Touched as the hashing side's claim touched it, so that both forget the same
        # contents first: a cluster's worker claims, the client recalls.
        if digest in self._known:
            self._known.move_to_end(digest)
        return self._known.get(digest)


def complete_group(group: list[Job], recent: RecentContent, matcher: Matcher) -> list[ItemRecord]:
    """Fill each job's record from its hashes (or its original's) and match them together."""
    fresh = [job for job in group if job.copy_of is None and job.hashes is not None]
    results = matcher.match_files([job.hashes for job in fresh], dihedral=True)
    for job, result in zip(fresh, results, strict=True):
        _fill(job.record, job.hashes, result)
        recent.remember(
            dataclasses.replace(
                job.record, errors=[e for e in job.record.errors if e == job.hashes.error]
            )
        )
    for job in group:
        if job.copy_of is not None:
            _copy_from(job.record, recent.recall(job.copy_of))
        elif job.hashes is None and not job.record.errors:
            job.record.errors.append("not readable")
    return [job.record for job in group]


def _copy_from(record: ItemRecord, original: ItemRecord | None) -> None:
    if original is None:
        record.errors.append("same bytes as an earlier item that could not be hashed")
        return
    for name in _CONTENT_FIELDS:
        setattr(record, name, getattr(original, name))
    record.errors.extend(e for e in original.errors if e not in record.errors)
    record.matches = list(original.matches)
    record.thumbnail = original.thumbnail


def _fill(record: ItemRecord, hashes: FileHashes, result) -> None:
    record.size = hashes.size if hashes.size is not None else record.size
    record.type = hashes.media_type.mime if hashes.media_type else None
    record.md5, record.sha1, record.sha256 = (
        hashes.values.get(n) for n in ("md5", "sha1", "sha256")
    )
    if hashes.pdq is not None:
        record.pdq, record.pdq_quality = hashes.pdq.value, hashes.pdq.quality
        if hashes.pdq.dihedral:  # kept so the exhibit can be matched again without a re-read
            record.pdq_dihedral = b"".join(hashes.pdq.dihedral[n] for n in DIHEDRAL_NAMES[1:])
    record.width, record.height = hashes.width, hashes.height
    record.values = {n: v for n, v in hashes.values.items() if n not in COLUMN_SIGNALS}
    # Kept so that the exhibit can be matched again, views included, without a re-read.
    record.values.update((f"{VIEW_PREFIX}{name}", v) for name, v in hashes.views.items())
    record.qualities = {
        n: hashes.perceptual[n].quality for n in record.values if n in hashes.perceptual
    }
    if hashes.error and hashes.media_type is not EMPTY:  # an empty file is a fact, not a failure
        record.errors.append(hashes.error)
    record.matches = match_records(result)
    if not record.matches:  # a reviewer may need to see it: never a graded picture
        record.thumbnail = hashes.thumbnail


def match_records(result: MatchResult) -> list[MatchRecord]:
    return [
        MatchRecord(
            m.entry, m.list, m.kind.value, m.signal, m.distance, m.category, m.scheme.value, m.via
        )
        for m in (*result.alerts, *result.known_good)
    ]
