"""Examiners' grades of the unknown pictures of an exhibit.

A grade is one row per item, as it stands now, with a ``version`` that every change
must have seen: two reviewers grading the same picture never overwrite each other,
the second is refused with who graded it meanwhile. Grading a family's
representative can grade the whole family in the same action; members someone
graded on their own are kept as they are. Every change is also written to
``grade_history`` under its action's id, so an action (a family included) is undone
as one, and only while nobody has changed those items since.

A supervisor confirms a grade (its second opinion) or changes it; a change keeps
the grade it replaced as ``disputed_category``, so disagreements are listed, never
lost. Under dual grading a grade counts as verified once confirmed.

Grades are UK A/B/C or NP (non-pertinent), or VICS 1-4 or 0 (non-pertinent). An item
a list already grades is not graded here: the list's grade stands.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from safeguard.errors import UsageError
from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.reviewers import Reviewer, Role
from safeguard.store.schema import grade_history, grades, item_matches, items
from safeguard.vocabulary.categories import Scheme
from safeguard.vocabulary.entries import ALERT_KINDS

NON_PERTINENT = {Scheme.UK: "NP", Scheme.VICS: "0"}
GRADES = {Scheme.UK: ("A", "B", "C", "NP"), Scheme.VICS: ("1", "2", "3", "4", "0")}


class GradeConflict(UsageError):
    """The item changed since the grader saw it (or the action to undo is out of date)."""


@dataclass(frozen=True, slots=True)
class GradeFlags:
    victim_identified: bool | None = None
    series: str | None = None
    second_opinion: bool = False  # the grader asks a supervisor to look
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    seq: int
    scheme: Scheme
    category: str
    flags: GradeFlags
    graded_by: str
    graded_at: datetime
    via_seq: int | None  # graded with the family of this item
    version: int
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    disputed_category: str | None = None  # what the supervisor changed

    @property
    def pertinent(self) -> bool:
        return self.category != NON_PERTINENT[self.scheme]

    def verified(self, *, dual: bool = True) -> bool:
        return self.confirmed_by is not None or not dual


@dataclass(frozen=True, slots=True)
class GradingAction:
    action_id: str
    changed: tuple[int, ...]  # sequence numbers graded, confirmed or restored
    kept: tuple[int, ...] = field(default=())  # family members graded on their own, untouched


class Grades:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grade(
        self,
        exhibit_id: int,
        seq: int,
        scheme: Scheme,
        category: str,
        *,
        by: Reviewer,
        seen_version: int,
        flags: GradeFlags = GradeFlags(),
        family: Sequence[int] = (),
        audit: Audit = None,
    ) -> GradingAction:
        """Grade an item (``seen_version``: the version the grader saw, 0 if ungraded) and,
        in the same action, the ``family`` members nobody graded on their own."""
        _require_role(by, Role.REVIEWER, Role.SUPERVISOR)
        scheme = Scheme(scheme)
        if category not in GRADES[scheme]:
            raise UsageError(f"{scheme} grades are {', '.join(GRADES[scheme])}, not {category!r}")
        now, action_id = datetime.now(UTC), secrets.token_hex(16)
        with self.engine.begin() as connection:
            ids = _item_ids(connection, exhibit_id, [seq, *family])
            current = _current(connection, list(ids.values()))
            head = current.get(ids[seq])
            if (head["version"] if head else 0) != seen_version:
                raise GradeConflict(_changed_meanwhile(seq, head))
            changed, kept = [], []
            for member in [seq, *[m for m in family if m != seq]]:
                before = current.get(ids[member])
                if member != seq and before and before["via_item_id"] != ids[seq]:
                    kept.append(member)
                    continue
                after = {
                    "item_id": ids[member],
                    "exhibit_id": exhibit_id,
                    "scheme": str(scheme),
                    "category": category,
                    "flags": json.dumps(asdict(flags), sort_keys=True),
                    "graded_by": by.name,
                    "graded_at": now.isoformat(),
                    "via_item_id": None if member == seq else ids[seq],
                    "version": (before["version"] if before else 0) + 1,
                    "confirmed_by": None,
                    "confirmed_at": None,
                    "disputed_category": None,
                }
                _write(connection, action_id, "grade", by.name, now, before, after)
                changed.append(member)
            action = GradingAction(action_id, tuple(changed), tuple(kept))
            audited(connection, audit, action)
        return action

    def confirm(
        self,
        exhibit_id: int,
        seq: int,
        *,
        by: Reviewer,
        seen_version: int,
        category: str | None = None,
        audit: Audit = None,
    ) -> GradingAction:
        """A supervisor's second opinion: the grade stands, or becomes ``category`` with the
        replaced grade kept as the disagreement. The family members graded with this
        picture (and not confirmed on their own) follow it in the same action."""
        _require_role(by, Role.SUPERVISOR)
        now, action_id = datetime.now(UTC), secrets.token_hex(16)
        with self.engine.begin() as connection:
            item_id = _item_ids(connection, exhibit_id, [seq])[seq]
            before = _current(connection, [item_id]).get(item_id)
            if before is None or before["version"] != seen_version:
                raise GradeConflict(_changed_meanwhile(seq, before))
            scheme = Scheme(before["scheme"])
            if category is not None and category not in GRADES[scheme]:
                raise UsageError(f"{scheme} grades are {', '.join(GRADES[scheme])}")
            followers = connection.execute(
                select(grades).where(
                    grades.c.via_item_id == item_id, grades.c.confirmed_by.is_(None)
                )
            ).all()
            for earlier in [before, *(_as_json(row) for row in followers)]:
                after = {**earlier, "version": earlier["version"] + 1}
                after.update(confirmed_by=by.name, confirmed_at=now.isoformat())
                if category is not None and category != earlier["category"]:
                    after.update(category=category, disputed_category=earlier["category"])
                _write(connection, action_id, "confirm", by.name, now, earlier, after)
            changed = (seq, *_seqs(connection, [row.item_id for row in followers]).values())
            action = GradingAction(action_id, changed)
            audited(connection, audit, action)
        return action

    def undo(self, action_id: str, *, by: Reviewer, audit: Audit = None) -> GradingAction:
        """Put every item of an action back as it was, if none has changed since."""
        _require_role(by, Role.REVIEWER, Role.SUPERVISOR)
        now, undo_id = datetime.now(UTC), secrets.token_hex(16)
        with self.engine.begin() as connection:
            done = connection.execute(
                select(grade_history).where(grade_history.c.action_id == action_id)
            ).all()
            if not done or done[0].by != by.name or done[0].kind == "undo":
                raise UsageError("no action of yours to undo with that id")
            current = _current(connection, [row.item_id for row in done])
            for row in done:
                after = json.loads(row.after)
                now_there = current.get(row.item_id)
                if now_there is None or now_there["version"] != after["version"]:
                    raise GradeConflict(
                        "cannot undo: an item of that action was changed since "
                        f"(by {now_there['graded_by'] if now_there else 'an undo'})"
                    )
            seqs = _seqs(connection, [row.item_id for row in done])
            for row in done:
                before = json.loads(row.before) if row.before else None
                restored = (
                    {**before, "version": current[row.item_id]["version"] + 1} if before else None
                )
                _write(connection, undo_id, "undo", by.name, now, current[row.item_id], restored)
            action = GradingAction(undo_id, tuple(seqs[row.item_id] for row in done))
            audited(connection, audit, action)
        return action

    def version(self, exhibit_id: int, seq: int) -> int:
        """The item's grade version now (0: ungraded): what the next change must have seen."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(grades.c.version)
                .join(items, items.c.id == grades.c.item_id)
                .where(items.c.exhibit_id == exhibit_id, items.c.seq == seq)
            ).first()
        return found[0] if found else 0

    def of_exhibit(self, exhibit_id: int) -> dict[int, Grade]:
        """Every grade of an exhibit, by the item's sequence number."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(grades, items.c.seq)
                .join(items, items.c.id == grades.c.item_id)
                .where(grades.c.exhibit_id == exhibit_id)
            ).all()
            via = _seqs(connection, [r.via_item_id for r in rows if r.via_item_id is not None])
        return {row.seq: _grade(row, via) for row in rows}


def _require_role(reviewer: Reviewer, *roles: Role) -> None:
    if reviewer.role not in roles:
        raise UsageError(f"a {reviewer.role} may not do this")


def _item_ids(connection: Connection, exhibit_id: int, seqs: Sequence[int]) -> dict[int, int]:
    """Item ids by sequence number; an item a list grades, or one not there, is refused."""
    rows = connection.execute(
        select(items.c.id, items.c.seq).where(
            items.c.exhibit_id == exhibit_id, items.c.seq.in_(list(seqs))
        )
    ).all()
    found = {row.seq: row.id for row in rows}
    missing = [seq for seq in seqs if seq not in found]
    if missing:
        raise UsageError(f"the exhibit has no item {missing[0]}")
    listed = connection.execute(
        select(items.c.seq)
        .join(item_matches, item_matches.c.item_id == items.c.id)
        .where(items.c.id.in_(list(found.values())), item_matches.c.list_kind.in_(ALERT_KINDS))
    ).first()
    if listed is not None:
        raise UsageError(f"item {listed.seq} matches a list, whose grade stands")
    return found


def _current(connection: Connection, item_ids: list[int]) -> dict[int, dict]:
    rows = connection.execute(select(grades).where(grades.c.item_id.in_(item_ids))).all()
    return {row.item_id: _as_json(row) for row in rows}


def _as_json(row) -> dict:
    values = {key: value for key, value in row._mapping.items() if key != "id"}
    for key in ("graded_at", "confirmed_at"):
        values[key] = as_utc(values[key]).isoformat() if values[key] else None
    return values


def _write(connection, action_id, kind, by, now, before: dict | None, after: dict | None):
    """Make the item's grade ``after`` (None: ungraded) and record the change."""
    item_id = (after or before)["item_id"]
    connection.execute(delete(grades).where(grades.c.item_id == item_id))
    if after is not None:
        stored = {**after}
        for key in ("graded_at", "confirmed_at"):
            stored[key] = datetime.fromisoformat(stored[key]) if stored[key] else None
        connection.execute(insert(grades).values(**stored))
    connection.execute(
        grade_history.insert().values(
            action_id=action_id,
            item_id=item_id,
            kind=kind,
            by=by,
            at=now,
            before=json.dumps(before, sort_keys=True) if before else None,
            after=json.dumps(after, sort_keys=True) if after else None,
        )
    )


def _seqs(connection: Connection, item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = connection.execute(select(items.c.id, items.c.seq).where(items.c.id.in_(item_ids)))
    return {row.id: row.seq for row in rows}


def _changed_meanwhile(seq: int, now_there: dict | None) -> str:
    if now_there is None:
        return f"item {seq} is no longer graded (an undo); reload it"
    return (
        f"item {seq} was graded meanwhile by {now_there['graded_by']} as "
        f"{now_there['category']}; reload it to see the grade before changing it"
    )


def _grade(row, via: dict[int, int]) -> Grade:
    return Grade(
        seq=row.seq,
        scheme=Scheme(row.scheme),
        category=row.category,
        flags=GradeFlags(**json.loads(row.flags)),
        graded_by=row.graded_by,
        graded_at=as_utc(row.graded_at),
        via_seq=via.get(row.via_item_id) if row.via_item_id is not None else None,
        version=row.version,
        confirmed_by=row.confirmed_by,
        confirmed_at=as_utc(row.confirmed_at),
        disputed_category=row.disputed_category,
    )
