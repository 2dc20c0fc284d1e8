"""Containers found inside an exhibit: archives and disk images, opened where they lie.

Every item is looked at once: an archive (zip, 7z, tar, gzip, bzip2, xz, RAR)
has its members listed; a disk image (by signature: E01, VMDK, VHD, QCOW, DMG,
a partition table or a file system) has its volumes walked as the exhibit's own
would be, deleted files and carving included. Hiding places are opened too: an
archive, picture or video appended after a JPEG's or PNG's end becomes an item of
its own ("data after the picture"), and a zip whose central directory ends any
other file (a self-extracting .exe, a zip concatenated to a cover file) has its
members listed under that file. Contents come just before their
container, so that whatever opening it revealed (damage, a bomb, a volume that
cannot be read) is already on the container's item when it is handed on.

Nesting is bounded: archives to ``ArchiveLimits.max_depth`` levels, disk images
to :data:`MAX_IMAGE_DEPTH` file systems deep.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from safeguard.sources.archives import ArchiveLimits, ExhibitSpend, archive_members, is_archive
from safeguard.sources.base import Item, Level, Locator
from safeguard.sources.carving import picture_end
from safeguard.sources.disk import DiskImageSource, os_spec, read_signature
from safeguard.vocabulary.content import JPEG, PNG, SNIFF_BYTES, ZIP, MediaKind, sniff

MAX_IMAGE_DEPTH = 3  # a disk image inside an image inside an image, and no further
MIN_IMAGE_BYTES = 4096
MAX_CARRIER_BYTES = 256 << 20  # a picture this large is not searched for what follows it
_PROPER_ENDS = {JPEG.mime: b"\xff\xd9", PNG.mime: b"IEND\xaeB`\x82"}
_HIDDEN_KINDS = (MediaKind.ARCHIVE, MediaKind.IMAGE, MediaKind.VIDEO)
_EOCD_BYTES = 22
_EOCD_SEARCH = 65_535 + _EOCD_BYTES  # the record, and the longest comment it may carry


def expand_containers(
    items: Iterable[Item],
    limits: ArchiveLimits | None = None,
    *,
    carve: bool = True,
    spend: ExhibitSpend | None = None,
    within: Callable[[Locator], bool] | None = None,
    members: tuple[int, int | None] | None = None,
) -> Iterator[Item]:
    """Yield every item, each container's contents (recursively) just before it.

    ``spend`` (shared by every archive of the exhibit) tells the caller what the
    archives expanded to and whether the exhibit's budget ran out. With ``within``,
    only the containers it accepts are opened (reading one item back by its locator).
    With ``members`` (start, stop), only those direct contents of the given items are
    yielded (a cluster worker's share of a large archive), and the items themselves only
    by the share that runs to the end (stop None), after the last member.
    """
    opener = _Opener(limits or ArchiveLimits(), carve, spend or ExhibitSpend(), within)
    for item in items:
        yield from opener.with_contents(item, members)


class _Opener:
    def __init__(self, limits: ArchiveLimits, carve: bool, spend: ExhibitSpend, within) -> None:
        self.limits = limits
        self.carve = carve
        self.spend = spend
        self.within = within

    def with_contents(
        self, item: Item, members: tuple[int, int | None] | None = None
    ) -> Iterator[Item]:
        if self.within is not None and not self.within(item.locator):
            yield item
            return
        contents = self._contents(item)
        if members is not None:
            contents = islice(contents, *members)
        try:
            for content in contents:
                yield from self.with_contents(content)
        except Exception as error:  # a container that breaks its reader is that item's error
            item.errors.append(f"contents not all read: {type(error).__name__}: {error}")
        if members is None or members[1] is None:
            yield item

    def _contents(self, item: Item) -> Iterator[Item]:
        if item.open is None:
            return
        try:
            with item.open() as stream:
                kind = sniff(stream.read(SNIFF_BYTES))
                image = appended = None
                embedded_zip = False
                if kind.kind is MediaKind.OTHER and (item.size or 0) >= MIN_IMAGE_BYTES:
                    image = read_signature(stream, item.size)
                if kind in (JPEG, PNG):
                    appended = _after_the_picture(stream, kind, item.size)
                elif not is_archive(kind) and image is None:
                    embedded_zip = _ends_in_a_zip(stream, item.size)
        except Exception:  # any failure to read it is for the item's own hashing to report
            return
        if is_archive(kind) or embedded_zip:
            # A zip after other bytes (a self-extracting .exe, `cat cover.bin x.zip`) is
            # read as zip readers do, from its end: its members are the carrier's.
            yield from archive_members(item, ZIP if embedded_zip else kind, self.limits, self.spend)
        elif image is not None:
            yield from self._image_contents(item, image)
        elif appended is not None:
            yield appended_item(item, *appended)

    def _image_contents(self, item: Item, signature: str) -> Iterator[Item]:
        if item.locator.image_depth >= MAX_IMAGE_DEPTH:
            item.errors.append(
                f"{signature} nested deeper than {MAX_IMAGE_DEPTH} disk images: not opened"
            )
            return
        with _reachable(item, self.limits.max_member_bytes) as spec:
            if spec is None:
                item.errors.append(f"{signature} too large to open from here: not read")
                return
            source = DiskImageSource(spec, item.locator, carve=self.carve)
            try:
                yield from source.items()
            finally:
                source.close()
        if not source.volumes().file_systems and not any(
            p.level is Level.ERROR for p in source.problems
        ):
            item.errors.append(f"{signature}: no file system could be read")
        for problem in source.problems:
            prefix = "disk image" if problem.level is Level.ERROR else "disk image note"
            item.errors.append(f"{prefix}: {problem.message}")


@contextmanager
def _reachable(item: Item, max_bytes: int):
    """A dfVFS path spec for the item's bytes where they lie, or in an in-memory file.

    Items of folders and disk images are read in place; an archive member (already
    in memory, within the archive caps) is handed over through an anonymous memory
    file, so nothing is ever written to disk.
    """
    if item.path_spec is not None:
        yield item.path_spec
        return
    if item.local_path is not None:
        yield os_spec(item.local_path)
        return
    if item.size is None or item.size > max_bytes:
        yield None
        return
    with item.open() as stream:
        data = stream.read()
    descriptor = os.memfd_create("safeguard-image", os.MFD_CLOEXEC)
    try:
        _write_all(descriptor, data)
        del data
        yield os_spec(f"/proc/self/fd/{descriptor}")
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _after_the_picture(stream, kind, size: int | None) -> tuple[int, bytes] | None:
    """(offset, bytes) of an archive, picture or video hidden after a JPEG's or PNG's end."""
    if not size or size > MAX_CARRIER_BYTES:
        return None
    stream.seek(max(0, size - 16))
    tail = stream.read(16).rstrip(b"\0")
    if tail.endswith(_PROPER_ENDS[kind.mime]):
        return None  # ends as its format says: nothing after it (the common case, cheaply)
    stream.seek(0)
    data = stream.read()
    end = picture_end(data, "jpeg" if kind is JPEG else "png")
    if end is None or end >= len(data):
        return None
    hidden = data[end:]
    if sniff(hidden[:SNIFF_BYTES].lstrip(b"\0")).kind not in _HIDDEN_KINDS:
        return None  # a camera's own trailer, or padding
    return end, hidden


def appended_item(carrier: Item, offset: int, data: bytes) -> Item:
    return Item(
        carrier.locator.child("appended", f"data after the picture, at byte {offset:,}"),
        lambda: io.BytesIO(data),
        size=len(data),
        allocation=carrier.allocation,
    )


def _ends_in_a_zip(stream, size: int | None) -> bool:
    """A zip's end-of-central-directory record in the last 64 KiB, its directory inside."""
    if not size or size < _EOCD_BYTES:
        return False
    start = max(0, size - _EOCD_SEARCH)
    stream.seek(start)
    tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD_BYTES:
        return False
    directory_size, directory_offset = struct.unpack_from("<II", tail, at + 12)
    directory = start + at - directory_size  # the central directory ends where the record starts
    if directory_size == 0 or directory < 0 or directory_offset > directory:
        return False
    stream.seek(directory)
    return stream.read(4) == b"PK\x01\x02"
