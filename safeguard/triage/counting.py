"""How matched files are counted: one rule, so counts and schedule reconcile by construction.

For each file and each grading scheme its alert matches belong to, one match
decides: the most severe grade (A > B > C; vics 1 > 2 > 3 > 4 > 0, uncategorised
last), then an exact match before a perceptual one, then the nearest. That match
is the file's schedule row for the scheme, and every count (per category, exact
or perceptual, allocated / deleted / carved / inside an archive) is a count of
those rows. A file graded in both schemes has a row in each; the schemes are
never mixed in one count. VICS category 0 (non-pertinent) rows are kept, marked
``pertinent: false``, and never counted as matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from safeguard.signals import SIGNAL_TYPES, IndexKind
from safeguard.store.items import ItemRecord, MatchRecord
from safeguard.vocabulary.categories import SEVERITY, Scheme, report_key
from safeguard.vocabulary.entries import ALERT_KINDS

NON_PERTINENT = "vics:0"
PLACEMENTS = ("allocated", "deleted", "carved", "archive")
_ARCHIVE_STEPS = frozenset({"zip", "tar", "7z", "gzip", "bzip2", "xz"})


def placement(record: ItemRecord) -> str:
    """allocated, deleted or carved; or ``archive`` for a member of an archive."""
    if any(step["kind"] in _ARCHIVE_STEPS for step in record.steps):
        return "archive"
    return record.allocation


def deciding_matches(matches: Iterable[MatchRecord]) -> dict[str, MatchRecord]:
    """Per scheme, the alert match that decides how the file is counted."""
    by_scheme: dict[str, list[MatchRecord]] = defaultdict(list)
    for match in matches:
        if match.list_kind in ALERT_KINDS:
            by_scheme[match.scheme].append(match)
    return {scheme: min(found, key=_rank) for scheme, found in sorted(by_scheme.items())}


def _rank(match: MatchRecord) -> tuple[int, int, int]:
    order = SEVERITY[Scheme(match.scheme)]
    grade = order.index(match.category) if match.category in order else len(order)
    return grade, not is_exact(match.signal), match.distance


def is_exact(signal: str) -> bool:
    """Whether a match by this signal is of identical bytes (not a near-duplicate)."""
    found = SIGNAL_TYPES.get(signal)
    return found is not None and found.index is IndexKind.EXACT


def item_columns(exhibit: str, record: ItemRecord) -> dict:
    """What every schedule row says of its file: where it is and its hashes."""
    return {
        "exhibit": exhibit,
        "location": record.locator,
        "allocation": record.allocation,
        "placement": placement(record),
        "size": record.size,
        "md5": _hex(record.md5),
        "sha1": _hex(record.sha1),
        "sha256": _hex(record.sha256),
    }


def schedule_rows(exhibit: str, record: ItemRecord) -> list[dict]:
    """The file's rows in the item schedule: one per scheme it is graded in."""
    rows = []
    for scheme, match in deciding_matches(record.matches).items():
        key = report_key(scheme, match.category)
        rows.append(
            {
                **item_columns(exhibit, record),
                "list": match.list_name,
                "entry": match.entry_id,
                "category": key,
                "scheme": scheme,
                "signal": match.signal,
                "distance": match.distance,
                "match": "exact" if is_exact(match.signal) else "perceptual",
                "pertinent": key != NON_PERTINENT,
                **({"via": match.via} if match.via else {}),
            }
        )
    return rows


@dataclass(slots=True)
class CategoryCount:
    """The files counted under one category, built from schedule rows only."""

    files: int = 0
    unique: set = field(default_factory=set)
    exact: int = 0
    perceptual: int = 0
    distances: list[int] = field(default_factory=list)  # of the perceptual rows
    allocation: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLACEMENTS, 0))

    def add(self, row: dict) -> None:
        self.files += 1
        self.unique.add(row["sha256"])
        self.allocation[row["placement"]] += 1
        if row["match"] == "exact":
            self.exact += 1
        else:
            self.perceptual += 1
            self.distances.append(row["distance"])

    def to_json(self, key: str, scheme: str) -> dict:
        return {
            "files": self.files,
            "unique": len(self.unique),
            "scheme": scheme,
            "pertinent": key != NON_PERTINENT,
            "exact": self.exact,
            "perceptual": self.perceptual,
            # A perceptual match is a near-duplicate: it needs a look before it is charged.
            "perceptual_distances": [min(self.distances), max(self.distances)]
            if self.distances
            else None,
            "allocation": dict(self.allocation),
        }


def category_counts(rows: Iterable[dict]) -> dict[str, dict]:
    """``categories`` of a report: each key counts exactly the schedule rows filed under it."""
    counts: dict[str, CategoryCount] = {}
    schemes: dict[str, str] = {}
    for row in rows:
        counts.setdefault(row["category"], CategoryCount()).add(row)
        schemes[row["category"]] = row["scheme"]
    return {key: counts[key].to_json(key, schemes[key]) for key in sorted(counts)}


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value else None
