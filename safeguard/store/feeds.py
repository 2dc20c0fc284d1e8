"""A list's changes since a point, for another Safeguard to follow; and applying them.

Every entry carries the revision of its last change, and a removed entry leaves a
tombstone (``entry_removals``) with the revision that removed it, so "what changed after
revision R" is two indexed range reads. A change is a state, not an edit: ``upsert``
carries the entry as it now is (category, details, disabled), ``remove`` its hash. So a
follower that applies a page twice, or pages out of a killed run again, ends the same.

A position in the feed is a cursor ``REVISION.STREAM.ID`` (removals before upserts
within a revision, then by id): a page of any size can end inside one large import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, insert, literal, or_, select, update

from safeguard.errors import UsageError
from safeguard.signals import SIGNAL_TYPES, VPDQ, IndexKind
from safeguard.store.audit import Audit, audited
from safeguard.store.bulk import BulkWriter
from safeguard.store.database import next_revision
from safeguard.store.list_types import ImportReport, ListSpec
from safeguard.store.lists import Store
from safeguard.store.schema import entries, entry_removals, hash_lists, list_follows
from safeguard.vocabulary.entries import ENTRY_DETAILS, NewEntry

START = "0.0.0"
MAX_PAGE = 5000
_REMOVALS, _UPSERTS = 0, 1


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    revision: int
    stream: int
    id: int

    @classmethod
    def parse(cls, text: str) -> Cursor:
        try:
            revision, stream, item = (int(part) for part in text.split("."))
        except ValueError:
            raise UsageError(f"{text!r} is not a feed position (REVISION.STREAM.ID)") from None
        if min(revision, stream, item) < 0 or stream > _UPSERTS:
            raise UsageError(f"{text!r} is not a feed position")
        return cls(revision, stream, item)

    def __str__(self) -> str:
        return f"{self.revision}.{self.stream}.{self.id}"


def remove_entries(connection: Connection, list_id: int, condition, revision: int) -> int:
    """Delete a list's entries matching ``condition``, leaving a tombstone for each."""
    chosen = and_(entries.c.list_id == list_id, condition)
    connection.execute(
        insert(entry_removals).from_select(
            ["list_id", "signal", "value", "revision"],
            select(entries.c.list_id, entries.c.signal, entries.c.value, literal(revision))
            .where(chosen),
        )
    )  # fmt: skip
    return connection.execute(delete(entries).where(chosen)).rowcount


def changes_since(
    store: Store, list_id: int, after: Cursor, limit: int
) -> tuple[list[dict], Cursor, bool]:
    """Up to ``limit`` changes after ``after``: (changes, the cursor after them, more?)."""
    limit = max(1, min(limit, MAX_PAGE))
    with store.engine.connect() as connection:
        removed = connection.execute(
            select(entry_removals)
            .where(
                entry_removals.c.list_id == list_id,
                _after(entry_removals, after, _REMOVALS),
            )
            .order_by(entry_removals.c.revision, entry_removals.c.id)
            .limit(limit + 1)
        ).all()
        current = connection.execute(
            select(entries)
            .where(entries.c.list_id == list_id, _after(entries, after, _UPSERTS))
            .order_by(entries.c.revision, entries.c.id)
            .limit(limit + 1)
        ).all()
        items = sorted(
            [(Cursor(r.revision, _REMOVALS, r.id), r) for r in removed]
            + [(Cursor(r.revision, _UPSERTS, r.id), r) for r in current],
            key=lambda pair: pair[0],
        )
        page = items[:limit]
        frames = store.video_frames(
            [r.id for c, r in page if c.stream == _UPSERTS and r.signal == VPDQ.name]
        )
    changes = [
        _removal(row, cursor) if cursor.stream == _REMOVALS else _upsert(row, cursor, frames)
        for cursor, row in page
    ]
    return changes, page[-1][0] if page else after, len(items) > limit


def _after(table, cursor: Cursor, stream: int):
    same_revision = table.c.revision == cursor.revision
    if stream < cursor.stream:  # this stream is done with the cursor's revision
        return table.c.revision > cursor.revision
    if stream > cursor.stream:  # this stream has not started on it
        return table.c.revision >= cursor.revision
    return or_(table.c.revision > cursor.revision, and_(same_revision, table.c.id > cursor.id))


def _removal(row, cursor: Cursor) -> dict:
    return {
        "op": "remove",
        "at": str(cursor),
        "signal": row.signal,
        "value": bytes(row.value).hex(),
    }


def _upsert(row, cursor: Cursor, frames: dict) -> dict:
    signal = SIGNAL_TYPES[row.signal]
    value = (
        VPDQ.to_text(VPDQ.encode(frames[row.id]))
        if signal.index is IndexKind.FRAME_BAG
        else signal.to_text(bytes(row.value))
    )
    change = {"op": "upsert", "at": str(cursor), "signal": row.signal, "value": value,
              "category": row.category}  # fmt: skip
    for detail in ENTRY_DETAILS:
        found = getattr(row, detail)
        change[detail] = found.isoformat() if isinstance(found, datetime) else found
    return change


@dataclass(frozen=True, slots=True)
class Followed:
    source_url: str
    cursor: Cursor


def follow_position(store: Store, list_name: str) -> Followed | None:
    with store.engine.connect() as connection:
        row = connection.execute(
            select(list_follows.c.source_url, list_follows.c.cursor)
            .join(hash_lists, hash_lists.c.id == list_follows.c.list_id)
            .where(hash_lists.c.name == list_name)
        ).first()
    return Followed(row.source_url, Cursor.parse(row.cursor)) if row else None


def apply_changes(
    store: Store,
    list_name: str,
    spec: ListSpec,
    changes: list[NewEntry | tuple[str, bytes]],
    *,
    source_url: str,
    cursor: Cursor,
    audit: Audit = None,
) -> tuple[int, int]:
    """Apply a page of another store's changes (a NewEntry to upsert, a (signal, value) to
    remove) and move the list's position to ``cursor``, in one transaction: a killed
    follower resumes from the last page it finished. Returns (upserted, removed)."""
    report = ImportReport(list_name=list_name)
    upserted = removed = 0
    with store.engine.begin() as connection:
        target = store.import_target(connection, list_name, spec, report)
        followed = connection.execute(
            select(list_follows.c.source_url).where(list_follows.c.list_id == target.id)
        ).scalar()
        if followed is not None and followed != source_url:
            raise UsageError(f"list {list_name!r} follows {followed}, not {source_url}")
        revision = next_revision(connection)
        writer = BulkWriter(connection, target.id, revision)
        for change in changes:
            if isinstance(change, NewEntry):
                upserted += 1
                _upsert_entry(connection, writer, target.id, revision, change)
            else:
                signal, value = change
                removed += remove_entries(
                    connection,
                    target.id,
                    and_(entries.c.signal == signal, entries.c.value == value),
                    revision,
                )
        now = datetime.now(UTC)
        position = {"source_url": source_url, "cursor": str(cursor), "followed_at": now}
        if followed is None:
            connection.execute(insert(list_follows).values(list_id=target.id, **position))
        else:
            connection.execute(
                update(list_follows).where(list_follows.c.list_id == target.id).values(**position)
            )
        connection.execute(
            update(hash_lists)
            .where(hash_lists.c.id == target.id)
            .values(updated_at=now, revision=revision, source_file=source_url)
        )
        audited(connection, audit, {"list": list_name, "upserted": upserted, "removed": removed,
                                    "cursor": str(cursor), "source": source_url})  # fmt: skip
    return upserted, removed


def _upsert_entry(connection, writer: BulkWriter, list_id: int, revision: int, row: NewEntry):
    (prepared,) = writer.prepare([row])  # a video's value becomes its frames' digest
    changed = connection.execute(
        update(entries)
        .where(
            entries.c.list_id == list_id,
            entries.c.signal == prepared.signal,
            entries.c.value == prepared.value,
        )
        .values(
            category=row.category,
            revision=revision,
            **{detail: getattr(row, detail) for detail in ENTRY_DETAILS},
        )
    ).rowcount
    if changed:
        writer.frames_waiting.clear()
    else:
        writer.insert([prepared])
