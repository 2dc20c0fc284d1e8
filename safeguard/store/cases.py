"""Cases and exhibits: what a scan found, kept so a killed scan resumes where it stopped.

Items are written in batches, each in one transaction, keyed by their locator;
a scan killed mid-batch loses only that batch, which the resumed scan redoes, so
no item is lost or counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from safeguard.errors import UsageError
from safeguard.sources.base import Level, Problem
from safeguard.store.lists import Store
from safeguard.store.schema import cases, exhibits, item_matches, items


@dataclass(frozen=True, slots=True)
class MatchRecord:
    entry_id: int
    list_name: str
    list_kind: str
    signal: str
    distance: int
    category: str | None
    scheme: str


@dataclass(slots=True)
class ItemRecord:
    seq: int
    locator: str
    steps: list[dict]
    allocation: str
    size: int | None = None
    type: str | None = None
    md5: bytes | None = None
    sha1: bytes | None = None
    sha256: bytes | None = None
    pdq: bytes | None = None
    pdq_quality: int | None = None
    width: int | None = None
    height: int | None = None
    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    created: datetime | None = None
    errors: list[str] = field(default_factory=list)
    matches: list[MatchRecord] = field(default_factory=list)
    thumbnail: bytes | None = None  # kept only for images that matched no list


RUNNING, COMPLETE, FAILED = "running", "complete", "failed"


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

    @property
    def state(self) -> str:
        """What reports say: ``complete``, ``failed``, or ``incomplete`` for a scan that
        is still running or was interrupted (its items so far are all there is)."""
        return "incomplete" if self.status == RUNNING else self.status


_ITEM_COLUMNS = (
    "seq", "locator", "allocation", "size", "type", "md5", "sha1", "sha256", "pdq",
    "pdq_quality", "width", "height", "modified", "accessed", "changed", "created", "thumbnail",
)  # fmt: skip


class Cases:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def start_exhibit(self, case: str, name: str, source: str, options: dict) -> Exhibit:
        """The exhibit to scan into: new, or the unfinished one a killed scan left."""
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            case_id = connection.execute(select(cases.c.id).where(cases.c.name == case)).scalar()
            if case_id is None:
                case_id = connection.execute(
                    cases.insert().values(name=case, created_at=now).returning(cases.c.id)
                ).scalar_one()
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
                    )
                )
            elif json.loads(row.options) != options or row.source != source:
                raise UsageError(
                    f"exhibit {name!r} of case {case!r} was scanned from {row.source} with "
                    f"options {row.options}; resume it with the same ones, "
                    "or use a new exhibit name"
                )
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
                )
                for row in connection.execute(query)
            ]

    def done_locators(self, exhibit_id: int) -> set[str]:
        with self.engine.connect() as connection:
            return set(
                connection.execute(
                    select(items.c.locator).where(items.c.exhibit_id == exhibit_id)
                ).scalars()
            )

    def item_count(self, exhibit_id: int) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(items).where(items.c.exhibit_id == exhibit_id)
            ).scalar_one()

    def next_seq(self, exhibit_id: int) -> int:
        with self.engine.connect() as connection:
            last = connection.execute(
                select(func.max(items.c.seq)).where(items.c.exhibit_id == exhibit_id)
            ).scalar()
        return 0 if last is None else last + 1

    def save_items(self, exhibit_id: int, records: Sequence[ItemRecord]) -> None:
        """Write a batch of items and their matches in one transaction."""
        if not records:
            return
        rows = [
            {
                "exhibit_id": exhibit_id,
                "locator_steps": json.dumps(record.steps),
                "errors": json.dumps(record.errors) if record.errors else None,
                **{column: getattr(record, column) for column in _ITEM_COLUMNS},
            }
            for record in records
        ]
        with self.engine.begin() as connection:
            connection.execute(items.insert(), rows)
            matched = {record.locator: record for record in records if record.matches}
            if not matched:
                return
            ids = connection.execute(
                select(items.c.locator, items.c.id).where(
                    items.c.exhibit_id == exhibit_id, items.c.locator.in_(list(matched))
                )
            )
            connection.execute(
                item_matches.insert(),
                [
                    {
                        "item_id": item_id,
                        "entry_id": m.entry_id,
                        "list_name": m.list_name,
                        "list_kind": m.list_kind,
                        "signal": m.signal,
                        "distance": m.distance,
                        "category": m.category,
                        "scheme": m.scheme,
                    }
                    for locator, item_id in ids
                    for m in matched[locator].matches
                ],
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

    def items(self, exhibit_id: int) -> Iterator[ItemRecord]:
        """Every item of an exhibit in the order found, with its matches."""
        with self.engine.connect() as connection:
            matches: dict[int, list[MatchRecord]] = {}
            for row in connection.execute(
                select(item_matches)
                .join(items, items.c.id == item_matches.c.item_id)
                .where(items.c.exhibit_id == exhibit_id)
                .order_by(item_matches.c.id)
            ):
                matches.setdefault(row.item_id, []).append(
                    MatchRecord(
                        row.entry_id, row.list_name, row.list_kind, row.signal,
                        row.distance, row.category, row.scheme,
                    )
                )  # fmt: skip
            result = connection.execution_options(yield_per=5000).execute(
                select(items).where(items.c.exhibit_id == exhibit_id).order_by(items.c.seq)
            )
            for row in result:
                record = ItemRecord(
                    seq=row.seq,
                    locator=row.locator,
                    steps=json.loads(row.locator_steps),
                    allocation=row.allocation,
                    errors=json.loads(row.errors) if row.errors else [],
                    matches=matches.get(row.id, []),
                )
                for column in _ITEM_COLUMNS[2:]:
                    value = getattr(row, column)
                    setattr(
                        record, column, bytes(value) if isinstance(value, memoryview) else value
                    )
                yield record
