"""Archives inside an exhibit, opened in place and walked to a configurable depth.

Zip, 7z (py7zr), tar (plain or gzip/bzip2/xz) and lone gzip/bzip2/xz streams are
read without extracting anything to disk. Every archive is itself an item (its
bytes are evidence too); :mod:`safeguard.sources.nested` opens its members,
nested archives included, down to ``ArchiveLimits.max_depth``.

Hostile archives cannot stop a scan or exhaust the machine; each of these
becomes an error recorded on the item concerned, and the walk goes on:

* a member larger than ``max_member_bytes``, or an archive expanding past
  ``max_total_bytes`` or ``max_ratio`` times its own size (zip bombs; checked
  against declared sizes first and against bytes actually produced);
* more than ``max_members`` members;
* encrypted members (no password is ever guessed);
* member names that climb out of the archive (``../``, absolute paths): recorded,
  and the content still hashed, since nothing is ever written to disk;
* corrupt members and truncated archives;
* RAR archives, which no installed backend reads: recorded, not skipped silently.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import py7zr
from py7zr.io import Py7zIO, WriterFactory

from safeguard.sources.base import Item, UniqueNames
from safeguard.sources.files import readable_name
from safeguard.vocabulary.content import (
    BZIP2,
    GZIP,
    RAR,
    SEVEN_ZIP,
    SNIFF_BYTES,
    TAR,
    XZ,
    ZIP,
    MediaType,
    looks_like_tar,
    sniff,
)

_CHUNK = 1 << 20
SEVEN_ZIP_IN_MEMORY = 64 << 20  # a 7z expanding to more spills its members to temporary files


# What the archives of one exhibit may expand to, nested ones included: a small zip of
# zips of zips (100 members, 4 levels) would otherwise expand to a hundred million items.
EXHIBIT_MEMBERS = 1_000_000
EXHIBIT_BYTES = 64 << 30


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_depth: int = 5
    max_member_bytes: int = 1 << 30
    max_total_bytes: int = 8 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, per archive
    max_members: int = 200_000
    max_exhibit_members: int = EXHIBIT_MEMBERS
    max_exhibit_bytes: int = EXHIBIT_BYTES


@dataclass(slots=True)
class ExhibitSpend:
    """What the archives of one exhibit have expanded to so far."""

    members: int = 0
    bytes: int = 0
    spent: str | None = None  # why no further archive is opened, once a budget is spent


class ArchiveLimitError(Exception):
    """An archive hit a safety cap; the message says which."""


def is_archive(kind: MediaType) -> bool:
    return kind in _READERS or kind is RAR


def archive_members(
    item: Item, kind: MediaType, limits: ArchiveLimits, spend: ExhibitSpend | None = None
) -> Iterator[Item]:
    """The members of an archive item, one level down; what goes wrong is recorded on it.

    Members come out with names unique within the archive; their own contents
    (nested archives) are the caller's to open.
    """
    if kind is RAR:
        # No RAR reader is installed with Safeguard: say so rather than pass silently.
        item.errors.append("RAR archive: members not read (no RAR backend installed)")
        return
    if item.locator.archive_depth >= limits.max_depth:
        item.errors.append(f"archive nested deeper than {limits.max_depth} levels: not opened")
        return
    spend = spend if spend is not None else ExhibitSpend()
    if spend.spent:
        item.errors.append(f"archive not opened: {spend.spent}")
        return
    budget = _Budget(limits, item.size, spend)
    names = UniqueNames()
    try:
        for number, member in enumerate(_READERS[kind](item, limits, budget), 1):
            step = member.locator.steps[-1]
            unique = names.claim(step.name, f"member {number}")
            if unique != step.name:  # two members of one name: each is still its own item
                member.locator = member.locator.renamed(unique)
            yield member
    except ArchiveLimitError as error:
        item.errors.append(str(error))
    except (
        OSError,
        EOFError,
        ValueError,
        zipfile.BadZipFile,
        tarfile.TarError,
        lzma.LZMAError,
        zlib.error,
    ) as error:
        item.errors.append(f"archive damaged, not all members read: {error}")
    except Exception as error:  # py7zr and friends raise their own types on hostile input
        item.errors.append(f"archive could not be read: {type(error).__name__}: {error}")


class _Budget:
    """Counts members and expanded bytes of one archive against the caps."""

    def __init__(self, limits: ArchiveLimits, archive_size: int | None, spend: ExhibitSpend):
        self.limits = limits
        self.spend = spend
        self.members = 0
        self.total = 0
        ratio_cap = limits.max_ratio * max(archive_size or 0, 1 << 20)
        self.total_cap = min(limits.max_total_bytes, ratio_cap)

    def _exhibit_spent(self) -> None:
        if (
            self.spend.members > self.limits.max_exhibit_members
            or self.spend.bytes > self.limits.max_exhibit_bytes
        ):
            self.spend.spent = (
                f"the exhibit's archives expanded past {self.limits.max_exhibit_members:,} "
                f"members or {self.limits.max_exhibit_bytes:,} bytes: no further member is read "
                "(scan as a new exhibit with a larger --max-archive-members or "
                "--max-archive-bytes to read the rest)"
            )
            raise ArchiveLimitError(self.spend.spent)

    def admit(self, declared: int | None) -> None:
        self.members += 1
        self.spend.members += 1
        self._exhibit_spent()
        if self.members > self.limits.max_members:
            raise ArchiveLimitError(f"more than {self.limits.max_members:,} members: stopped")
        if declared is not None and self.total + declared > self.total_cap:
            raise ArchiveLimitError(
                f"expands past {self.total_cap:,} bytes (possible zip bomb): stopped"
            )

    def charge(self, produced: int, name: str, member_size: int) -> None:
        """Count bytes a member produced; stop the moment a cap is passed."""
        self.total += produced
        self.spend.bytes += produced
        self._exhibit_spent()
        if member_size > self.limits.max_member_bytes:
            raise ArchiveLimitError(
                f"member {name!r} expands past {self.limits.max_member_bytes:,} bytes: stopped"
            )
        if self.total > self.total_cap:
            raise ArchiveLimitError(
                f"expands past {self.total_cap:,} bytes (possible zip bomb): stopped"
            )

    def read(self, stream: BinaryIO, name: str) -> bytes:
        """A member's bytes, refusing to produce more than the caps allow."""
        chunks, size = [], 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            self.charge(len(chunk), name, size)
            chunks.append(chunk)
        return b"".join(chunks)


def _member(
    parent: Item,
    kind: str,
    name: str,
    data: bytes | None,
    modified: datetime | None = None,
    errors: list[str] | None = None,
) -> Item:
    problems = list(errors or [])
    name = readable_name(name)
    normalised = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or normalised == ".." or normalised.startswith("../"):
        problems.append(f"member name climbs out of the archive (path traversal): {name!r}")
    opener = (lambda: io.BytesIO(data)) if data is not None else None
    return Item(
        parent.locator.child(kind, name),
        opener,
        size=len(data) if data is not None else None,
        allocation=parent.allocation,
        modified=modified,
        errors=problems,
    )


Members = Iterator[Item]
Reader = Callable[[Item, ArchiveLimits, _Budget], Members]


def _open(item: Item) -> BinaryIO:
    assert item.open is not None
    return item.open()


def zip_member_count(item: Item) -> int | None:
    """How many members a zip item yields, from its central directory alone (nothing is
    decompressed); None when the item is not a zip that can be listed."""
    if item.open is None:
        return None
    try:
        with _open(item) as stream:
            if sniff(stream.read(SNIFF_BYTES)) is not ZIP:
                return None
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                return sum(1 for info in archive.infolist() if not _is_folder_entry(info))
    except (OSError, EOFError, ValueError, zipfile.BadZipFile):
        return None  # the scan's own reading of it says what is wrong


def _is_folder_entry(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() and info.file_size == 0


def _zip_members(parent: Item, limits: ArchiveLimits, budget: _Budget) -> Members:
    with _open(parent) as stream, zipfile.ZipFile(stream) as archive:
        for info in archive.infolist():
            if _is_folder_entry(info):
                continue  # a folder entry; one named like a folder but holding data is read
            stamp = _zip_time(info.date_time)
            if info.flag_bits & 0x1:
                yield _member(
                    parent, "zip", info.filename, None, stamp, ["encrypted member: not read"]
                )
                continue
            try:
                budget.admit(info.file_size)
                if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                    raise ArchiveLimitError(
                        f"member {info.filename!r} declares a "
                        f"{info.file_size / info.compress_size:,.0f}:1 compression ratio "
                        "(possible zip bomb): not read"
                    )
                with archive.open(info) as member:
                    data = budget.read(member, info.filename)
            except ArchiveLimitError as error:
                if budget.spend.spent:
                    raise  # the whole exhibit's budget: this archive stops here
                yield _member(parent, "zip", info.filename, None, stamp, [str(error)])
                continue
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
                yield _member(
                    parent, "zip", info.filename, None, stamp, [f"corrupt member: {error}"]
                )
                continue
            yield _member(parent, "zip", info.filename, data, stamp)


def _zip_time(date_time: tuple[int, ...]) -> datetime | None:
    try:
        return datetime(*date_time, tzinfo=UTC)  # zip stores local time; no zone is recorded
    except ValueError:
        return None


def _tar_members(parent: Item, limits: ArchiveLimits, budget: _Budget) -> Members:
    # Stream mode: members are read in order without seeking, compressed or not.
    with _open(parent) as stream, tarfile.open(fileobj=stream, mode="r|*") as archive:
        for info in archive:
            if info.isdir():
                continue
            stamp = _tar_time(info.mtime)
            if not info.isfile():  # listed, so nothing a tar holds goes unseen
                yield _member(parent, "tar", info.name, None, stamp, [_not_a_file(info)])
                continue
            try:
                budget.admit(info.size)
                member = archive.extractfile(info)
                data = budget.read(member, info.name) if member is not None else b""
            except ArchiveLimitError as error:
                if budget.spend.spent:
                    raise  # the whole exhibit's budget: this archive stops here
                yield _member(parent, "tar", info.name, None, stamp, [str(error)])
                continue
            yield _member(parent, "tar", info.name, data, stamp)


def _tar_time(seconds: float) -> datetime | None:
    """A member's time; an absurd one (10**12 s) is no time, never the end of the walk."""
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (OverflowError, OSError, ValueError):
        return None


def _not_a_file(info: tarfile.TarInfo) -> str:
    if info.islnk():
        return f"hard link to {info.linkname!r}: its content is that member's"
    if info.issym():
        return f"symbolic link to {info.linkname!r}: not followed"
    return "not a regular file (a device or a pipe): nothing to read"


def _single_stream(kind: str, decompress: Callable[[BinaryIO], BinaryIO]) -> Reader:
    """A gzip/bzip2/xz file: a compressed tar, or one compressed file."""

    def members(parent: Item, limits: ArchiveLimits, budget: _Budget) -> Members:
        with _open(parent) as stream, decompress(stream) as decompressed:
            is_tar = looks_like_tar(decompressed.read(SNIFF_BYTES))
        if is_tar:
            yield from _tar_members(parent, limits, budget)
            return
        name = posixpath.splitext(parent.locator.name.rsplit("/", 1)[-1])[0] or "content"
        budget.admit(None)
        with _open(parent) as stream, decompress(stream) as decompressed:
            data = budget.read(decompressed, name)
        yield _member(parent, kind, name, data)

    return members


def _seven_zip_members(parent: Item, limits: ArchiveLimits, budget: _Budget) -> Members:
    with _open(parent) as stream, py7zr.SevenZipFile(stream, mode="r") as archive:
        infos = [info for info in archive.list() if not info.is_directory]
        if archive.needs_password():
            for info in infos:
                yield _member(
                    parent, "7z", info.filename, None, None, ["encrypted member: not read"]
                )
            return
        for info in infos:
            budget.admit(info.uncompressed)
        # Solid 7z blocks decompress in one pass, so every member is written out before
        # the first can be handed on: to memory when the archive is small, else to an
        # unnamed temporary file (gone when closed), each charged to the budget.
        spill = sum(info.uncompressed or 0 for info in infos) > SEVEN_ZIP_IN_MEMORY
        factory = _CappedFactory(budget, spill)
        archive.extract(factory=factory)
    try:
        for info in infos:
            stamp = info.creationtime if isinstance(info.creationtime, datetime) else None
            written = factory.files.pop(info.filename, None)
            data = written.take() if written is not None else None
            missing = [] if data is not None else ["member not produced by the archive"]
            yield _member(parent, "7z", info.filename, data, stamp, missing)
    finally:
        for written in factory.files.values():
            written.discard()


class _CappedBuffer(Py7zIO):
    """Where py7zr writes one member, charged to the archive's budget."""

    def __init__(self, name: str, budget: _Budget, spill: bool) -> None:
        self.name, self.budget = name, budget
        # Lives until take() or close(): py7zr writes to it across many calls.
        self.buffer = tempfile.TemporaryFile() if spill else io.BytesIO()  # noqa: SIM115
        self.written = 0

    def write(self, data) -> int:
        written = self.buffer.write(data)
        self.written += written
        self.budget.charge(len(data), self.name, self.written)
        return written

    def read(self, size=None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset, whence=0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.written

    def close(self) -> None:
        pass  # py7zr closes each member when written: it must stay readable until taken

    def take(self) -> bytes:
        """The member's bytes, once; the buffer is released."""
        self.buffer.seek(0)
        data = self.buffer.read()
        self.discard()
        return data

    def discard(self) -> None:
        self.buffer.close()


class _CappedFactory(WriterFactory):
    def __init__(self, budget: _Budget, spill: bool) -> None:
        self.budget = budget
        self.spill = spill
        self.files: dict[str, _CappedBuffer] = {}

    def create(self, filename: str) -> _CappedBuffer:
        self.files[filename] = _CappedBuffer(filename, self.budget, self.spill)
        return self.files[filename]


_READERS: dict[MediaType, Reader] = {
    ZIP: _zip_members,
    TAR: _tar_members,
    SEVEN_ZIP: _seven_zip_members,
    GZIP: _single_stream("gzip", gzip.open),
    BZIP2: _single_stream("bzip2", bz2.open),
    XZ: _single_stream("xz", lzma.open),
}
