"""An exhibit's scan cut into shards that any worker can read on its own.

The exhibit's walk (a folder's files, a disk image's file systems with their
deleted entries, each volume's free space left as one :class:`Carving`) is
listed by the client and by each worker alike: it is metadata only, and in a
fixed order, so an entry's index names the same entry on every machine. A shard
is a run of consecutive entries (at most :data:`SHARD_FILES` files or
:data:`SHARD_BYTES` bytes), so a file system is cut along its walk, one
directory subtree after another; or a range of one volume's free space, so that
carving a large image is spread too. Archives and disk images found inside an
entry are opened by the worker that reads it. A worker reads and hashes its
shard's items and sends back their records (hashes, metadata, a blurred
thumbnail), never their bytes; the client matches and saves them in walk order.
"""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from distributed import WorkerPlugin

from safeguard.errors import UsageError
from safeguard.signals.extract import hash_content
from safeguard.sources.archives import ExhibitSpend, zip_member_count
from safeguard.sources.base import Item, Problem
from safeguard.sources.disk import Carving
from safeguard.sources.exhibit import Exhibit, open_exhibit
from safeguard.sources.nested import expand_containers
from safeguard.triage.recording import Job, RecentContent
from safeguard.triage.scan import ScanOptions, guarded, hash_job, new_record, read_job

SHARD_FILES = 64
SHARD_BYTES = 64 << 20
ARCHIVE_MEMBERS = 256  # a zip larger than a shard is read in shares of this many members
CARVE_BYTES = 256 << 20  # of free space per carving shard
_CARVE_ALIGN = 4 << 20  # cuts fall on the carver's own window boundaries


class EvidenceDiffers(UsageError):
    """A worker does not see the evidence the client listed."""


@dataclass(frozen=True, slots=True)
class Shard:
    source: str
    exhibit: str
    listed: int  # entries in the walk: a worker that lists another number sees other evidence
    first: int  # index of the shard's first entry in the walk
    last: int  # one past its last
    first_locator: str  # what the walk holds at ``first``, checked by the worker
    regions: tuple[tuple[int, int], ...] | None = None  # a Carving entry: its ranges to carve
    members: tuple[int, int | None] | None = None  # a large zip entry: its members to read
    top_level: tuple[str, ...] = ()  # its entries' locators (not carving): done ones are skipped

    def describe(self) -> str:
        if self.regions is not None:
            start, end = self.regions[0][0], self.regions[-1][1]
            return f"free space of {self.first_locator}, bytes {start:,} to {end:,}"
        if self.members is not None:
            start, stop = self.members
            return f"members {start + 1:,} to {stop or 'the last'} of {self.first_locator}"
        return f"entries {self.first + 1:,} to {self.last:,} of {self.listed:,}"


@dataclass(slots=True)
class ShardResult:
    jobs: list[Job]  # records with their hashes, in walk order; no item's bytes
    problems: list[Problem] = field(default_factory=list)
    archives_spent: str | None = None  # why this shard's archives stopped being expanded
    # Carved items: (locator, start, end) in the volume, to drop what a previous range
    # carved already (a picture that runs over the cut between two ranges).
    carved: list[tuple[str, int, int]] = field(default_factory=list)


def walk_entries(opened: Exhibit) -> list[Item | Carving]:
    """The exhibit's walk, listed whole, carving left to do; a walk that breaks is the
    exhibit's problem."""
    return list(guarded(opened, opened.entries()))


def plan_shards(
    entries: list[Item | Carving], source: Path, exhibit: str, files_per_shard: int = SHARD_FILES
) -> Iterator[Shard]:
    """The walk cut into shards, in walk order."""
    common = {"source": str(source), "exhibit": exhibit, "listed": len(entries)}
    first, files, size = 0, 0, 0
    for index, entry in enumerate(entries):
        if isinstance(entry, Carving):
            if index > first:
                yield _run(entries, first, index, common)
            for regions in _carving_ranges(entry.regions()):
                yield Shard(
                    **common, first=index, last=index + 1, first_locator=str(entry.locator),
                    regions=regions,
                )  # fmt: skip
            first, files, size = index + 1, 0, 0
            continue
        if files and (files >= files_per_shard or size + (entry.size or 0) > SHARD_BYTES):
            yield _run(entries, first, index, common)
            first, files, size = index, 0, 0
        if (entry.size or 0) > SHARD_BYTES and (shares := _member_shares(entry)):
            for members in shares:
                yield replace(_run(entries, index, index + 1, common), members=members)
            first, files, size = index + 1, 0, 0
            continue
        files += 1
        size += entry.size or 0
    if first < len(entries):
        yield _run(entries, first, len(entries), common)


def _run(entries: list, first: int, last: int, common: dict) -> Shard:
    locators = tuple(str(entry.locator) for entry in entries[first:last])
    return Shard(
        **common, first=first, last=last, first_locator=locators[0], top_level=locators
    )  # fmt: skip


def _member_shares(item: Item) -> list[tuple[int, int | None]]:
    """A large zip's members in shares (the last one runs to the end, and yields the zip
    itself after them); none for anything else. A zip is listed from its central directory;
    streams (tar, gzip, 7z solid blocks) cannot be entered part-way and stay whole."""
    count = zip_member_count(item)
    if count is None or count <= ARCHIVE_MEMBERS:
        return []
    starts = range(0, count, ARCHIVE_MEMBERS)
    return [(start, start + ARCHIVE_MEMBERS) for start in starts[:-1]] + [(starts[-1], None)]


def _carving_ranges(regions: list[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], ...]]:
    """Free space in ranges of about CARVE_BYTES: small regions together, large ones cut
    (on the carver's window boundaries, counted from the region's start)."""
    pieces: list[tuple[int, int]] = []
    size = 0
    for start, end in regions:
        cut = start
        while cut < end:
            room = max(_CARVE_ALIGN, (CARVE_BYTES - size) // _CARVE_ALIGN * _CARVE_ALIGN)
            stop = min(end, cut + room)
            pieces.append((cut, stop))
            size += stop - cut
            cut = stop
            if size >= CARVE_BYTES:
                yield tuple(pieces)
                pieces, size = [], 0
    if pieces:
        yield tuple(pieces)


def read_shard(shard: Shard, options: ScanOptions) -> ShardResult:
    """Run on a worker: read and hash the shard's items (and everything inside them)."""
    opened, entries = _listing(shard)
    if not _agrees(shard, entries):
        raise EvidenceDiffers(
            f"worker {socket.gethostname()} (pid {os.getpid()}) lists {len(entries):,} entries "
            f"in {shard.source} where the client listed {shard.listed:,}: the evidence it "
            "sees is not the evidence the scan started on"
            + "".join(f"; {problem.message}" for problem in opened.problems)
        )
    result = ShardResult([])
    if shard.regions is not None:
        items = opened.disk.carved(entries[shard.first], list(shard.regions), result.problems)
    else:
        # Copies: a retried shard must not see the errors an earlier attempt appended.
        items = (
            dataclasses.replace(entry, errors=list(entry.errors))
            for entry in entries[shard.first : shard.last]
        )
    spend = ExhibitSpend()
    # A copy of content met earlier in the shard is not hashed again: the client gives it
    # its original's record, as a single-machine scan does.
    hash_options, recent = options.hash_options(), RecentContent()
    limits = options.archive_limits()
    for item in expand_containers(items, limits, spend=spend, members=shard.members):
        job = hash_job(read_job(new_record(item, 0), item, hash_options, recent), hash_options)
        result.jobs.append(job)
        if item.span is not None and shard.regions is not None:
            result.carved.append((job.record.locator, *item.span))
    result.archives_spent = spend.spent
    return result


_listings = threading.local()  # per worker thread: TSK handles are not shared between threads
_LISTINGS_KEPT = 4  # exhibits scanned together (scan-batch) share the workers


def _listing(shard: Shard) -> tuple[Exhibit, list[Item | Carving]]:
    """The walk of the shard's exhibit, listed once per worker thread and kept for its next
    shards. A listing that disagrees with the client's is made once more before the shard
    is refused: dfVFS's object cache was seen, under a worker, to hand back an image
    handle already closed, which breaks a walk off at random."""
    if not hasattr(_listings, "kept"):
        _listings.kept = OrderedDict()
    kept: OrderedDict = _listings.kept
    key = (shard.source, shard.exhibit)
    if key in kept and not _agrees(shard, kept[key][1]):
        del kept[key]
    if key not in kept:
        kept[key] = _listed(shard)
        if not _agrees(shard, kept[key][1]):
            kept[key] = _listed(shard)
        if len(kept) > _LISTINGS_KEPT:
            kept.popitem(last=False)
    kept.move_to_end(key)
    return kept[key]


def _listed(shard: Shard) -> tuple[Exhibit, list[Item | Carving]]:
    opened = open_exhibit(Path(shard.source), shard.exhibit)
    return opened, walk_entries(opened)


def _agrees(shard: Shard, entries: list[Item | Carving]) -> bool:
    return (
        len(entries) == shard.listed
        and shard.first < len(entries)
        and str(entries[shard.first].locator) == shard.first_locator
    )


def evidence_visible(source: str) -> str | None:
    """Run on each worker before a scan: None, or why this worker cannot read the evidence."""
    path = Path(source)
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with path.open("rb") as stream:
                stream.read(1)
    except OSError as error:
        return f"{error.strerror or error}"
    return None


def warm_up(options: ScanOptions) -> None:
    """Run on each worker while the client lists the exhibit: the hashing code loaded
    (Numba's compiled kernels from their cache, Pillow's decoders) before the first shard."""
    from PIL import Image

    picture = io.BytesIO()
    Image.linear_gradient("L").resize((64, 64)).convert("RGB").save(picture, "JPEG")
    hash_content("warm-up", lambda: io.BytesIO(picture.getvalue()), options.hash_options())


class LeaveInterruptsToTheClient(WorkerPlugin):
    """Set up on each worker of a local cluster, restarted ones included.

    A local cluster's worker processes share the examiner's terminal, so a Ctrl-C meant
    for the scan reached them too: each died printing a traceback while the client
    waited for their shards. The client alone decides when to stop (between items),
    then closes its cluster.
    """

    name = "safeguard-leave-interrupts-to-the-client"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():  # where signals are set
            signal.signal(signal.SIGINT, signal.SIG_IGN)
