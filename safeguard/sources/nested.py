"""Containers found inside an exhibit: archives and disk images, opened where they lie.

Every item is looked at once: an archive (zip, 7z, tar, gzip, bzip2, xz, RAR)
has its members listed; a disk image (by signature: E01, VMDK, VHD, QCOW, DMG,
a partition table or a file system) has its volumes walked as the exhibit's own
would be, deleted files and carving included. Contents come just before their
container, so that whatever opening it revealed (damage, a bomb, a volume that
cannot be read) is already on the container's item when it is handed on.

Nesting is bounded: archives to ``ArchiveLimits.max_depth`` levels, disk images
to :data:`MAX_IMAGE_DEPTH` file systems deep.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from safeguard.media.types import SNIFF_BYTES, MediaKind, sniff
from safeguard.sources.archives import ArchiveLimits, archive_members, is_archive
from safeguard.sources.base import Item, Level
from safeguard.sources.disk import DiskImageSource, os_spec, read_signature

MAX_IMAGE_DEPTH = 3  # a disk image inside an image inside an image, and no further
MIN_IMAGE_BYTES = 4096


def expand_containers(
    items: Iterable[Item], limits: ArchiveLimits | None = None, *, carve: bool = True
) -> Iterator[Item]:
    """Yield every item, each container's contents (recursively) just before it."""
    opener = _Opener(limits or ArchiveLimits(), carve)
    for item in items:
        yield from opener.with_contents(item)


class _Opener:
    def __init__(self, limits: ArchiveLimits, carve: bool) -> None:
        self.limits = limits
        self.carve = carve

    def with_contents(self, item: Item) -> Iterator[Item]:
        try:
            for content in self._contents(item):
                yield from self.with_contents(content)
        except Exception as error:  # a container that breaks its reader is that item's error
            item.errors.append(f"contents not all read: {type(error).__name__}: {error}")
        yield item

    def _contents(self, item: Item) -> Iterator[Item]:
        if item.open is None:
            return
        try:
            with item.open() as stream:
                kind = sniff(stream.read(SNIFF_BYTES))
                image = None
                if kind.kind is MediaKind.OTHER and (item.size or 0) >= MIN_IMAGE_BYTES:
                    image = read_signature(stream, item.size)
        except Exception:  # any failure to read it is for the item's own hashing to report
            return
        if is_archive(kind):
            yield from archive_members(item, kind, self.limits)
        elif image is not None:
            yield from self._image_contents(item, image)

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
