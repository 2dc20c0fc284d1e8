"""Disk images: raw/dd (split too), E01 (split segments too), VMDK, VHD/VHDX, QCOW2, DMG.

:func:`scan_volumes` resolves the chain (container -> partitions, LVM, APFS
containers, shadow copies -> file system), keeping whatever cannot be read as a
:class:`Problem`. Each file system is then walked through the Sleuth Kit
(:mod:`.tsk`: deleted files, orphans, streams) where it can read it, otherwise
through dfVFS (:mod:`.dfvfs_walk`: APFS); free space and volumes without a file
system are carved for pictures.

Nothing is ever written: dfVFS and pytsk3 open images read-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyewf
from dfvfs.lib import definitions
from dfvfs.path import factory
from dfvfs.resolver import context, resolver

from safeguard.sources.base import Item, Level, Locator, Problem
from safeguard.sources.disk.dfvfs_walk import DfvfsWalk
from safeguard.sources.disk.free_space import Carving, Space
from safeguard.sources.disk.signatures import disk_image_signature, read_signature
from safeguard.sources.disk.tsk import FS_NAMES, TskWalk
from safeguard.sources.disk.volumes import Volume, VolumeScan, scan_volumes

__all__ = [
    "Carving",
    "DiskImageSource",
    "disk_image_signature",
    "os_spec",
    "read_signature",
    "verify_ewf",
]

_DFVFS_NAMES = {
    definitions.TYPE_INDICATOR_APFS: "APFS",
    definitions.TYPE_INDICATOR_XFS: "XFS",
    definitions.TYPE_INDICATOR_EXT: "ext",
    definitions.TYPE_INDICATOR_HFS: "HFS+",
    definitions.TYPE_INDICATOR_FAT: "FAT",
    definitions.TYPE_INDICATOR_NTFS: "NTFS",
}
_READ_CHUNK = 1 << 20


def os_spec(path: str | Path):
    """The dfVFS path spec of a file on the examiner's machine."""
    return factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS, location=str(path))


class DiskImageSource:
    """Every file, live or deleted, of every volume of a disk image.

    ``problems`` holds, once :meth:`items` has run, what could not be read
    (volumes without a readable file system, encrypted volumes, a walk that
    broke off) and what the examiner should know (a back end's limits).
    """

    def __init__(self, spec, origin: Locator, *, carve: bool = True) -> None:
        self.spec = spec
        self.origin = origin
        self.carve = carve
        self.problems: list[Problem] = []
        self.context = context.Context()  # what this image opens, released by close()
        self._scan: VolumeScan | None = None

    @classmethod
    def from_path(cls, image: Path, exhibit: str | None = None, *, carve: bool = True):
        return cls(os_spec(image), Locator.root("image", exhibit or Path(image).name), carve=carve)

    def volumes(self) -> VolumeScan:
        if self._scan is None:
            self._scan = scan_volumes(self.spec, self.origin, self.context)
        return self._scan

    def items(self) -> Iterator[Item]:
        for entry in self.entries():
            if isinstance(entry, Carving):
                yield from self.carved(entry)
            else:
                yield entry

    def carved(
        self,
        carving: Carving,
        regions: list[tuple[int, int]] | None = None,
        problems: list[Problem] | None = None,
    ) -> Iterator[Item]:
        """A volume's carved pictures (of ``regions`` only, if given); a failure is a problem
        (in ``problems`` if given, else the image's own)."""
        try:
            yield from carving.items(regions)
        except Exception as error:  # carving that breaks off loses only its own volume's rest
            where = self.volumes().where(carving.locator)
            found = Problem(Level.ERROR, f"{where}: carving stopped: {error}")
            (self.problems if problems is None else problems).append(found)

    def entries(self) -> Iterator[Item | Carving]:
        """The items of the walk, each volume's free space as one :class:`Carving`."""
        found = self.volumes()
        self.problems.extend(found.problems)
        for volume in found.volumes:
            try:
                yield from self._volume_items(volume)
            except Exception as error:  # a walk that breaks off loses only its own volume
                where = found.where(volume.locator)
                self.problems.append(
                    Problem(Level.ERROR, f"{where}: reading stopped part-way: {error}")
                )

    def close(self) -> None:
        self.context.Empty()

    def _check_whole(self, fs_spec, locator: Locator, declared: int) -> None:
        """A file system that claims more bytes than the image holds was cut short."""
        available = _volume_size(fs_spec.parent, self.context)
        if available is not None and declared > available:
            where = self.volumes().where(locator)
            self.problems.append(
                Problem(
                    Level.ERROR,
                    f"{where}: the file system claims {declared:,} bytes but the image holds "
                    f"{available:,}: the image is truncated or a segment is missing",
                )
            )

    def _volume_items(self, volume: Volume) -> Iterator[Item | Carving]:
        snapshot = any(step.kind == "snapshot" for step in volume.locator.steps)
        # A snapshot's free space is the live volume's, as it was: carved once, there.
        carve = self.carve and not snapshot
        fs_spec = volume.file_system
        if fs_spec is None:
            if carve:
                yield Carving(volume.spec, volume.locator, None, self.context)
            return
        if fs_spec.type_indicator != definitions.TYPE_INDICATOR_TSK:
            name = _DFVFS_NAMES.get(fs_spec.type_indicator, fs_spec.type_indicator)
            where = self.volumes().where(volume.locator.child("filesystem", name))
            self.problems.append(
                Problem(
                    Level.WARNING,
                    f"{where}: read through dfVFS, which lists live files only: "
                    "deleted files and free space not examined",
                )
            )
            yield from DfvfsWalk(
                fs_spec, volume.locator.child("filesystem", name), self.context
            ).items()
            return
        file_system = resolver.Resolver.OpenFileSystem(fs_spec, resolver_context=self.context)
        info = file_system.GetFsInfo()
        locator = volume.locator.child("filesystem", FS_NAMES.get(info.info.ftype, "file system"))
        space = Space.of_file_system(info)
        self._check_whole(fs_spec, locator, space.size)
        yield from TskWalk(info, fs_spec, locator, space).items()
        if carve:
            yield Carving(fs_spec.parent, locator, space, self.context)


def _volume_size(spec, context) -> int | None:
    try:
        return resolver.Resolver.OpenFileObject(spec, resolver_context=context).get_size()
    except Exception:  # no size to compare with: the walk itself says what it can
        return None


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
