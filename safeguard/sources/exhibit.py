"""What an exhibit path is: a folder, a disk image (compressed or not), or a single file.

A file is a disk image when dfVFS finds a container, volume system or file
system in it, or when its signature says it is one (:mod:`.disk.signatures`);
in the second case a failure to read it is an exhibit-level error, never a
fall back to hashing the image as one opaque file. A single ``.gz``, ``.bz2``
or ``.xz`` file holding a disk image (how images are often delivered) is read
through the decompressor, in place.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from dfvfs.lib import definitions
from dfvfs.path import factory

from safeguard.errors import UsageError
from safeguard.sources.base import Item, Level, Locator, Problem
from safeguard.sources.disk import (
    Carving,
    DiskImageSource,
    os_spec,
    read_signature,
    verify_ewf,
)
from safeguard.sources.disk.signatures import HEAD_BYTES, disk_image_signature
from safeguard.sources.files import open_evidence
from safeguard.sources.folder import FolderSource
from safeguard.vocabulary.content import (
    BZIP2,
    GZIP,
    SNIFF_BYTES,
    XZ,
    MediaKind,
    looks_like_tar,
    sniff,
)

_DECOMPRESSORS = {GZIP: gzip.open, BZIP2: bz2.open, XZ: lzma.open}


@dataclass(slots=True)
class Exhibit:
    """The items of an exhibit's own walk, and what concerns it as a whole.

    ``problems`` grows while ``items`` is consumed (a volume found unreadable on
    the way); ``verify`` checks the image's stored hash once the walk is done.
    """

    items: Iterator[Item]
    problems: list[Problem] = field(default_factory=list)
    verify: Callable[[], dict | None] = lambda: None
    disk: DiskImageSource | None = None  # the image walked, when the exhibit is one

    def entries(self) -> Iterator[Item | Carving]:
        """The walk with each volume's carving left to do (a cluster splits it), instead of
        :attr:`items`: one or the other is walked, never both."""
        return self.disk.entries() if self.disk is not None else self.items


def open_exhibit(path: Path, name: str, *, carve: bool = True) -> Exhibit:
    if path.is_dir():
        return Exhibit(FolderSource(path, name).items())
    if not path.is_file():
        raise UsageError(f"{path} is neither a folder nor a file")
    with open_evidence(path) as stream:
        kind = sniff(stream.read(SNIFF_BYTES))
        signature = read_signature(stream, path.stat().st_size)
    if kind.kind is MediaKind.OTHER:
        disk = DiskImageSource(os_spec(path), Locator.root("image", name), carve=carve)
        found = disk.volumes()
        if found.recognised or signature:
            exhibit = Exhibit(disk.items(), disk.problems, disk=disk)
            if gap := missing_segments(path):
                exhibit.problems.append(Problem(Level.ERROR, gap))
            if not found.file_systems and not any(p.level is Level.ERROR for p in found.problems):
                what = signature or "disk image"
                exhibit.problems.append(
                    Problem(Level.ERROR, f"{what}: nothing in it could be read")
                )
            if found.container == definitions.TYPE_INDICATOR_EWF:
                exhibit.verify = partial(_verify_ewf, path, exhibit.problems)
            return exhibit
    elif kind in _DECOMPRESSORS and (compressed := _compressed_image(path, kind)) is not None:
        disk = DiskImageSource(compressed, Locator.root("image", name), carve=carve)
        return Exhibit(disk.items(), disk.problems, disk=disk)
    single = Item(
        Locator.root("file", name).child("file", path.name),
        partial(open_evidence, str(path)),
        size=path.stat().st_size,
        local_path=str(path),
    )
    return Exhibit(iter([single]))


def _compressed_image(path: Path, kind) -> object | None:
    """The dfVFS path spec of a disk image inside one compressed file, or None."""
    try:
        with open_evidence(path) as raw, _DECOMPRESSORS[kind](raw) as stream:
            head = stream.read(HEAD_BYTES)
    except (OSError, EOFError, lzma.LZMAError):
        return None  # a damaged stream: the single file's hashing says why
    if looks_like_tar(head) or disk_image_signature(head) is None:
        return None
    if kind is GZIP:
        return factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_GZIP, parent=os_spec(path))
    method = (
        definitions.COMPRESSION_METHOD_BZIP2 if kind is BZIP2 else definitions.COMPRESSION_METHOD_XZ
    )
    return factory.Factory.NewPathSpec(
        definitions.TYPE_INDICATOR_COMPRESSED_STREAM,
        compression_method=method,
        parent=os_spec(path),
    )


def _verify_ewf(path: Path, problems: list[Problem]) -> dict | None:
    try:
        result = verify_ewf(path)
    except Exception as error:  # a damaged image: its integrity cannot be shown
        problems.append(Problem(Level.ERROR, f"E01 stored MD5 could not be checked: {error}"))
        return None
    stored, computed = result["stored_md5"], result["computed_md5"]
    if stored is None:
        problems.append(Problem(Level.WARNING, "E01 stores no MD5: its integrity is not shown"))
    elif not result["verified"]:
        problems.append(
            Problem(
                Level.ERROR,
                f"E01 stored MD5 {stored} does not match the media read "
                f"({computed}): the image is damaged or was altered",
            )
        )
    return result


_SEGMENT = re.compile(r"^(?P<stem>.+)\.(?P<number>\d{3})$")


def missing_segments(path: Path) -> str | None:
    """For a split raw image (``disk.001``, ``disk.002``...), the segments missing in the run."""
    match = _SEGMENT.match(path.name)
    if match is None:
        return None
    stem = match["stem"]
    present = sorted(
        int(sibling.name[len(stem) + 1 :])
        for sibling in path.parent.glob(f"{glob.escape(stem)}.[0-9][0-9][0-9]")
    )
    missing = sorted(set(range(present[0], present[-1] + 1)) - set(present)) if present else []
    if not missing:
        return None
    names = ", ".join(f"{stem}.{number:03d}" for number in missing)
    return f"split image: segment(s) {names} missing; the segments after the gap are not read"
