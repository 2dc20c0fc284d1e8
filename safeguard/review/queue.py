"""What a reviewer sees first: unknown families, likeliest to matter first.

A family (near-duplicates, see :mod:`safeguard.triage.families`) is reviewed once,
through its first picture. Families are ordered so that likely-relevant material
comes first: those with a picture in a folder (or archive) that also holds a list
match, then the larger families (a picture kept in many copies was kept on purpose),
then in the order found. Families whose representative is graded are done.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.store.grades import Grade
from safeguard.triage.report import ExhibitSection


@dataclass(frozen=True, slots=True)
class QueuedFamily:
    representative: int  # sequence number of the picture shown
    members: tuple[int, ...]  # every picture of the family, the representative first
    near_matches: bool  # shares a folder or archive with a list match
    grade: Grade | None  # the representative's grade, if graded


def folder_of(locator: str) -> str:
    """The folder (or archive) an item sits in: its locator without the last name."""
    return locator.rsplit("/", 1)[0] if "/" in locator else locator


def review_queue(
    section: ExhibitSection, locators: dict[int, str], grades: dict[int, Grade]
) -> list[QueuedFamily]:
    matched_folders = {
        folder_of(row["location"]) for row in section.summary["schedule"] if row["pertinent"]
    }
    families = section.families.first(len(section.families)) if section.families else []
    queued = [
        QueuedFamily(
            representative=members[0],
            members=tuple(members),
            near_matches=any(folder_of(locators[seq]) in matched_folders for seq in members),
            grade=grades.get(members[0]),
        )
        for members in families
    ]
    order = {id(family): position for position, family in enumerate(queued)}
    return sorted(
        queued,
        key=lambda family: (not family.near_matches, -len(family.members), order[id(family)]),
    )
