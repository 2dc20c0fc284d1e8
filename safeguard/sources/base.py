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

    @property
    def depth(self) -> int:
        """How many containers (archives, partitions) lie between the exhibit and the item."""
        return sum(1 for step in self.steps[1:] if step.kind != "file")

    def __str__(self) -> str:
        return " / ".join(step.label() for step in self.steps)

    def to_json(self) -> list[dict[str, str]]:
        return [{"kind": step.kind, "name": step.name} for step in self.steps]


Opener = Callable[[], BinaryIO]


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


class Source(Protocol):
    def items(self) -> Iterator[Item]: ...
