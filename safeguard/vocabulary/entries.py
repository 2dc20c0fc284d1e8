"""What a hash list is made of, in words every layer shares: entries as read from a
file or kept in the store, records a reader could not take, list kinds and actions.

The list formats (readers and writers) and the store both speak these; they live
below both so that neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    """What a platform does with an upload that hits a list, strongest first."""

    BLOCK = "block"  # refuse it: nobody sees it
    QUARANTINE = "quarantine"  # keep it hidden, pending a decision
    REPORT = "report"  # keep it for the report to the authorities
    REVIEW = "review"  # a person looks (blurred) before it goes anywhere

    @property
    def strength(self) -> int:
        return len(ACTIONS_BY_STRENGTH) - ACTIONS_BY_STRENGTH.index(self)


ACTIONS_BY_STRENGTH = tuple(Action)


class ListKind(StrEnum):
    ALERT = "alert"  # graded material: a match is a finding
    KNOWN_GOOD = "known-good"  # NSRL-style: excludes files from review, never alerts
    SELF_REPORTED = "self-reported"  # submitted by the person depicted (take it down)


# The kinds whose matches are findings (a known-good match never is).
ALERT_KINDS = (ListKind.ALERT.value, ListKind.SELF_REPORTED.value)


# What an entry may carry beside its signal, value and category, in the order lists
# write them.
ENTRY_DETAILS = (
    "series", "victim_identified", "external_id", "notes", "disabled", "disabled_until",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewEntry:
    signal: str
    value: bytes
    category: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    external_id: str | None = None
    notes: str | None = None
    disabled: bool = False
    disabled_until: datetime | None = None
    record: int = 0  # line or record number in the source file, for messages


@dataclass(frozen=True, slots=True)
class BadRecord:
    record: int | str  # line number, record number, or a description of the place
    reason: str

    def __str__(self) -> str:
        return f"{self.record}: {self.reason}"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    list_id: int
    signal: str
    value: bytes
    category: str | None
    series: str | None
    victim_identified: bool | None
    external_id: str | None
    notes: str | None
    disabled: bool
    disabled_until: datetime | None
