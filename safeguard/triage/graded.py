"""Examiners' grades in a report: counted beside list matches, never among them.

A list match says "list L holds this hash"; an examiner's grade says "X looked at
it (or at its family's representative) and graded it, and Y confirmed". A report
keeps the two apart: ``categories`` counts list matches only, ``examiner_grades``
counts grades, each split into verified (a supervisor confirmed, or any grade under
a case's single grading) and unverified,
graded directly and graded with the family, and the grades a supervisor changed.
Each graded file also has a row in the examiner schedule naming who graded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from safeguard.store.grades import NON_PERTINENT, Grade
from safeguard.store.items import ItemRecord
from safeguard.triage.counting import item_columns
from safeguard.vocabulary.categories import Scheme, report_key


def grade_key(grade: Grade) -> str:
    """``A``..``C`` and ``NP`` for uk grades, ``vics:0``..``vics:4`` for vics."""
    return report_key(grade.scheme, grade.category)


def grade_row(exhibit: str, record: ItemRecord, grade: Grade, *, dual: bool = True) -> dict:
    return {
        **item_columns(exhibit, record),
        "category": grade_key(grade),
        "scheme": str(grade.scheme),
        "match": "examiner",
        "pertinent": grade.category != NON_PERTINENT[Scheme(grade.scheme)],
        "graded_by": grade.graded_by,
        "graded_at": grade.graded_at.isoformat(timespec="seconds"),
        "verified_by": grade.confirmed_by,
        "verified": grade.verified(dual=dual),
        "via_family": grade.via_seq is not None,
        "disputed_category": grade.disputed_category,
    }


@dataclass(slots=True)
class GradeCount:
    files: int = 0
    verified: int = 0
    via_family: int = 0
    disputed: int = 0
    graded_by: set[str] = field(default_factory=set)
    verified_by: set[str] = field(default_factory=set)

    def add(self, row: dict) -> None:
        self.files += 1
        self.verified += row["verified"]
        self.via_family += row["via_family"]
        self.disputed += row["disputed_category"] is not None
        self.graded_by.add(row["graded_by"])
        if row["verified_by"]:
            self.verified_by.add(row["verified_by"])


def grade_counts(rows: Iterable[dict]) -> dict[str, dict]:
    """``examiner_grades`` of a report: each key counts the examiner rows filed under it."""
    counts: dict[str, GradeCount] = {}
    first: dict[str, dict] = {}
    for row in rows:
        counts.setdefault(row["category"], GradeCount()).add(row)
        first.setdefault(row["category"], row)
    return {
        key: {
            "files": count.files,
            "scheme": first[key]["scheme"],
            "pertinent": first[key]["pertinent"],
            "verified": count.verified,
            "unverified": count.files - count.verified,
            "via_family": count.via_family,
            "disputed": count.disputed,
            "graded_by": sorted(count.graded_by),
            "verified_by": sorted(count.verified_by),
        }
        for key, count in sorted(counts.items())
    }
