"""What the list store hands out and takes in: lists, entry hits, import specs and
reports (the store's operations are in :mod:`safeguard.store.lists`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from safeguard.errors import SafeguardError, UsageError
from safeguard.media.options import Variants
from safeguard.signals import PDQ
from safeguard.signals.vpdq import match_percents
from safeguard.store.category_policies import CategoryPolicy
from safeguard.store.thresholds import NO_THRESHOLDS, Thresholds
from safeguard.vocabulary.categories import Scheme
from safeguard.vocabulary.entries import Action, BadRecord, ListKind

MAX_REPORTED_BAD = 1000


@dataclass(frozen=True, slots=True)
class HashList:
    id: int
    name: str
    kind: ListKind
    scheme: Scheme
    enabled: bool
    source_file: str | None
    importer: str | None
    created_at: datetime
    updated_at: datetime
    revision: int
    action: Action | None = None  # None: the kind's default (see effective_action)
    source_sha256: str | None = None  # of the file last imported into it
    imported_by: str | None = None  # who imported that file
    vpdq_query_percent: float | None = None  # None: the vPDQ default (80)
    vpdq_compared_percent: float | None = None  # None: the vPDQ default (0)
    variants: Variants = Variants.ALL  # the most it takes of matches through variants
    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)  # its own, by signal
    category_policies: Mapping[str, CategoryPolicy] = field(default_factory=dict)

    @property
    def pdq_threshold(self) -> int | None:
        return self.thresholds.get(PDQ.name, NO_THRESHOLDS).threshold

    @property
    def review_threshold(self) -> int | None:
        return self.thresholds.get(PDQ.name, NO_THRESHOLDS).review_threshold

    def category_policies_json(self) -> dict[str, dict[str, str | int | None]]:
        return {
            category or "none": {"action": p.action, "review_threshold": p.review_threshold}
            for category, p in sorted(self.category_policies.items())
        }

    def thresholds_json(self) -> dict[str, dict[str, int | None]]:
        return {
            signal: {"threshold": t.threshold, "review_threshold": t.review_threshold}
            for signal, t in sorted(self.thresholds.items())
        }

    @property
    def effective_action(self) -> Action | None:
        return effective_action(self.kind, self.action)

    @property
    def vpdq_percents(self) -> tuple[float, float]:
        return match_percents(self.vpdq_query_percent, self.vpdq_compared_percent)


def effective_action(kind: ListKind, action: Action | None) -> Action | None:
    """A list's action: its own, else block for graded lists; known-good lists never act."""
    if kind is ListKind.KNOWN_GOOD:
        return None
    return action or Action.BLOCK


@dataclass(frozen=True, slots=True)
class EntryHit:
    """An active entry found for a lookup, with what matching needs of its list."""

    entry_id: int
    list_name: str
    list_kind: ListKind
    scheme: Scheme
    signal: str
    value: bytes
    category: str | None
    action: Action | None = None  # effective: None only for known-good lists
    threshold: int | None = None  # the list's own for the entry's signal (None: default)
    action_chosen: bool = False  # the list or the entry's category names its action itself
    variants: Variants = Variants.ALL  # the list's: the most it takes of matches through variants
    review_threshold: int | None = None  # the list's for the entry's signal
    vpdq_query_percent: float | None = None
    vpdq_compared_percent: float | None = None


@dataclass(slots=True)
class ImportReport:
    list_name: str
    created: bool = False
    imported: int = 0
    collapsed_duplicates: int = 0
    bad_count: int = 0
    bad: list[BadRecord] = field(default_factory=list)
    committed: bool = False

    def add_bad(self, bad: BadRecord) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_REPORTED_BAD:
            self.bad.append(bad)


class ListExists(UsageError):
    pass


class ImportRejected(SafeguardError):
    """Bad rows in an all-or-nothing import: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            f"{report.bad_count:,} bad record(s) in the import into {report.list_name!r}; "
            "nothing was imported (use --skip-bad to import the good ones)"
        )

    @classmethod
    def check(cls, report: ImportReport, *, good: int, skip_bad: bool) -> None:
        """Refuse an import with bad records (unless skipping them) or with no good one."""
        if report.bad_count and not skip_bad:
            raise cls(report)
        if report.bad_count and good == 0:
            raise NothingGood(report)


class NothingGood(ImportRejected):
    """Every record was bad: even when skipping bad ones, there is nothing to import."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        SafeguardError.__init__(
            self,
            f"none of the records for {report.list_name!r} is good ({report.bad_count:,} bad); "
            "nothing was imported and no list was made",
        )


@dataclass(frozen=True, slots=True)
class ListSpec:
    """How to create a list that does not exist yet."""

    kind: ListKind = ListKind.ALERT
    scheme: Scheme = Scheme.UK
    source_file: str | None = None
    importer: str | None = None
    action: Action | None = None
    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    source_sha256: str | None = None
    imported_by: str | None = None

    def provenance(self) -> dict:
        """Where this import came from, as the list's columns (only what is known)."""
        known = {
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "importer": self.importer,
            "imported_by": self.imported_by,
        }
        return {column: value for column, value in known.items() if value is not None}


def check_list_name(name: str) -> None:
    """A name that can be typed, addressed in a URL path and shown: no slashes, no controls."""
    if not name.strip() or name != name.strip():
        raise UsageError("a list needs a name without leading or trailing blanks")
    if len(name) > 200 or name in (".", "..") or any(ch in name for ch in "/\\"):
        raise UsageError(f"list name {name!r}: at most 200 characters, no '/' or '\\', not . or ..")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UsageError(f"list name {name!r} holds a control character")
