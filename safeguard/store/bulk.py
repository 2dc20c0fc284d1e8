"""Bulk writes of a list import: batches of rows straight into ``entries`` on the import's
own connection (no ORM, no staging table), video entries' frames beside them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from safeguard.signals import VPDQ
from safeguard.store.schema import entries, entry_frames
from safeguard.vocabulary.entries import ENTRY_DETAILS, BadRecord, NewEntry

if TYPE_CHECKING:
    from safeguard.store.list_types import ImportReport

BATCH_ROWS = 20_000

_REQUIRED_COLUMNS = ("list_id", "revision", "source_line", "signal", "value", "category")
# Columns sent only when some row of the batch has a value for them: fewer
# parameters per row is measurably faster, and most lists carry none of these.
_OPTIONAL_COLUMNS = ENTRY_DETAILS


def batches(rows: Iterable[NewEntry | BadRecord], report: ImportReport) -> Iterator[list[NewEntry]]:
    batch: list[NewEntry] = []
    for row in rows:
        if isinstance(row, BadRecord):
            report.add_bad(row)
            continue
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_timestamp(value: datetime | None) -> str | None:
    # The text form SQLAlchemy itself stores in SQLite (naive UTC), so comparisons agree.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class BulkWriter:
    """Batched inserts into ``entries`` on the import's own connection (no ORM, no staging)."""

    def __init__(self, connection: Connection, list_id: int, revision: int) -> None:
        self.connection = connection
        self.list_id = list_id
        self.revision = revision
        self.inserted = 0
        postgres = connection.dialect.name == "postgresql"
        self.placeholder = "%s" if postgres else "?"
        self.stamp = (lambda value: value) if postgres else _sqlite_timestamp
        self.cursor = connection.connection.driver_connection.cursor()
        self.frames_waiting: dict[bytes, bytes] = {}  # a video entry's digest -> its frames

    def _statement(self, columns: tuple[str, ...]) -> str:
        marks = ", ".join([self.placeholder] * len(columns))
        return (
            f"INSERT INTO entries ({', '.join(columns)}) VALUES ({marks}) "
            "ON CONFLICT (signal, value, list_id) DO NOTHING"
        )

    def prepare(self, batch: list[NewEntry]) -> list[NewEntry]:
        """A video entry's value becomes the SHA-256 of its frames; the frames wait to be
        written under the entry's id once it exists."""
        if not any(row.signal == VPDQ.name for row in batch):
            return batch
        prepared = []
        for row in batch:
            if row.signal == VPDQ.name:
                digest = hashlib.sha256(row.value).digest()
                self.frames_waiting[digest] = row.value
                row = replace(row, value=digest)
            prepared.append(row)
        return prepared

    def insert(self, batch: list[NewEntry]) -> int:
        """Insert a batch; returns how many rows conflicted with an existing entry."""
        optional = tuple(
            column
            for column in _OPTIONAL_COLUMNS
            # `disabled` defaults to false; every other optional column defaults to null.
            if any(
                getattr(row, column) if column == "disabled" else getattr(row, column) is not None
                for row in batch
            )
        )
        list_id, revision = self.list_id, self.revision
        values = [(list_id, revision, r.record, r.signal, r.value, r.category) for r in batch]
        if optional:
            extras = attrgetter(*optional)
            stamp_at = optional.index("disabled_until") if "disabled_until" in optional else -1
            for position, row in enumerate(batch):
                extra = extras(row)
                extra = list(extra) if len(optional) > 1 else [extra]
                if stamp_at >= 0:
                    extra[stamp_at] = self.stamp(extra[stamp_at])
                values[position] = (*values[position], *extra)
        self.cursor.executemany(self._statement(_REQUIRED_COLUMNS + optional), values)
        added = self.cursor.rowcount
        self.inserted += added
        if self.frames_waiting:
            self.write_frames()
        return len(batch) - added

    def write_frames(self) -> None:
        """The frames of the video entries this import has just created."""
        created = self.connection.execute(
            select(entries.c.id, entries.c.value).where(
                entries.c.list_id == self.list_id,
                entries.c.revision == self.revision,
                entries.c.signal == VPDQ.name,
                entries.c.value.in_(list(self.frames_waiting)),
            )
        ).all()
        rows = [
            {"entry_id": entry_id, "number": f.number, "quality": f.quality, "pdq": f.pdq,
             "timestamp": f.timestamp}
            for entry_id, digest in created
            for f in VPDQ.decode(self.frames_waiting[bytes(digest)])
        ]  # fmt: skip
        if rows:
            self.connection.execute(entry_frames.insert(), rows)
        self.frames_waiting.clear()

    def explain_duplicates(self, batch: list[NewEntry]) -> Iterator[BadRecord]:
        """Name each row of a batch that did not go in, and what it repeats."""
        mark = self.placeholder
        query = (
            f"SELECT id, revision, source_line FROM entries WHERE signal = {mark} "
            f"AND value = {mark} AND list_id = {mark}"
        )
        for row in batch:
            self.cursor.execute(query, (row.signal, row.value, self.list_id))
            entry_id, revision, line = self.cursor.fetchone()
            if revision != self.revision:
                yield BadRecord(row.record, f"{row.signal} already in this list (entry {entry_id})")
            elif line != row.record:
                yield BadRecord(row.record, f"duplicate {row.signal} of line/record {line}")
