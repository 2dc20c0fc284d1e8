"""Finding a list's entries: by hash, by category, a page at a time (ids ascending)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from safeguard.errors import UsageError
from safeguard.signals import SIGNAL_TYPES, IndexKind
from safeguard.store.lists import Store
from safeguard.store.schema import entries, entry_frames
from safeguard.vocabulary.entries import ENTRY_DETAILS

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class EntryPage:
    rows: list[dict]
    next_after: int | None  # the id to ask after for the next page; None: the last page


def hash_condition(text: str):
    """Entries holding this hash, whatever signal its length fits (64 hex: SHA-256 or PDQ)."""
    cleaned = text.strip().lower()
    fitting = [
        s for s in SIGNAL_TYPES.values()
        if s.index is not IndexKind.FRAME_BAG and len(cleaned) == 2 * s.size_bytes
    ]  # fmt: skip
    if not fitting:
        raise UsageError(f"{text!r} is not a hash of any known signal (by its length)")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"{text!r} is not hexadecimal") from None
    return or_(*(and_(entries.c.signal == s.name, entries.c.value == value) for s in fitting))


def find_entries(
    store: Store,
    list_id: int,
    *,
    hash_text: str | None = None,
    category: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> EntryPage:
    limit = max(1, min(limit, MAX_PAGE))
    conditions = [entries.c.list_id == list_id, entries.c.id > after]
    if hash_text:
        conditions.append(hash_condition(hash_text))
    if category is not None:
        conditions.append(entries.c.category == category)
    with store.engine.connect() as connection:
        found = connection.execute(
            select(entries).where(*conditions).order_by(entries.c.id).limit(limit + 1)
        ).all()
        page = found[:limit]
        frame_counts = dict(
            connection.execute(
                select(entry_frames.c.entry_id, func.count())
                .where(entry_frames.c.entry_id.in_([r.id for r in page]))
                .group_by(entry_frames.c.entry_id)
            ).all()
        )
    rows = [_row(r, frame_counts.get(r.id)) for r in page]
    return EntryPage(rows, page[-1].id if len(found) > limit else None)


def _row(row, frames: int | None) -> dict:
    signal = SIGNAL_TYPES.get(row.signal)
    is_video = signal is not None and signal.index is IndexKind.FRAME_BAG
    shown = {
        "id": row.id,
        "signal": row.signal,
        # A video entry is kept as the SHA-256 of its frames: shown as that, with a count.
        "value": bytes(row.value).hex(),
        "category": row.category,
        **{detail: getattr(row, detail) for detail in ENTRY_DETAILS},
        "source_line": row.source_line,
    }
    if shown["disabled_until"] is not None:
        shown["disabled_until"] = shown["disabled_until"].isoformat()
    if is_video:
        shown["frames"] = frames or 0
    return shown
