"""A new edition of a list applied as a change, not a replacement.

National databases publish monthly editions: new entries, regrades, corrections,
withdrawals. Deleting the list and importing the edition would change every entry's
id and lose local decisions (an entry disabled here after a false match), so an
edition is compared with the list as it stands, in one transaction:

* entries new in the edition are added;
* entries in both keep their id and their local disable; a changed category is a
  *regrade*, a change of series, victim flag, external id or notes a *correction*;
* entries the edition no longer holds are left alone, or with ``prune`` removed or
  disabled (``disable`` keeps them visible, with their history, and matching nothing);
* the rest are unchanged.

The edition is staged in a temporary table and compared with SQL, so an edition of
millions of entries needs no more memory than an import. All or nothing, as an import:
bad records reject the whole edition unless the caller asked to skip them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from safeguard.signals import VPDQ
from safeguard.store.audit import Audit, audited
from safeguard.store.bulk import BulkWriter
from safeguard.store.database import next_revision
from safeguard.store.feeds import remove_entries
from safeguard.store.list_types import MAX_REPORTED_BAD, ImportRejected, ImportReport, ListSpec
from safeguard.store.lists import Store
from safeguard.store.schema import entries, hash_lists
from safeguard.vocabulary.entries import BadRecord, NewEntry

_BATCH = 5_000
_CORRECTABLE = ("series", "victim_identified", "external_id", "notes")


class Prune(StrEnum):
    REMOVE = "remove"
    DISABLE = "disable"


@dataclass(slots=True)
class EditionReport(ImportReport):
    """What applying an edition changed (``imported`` counts the entries added)."""

    regraded: int = 0
    corrected: int = 0
    removed: int = 0
    disabled: int = 0
    unchanged: int = 0
    kept_absent: int = 0  # in the list, not in the edition, left as they were (no prune)
    regrades: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "list": self.list_name,
            "added": self.imported,
            "regraded": self.regraded,
            "corrected": self.corrected,
            "removed": self.removed,
            "disabled": self.disabled,
            "unchanged": self.unchanged,
            "kept_absent": self.kept_absent,
            "bad": self.bad_count,
        }


def _staging_table() -> Table:
    return Table(
        "edition_staging",
        MetaData(),
        Column("signal", String(16), primary_key=True),
        Column("value", LargeBinary, primary_key=True),
        Column("category", String(16)),
        Column("series", Text),
        Column("victim_identified", Boolean),
        Column("external_id", String(200)),
        Column("notes", Text),
        Column("disabled", Boolean, nullable=False),
        Column("disabled_until", DateTime(timezone=True)),
        Column("source_line", Integer),
        prefixes=["TEMPORARY"],
    )


def apply_edition(
    store: Store,
    name: str,
    rows: Iterable[NewEntry | BadRecord],
    *,
    spec: ListSpec,
    prune: Prune | None = None,
    skip_bad: bool = False,
    audit: Audit = None,
) -> EditionReport:
    """Bring list ``name`` (made from ``spec`` if missing) in line with an edition."""
    report = EditionReport(list_name=name)
    with store.engine.begin() as connection:
        target = store.import_target(connection, name, spec, report)
        staging = _staging_table()
        staging.create(connection)
        try:
            frames = _stage(connection, staging, rows, report)
            staged = connection.execute(select(func.count()).select_from(staging)).scalar_one()
            # Leaving the block on a refusal rolls everything back, the list's creation too.
            ImportRejected.check(report, good=staged, skip_bad=skip_bad)
            revision = next_revision(connection)
            _compare(connection, staging, target.id, revision, frames, prune, report)
            connection.execute(
                update(hash_lists)
                .where(hash_lists.c.id == target.id)
                .values(updated_at=datetime.now(UTC), revision=revision, **spec.provenance())
            )
            audited(connection, audit, report)
        finally:
            staging.drop(connection)
    report.committed = True
    return report


def _stage(
    connection: Connection, staging: Table, rows: Iterable, report: EditionReport
) -> dict[bytes, bytes]:
    """Write the edition into ``staging``; return the frames of its video entries by digest.
    A repeated hash is a bad record naming the line it repeats."""
    frames: dict[bytes, bytes] = {}
    seen_at: dict[tuple[str, bytes], int] = {}
    batch: list[dict] = []

    def flush() -> None:
        if batch:
            connection.execute(insert(staging), batch)
            batch.clear()

    for row in rows:
        if isinstance(row, BadRecord):
            report.add_bad(row)
            continue
        value = row.value
        if row.signal == VPDQ.name:  # stored as the digest of its frames, as an import does
            value = hashlib.sha256(row.value).digest()
            frames[value] = row.value
        key = (row.signal, value)
        if key in seen_at:
            report.add_bad(
                BadRecord(row.record, f"duplicate {row.signal} of line/record {seen_at[key]}")
            )
            continue
        seen_at[key] = row.record
        batch.append({
            "signal": row.signal, "value": value, "category": row.category,
            "series": row.series, "victim_identified": row.victim_identified,
            "external_id": row.external_id, "notes": row.notes, "disabled": row.disabled,
            "disabled_until": row.disabled_until, "source_line": row.record,
        })  # fmt: skip
        if len(batch) >= _BATCH:
            flush()
    flush()
    return frames


def _compare(
    connection: Connection,
    staging: Table,
    list_id: int,
    revision: int,
    frames: dict[bytes, bytes],
    prune: Prune | None,
    report: EditionReport,
) -> None:
    in_list = and_(
        entries.c.list_id == list_id,
        entries.c.signal == staging.c.signal,
        entries.c.value == staging.c.value,
    )
    staged = connection.execute(select(func.count()).select_from(staging)).scalar_one()

    # Regrades and corrections first, while "in both" still means what it says.
    regraded = entries.c.category.is_distinct_from(staging.c.category)
    corrected = or_(*(entries.c[c].is_distinct_from(staging.c[c]) for c in _CORRECTABLE))
    for signal, value, old, new in connection.execute(
        select(entries.c.signal, entries.c.value, entries.c.category, staging.c.category)
        .join(staging, in_list)
        .where(regraded)
        .limit(MAX_REPORTED_BAD)
    ):
        shown = VPDQ.name if signal == VPDQ.name else bytes(value).hex()
        report.regrades.append((signal, shown, old, new))
    report.regraded = connection.execute(
        select(func.count()).select_from(entries).join(staging, in_list).where(regraded)
    ).scalar_one()
    report.corrected = connection.execute(
        select(func.count()).select_from(entries).join(staging, in_list).where(~regraded, corrected)
    ).scalar_one()
    changed_ids = select(entries.c.id).join(staging, in_list).where(or_(regraded, corrected))
    new_values = {column: select(staging.c[column]).where(in_list).scalar_subquery()
                  for column in ("category", *_CORRECTABLE)}  # fmt: skip
    connection.execute(
        update(entries)
        .where(entries.c.id.in_(changed_ids))
        .values(revision=revision, **new_values)
        .execution_options(synchronize_session=False)
    )

    # New entries, copied across in SQL; a video entry's frames written beside it.
    columns = ("signal", "value", "category", *_CORRECTABLE, "disabled", "disabled_until")
    fresh = ~exists().where(in_list)
    # Counted, not taken from the insert's rowcount, which SQLite's driver leaves at -1.
    added = connection.execute(select(func.count()).select_from(staging).where(fresh)).scalar_one()
    connection.execute(
        insert(entries).from_select(
            ["list_id", "revision", "source_line", *columns],
            select(
                literal(list_id),
                literal(revision),
                staging.c.source_line,
                *(staging.c[c] for c in columns),
            ).where(fresh),
        )
    )
    if frames:
        writer = BulkWriter(connection, list_id, revision)
        writer.frames_waiting = dict(frames)
        writer.write_frames()  # only for the entries just created at this revision
    report.imported = added
    # Entries the edition no longer holds (after the inserts, so that no id of a removed
    # entry is handed to a new one: SQLite reuses the largest id once it is free).
    absent = and_(
        entries.c.list_id == list_id,
        ~exists().where(staging.c.signal == entries.c.signal, staging.c.value == entries.c.value),
    )
    if prune is Prune.REMOVE:
        report.removed = remove_entries(connection, list_id, absent, revision)
    elif prune is Prune.DISABLE:
        report.disabled = connection.execute(
            update(entries)
            .where(absent, entries.c.disabled.is_(False))
            .values(disabled=True, disabled_until=None, revision=revision)
        ).rowcount
    else:
        report.kept_absent = connection.execute(
            select(func.count()).select_from(entries).where(absent)
        ).scalar_one()

    report.unchanged = staged - report.imported - report.regraded - report.corrected
