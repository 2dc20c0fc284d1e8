"""Examiners' grades: families in one action, no silent overwrite, undo, second opinions."""

from __future__ import annotations

import pytest

from safeguard.errors import UsageError
from safeguard.store.audit import AuditLog
from safeguard.store.cases import Cases
from safeguard.store.grades import GradeConflict, GradeFlags, Grades
from safeguard.store.items import ExhibitItems, ItemRecord, MatchRecord
from safeguard.store.reviewers import Reviewers, Role

PASSWORD = "correct horse battery"


@pytest.fixture
def desk(store):
    """An exhibit of six pictures (item 5 matches a list) and one account per role."""
    cases = Cases(store)
    exhibit = cases.start_exhibit("OP-1", "E1", "/evidence", {})
    records = []
    for seq in range(6):
        record = ItemRecord(seq, f"E1 / {seq}.jpg", [{"kind": "file", "name": f"{seq}.jpg"}],
                            "allocated", size=100, type="image/jpeg", sha256=bytes([seq]) * 32,
                            pdq=bytes([seq]) * 32, pdq_quality=100)  # fmt: skip
        if seq == 5:
            record.matches = [MatchRecord(9, "national", "alert", "sha256", 0, "A", "uk")]
        records.append(record)
    ExhibitItems(store).save_items(exhibit.id, records)
    accounts = Reviewers(store.engine)
    people = {role: accounts.create(role.value, role, PASSWORD) for role in Role}
    return Grades(store.engine), exhibit.id, people


def test_a_family_is_graded_in_one_action_and_undone_as_one(desk):
    grades, exhibit, people = desk
    reviewer = people[Role.REVIEWER]
    action = grades.grade(exhibit, 0, "uk", "B", by=reviewer, seen_version=0, family=[1, 2],
                          flags=GradeFlags(series="beach", second_opinion=True))  # fmt: skip
    assert action.changed == (0, 1, 2) and action.kept == ()
    graded = grades.of_exhibit(exhibit)
    assert {seq: g.category for seq, g in graded.items()} == {0: "B", 1: "B", 2: "B"}
    assert graded[1].via_seq == 0 and graded[0].via_seq is None
    assert graded[2].flags.series == "beach" and not graded[0].verified()
    assert graded[0].verified(dual=False)
    grades.undo(action.action_id, by=reviewer)
    assert grades.of_exhibit(exhibit) == {}


def test_a_member_graded_on_its_own_is_kept_when_its_family_is_graded(desk):
    grades, exhibit, people = desk
    reviewer = people[Role.REVIEWER]
    grades.grade(exhibit, 2, "uk", "A", by=reviewer, seen_version=0)
    action = grades.grade(exhibit, 0, "uk", "C", by=reviewer, seen_version=0, family=[1, 2])
    assert action.changed == (0, 1) and action.kept == (2,)
    assert grades.of_exhibit(exhibit)[2].category == "A"


def test_two_reviewers_never_overwrite_each_other(desk):
    grades, exhibit, people = desk
    first, second = people[Role.REVIEWER], people[Role.SUPERVISOR]
    grades.grade(exhibit, 3, "vics", "2", by=first, seen_version=0)
    with pytest.raises(GradeConflict, match="graded meanwhile by reviewer as 2"):
        grades.grade(exhibit, 3, "vics", "1", by=second, seen_version=0)  # saw it ungraded
    seen = grades.of_exhibit(exhibit)[3].version
    grades.grade(exhibit, 3, "vics", "1", by=second, seen_version=seen)  # after a reload
    assert grades.of_exhibit(exhibit)[3].category == "1"


def test_an_action_is_not_undone_over_a_later_change(desk):
    grades, exhibit, people = desk
    reviewer, supervisor = people[Role.REVIEWER], people[Role.SUPERVISOR]
    action = grades.grade(exhibit, 4, "uk", "B", by=reviewer, seen_version=0)
    grades.confirm(exhibit, 4, by=supervisor, seen_version=1)
    with pytest.raises(GradeConflict, match="changed since"):
        grades.undo(action.action_id, by=reviewer)
    with pytest.raises(UsageError, match="no action of yours"):
        grades.undo(action.action_id, by=supervisor)


def test_a_supervisor_confirms_or_changes_and_the_disagreement_is_kept(desk, store):
    grades, exhibit, people = desk
    reviewer, supervisor = people[Role.REVIEWER], people[Role.SUPERVISOR]
    grades.grade(exhibit, 0, "uk", "B", by=reviewer, seen_version=0)
    grades.grade(exhibit, 1, "uk", "C", by=reviewer, seen_version=0)
    grades.confirm(exhibit, 0, by=supervisor, seen_version=1)
    grades.confirm(exhibit, 1, by=supervisor, seen_version=1, category="A")
    graded = grades.of_exhibit(exhibit)
    assert graded[0].verified() and graded[0].disputed_category is None
    assert graded[1].category == "A" and graded[1].disputed_category == "C"
    assert graded[1].confirmed_by == "supervisor" and graded[1].graded_by == "reviewer"
    with pytest.raises(UsageError, match="a reviewer may not"):
        grades.confirm(exhibit, 0, by=reviewer, seen_version=2)


def test_confirming_a_representative_confirms_the_family_graded_with_it(desk):
    grades, exhibit, people = desk
    reviewer, supervisor = people[Role.REVIEWER], people[Role.SUPERVISOR]
    grades.grade(exhibit, 3, "uk", "A", by=reviewer, seen_version=0)  # on its own
    grades.grade(exhibit, 0, "uk", "C", by=reviewer, seen_version=0, family=[1, 2, 3])
    action = grades.confirm(exhibit, 0, by=supervisor, seen_version=1, category="B")
    assert sorted(action.changed) == [0, 1, 2]
    graded = grades.of_exhibit(exhibit)
    assert {seq: (g.category, g.confirmed_by) for seq, g in graded.items()} == {
        0: ("B", "supervisor"), 1: ("B", "supervisor"), 2: ("B", "supervisor"), 3: ("A", None),
    }  # fmt: skip
    assert graded[1].disputed_category == "C"


def test_viewers_list_matches_and_unknown_grades_are_refused(desk):
    grades, exhibit, people = desk
    with pytest.raises(UsageError, match="a viewer may not"):
        grades.grade(exhibit, 0, "uk", "A", by=people[Role.VIEWER], seen_version=0)
    with pytest.raises(UsageError, match="matches a list, whose grade stands"):
        grades.grade(exhibit, 5, "uk", "C", by=people[Role.REVIEWER], seen_version=0)
    with pytest.raises(UsageError, match="uk grades are A, B, C, NP"):
        grades.grade(exhibit, 0, "uk", "1", by=people[Role.REVIEWER], seen_version=0)
    with pytest.raises(UsageError, match="no item 99"):
        grades.grade(exhibit, 99, "uk", "A", by=people[Role.REVIEWER], seen_version=0)
    assert grades.of_exhibit(exhibit) == {}


def test_each_grading_action_is_audited_with_the_change(desk, store):
    grades, exhibit, people = desk
    from safeguard.store.audit import AuditEvent

    def audit(action):
        return AuditEvent("reviewer", "test", "grade.set", {"changed": list(action.changed)})

    grades.grade(exhibit, 0, "uk", "A", by=people[Role.REVIEWER], seen_version=0, family=[1],
                 audit=audit)  # fmt: skip
    records = list(AuditLog(store.engine).records())
    assert [r.event for r in records] == ["grade.set"] and AuditLog(store.engine).verify().ok
