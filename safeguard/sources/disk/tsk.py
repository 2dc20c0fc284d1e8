"""A file system walked through the Sleuth Kit: live, deleted and orphan files, and streams.

dfVFS's own walkers hide deleted files on purpose; here the Sleuth Kit's
``FS_Info`` is walked directly, so an image lists what ``fls -r -p`` lists:

* deleted entries, and ``$OrphanFiles`` (deleted files whose directory is gone).
  TSK hands NTFS deleted files and orphans over without their metadata loaded;
  they are opened by their metadata address, as ``icat`` does;
* every named data stream: NTFS alternate data streams (``notes.txt:secret.jpg``),
  HFS+ resource forks (``photo:RSRC``) and extended attributes, each an item;
* ``$RECYCLE.BIN`` and every other ``$`` folder a user can make. File-system
  structures are skipped by their metadata address (NTFS MFT entries 0-23 and
  ``$Extend``, HFS+ catalog IDs below 16), TSK's virtual files by their type,
  and exFAT's bitmap and up-case table by their place at the root.

Two entries can resolve to one path (a deleted ``IMG_0001.JPG`` next to a live
``_MG_0001.JPG``: FAT keeps a deleted name with its first character replaced by
``_``). Live entries keep the plain path; the other gets ``[inode N]`` after it,
N being the metadata address ``fls`` and ``icat`` use.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytsk3
from dfvfs.lib import definitions
from dfvfs.path import factory

from safeguard.sources.base import Allocation, Item, Locator, UniqueNames
from safeguard.sources.disk.fat_check import unlisted

FS_NAMES = {
    pytsk3.TSK_FS_TYPE_FAT12: "FAT12",
    pytsk3.TSK_FS_TYPE_FAT16: "FAT16",
    pytsk3.TSK_FS_TYPE_FAT32: "FAT32",
    pytsk3.TSK_FS_TYPE_EXFAT: "exFAT",
    pytsk3.TSK_FS_TYPE_NTFS: "NTFS",
    pytsk3.TSK_FS_TYPE_EXT2: "ext2",
    pytsk3.TSK_FS_TYPE_EXT3: "ext3",
    pytsk3.TSK_FS_TYPE_EXT4: "ext4",
    pytsk3.TSK_FS_TYPE_HFS: "HFS+",
    pytsk3.TSK_FS_TYPE_ISO9660: "ISO 9660",
    pytsk3.TSK_FS_TYPE_FFS1: "UFS1",
    pytsk3.TSK_FS_TYPE_FFS2: "UFS2",
}
_FIRST_USER_ADDRESS = {
    pytsk3.TSK_FS_TYPE_NTFS: 24,  # MFT entries 0-15: $MFT...$Extend; 16-23 reserved for them
    pytsk3.TSK_FS_TYPE_HFS: 16,  # catalog node IDs below 16: the volume's own structures
}
_EXFAT_STRUCTURES = {"$ALLOC_BITMAP", "$UPCASE_TABLE", "$VOLUME_GUID", "$TEXFAT"}
_FAT_TYPES = (pytsk3.TSK_FS_TYPE_FAT12, pytsk3.TSK_FS_TYPE_FAT16, pytsk3.TSK_FS_TYPE_FAT32)
_FAT_VOLUME_LABEL = "(Volume Label Entry)"  # TSK lists a FAT volume label as an empty file
_ORPHANS = "$OrphanFiles"
_STREAM_TYPES = (
    pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA,  # alternate data streams
    pytsk3.TSK_FS_ATTR_TYPE_HFS_RSRC,  # resource forks
    pytsk3.TSK_FS_ATTR_TYPE_HFS_EXT_ATTR,  # extended attributes
)
_DIRECTORY_TYPES = (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR)
_READ_CHUNK = 1 << 20

GONE = "deleted name whose metadata entry is gone: content not recoverable"
REALLOCATED = (
    "deleted name whose metadata entry now belongs to another file: that file's content is "
    "listed under its own name, not here"
)


class TskWalk:
    """Every file and stream of one file system, in a fixed order."""

    def __init__(self, info, fs_spec, locator: Locator, space) -> None:
        self.info = info
        self.fs_spec = fs_spec
        self.locator = locator
        self.space = space  # where live and deleted files' data lie, for carving
        self.ftype = info.info.ftype
        self.first_user_address = _FIRST_USER_ADDRESS.get(self.ftype, 0)
        self.names = UniqueNames()
        self.seen_directories: set[int] = set()

    def items(self) -> Iterator[Item]:
        root = self.info.info.root_inum
        self.seen_directories.add(root)
        stack: list[tuple[str, object]] = [("", self.info.open_meta(inode=root))]
        while stack:
            prefix, tsk_directory = stack.pop()
            subdirectories = []
            entries = _ordered(tsk_directory.as_directory())
            for entry in entries:
                for found in self._entry(entry, prefix):
                    if isinstance(found, Item):
                        yield found
                    else:
                        subdirectories.append(found)
            if self.ftype in _FAT_TYPES:
                yield from self._refused(tsk_directory, entries, prefix)
            stack.extend(reversed(subdirectories))

    def _entry(self, entry, prefix: str) -> Iterator[Item | tuple[str, object]]:
        """Items for one directory entry, and the directory to walk if it is one."""
        name_info = entry.info.name
        name = name_info.name.decode("utf-8", "backslashreplace")  # every byte kept visible
        if name in (".", "..") or name.endswith(_FAT_VOLUME_LABEL):
            return
        address = name_info.meta_addr
        if address < self.first_user_address:
            return  # NTFS and HFS+ structures, found by address whatever their name
        if not prefix and self.ftype == pytsk3.TSK_FS_TYPE_EXFAT and name in _EXFAT_STRUCTURES:
            return
        meta, tsk_file = entry.info.meta, entry
        if meta is None and address:
            # NTFS deleted files and orphans come without their metadata: load it by address.
            try:
                tsk_file = self.info.open_meta(inode=address)
                meta = tsk_file.info.meta
            except OSError:
                meta = None
        path = f"{prefix}{name}"
        name_deleted = bool(name_info.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
        if meta is None:
            if name_info.type == pytsk3.TSK_FS_NAME_TYPE_REG:
                yield self._lost(path, address, GONE)
            return
        meta_deleted = bool(meta.flags & pytsk3.TSK_FS_META_FLAG_UNALLOC)
        deleted = name_deleted or meta_deleted
        if meta.type in _DIRECTORY_TYPES:
            if meta.type == pytsk3.TSK_FS_META_TYPE_VIRT_DIR and name != _ORPHANS:
                return
            if meta.addr in self.seen_directories:
                return  # a deleted entry pointing back at a directory already walked
            self.seen_directories.add(meta.addr)
            unique = self.names.claim(path, _tag(meta.addr, deleted))
            self.space.claim(tsk_file, deleted=deleted)
            yield from self._streams(tsk_file, unique, meta, deleted)
            try:
                tsk_file.as_directory()  # refuses now, not later, a folder it cannot list
                yield (f"{unique}/", tsk_file)
            except OSError as error:
                state = "deleted directory" if deleted else "directory"
                yield self._lost(f"{unique}/", None, f"{state} cannot be listed: {error}")
            return
        if meta.type != pytsk3.TSK_FS_META_TYPE_REG:
            return  # virtual files ($MBR, $FAT1...), links, devices, sockets
        if name_deleted and not meta_deleted:
            yield self._lost(path, address, REALLOCATED)
            return
        unique = self.names.claim(path, _tag(meta.addr, deleted))
        self.space.claim(tsk_file, deleted=deleted)
        item = self._item(unique, meta, meta.size, deleted, _opener(self.info, meta.addr))
        item.path_spec = self.file_spec(meta.addr, path)
        yield item
        yield from self._streams(tsk_file, unique, meta, deleted)

    def file_spec(self, address: int, path: str):
        """How dfVFS reaches a file in place: a disk image found inside this one is opened so."""
        return factory.Factory.NewPathSpec(
            definitions.TYPE_INDICATOR_TSK,
            inode=address,
            location=f"/{path}",
            parent=self.fs_spec.parent,
        )

    def _refused(self, tsk_directory, entries, prefix: str) -> Iterator[Item]:
        """Live FAT entries TSK would not list (an impossible size): items, not silence."""
        listed = set()
        for entry in entries:
            for name in (entry.info.name.name, entry.info.name.shrt_name):
                if name:
                    listed.add(name.decode("utf-8", "backslashreplace").upper())
        try:
            raw = tsk_directory.read_random(0, tsk_directory.info.meta.size)
        except OSError:
            return
        for name, why in unlisted(raw, listed, self.space.size):
            yield self._lost(f"{prefix}{name}", None, why, deleted=False)

    def _streams(self, tsk_file, path: str, meta, deleted: bool) -> Iterator[Item]:
        try:
            attributes = [
                (attribute.info.type, attribute.info.id, attribute.info.name, attribute.info.size)
                for attribute in tsk_file
            ]
        except OSError:
            return
        for kind, number, stream, size in attributes:
            if kind not in _STREAM_TYPES or not stream:
                continue  # the unnamed $DATA is the file itself
            name = self.names.claim(f"{path}:{stream.decode('utf-8', 'backslashreplace')}")
            opener = _opener(self.info, meta.addr, kind, number)
            yield self._item(name, meta, size, deleted, opener)

    def _item(self, path: str, meta, size: int, deleted: bool, opener) -> Item:
        problems = []
        if size > self.space.size:
            # A sparse or forged size (2**60 in a 16 MiB volume) would be read for years.
            problems.append(
                f"declared size {size:,} is larger than the volume ({self.space.size:,}): "
                "only that many bytes were read (sparse or damaged)"
            )
            size = self.space.size
        return Item(
            self.locator.child("file", path),
            lambda: _TskReader(opener(), size),
            size=size,
            allocation=Allocation.DELETED if deleted else Allocation.ALLOCATED,
            modified=_stamp(meta.mtime),
            accessed=_stamp(meta.atime),
            changed=_stamp(meta.ctime),
            created=_stamp(getattr(meta, "crtime", 0)),
            errors=problems,
        )

    def _lost(self, path: str, address: int | None, reason: str, *, deleted=True) -> Item:
        unique = self.names.claim(path, None if address is None else f"inode {address}")
        allocation = Allocation.DELETED if deleted else Allocation.ALLOCATED
        return Item(
            self.locator.child("file", unique), None, allocation=allocation, errors=[reason]
        )


def _ordered(directory) -> list:
    """Entries by name; a live entry before a deleted one of the same name."""

    def key(entry):
        name = entry.info.name
        return (name.name, bool(name.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC), name.meta_addr)

    return sorted(directory, key=key)


def _tag(address: int, deleted: bool) -> str | None:
    return f"inode {address}" if deleted else None


def _stamp(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (OverflowError, OSError, ValueError):
        return None  # a damaged or forged timestamp is not worth an item


def _opener(info, address: int, kind: int | None = None, number: int | None = None):
    """Opens one file's default data, or one named stream: a function reading by offset."""

    def open_stream():
        tsk_file = info.open_meta(inode=address)
        if kind is None:
            return tsk_file.read_random
        return lambda offset, length: tsk_file.read_random(offset, length, kind, number)

    return open_stream


class _TskReader(io.RawIOBase):
    """A file inside an image as a read-only stream (TSK reads by offset)."""

    def __init__(self, read, size: int) -> None:
        self._read = read
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
        data = self._read(self._offset, want)
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)
