"""Scanning an exhibit: every item hashed, matched and recorded, resumably.

The parent process walks the source (a folder, a disk image, or a single file;
archives and disk images inside any of them are opened in place), reads each item's bytes while
the source is positioned on it, and hands them to worker processes to hash.
Content already seen in this exhibit (same SHA-256) is not decoded again: the
copy gets the first one's hashes, and is still listed. Results come back in
order; each is matched against every enabled list (dihedral variants on) and
written in small batches keyed by the item's locator, so a scan killed at any
moment resumes without losing or repeating an item.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

from safeguard.index.hamming import HammingIndex
from safeguard.matching import Matcher, MatchResult
from safeguard.media.images import PdqMode
from safeguard.media.options import Variants
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import DIHEDRAL_NAMES
from safeguard.signals.extract import FileHashes, HashOptions, hash_content
from safeguard.sources.archives import (
    EXHIBIT_BYTES,
    EXHIBIT_MEMBERS,
    ArchiveLimits,
    ExhibitSpend,
)
from safeguard.sources.base import Item, Level, Locator, Problem, Step, UniqueNames
from safeguard.sources.exhibit import Exhibit, open_exhibit
from safeguard.sources.files import change_while_read
from safeguard.sources.nested import expand_containers
from safeguard.store.cases import COMPLETE, Cases, list_snapshot
from safeguard.store.items import (
    COLUMN_SIGNALS,
    VIEW_PREFIX,
    ExhibitItems,
    ItemRecord,
    MatchRecord,
)
from safeguard.store.lists import Store
from safeguard.vocabulary.content import EMPTY

IN_MEMORY_MAX = 64 << 20  # bigger items are hashed in the parent, streaming
BATCH_ITEMS = 200
BATCH_SECONDS = 2.0
MATCH_GROUP = 32


@dataclass(frozen=True, slots=True)
class ScanOptions:
    pdq_mode: PdqMode = PdqMode.FAST
    archive_depth: int = 5
    archive_members: int = EXHIBIT_MEMBERS  # across all the exhibit's archives
    archive_bytes: int = EXHIBIT_BYTES
    seconds_per_hash: float = 1.0  # vPDQ of videos: a frame hashed per this many seconds
    variants: Variants = Variants.NONE

    def to_json(self) -> dict:
        chosen = {"pdq_mode": self.pdq_mode.value, "archive_depth": self.archive_depth}
        # Budgets only when raised or lowered: exhibits scanned before they could be
        # chosen resume with the same options.
        if self.archive_members != EXHIBIT_MEMBERS:
            chosen["archive_members"] = self.archive_members
        if self.archive_bytes != EXHIBIT_BYTES:
            chosen["archive_bytes"] = self.archive_bytes
        if self.seconds_per_hash != 1.0:
            chosen["seconds_per_hash"] = self.seconds_per_hash
        if self.variants is not Variants.NONE:
            chosen["variants"] = self.variants.value
        return chosen

    @classmethod
    def from_json(cls, chosen: dict) -> ScanOptions:
        return cls(
            pdq_mode=PdqMode(chosen.get("pdq_mode", PdqMode.FAST.value)),
            archive_depth=chosen.get("archive_depth", 5),
            archive_members=chosen.get("archive_members", EXHIBIT_MEMBERS),
            archive_bytes=chosen.get("archive_bytes", EXHIBIT_BYTES),
            seconds_per_hash=chosen.get("seconds_per_hash", 1.0),
            variants=Variants(chosen.get("variants", Variants.NONE.value)),
        )

    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_depth=self.archive_depth,
            max_exhibit_members=self.archive_members,
            max_exhibit_bytes=self.archive_bytes,
        )


@dataclass(slots=True)
class _Job:
    record: ItemRecord
    data: bytes | None  # the item's bytes, or None: already hashed, a copy, or unreadable
    copy_of: bytes | None = None  # SHA-256 of identical content scanned earlier
    hashes: FileHashes | None = None


def is_top_level(record: ItemRecord) -> bool:
    """An item of the source's own walk, not found inside an archive or image in it."""
    return Locator(tuple(Step(s["kind"], s["name"]) for s in record.steps)).is_top_level


def plan(source: Path) -> tuple[int, int]:
    """(files, bytes) the source lists at its top level: what a progress bar counts down.

    A quick metadata walk: nothing is read, nothing carved, no archive opened.
    """
    files = size = 0
    for item in _guarded(open_exhibit(source, "plan", carve=False)):
        files += 1
        size += item.size or 0
    return files, size


def scan_exhibit(
    store: Store,
    source: Path,
    case: str,
    exhibit: str,
    *,
    options: ScanOptions | None = None,
    workers: int | None = None,
    on_item: Callable[[ItemRecord], None] | None = None,
    examiner: str | None = None,
) -> int:
    """Scan (or finish scanning) one exhibit; returns its id.

    Interrupted (Ctrl-C), it saves every item already hashed and matched before
    letting the interrupt through: the same call later carries on from there.
    """
    options = options or ScanOptions()
    cases = Cases(store)
    state = cases.start_exhibit(
        case, exhibit, str(source.resolve()), options.to_json(), examiner=examiner
    )
    if state.status == COMPLETE:
        return state.id
    opened = open_exhibit(source, exhibit)
    stored = ExhibitItems(store)
    done = stored.done_locators(state.id)
    # Lists rarely change during a scan: look for new entries every few seconds, not per file.
    matcher = Matcher(
        store,
        HammingIndex(store, max_staleness=5.0),
        enrolled_variants=options.variants.enrolled,
    )
    hash_options = HashOptions(
        pdq_mode=options.pdq_mode,
        dihedral=True,
        thumbnail=True,
        seconds_per_hash=options.seconds_per_hash,
        query_views=options.variants.query_views,
    )
    recent = _RecentContent()
    spend = ExhibitSpend()
    jobs = _jobs(
        expand_containers(_guarded(opened), options.archive_limits(), spend=spend),
        done,
        stored.next_seq(state.id),
        hash_options,
        recent,
    )
    batch: list[ItemRecord] = []
    flushed = time.monotonic()
    hashed = ordered_map(
        partial(_hash_job, options=hash_options),
        jobs,
        workers=workers or default_workers(),
        on_crash=_crashed,
    )
    try:
        # Matched a few dozen at a time: one store query covers all their exact hashes.
        while group := list(islice(hashed, MATCH_GROUP)):
            for record in _complete_group(group, recent, matcher):
                batch.append(record)
                if on_item is not None:
                    on_item(record)
            if len(batch) >= BATCH_ITEMS or time.monotonic() - flushed > BATCH_SECONDS:
                stored.save_items(state.id, batch)
                cases.note_problems(state.id, _problems(opened, spend))
                batch, flushed = [], time.monotonic()
    except KeyboardInterrupt:
        # Whole records only; if the interrupt came just after a batch was committed,
        # saving it again is refused, and the resumed scan skips those items anyway.
        with contextlib.suppress(Exception):
            stored.save_items(state.id, batch)
            cases.note_problems(state.id, _problems(opened, spend))
        raise
    stored.save_items(state.id, batch)
    verification = opened.verify()
    cases.finish_exhibit(state.id, verification, _problems(opened, spend))
    cases.record_matching(state.id, list_snapshot(store))
    return state.id


def _problems(opened: Exhibit, spend: ExhibitSpend) -> list[Problem]:
    """The exhibit's problems, with its archive budget's end: evidence left unread."""
    if spend.spent is None:
        return opened.problems
    return [*opened.problems, Problem(Level.ERROR, f"archives: {spend.spent}")]


def _guarded(opened: Exhibit) -> Iterator[Item]:
    """The exhibit's items; if its walk itself breaks, an exhibit error, not a crash.

    Sources keep their own failures per item and per volume; this catches what
    they could not, so the items listed so far are still scanned and the exhibit
    is reported as failed, with the reason.
    """
    try:
        yield from opened.items
    except Exception as error:
        opened.problems.append(
            Problem(Level.ERROR, f"listing stopped part-way: {type(error).__name__}: {error}")
        )


def _jobs(
    items: Iterator[Item], done: set[str], seq: int, options: HashOptions, recent: _RecentContent
) -> Iterator[_Job]:
    # Sources name each entry uniquely; this is the last guard, so that two items
    # under one name can never make the store refuse a batch and end the exhibit.
    names = UniqueNames()
    for item in items:
        key = names.claim(str(item.locator))
        if key != str(item.locator):
            item.locator = item.locator.renamed(item.locator.name + key[len(str(item.locator)) :])
        if key in done:
            continue
        record = ItemRecord(
            seq=seq,
            locator=key,
            steps=item.locator.to_json(),
            allocation=item.allocation.value,
            size=item.size,
            modified=item.modified,
            accessed=item.accessed,
            changed=item.changed,
            created=item.created,
            errors=list(item.errors),
        )
        seq += 1
        if item.open is None:
            yield _Job(record, None)
            continue
        if item.size is not None and item.size > IN_MEMORY_MAX:
            # Too big to ship to a worker: hash here, streaming, in constant memory.
            yield _Job(record, None, hashes=hash_content(key, item.open, options))
            continue
        try:
            with item.open() as stream:
                data = stream.read()
                if changed := change_while_read(stream):
                    record.errors.append(changed)
        except Exception as error:  # whatever one item raises is that item's error, no more
            record.errors.append(f"cannot read: {error}")
            yield _Job(record, None)
            continue
        digest = hashlib.sha256(data).digest()
        if recent.claim(digest):
            yield _Job(record, None, copy_of=digest)
        else:
            yield _Job(record, data)


def _hash_job(job: _Job, options: HashOptions) -> _Job:
    if job.data is not None:
        data = job.data
        job.hashes = hash_content(job.record.locator, lambda: io.BytesIO(data), options)
        job.data = None  # not shipped back
    return job


def _crashed(job: _Job, reason: str) -> _Job:
    job.data = None
    job.record.errors.append(reason)
    return job


_CONTENT_FIELDS = (
    "size", "type", "md5", "sha1", "sha256", "pdq", "pdq_quality", "pdq_dihedral", "width",
    "height", "values", "qualities",
)  # fmt: skip


class _RecentContent:
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
        if record.sha256 in self._known:
            self._known[record.sha256] = record

    def recall(self, digest: bytes) -> ItemRecord | None:
        return self._known.get(digest)


def _complete_group(
    group: list[_Job], recent: _RecentContent, matcher: Matcher
) -> list[ItemRecord]:
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
