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

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from safeguard.index.hamming import HammingIndex
from safeguard.interrupts import reraise_if_interrupt
from safeguard.matching import Matcher
from safeguard.media.images import PdqMode
from safeguard.media.options import Variants
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals.extract import HashOptions, hash_content
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
    ExhibitItems,
    ItemRecord,
)
from safeguard.store.lists import Store
from safeguard.triage.recording import Job, RecentContent, Recorder

IN_MEMORY_MAX = 64 << 20  # bigger items are hashed in the parent, streaming


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

    def hash_options(self) -> HashOptions:
        return HashOptions(
            pdq_mode=self.pdq_mode,
            dihedral=True,
            thumbnail=True,
            seconds_per_hash=self.seconds_per_hash,
            query_views=self.variants.query_views,
        )

    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_depth=self.archive_depth,
            max_exhibit_members=self.archive_members,
            max_exhibit_bytes=self.archive_bytes,
        )


def is_top_level(record: ItemRecord) -> bool:
    """An item of the source's own walk, not found inside an archive or image in it."""
    return Locator(tuple(Step(s["kind"], s["name"]) for s in record.steps)).is_top_level


def plan(source: Path) -> tuple[int, int]:
    """(files, bytes) the source lists at its top level: what a progress bar counts down.

    A quick metadata walk: nothing is read, nothing carved, no archive opened.
    """
    files = size = 0
    listing = open_exhibit(source, "plan", carve=False)
    for item in guarded(listing, listing.items):
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
    spend = ExhibitSpend()
    recorder = Recorder(
        store, state.id, scan_matcher(store, options), lambda: _problems(opened, spend), on_item
    )
    hash_options = options.hash_options()
    jobs = _jobs(
        expand_containers(guarded(opened, opened.items), options.archive_limits(), spend=spend),
        stored.done_locators(state.id),
        stored.next_seq(state.id),
        hash_options,
        recorder.recent,
    )
    hashed = ordered_map(
        partial(hash_job, options=hash_options),
        jobs,
        workers=workers or default_workers(),
        on_crash=_crashed,
    )
    with recorder.saved_on_interrupt():
        recorder.add(hashed)
    recorder.flush()
    finish(store, state.id, opened.verify(), _problems(opened, spend))
    return state.id


def scan_matcher(store: Store, options: ScanOptions) -> Matcher:
    # Lists rarely change during a scan: look for new entries every few seconds, not per file.
    return Matcher(
        store,
        HammingIndex(store, max_staleness=5.0),
        enrolled_variants=options.variants.enrolled,
    )


def finish(store: Store, exhibit_id: int, verification: dict | None, problems) -> None:
    """The exhibit's walk is over: its verdict, and the lists it was matched against."""
    cases = Cases(store)
    cases.finish_exhibit(exhibit_id, verification, problems)
    cases.record_matching(exhibit_id, list_snapshot(store))


def _problems(opened: Exhibit, spend: ExhibitSpend) -> list[Problem]:
    """The exhibit's problems, with its archive budget's end: evidence left unread."""
    if spend.spent is None:
        return opened.problems
    return [*opened.problems, Problem(Level.ERROR, f"archives: {spend.spent}")]


def guarded(opened: Exhibit, walk: Iterator) -> Iterator:
    """The exhibit's walk (its items, or its entries); if the walk itself breaks, an exhibit
    error, not a crash.

    Sources keep their own failures per item and per volume; this catches what
    they could not, so the items listed so far are still scanned and the exhibit
    is reported as failed, with the reason.
    """
    try:
        yield from walk
    except Exception as error:
        reraise_if_interrupt(error)
        opened.problems.append(
            Problem(Level.ERROR, f"listing stopped part-way: {type(error).__name__}: {error}")
        )


def _jobs(
    items: Iterator[Item], done: set[str], seq: int, options: HashOptions, recent: RecentContent
) -> Iterator[Job]:
    # Sources name each entry uniquely; this is the last guard, so that two items
    # under one name can never make the store refuse a batch and end the exhibit.
    names = UniqueNames()
    for item in items:
        key = names.claim(str(item.locator))
        if key != str(item.locator):
            item.locator = item.locator.renamed(item.locator.name + key[len(str(item.locator)) :])
        if key in done:
            continue
        yield read_job(new_record(item, seq), item, options, recent)
        seq += 1


def new_record(item: Item, seq: int) -> ItemRecord:
    """What the walk says of an item, before anything is read."""
    return ItemRecord(
        seq=seq,
        locator=str(item.locator),
        steps=item.locator.to_json(),
        allocation=item.allocation.value,
        size=item.size,
        modified=item.modified,
        accessed=item.accessed,
        changed=item.changed,
        created=item.created,
        errors=list(item.errors),
    )


def read_job(record: ItemRecord, item: Item, options: HashOptions, recent: RecentContent) -> Job:
    """The item's bytes read (to be hashed by a worker), or why they are not there."""
    if item.open is None:
        return Job(record, None)
    if item.size is not None and item.size > IN_MEMORY_MAX:
        # Too big to ship to a worker: hash here, streaming, in constant memory.
        return Job(record, None, hashes=hash_content(record.locator, item.open, options))
    try:
        with item.open() as stream:
            data = stream.read()
            if changed := change_while_read(stream):
                record.errors.append(changed)
    except Exception as error:  # whatever one item raises is that item's error, no more
        reraise_if_interrupt(error)
        record.errors.append(f"cannot read: {error}")
        return Job(record, None)
    digest = hashlib.sha256(data).digest()
    if recent.claim(digest):
        return Job(record, None, copy_of=digest)
    return Job(record, data)


def hash_job(job: Job, options: HashOptions) -> Job:
    if job.data is not None:
        data = job.data
        job.hashes = hash_content(job.record.locator, lambda: io.BytesIO(data), options)
        job.data = None  # not shipped back
    return job


def _crashed(job: Job, reason: str) -> Job:
    job.data = None
    job.record.errors.append(reason)
    return job
