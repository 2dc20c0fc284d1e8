"""What every source of evidence yields: items with a full location and a read-only opener.

A source (a folder, an archive, a disk image) is anything that yields
:class:`Item` objects. An item's :class:`Locator` is its whole provenance as one
value: ``exhibit-7 / partition 2 / NTFS / Users/x/a.zip / b/c.jpg`` is the chain
of containers from the exhibit down, hashable and serialisable, so a resumed scan
can tell which items it has already done and a report can say exactly where each
file was found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO, Protocol

ARCHIVE_KINDS = frozenset({"zip", "tar", "7z", "gzip", "bzip2", "xz"})  # steps into archives


class Allocation(StrEnum):
    ALLOCATED = "allocated"  # a live file
    DELETED = "deleted"  # a deleted directory entry whose data was still recoverable
    CARVED = "carved"  # recovered from unallocated space by its structure alone


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # folder, zip, tar, 7z, gzip, partition, filesystem, ...
    name: str

    def label(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Locator:
    """Where an item is: the chain of containers from the exhibit to the item."""

    steps: tuple[Step, ...]

    @classmethod
    def root(cls, kind: str, name: str) -> Locator:
        return cls((Step(kind, name),))

    def child(self, kind: str, name: str) -> Locator:
        return Locator((*self.steps, Step(kind, name)))

    @property
    def name(self) -> str:
        return self.steps[-1].name

    def renamed(self, name: str) -> Locator:
        """The same place with the last step under another name."""
        return Locator((*self.steps[:-1], Step(self.steps[-1].kind, name)))

    @property
    def archive_depth(self) -> int:
        """How many archives the item lies in."""
        return sum(1 for step in self.steps if step.kind in ARCHIVE_KINDS)

    @property
    def image_depth(self) -> int:
        """How many file systems (of disk images, nested ones too) the item lies in."""
        return sum(1 for step in self.steps if step.kind == "filesystem")

    @property
    def is_top_level(self) -> bool:
        """Listed by the exhibit's own walk, not found inside an archive or an image in it."""
        below_root = self.steps[1:]
        return not any(step.kind in ARCHIVE_KINDS for step in below_root) and all(
            step.kind != "file" for step in below_root[:-1]
        )

    def __str__(self) -> str:
        return " / ".join(step.label() for step in self.steps)

    def to_json(self) -> list[dict[str, str]]:
        return [{"kind": step.kind, "name": step.name} for step in self.steps]


Opener = Callable[[], BinaryIO]


class Level(StrEnum):
    ERROR = "error"  # some of the evidence was not read: the exhibit is not complete
    WARNING = "warning"  # read in full, but the examiner should know (a limit of a back end)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that concerns the exhibit as a whole: a volume, a container, a check.

    ``message`` names where it is (``partition 2: no file system found``), so a
    report can list it as is.
    """

    level: Level
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level.value, "message": self.message}

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Problem:
        return cls(Level(value["level"]), value["message"])


@dataclass(slots=True)
class Item:
    """One piece of evidence. ``open`` gives its bytes, read-only.

    Items inside containers can be opened only while the source is positioned on
    them (before the next item is requested); read what you need then.
    """

    locator: Locator
    open: Opener | None
    size: int | None = None
    allocation: Allocation = Allocation.ALLOCATED
    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    created: datetime | None = None
    errors: list[str] = field(default_factory=list)  # problems found while listing it
    # Where a disk image held in this item can be read in place, if the source knows:
    # a path on the examiner's machine, or the dfVFS path spec of a file inside an image.
    local_path: str | None = None
    path_spec: object | None = None
    span: tuple[int, int] | None = None  # a carved item: its (start, end) bytes in its volume


class UniqueNames:
    """Gives every entry of one container a name no other entry of it has.

    Two entries can carry the same name: a deleted FAT file next to a live one
    (FAT overwrites a deleted name's first character with ``_``, and cameras
    already name shots ``_MG_0001.JPG``), a file system whose directory was
    reused, an archive with two members of the same name. The first keeps its
    name; each later one gets ``name [tag]`` (``tag`` says which entry it is, such
    as the metadata address ``fls`` shows), or ``name [2]``, ``name [3]``... The
    walk order of a container is fixed, so the names come out the same on every
    run and a resumed scan still recognises the items it has done.
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, name: str, tag: str | None = None) -> str:
        candidates = [name] if tag is None else [name, f"{name} [{tag}]"]
        for candidate in candidates:
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate
        count = 2
        while f"{name} [{count}]" in self._used:
            count += 1
        self._used.add(f"{name} [{count}]")
        return f"{name} [{count}]"


class Source(Protocol):
    def items(self) -> Iterator[Item]: ...
