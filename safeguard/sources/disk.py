"""Disk images: raw/dd (split too), E01 (split segments too), VMDK, VHD, QCOW2.

dfVFS's source scanner resolves the chain (container -> MBR/GPT partitions ->
file system) from byte signatures. Its own directory walker hides deleted files
on purpose, so each file system is walked here through the Sleuth Kit directly
(``pytsk3``), unallocated names included: a deleted file whose metadata still
points at its data is listed with allocation ``deleted`` and read like any other.
TSK's virtual entries (``$MBR``, ``$FAT1``...) and NTFS metadata files are not
user files and are skipped; ``$OrphanFiles`` is walked (deleted files whose
parent directory is gone live there).

Nothing is ever written: dfVFS and pytsk3 open images read-only.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyewf
import pytsk3
from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions, errors
from dfvfs.resolver import resolver

from safeguard.sources.base import Allocation, Item, Locator
from safeguard.sources.carving import carve

# Make dfVFS hand file systems to the Sleuth Kit, the back end that sees deleted entries.
definitions.PREFERRED_FAT_BACK_END = definitions.TYPE_INDICATOR_TSK
definitions.PREFERRED_NTFS_BACK_END = definitions.TYPE_INDICATOR_TSK
definitions.PREFERRED_EXT_BACK_END = definitions.TYPE_INDICATOR_TSK

_FS_NAMES = {
    pytsk3.TSK_FS_TYPE_FAT12: "FAT12",
    pytsk3.TSK_FS_TYPE_FAT16: "FAT16",
    pytsk3.TSK_FS_TYPE_FAT32: "FAT32",
    pytsk3.TSK_FS_TYPE_EXFAT: "exFAT",
    pytsk3.TSK_FS_TYPE_NTFS: "NTFS",
    pytsk3.TSK_FS_TYPE_EXT2: "ext2",
    pytsk3.TSK_FS_TYPE_EXT3: "ext3",
    pytsk3.TSK_FS_TYPE_EXT4: "ext4",
}
_ORPHANS = "$OrphanFiles"
_VOLUME_LABEL = "(Volume Label Entry)"  # TSK lists a FAT volume label as an empty file
_READ_CHUNK = 1 << 20


class DiskImageError(Exception):
    """The image could not be opened or holds no file system dfVFS/TSK can read."""


class DiskImageSource:
    """Every file, live or deleted, of every file system in a disk image."""

    def __init__(self, image: Path, exhibit: str | None = None, *, carve: bool = True) -> None:
        self.image = Path(image)
        self.origin = Locator.root("image", exhibit or self.image.name)
        self.carve = carve

    def file_systems(self) -> list[tuple[Locator, object]]:
        """(locator of the file system, dfVFS path spec) for each one found."""
        scanner = source_scanner.SourceScanner()
        context = source_scanner.SourceScannerContext()
        try:
            context.OpenSourcePath(str(self.image))
            scanner.Scan(context)
        except (errors.BackEndError, errors.ScannerError, OSError) as error:
            raise DiskImageError(f"cannot open disk image: {error}") from error
        found = []
        for node in _leaves(context.GetRootScanNode()):
            spec = node.path_spec
            if spec.type_indicator != definitions.TYPE_INDICATOR_TSK:
                continue  # a partition without a file system TSK can read
            locator = self.origin
            parent = getattr(spec, "parent", None)
            if (
                parent is not None
                and parent.type_indicator == definitions.TYPE_INDICATOR_TSK_PARTITION
            ):
                where = (getattr(parent, "location", None) or "").lstrip("/").removeprefix("p")
                locator = locator.child("partition", f"partition {where or '?'}")
            found.append((locator, spec))
        if not found:
            raise DiskImageError("no file system found (encrypted, unsupported or damaged)")
        return found

    def items(self) -> Iterator[Item]:
        for locator, spec in self.file_systems():
            file_system = resolver.Resolver.OpenFileSystem(spec)
            info = file_system.GetFsInfo()
            fs_locator = locator.child("filesystem", _FS_NAMES.get(info.info.ftype, "file system"))
            space = _Space(info)
            yield from _walk(info, info.open_dir(path="/"), fs_locator, "", set(), space)
            if self.carve:
                yield from _carved_items(spec, fs_locator, space)


def _leaves(node) -> Iterator:
    if not node.sub_nodes:
        yield node
    for sub_node in node.sub_nodes:
        yield from _leaves(sub_node)


def _walk(
    info, directory, locator: Locator, prefix: str, seen: set[int], space: _Space
) -> Iterator[Item]:
    for entry in sorted(directory, key=lambda e: e.info.name.name):
        name = entry.info.name.name.decode("utf-8", "replace")
        meta = entry.info.meta
        if name in (".", "..") or meta is None or name.endswith(_VOLUME_LABEL):
            continue
        if meta.type == pytsk3.TSK_FS_META_TYPE_VIRT:
            continue  # $MBR, $FAT1...: TSK's views of file-system structures
        if meta.type == pytsk3.TSK_FS_META_TYPE_VIRT_DIR and name != _ORPHANS:
            continue
        if not prefix and name.startswith("$") and name != _ORPHANS and _is_ntfs(info):
            continue  # NTFS metadata files ($MFT, $Bitmap...)
        path = f"{prefix}/{name}"
        allocated = bool(entry.info.name.flags & pytsk3.TSK_FS_NAME_FLAG_ALLOC) and bool(
            meta.flags & pytsk3.TSK_FS_META_FLAG_ALLOC
        )
        if meta.type in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
            if meta.addr in seen:
                continue  # a deleted directory entry pointing back at a live one
            seen.add(meta.addr)
            if allocated:
                space.claim(meta.addr, deleted=False)
            try:
                yield from _walk(info, entry.as_directory(), locator, path, seen, space)
            except OSError:
                if allocated:
                    yield Item(
                        locator.child("file", path + "/"), None, errors=["cannot list directory"]
                    )
            continue
        if meta.type != pytsk3.TSK_FS_META_TYPE_REG:
            continue
        space.claim(meta.addr, deleted=not allocated)
        yield Item(
            locator.child("file", path.lstrip("/")),
            _opener(info, meta.addr, meta.size),
            size=meta.size,
            allocation=Allocation.ALLOCATED if allocated else Allocation.DELETED,
            modified=_stamp(meta.mtime),
            accessed=_stamp(meta.atime),
            changed=_stamp(meta.ctime),
            created=_stamp(getattr(meta, "crtime", 0)),
        )


class _Space:
    """Which bytes of a file system live files use, and where deleted files' data lay."""

    def __init__(self, info) -> None:
        self.info = info
        self.block_size = info.info.block_size
        self.size = info.info.block_count * self.block_size
        self.allocated: list[tuple[int, int]] = []
        self.deleted: list[tuple[int, int]] = []

    def claim(self, inode: int, *, deleted: bool) -> None:
        try:
            tsk_file = self.info.open_meta(inode=inode)
            runs = [
                (run.addr * self.block_size, (run.addr + run.len) * self.block_size)
                for attribute in tsk_file
                for run in attribute
                if run.len > 0
            ]
        except OSError:
            return  # no runs to record (resident data, or unreadable metadata)
        (self.deleted if deleted else self.allocated).extend(runs)

    def unallocated(self) -> list[tuple[int, int]]:
        """The complement of live files' runs: where carving looks."""
        regions, cursor = [], 0
        for start, end in sorted(self.allocated):
            if start > cursor:
                regions.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < self.size:
            regions.append((cursor, self.size))
        return regions

    def holds_deleted_file(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self.deleted)


def _carved_items(spec, locator: Locator, space: _Space) -> Iterator[Item]:
    volume = resolver.Resolver.OpenFileObject(spec.parent) if spec.parent else None
    if volume is None:
        return
    # dfVFS hands TSK the partition (or the whole image) with the file system at byte 0.
    start_in_image = getattr(spec.parent, "start_offset", None) or 0

    def read(offset: int, length: int) -> bytes:
        volume.seek(offset)
        return volume.read(length)

    for found in carve(read, space.unallocated()):
        if space.holds_deleted_file(found.offset):
            continue  # the deleted file listed above is this same physical copy
        where = start_in_image + found.offset
        data = read(found.offset, found.length)
        problems = [] if found.complete else [f"fragment: {found.problem}"]
        yield Item(
            locator.child("carved", f"{found.kind} at byte {where:,} (sector {where // 512})"),
            lambda data=data: io.BytesIO(data),
            size=found.length,
            allocation=Allocation.CARVED,
            errors=problems,
        )


def _is_ntfs(info) -> bool:
    return info.info.ftype == pytsk3.TSK_FS_TYPE_NTFS


def _stamp(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def _opener(info, inode: int, size: int):
    def open_file() -> io.RawIOBase:
        return _TskReader(info.open_meta(inode=inode), size)

    return open_file


class _TskReader(io.RawIOBase):
    """A file inside an image as a read-only stream (TSK reads by offset)."""

    def __init__(self, tsk_file, size: int) -> None:
        self._file = tsk_file
        self._size = size
        self._offset = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # TSK reads at any offset: archives inside images need this

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._offset, io.SEEK_END: self._size}[whence]
        self._offset = max(0, base + offset)
        return self._offset

    def tell(self) -> int:
        return self._offset

    def readinto(self, buffer) -> int:
        remaining = self._size - self._offset
        if remaining <= 0:
            return 0
        want = min(len(buffer), remaining, _READ_CHUNK)
        data = self._file.read_random(self._offset, want)
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)


def verify_ewf(image: Path) -> dict[str, str | bool | None]:
    """Compare the MD5 stored in an E01 with the MD5 of its media, read end to end."""
    handle = pyewf.handle()
    handle.open(pyewf.glob(str(image)))
    try:
        stored = handle.get_hash_value("MD5")
        digest = hashlib.md5(usedforsecurity=False)
        while chunk := handle.read(_READ_CHUNK * 8):
            digest.update(chunk)
    finally:
        handle.close()
    computed = digest.hexdigest()
    return {
        "stored_md5": stored.lower() if stored else None,
        "computed_md5": computed,
        "verified": bool(stored) and stored.lower() == computed,
    }
