"""From a disk image to its file systems: containers, volume systems, encryption, snapshots.

dfVFS recognises each layer (EWF, QCOW, VMDK, VHD, split raw, Apple UDIF;
MBR, GPT, APM, LVM, APFS containers, volume shadow copies; BitLocker, LUKS,
Core Storage). Its own source scanner stops at the first thing it cannot read
and raises; this walk asks dfVFS one layer at a time instead, so that every
failure is kept as a :class:`Problem` naming the volume, and the other volumes
are still read:

* a container that opens but cannot be read through (a raw ``dd`` that ends in
  a VHD footer) is read again as a raw image, with a warning;
* a volume with no file system anyone can read is an error, and is carved;
* an encrypted volume is an error ("encrypted volume: not read"), never skipped;
* shadow copies are extra volumes (``shadow copy 1``...) beside the live one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions
from dfvfs.path import factory
from dfvfs.resolver import resolver

from safeguard.sources.base import Level, Locator, Problem

# Hand FAT, NTFS, ext and HFS+ to the Sleuth Kit: of the back ends, only it lists
# deleted entries and orphans. Other file systems (APFS, XFS) stay with dfVFS.
definitions.PREFERRED_FAT_BACK_END = definitions.TYPE_INDICATOR_TSK
definitions.PREFERRED_NTFS_BACK_END = definitions.TYPE_INDICATOR_TSK
definitions.PREFERRED_EXT_BACK_END = definitions.TYPE_INDICATOR_TSK
definitions.PREFERRED_HFS_BACK_END = definitions.TYPE_INDICATOR_TSK

MAX_VOLUME_DEPTH = 6  # partitions inside partitions inside containers...

_VOLUME_NAMES = {  # volume system -> (locator kind, label of its volumes)
    definitions.TYPE_INDICATOR_TSK_PARTITION: ("partition", "partition"),
    definitions.TYPE_INDICATOR_GPT: ("partition", "partition"),
    definitions.TYPE_INDICATOR_APM: ("partition", "partition"),
    definitions.TYPE_INDICATOR_LVM: ("volume", "LVM volume"),
    definitions.TYPE_INDICATOR_APFS_CONTAINER: ("volume", "APFS volume"),
    definitions.TYPE_INDICATOR_CS: ("volume", "Core Storage volume"),
    definitions.TYPE_INDICATOR_VSHADOW: ("snapshot", "shadow copy"),
}
_CONTAINER_NAMES = {
    definitions.TYPE_INDICATOR_EWF: "EWF (E01) image",
    definitions.TYPE_INDICATOR_QCOW: "QCOW image",
    definitions.TYPE_INDICATOR_VMDK: "VMDK image",
    definitions.TYPE_INDICATOR_VHDI: "VHD/VHDX image",
    definitions.TYPE_INDICATOR_MODI: "Apple disk image",
    definitions.TYPE_INDICATOR_PHDI: "Parallels image",
}
_ENCRYPTION_NAMES = {
    definitions.TYPE_INDICATOR_BDE: "BitLocker",
    definitions.TYPE_INDICATOR_LUKSDE: "LUKS",
    definitions.TYPE_INDICATOR_CS: "Core Storage (FileVault)",
    definitions.TYPE_INDICATOR_APFS_CONTAINER: "APFS (FileVault)",
}


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume: its place in the image and how dfVFS reaches it."""

    locator: Locator
    spec: object  # dfVFS path spec of the volume
    file_system: object | None  # dfVFS path spec of its file system, if one was read


@dataclass(slots=True)
class VolumeScan:
    """Everything found in one image: volumes, and what could not be read."""

    origin: Locator
    volumes: list[Volume] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    recognised: bool = False  # a container, volume system or file system was found
    container: str | None = None  # the dfVFS type of the container read, if any

    def where(self, locator: Locator) -> str:
        below = locator.steps[len(self.origin.steps) :]
        return " / ".join(step.label() for step in below) or "the image"

    def problem(self, level: Level, locator: Locator, message: str) -> None:
        self.problems.append(Problem(level, f"{self.where(locator)}: {message}"))

    @property
    def file_systems(self) -> int:
        return sum(volume.file_system is not None for volume in self.volumes)


def scan_volumes(base_spec, origin: Locator, context) -> VolumeScan:
    """Find every volume of the image at ``base_spec`` and, in each, its file system.

    ``context`` is the dfVFS resolver context that caches what is opened.
    """
    explorer = _Explorer(context)
    found = VolumeScan(origin)
    try:
        container = explorer.scanner.ScanForStorageMediaImage(base_spec)
    except Exception as error:  # a damaged container header: report it, try the bytes as raw
        found.problem(Level.WARNING, origin, f"container not recognised ({_reason(error)})")
        container = None
    if container is None or container.type_indicator == definitions.TYPE_INDICATOR_RAW:
        explorer.explore_top(container or base_spec, found)
        return found
    name = _CONTAINER_NAMES.get(container.type_indicator, container.type_indicator)
    attempt = VolumeScan(origin, recognised=True, container=container.type_indicator)
    try:
        explorer.explore(container, origin, attempt, depth=0)
    except Exception as error:  # the container itself cannot be read through
        attempt.volumes.clear()
        attempt.problem(Level.ERROR, origin, f"{name} cannot be read: {_reason(error)}")
    if not attempt.file_systems:
        # A raw image can end in a footer (a ``dd`` of a fixed VHD): the container reader
        # accepts it, then fails or finds nothing where the raw bytes hold a file system.
        raw = VolumeScan(origin)
        explorer.explore_top(_raw(base_spec), raw)
        if raw.file_systems:
            reasons = "; ".join(p.message for p in attempt.problems) or "no file system"
            raw.problem(Level.WARNING, origin, f"not readable as {name} ({reasons}): read as raw")
            raw.recognised = True
            attempt = raw
    attempt.problems[:0] = found.problems
    return attempt


class _Explorer:
    """Asks dfVFS about one layer at a time, keeping each failure as a problem."""

    def __init__(self, context) -> None:
        self.context = context
        self.scanner = source_scanner.SourceScanner(resolver_context=context)

    def explore_top(self, spec, found: VolumeScan) -> None:
        try:
            self.explore(spec, found.origin, found, depth=0)
        except Exception as error:
            found.problem(Level.ERROR, found.origin, f"cannot be read: {_reason(error)}")

    def explore(self, spec, locator: Locator, found: VolumeScan, depth: int) -> None:
        """Volumes and file systems under ``spec``; below the top, errors become problems."""
        if depth > MAX_VOLUME_DEPTH:
            found.problem(Level.ERROR, locator, "volumes nested too deep: not read")
            return
        system = self.scanner.ScanForVolumeSystem(spec)
        if system is not None:
            found.recognised = True
            kind = system.type_indicator
            if kind in _ENCRYPTION_NAMES and kind not in _VOLUME_NAMES:
                try:
                    locked, why = self._locked(system), ""
                except Exception as error:  # a version or variant the back end cannot open
                    locked, why = True, f" ({_reason(error)})"
                if locked:
                    what = f"{_ENCRYPTION_NAMES[kind]} encrypted volume: not read{why}"
                    found.problem(Level.ERROR, locator, what)
                    return
            if kind in _VOLUME_NAMES:
                self._volume_system(system, spec, locator, found, depth)
                return
            spec = system  # an unlocked encrypted volume: its plain text holds the file system
        self._add_volume(spec, locator, found)

    def _volume_system(self, system, parent_spec, locator, found, depth) -> None:
        kind = system.type_indicator
        if kind == definitions.TYPE_INDICATOR_VSHADOW:
            self._add_volume(parent_spec, locator, found)  # the live volume, then snapshots
        root = resolver.Resolver.OpenFileEntry(system, resolver_context=self.context)
        # TSK also lists the table itself and the gaps between partitions, without a location.
        entries = root.sub_file_entries if root is not None else []
        volumes = [entry for entry in entries if getattr(entry.path_spec, "location", None)]
        if not volumes and kind != definitions.TYPE_INDICATOR_VSHADOW:
            self._add_volume(parent_spec, locator, found)  # an empty table: maybe a bare fs
            return
        step_kind, label = _VOLUME_NAMES[kind]
        for number, volume in enumerate(volumes, 1):
            where = locator.child(step_kind, f"{label} {_volume_number(volume) or number}")
            try:
                if kind in _ENCRYPTION_NAMES and self._locked(volume):
                    what = f"{_ENCRYPTION_NAMES[kind]} encrypted volume: not read"
                    found.problem(Level.ERROR, where, what)
                elif kind == definitions.TYPE_INDICATOR_VSHADOW:
                    self._add_volume(volume.path_spec, where, found)
                else:
                    self.explore(volume.path_spec, where, found, depth + 1)
            except Exception as error:  # one unreadable volume must not hide the others
                found.problem(Level.ERROR, where, f"cannot be read: {_reason(error)}")

    def _add_volume(self, spec, locator: Locator, found: VolumeScan) -> None:
        try:
            file_system = self.scanner.ScanForFileSystem(spec)
        except Exception as error:
            found.problem(Level.ERROR, locator, f"file system cannot be read: {_reason(error)}")
            file_system = None
        else:
            if file_system is None:
                found.problem(
                    Level.ERROR, locator, "no file system found (unsupported, damaged or wiped)"
                )
        found.recognised |= file_system is not None
        found.volumes.append(Volume(locator, spec, file_system))

    def _locked(self, spec_or_entry) -> bool:
        entry = spec_or_entry
        if not hasattr(entry, "IsLocked"):
            entry = resolver.Resolver.OpenFileEntry(spec_or_entry, resolver_context=self.context)
        return entry is None or (entry.IsLocked() and not entry.Unlock())


def _volume_number(entry) -> str | None:
    location = getattr(entry.path_spec, "location", None) or ""
    digits = "".join(ch for ch in location if ch.isdigit())
    return digits or None


def _raw(base_spec):
    return factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_RAW, parent=base_spec)


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
