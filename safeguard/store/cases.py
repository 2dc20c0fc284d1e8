"""Cases and exhibits: who examines what, each exhibit's state, and the lists it met.

A case carries what a report is signed on (examiner, agency, reference, notes);
an exhibit its source, scan settings, status and exhibit-level problems, who
scanned it and when, and when it was last matched against which list revisions.
Its items are in :mod:`safeguard.store.items`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from safeguard.errors import UsageError
from safeguard.sources.base import Level, Problem
from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.lists import Store
from safeguard.store.schema import cases, exhibits

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    created_at: datetime
    examiner: str | None = None
    agency: str | None = None
    reference: str | None = None  # the force's own case number
    notes: str | None = None
    grading: str = "dual"  # dual: verified once a supervisor confirms; single: when graded

    @property
    def dual_grading(self) -> bool:
        return self.grading == "dual"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "reference": self.reference,
            "agency": self.agency,
            "examiner": self.examiner,
            "notes": self.notes,
            "grading": self.grading,
            "created_at": self.created_at.isoformat(),
        }


CASE_DETAILS = ("examiner", "agency", "reference", "notes", "grading")
GRADING_RULES = ("single", "dual")


@dataclass(frozen=True, slots=True)
class Exhibit:
    id: int
    case: str
    name: str
    source: str
    options: dict
    status: str  # as stored: running, complete or failed
    verification: dict | None
    problems: tuple[Problem, ...] = ()
    examiner: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    matched_at: datetime | None = None  # when last matched against lists (scan or rematch)
    lists_used: tuple[dict, ...] = ()  # the lists then, with their revisions

    @property
    def state(self) -> str:
        """What reports say: ``complete``, ``failed``, or ``incomplete`` for a scan that
        is still running or was interrupted (its items so far are all there is)."""
        return "incomplete" if self.status == RUNNING else self.status


def other_settings(case: str, name: str, source: str, options: dict) -> UsageError:
    """The refusal to go on with an exhibit from another source or with other settings."""
    return UsageError(
        f"exhibit {name!r} of case {case!r} was scanned from {source} with options "
        f"{json.dumps(options, sort_keys=True)}; resume it with the same ones, "
        "or use a new exhibit name"
    )


class Cases:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def describe_case(self, case: str, *, audit: Audit = None, **details: str | None) -> Case:
        """Create the case if need be, and set the details given (examiner, agency...)."""
        with self.engine.begin() as connection:
            case_id = self._case_id(connection, case)
            given = {k: v for k, v in details.items() if k in CASE_DETAILS and v is not None}
            if given.get("grading", "dual") not in GRADING_RULES:
                raise UsageError(f"grading is single or dual, not {given['grading']!r}")
            if given:
                connection.execute(update(cases).where(cases.c.id == case_id).values(**given))
            audited(connection, audit, given)
        return self.case(case)

    def case(self, name: str) -> Case:
        found = [c for c in self.cases() if c.name == name]
        if not found:
            raise UsageError(f"no case named {name!r} in this store (see `safeguard cases ls`)")
        return found[0]

    def cases(self) -> list[Case]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(cases).order_by(cases.c.name))
            return [
                Case(
                    r.name,
                    as_utc(r.created_at),
                    r.examiner,
                    r.agency,
                    r.reference,
                    r.notes,
                    r.grading,
                )
                for r in rows
            ]

    def _case_id(self, connection, case: str) -> int:
        case_id = connection.execute(select(cases.c.id).where(cases.c.name == case)).scalar()
        if case_id is not None:
            return case_id
        try:
            with connection.begin_nested():
                return connection.execute(
                    cases.insert()
                    .values(name=case, created_at=datetime.now(UTC))
                    .returning(cases.c.id)
                ).scalar_one()
        except IntegrityError:  # made meanwhile by a scan of another of its exhibits
            return connection.execute(select(cases.c.id).where(cases.c.name == case)).scalar_one()

    def start_exhibit(
        self, case: str, name: str, source: str, options: dict, examiner: str | None = None
    ) -> Exhibit:
        """The exhibit to scan into: new, or the unfinished one a killed scan left."""
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            case_id = self._case_id(connection, case)
            row = connection.execute(
                select(exhibits).where(exhibits.c.case_id == case_id, exhibits.c.name == name)
            ).first()
            if row is None:
                connection.execute(
                    exhibits.insert().values(
                        case_id=case_id,
                        name=name,
                        source=source,
                        options=json.dumps(options, sort_keys=True),
                        status=RUNNING,
                        started_at=now,
                        examiner=examiner,
                    )
                )
            elif json.loads(row.options) != options or row.source != source:
                raise other_settings(case, name, row.source, json.loads(row.options))
            elif row.status == FAILED:  # scanned again: incomplete until this run ends
                connection.execute(
                    update(exhibits).where(exhibits.c.id == row.id).values(status=RUNNING)
                )
        return self.exhibit(case, name)

    def exhibit(self, case: str, name: str) -> Exhibit:
        found = self.exhibits(case, name)
        if not found:
            raise UsageError(f"case {case!r} has no exhibit {name!r}")
        return found[0]

    def exhibits(self, case: str, name: str | None = None) -> list[Exhibit]:
        query = (
            select(exhibits, cases.c.name.label("case_name"))
            .join(cases, cases.c.id == exhibits.c.case_id)
            .where(cases.c.name == case)
            .order_by(exhibits.c.id)
        )
        if name is not None:
            query = query.where(exhibits.c.name == name)
        with self.engine.connect() as connection:
            return [
                Exhibit(
                    row.id,
                    row.case_name,
                    row.name,
                    row.source,
                    json.loads(row.options),
                    row.status,
                    json.loads(row.verification) if row.verification else None,
                    tuple(Problem.from_json(p) for p in json.loads(row.problems or "[]")),
                    row.examiner,
                    as_utc(row.started_at),
                    as_utc(row.finished_at),
                    as_utc(row.matched_at),
                    tuple(json.loads(row.lists_used or "[]")),
                )
                for row in connection.execute(query)
            ]

    def record_matching(self, exhibit_id: int, lists_used: Sequence[dict]) -> None:
        """Say when the exhibit was matched, and against which lists at which revisions."""
        with self.engine.begin() as connection:
            connection.execute(
                update(exhibits)
                .where(exhibits.c.id == exhibit_id)
                .values(matched_at=datetime.now(UTC), lists_used=json.dumps(list(lists_used)))
            )

    def note_problems(self, exhibit_id: int, problems: Sequence[Problem]) -> None:
        """Keep the problems a running scan has met so far (with any an earlier run met),
        so that an interrupted scan's report still names them."""
        with self.engine.begin() as connection:
            stored = connection.execute(
                select(exhibits.c.problems).where(exhibits.c.id == exhibit_id)
            ).scalar()
            known = [Problem.from_json(p) for p in json.loads(stored or "[]")]
            merged = known + [p for p in problems if p not in known]
            if merged != known:
                connection.execute(
                    update(exhibits)
                    .where(exhibits.c.id == exhibit_id)
                    .values(problems=json.dumps([p.to_json() for p in merged]))
                )

    def finish_exhibit(
        self, exhibit_id: int, verification: dict | None, problems: Sequence[Problem]
    ) -> str:
        """Close a scan that walked its whole source; ``problems`` are all it met.

        The exhibit is ``failed`` when any of them is an error (evidence not read).
        """
        status = FAILED if any(p.level is Level.ERROR for p in problems) else COMPLETE
        with self.engine.begin() as connection:
            connection.execute(
                update(exhibits)
                .where(exhibits.c.id == exhibit_id)
                .values(
                    status=status,
                    finished_at=datetime.now(UTC),
                    verification=json.dumps(verification) if verification else None,
                    problems=json.dumps([p.to_json() for p in problems]) if problems else None,
                )
            )
        return status


def list_snapshot(store: Store) -> list[dict]:
    """Every list as it stands: what a report names as the lists an exhibit was matched with."""
    counts = store.entry_counts()
    return [
        {
            "name": hash_list.name,
            "kind": hash_list.kind.value,
            "scheme": hash_list.scheme.value,
            "enabled": hash_list.enabled,
            "revision": hash_list.revision,
            "entries": sum(counts.get(hash_list.id, {}).values()),
            "pdq_threshold": hash_list.pdq_threshold,
            "thresholds": hash_list.thresholds_json(),
            "source_file": hash_list.source_file,
            "source_sha256": hash_list.source_sha256,
            "imported_by": hash_list.imported_by,
            "created_at": hash_list.created_at.isoformat(),
            "updated_at": hash_list.updated_at.isoformat(),
        }
        for hash_list in store.lists()
    ]
