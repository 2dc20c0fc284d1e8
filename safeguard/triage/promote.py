"""Examiners' grades into a local alert list, so the next exhibit matches them unseen.

Every pertinent grade of a case (confirmed ones only, if asked) becomes entries of
its item's MD5, SHA-1 and SHA-256, and its PDQ where the picture has enough detail
for PDQ to be trusted (quality 50 or more: a flat picture's hash would match other
flat pictures). Family members graded with their representative are graded items
too, so each of them is promoted with its own hashes. Non-pertinent grades are not
promoted: an alert list is for what must be found. Each entry's external id names
where it was graded (``case/exhibit/item``); its category, series, victim flag and
notes are the grade's.

Promoting again adds only what is new; entries already in the list keep what they
say (a changed grade is not an update: see the list's own history).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from safeguard.errors import UsageError
from safeguard.store import ImportReport, ListKind, ListSpec, NewEntry, Scheme, Store
from safeguard.store.audit import Audit
from safeguard.store.cases import Cases
from safeguard.store.grades import Grade, Grades
from safeguard.store.items import ExhibitItems, ItemRecord
from safeguard.triage.promoted_variants import VariantsDone, enrol_read_back


@dataclass(frozen=True, slots=True)
class Promotion:
    report: ImportReport
    items: int  # graded items promoted
    unverified_left: int  # grades left out by --verified-only
    non_pertinent_left: int
    variants: VariantsDone | None = None  # with --variants geometric


def promote_grades(
    store: Store,
    case: str,
    list_name: str,
    *,
    verified_only: bool = False,
    scheme: Scheme | None = None,
    imported_by: str | None = None,
    audit: Audit = None,
    variants: bool = False,  # also enrol the pictures' geometric variants
    variants_audit: Audit = None,
) -> Promotion:
    chosen: list[tuple[str, int, Grade]] = []
    unverified = non_pertinent = 0
    grades = Grades(store.engine)
    dual = Cases(store).case(case).dual_grading
    for exhibit in Cases(store).exhibits(case):
        graded = grades.of_exhibit(exhibit.id)
        for grade in (graded[seq] for seq in sorted(graded)):
            if scheme is not None and grade.scheme is not scheme:
                continue
            if not grade.pertinent:
                non_pertinent += 1
            elif verified_only and not grade.verified(dual=dual):
                unverified += 1
            else:
                chosen.append((exhibit.name, exhibit.id, grade))
    schemes = {grade.scheme for _, _, grade in chosen}
    if len(schemes) > 1:
        raise UsageError(
            f"case {case!r} holds grades in both schemes; promote each with --scheme uk|vics"
        )
    if not chosen:
        raise UsageError(f"case {case!r} has no pertinent grade to promote")
    spec = ListSpec(
        kind=ListKind.ALERT,
        scheme=schemes.pop(),
        source_file=f"grades of case {case}",
        importer="promote",
        imported_by=imported_by,
    )
    graded = _graded_items(ExhibitItems(store), chosen)
    report = store.import_entries(
        list_name, _entries(case, graded), spec=spec, collapse_duplicates=True, audit=audit
    )
    done = None
    if variants:
        exhibits = {exhibit.id: exhibit for exhibit in Cases(store).exhibits(case)}
        pictures = [(exhibits[exhibit_id], item) for _, exhibit_id, _, item in graded]
        done = enrol_read_back(store, list_name, pictures, audit=variants_audit)
    return Promotion(report, len(chosen), unverified, non_pertinent, done)


def _graded_items(
    stored: ExhibitItems, chosen: list[tuple[str, int, Grade]]
) -> list[tuple[str, int, Grade, ItemRecord]]:
    """Each chosen grade with its item (hashes only: no thumbnails), read once per exhibit."""
    by_exhibit: dict[int, list[tuple[str, Grade]]] = {}
    for exhibit_name, exhibit_id, grade in chosen:
        by_exhibit.setdefault(exhibit_id, []).append((exhibit_name, grade))
    found = []
    for exhibit_id, graded in by_exhibit.items():
        seqs = [grade.seq for _, grade in graded]
        items = {item.seq: item for item in stored.by_seq(exhibit_id, seqs, thumbnails=False)}
        found += [(name, exhibit_id, grade, items[grade.seq]) for name, grade in graded]
    return found


def _entries(case: str, graded: list[tuple[str, int, Grade, ItemRecord]]) -> Iterator[NewEntry]:
    record = 0
    for exhibit_name, _, grade, item in graded:
        for signal, value in item.matchable_values().items():
            record += 1
            yield NewEntry(
                signal=signal,
                value=value,
                category=grade.category,
                series=grade.flags.series,
                victim_identified=grade.flags.victim_identified,
                external_id=f"{case}/{exhibit_name}/{grade.seq}",
                notes=grade.flags.notes,
                record=record,
            )
