"""Scanning an exhibit: every item hashed, matched and recorded, resumably.

The parent process walks the source (a folder, a disk image, or a single file;
archives inside any of them are opened in place), reads each item's bytes while
the source is positioned on it, and hands them to worker processes to hash.
Content already seen in this exhibit (same SHA-256) is not decoded again: the
copy gets the first one's hashes, and is still listed. Results come back in
order; each is matched against every enabled list (dihedral variants on) and
written in small batches keyed by the item's locator, so a scan killed at any
moment resumes without losing or repeating an item.
"""

from __future__ import annotations

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

from safeguard.errors import UsageError
from safeguard.index.pdq import PdqIndex
from safeguard.matching import Matcher
from safeguard.media.images import PdqMode
from safeguard.media.types import SNIFF_BYTES, MediaKind, sniff
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals.extract import FileHashes, HashOptions, hash_content
from safeguard.sources.archives import ArchiveLimits, expand_archives
from safeguard.sources.base import Item, Locator
from safeguard.sources.disk import DiskImageError, DiskImageSource, verify_ewf
from safeguard.sources.files import open_evidence
from safeguard.sources.folder import FolderSource
from safeguard.store.cases import Cases, ItemRecord, MatchRecord
from safeguard.store.lists import Store

IN_MEMORY_MAX = 64 << 20  # bigger items are hashed in the parent, streaming
BATCH_ITEMS = 200
BATCH_SECONDS = 2.0
MATCH_GROUP = 32


@dataclass(frozen=True, slots=True)
class ScanOptions:
    pdq_mode: PdqMode = PdqMode.FAST
    archive_depth: int = 5

    def to_json(self) -> dict:
        return {"pdq_mode": self.pdq_mode.value, "archive_depth": self.archive_depth}


@dataclass(slots=True)
class _Job:
    record: ItemRecord
    data: bytes | None  # the item's bytes, or None: already hashed, a copy, or unreadable
    copy_of: bytes | None = None  # SHA-256 of identical content scanned earlier
    hashes: FileHashes | None = None


def open_source(
    path: Path, exhibit: str, *, carve: bool = True
) -> tuple[Iterator[Item], Callable[[], dict | None]]:
    """Items of a folder, disk image or single file; and its integrity check, if any."""
    if path.is_dir():
        return FolderSource(path, exhibit).items(), lambda: None
    if not path.is_file():
        raise UsageError(f"{path} is neither a folder nor a file")
    with open_evidence(path) as stream:
        kind = sniff(stream.read(SNIFF_BYTES))
    if kind.kind is MediaKind.OTHER:
        disk = DiskImageSource(path, exhibit, carve=carve)
        try:
            disk.file_systems()
        except DiskImageError:
            pass
        else:
            is_ewf = path.suffix.lower() in (".e01", ".ex01")
            return disk.items(), (lambda: verify_ewf(path)) if is_ewf else (lambda: None)
    single = Item(
        Locator.root("file", exhibit).child("file", path.name),
        partial(open_evidence, str(path)),
        size=path.stat().st_size,
    )
    return iter([single]), lambda: None


ARCHIVE_STEPS = frozenset({"zip", "tar", "7z", "gzip", "bzip2", "xz"})


def is_top_level(record: ItemRecord) -> bool:
    """An item of the source itself, not a member of an archive inside it."""
    return not any(step["kind"] in ARCHIVE_STEPS for step in record.steps)


def plan(source: Path) -> tuple[int, int]:
    """(files, bytes) the source lists at its top level: what a progress bar counts down.

    A quick metadata walk: nothing is read, nothing carved, no archive opened.
    """
    items, _ = open_source(source, "plan", carve=False)
    files = size = 0
    for item in items:
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
) -> int:
    """Scan (or finish scanning) one exhibit; returns its id."""
    options = options or ScanOptions()
    cases = Cases(store)
    state = cases.start_exhibit(case, exhibit, str(source.resolve()), options.to_json())
    if state.status == "complete":
        return state.id
    items, verify = open_source(source, exhibit)
    done = cases.done_locators(state.id)
    # Lists rarely change during a scan: look for new entries every few seconds, not per file.
    matcher = Matcher(store, PdqIndex(store, max_staleness=5.0))
    hash_options = HashOptions(pdq_mode=options.pdq_mode, dihedral=True, thumbnail=True)
    recent = _RecentContent()
    jobs = _jobs(
        expand_archives(items, ArchiveLimits(max_depth=options.archive_depth)),
        done,
        cases.next_seq(state.id),
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
    # Matched a few dozen at a time: one store query covers all their exact hashes.
    while group := list(islice(hashed, MATCH_GROUP)):
        for record in _complete_group(group, recent, matcher):
            batch.append(record)
            if on_item is not None:
                on_item(record)
        if len(batch) >= BATCH_ITEMS or time.monotonic() - flushed > BATCH_SECONDS:
            cases.save_items(state.id, batch)
            batch, flushed = [], time.monotonic()
    cases.save_items(state.id, batch)
    cases.finish_exhibit(state.id, verify())
    return state.id


def _jobs(
    items: Iterator[Item], done: set[str], seq: int, options: HashOptions, recent: _RecentContent
) -> Iterator[_Job]:
    for item in items:
        key = str(item.locator)
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
        except OSError as error:
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


_CONTENT_FIELDS = ("size", "type", "md5", "sha1", "sha256", "pdq", "pdq_quality", "width", "height")


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
        hashes.digests.get(n) for n in ("md5", "sha1", "sha256")
    )
    if hashes.pdq is not None:
        record.pdq, record.pdq_quality = hashes.pdq.value, hashes.pdq.quality
    record.width, record.height = hashes.width, hashes.height
    if hashes.error:
        record.errors.append(hashes.error)
    record.matches = [
        MatchRecord(m.entry, m.list, m.kind.value, m.signal, m.distance, m.category, m.scheme.value)
        for m in (*result.alerts, *result.known_good)
    ]
    if not record.matches:  # a reviewer may need to see it: never a graded picture
        record.thumbnail = hashes.thumbnail
