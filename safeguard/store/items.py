"""The items of an exhibit and what each matched: written in batches, read back in order.

Items are written in batches, each in one transaction, keyed by their locator;
a scan killed mid-batch loses only that batch, which the resumed scan redoes, so
no item is lost or counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from safeguard.signals import SIGNAL_TYPES, RasterSignal
from safeguard.store.lists import Store
from safeguard.store.schema import exhibits, item_matches, item_values, items


@dataclass(frozen=True, slots=True)
class MatchRecord:
    entry_id: int
    list_name: str
    list_kind: str
    signal: str
    distance: int
    category: str | None
    scheme: str
    via: str | None = None  # found only through a view of the picture ("query:trim")


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
    pdq_dihedral: bytes | None = None  # the 7 rotated/flipped variants, concatenated
    width: int | None = None
    height: int | None = None
    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    created: datetime | None = None
    errors: list[str] = field(default_factory=list)
    matches: list[MatchRecord] = field(default_factory=list)
    thumbnail: bytes | None = None  # kept only for images that matched no list
    # Signals without a column of their own (vpdq, any other), by name; and the quality
    # of those that are perceptual hashes.
    values: dict[str, bytes] = field(default_factory=dict)
    qualities: dict[str, int] = field(default_factory=dict)

    def matchable_values(self) -> dict[str, bytes]:
        """Every signal's value worth matching, by name: the columns' and the others', less
        a perceptual hash below its signal's quality floor (a flat picture's collides)."""
        columns = {name: getattr(self, name) for name in COLUMN_SIGNALS}
        found = {name: v for name, v in columns.items() if v is not None} | {
            name: v for name, v in self.values.items() if not name.startswith(VIEW_PREFIX)
        }
        return {
            name: value
            for name, value in found.items()
            if not isinstance(signal := SIGNAL_TYPES.get(name), RasterSignal)
            or (self._quality(name) or 0) >= signal.min_quality
        }

    def views(self) -> dict[str, bytes]:
        """The PDQ hashes of the picture's normalised views, by view name."""
        return {
            name.removeprefix(VIEW_PREFIX): v
            for name, v in self.values.items()
            if name.startswith(VIEW_PREFIX)
        }

    def _quality(self, signal: str) -> int | None:
        return self.pdq_quality if signal == "pdq" else self.qualities.get(signal)


# The signals every item has a column for; any other is a row of item_values, as are the
# PDQ hashes of a picture's normalised views (``view:trim``: see media.geometry).
COLUMN_SIGNALS = ("md5", "sha1", "sha256", "pdq")
VIEW_PREFIX = "view:"


_ITEM_COLUMNS = (
    "seq", "locator", "allocation", "size", "type", "md5", "sha1", "sha256", "pdq",
    "pdq_quality", "pdq_dihedral", "width", "height", "modified", "accessed", "changed",
    "created", "thumbnail",
)  # fmt: skip


class ExhibitItems:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

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

    def top_level_done(self, exhibit_id: int) -> tuple[int, int]:
        """(files, bytes) of the exhibit's own items already done: where a resumed bar starts."""
        from safeguard.sources.base import Locator, Step

        files = size = 0
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(items.c.locator_steps, items.c.size).where(items.c.exhibit_id == exhibit_id)
            )
            for steps, item_size in rows:
                locator = Locator(tuple(Step(s["kind"], s["name"]) for s in json.loads(steps)))
                if locator.is_top_level:
                    files += 1
                    size += item_size or 0
        return files, size

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
            wanted = {r.locator: r for r in records if r.matches or r.values}
            if not wanted:
                return
            ids = connection.execute(
                select(items.c.locator, items.c.id).where(
                    items.c.exhibit_id == exhibit_id, items.c.locator.in_(list(wanted))
                )
            ).all()
            match_rows = [_match_row(i, m) for loc, i in ids for m in wanted[loc].matches]
            value_rows = [
                {
                    "item_id": i,
                    "signal": signal,
                    "value": value,
                    "quality": wanted[loc].qualities.get(signal),
                }
                for loc, i in ids
                for signal, value in wanted[loc].values.items()
            ]
            if match_rows:
                connection.execute(item_matches.insert(), match_rows)
            if value_rows:
                connection.execute(item_values.insert(), value_rows)

    def replace_matches(
        self, exhibit_id: int, records: Sequence[ItemRecord], lists_used: Sequence[dict]
    ) -> None:
        """Give items new matches (a re-match), all in one transaction with its record.

        A picture that now matches a list loses its review thumbnail: graded pictures
        are counted, never shown.
        """
        with self.engine.begin() as connection:
            ids = dict(
                connection.execute(
                    select(items.c.locator, items.c.id).where(items.c.exhibit_id == exhibit_id)
                ).all()
            ) if records else {}  # fmt: skip
            for start in range(0, len(records), 500):
                chunk = records[start : start + 500]
                chunk_ids = [ids[record.locator] for record in chunk]
                connection.execute(
                    delete(item_matches).where(item_matches.c.item_id.in_(chunk_ids))
                )
                matched = [ids[r.locator] for r in chunk if r.matches]
                if matched:
                    connection.execute(
                        update(items).where(items.c.id.in_(matched)).values(thumbnail=None)
                    )
                rows = [
                    _match_row(ids[record.locator], match)
                    for record in chunk
                    for match in record.matches
                ]
                if rows:
                    connection.execute(item_matches.insert(), rows)
            connection.execute(
                update(exhibits)
                .where(exhibits.c.id == exhibit_id)
                .values(matched_at=datetime.now(UTC), lists_used=json.dumps(list(lists_used)))
            )

    def items(self, exhibit_id: int, *, thumbnails: bool = True) -> Iterator[ItemRecord]:
        """Every item of an exhibit in the order found, with its matches.

        Reports read without ``thumbnails`` (their bytes are most of a row) and fetch the
        few they show with :meth:`by_seq`.
        """
        yield from self._records(exhibit_id, thumbnails=thumbnails)

    def locators(self, exhibit_id: int) -> dict[int, str]:
        """Every item's locator by sequence number (no hashes, no thumbnails)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(items.c.seq, items.c.locator).where(items.c.exhibit_id == exhibit_id)
            )
            return {row.seq: row.locator for row in rows}

    def of_kind(self, exhibit_id: int, kind: str) -> list[ItemRecord]:
        """The items whose type is of this kind (``video``: ``video/mp4``, ``video/webm``...)."""
        with self.engine.connect() as connection:
            seqs = connection.execute(
                select(items.c.seq).where(
                    items.c.exhibit_id == exhibit_id, items.c.type.like(f"{kind}/%")
                )
            ).scalars()
            return self.by_seq(exhibit_id, list(seqs))

    def by_seq(
        self, exhibit_id: int, seqs: list[int], *, thumbnails: bool = True
    ) -> list[ItemRecord]:
        """The items of an exhibit with these sequence numbers (with their thumbnails)."""
        found: list[ItemRecord] = []
        for start in range(0, len(seqs), 500):
            chosen = seqs[start : start + 500]
            found += self._records(exhibit_id, thumbnails=thumbnails, seqs=chosen)
        return sorted(found, key=lambda record: record.seq)

    def _records(
        self, exhibit_id: int, *, thumbnails: bool, seqs: list[int] | None = None
    ) -> Iterator[ItemRecord]:
        wanted = items.c.exhibit_id == exhibit_id
        if seqs is not None:
            wanted = wanted & items.c.seq.in_(seqs)
        columns = [column for column in items.c if thumbnails or column.name != "thumbnail"]
        with self.engine.connect() as connection:
            matches: dict[int, list[MatchRecord]] = {}
            for row in connection.execute(
                select(item_matches)
                .join(items, items.c.id == item_matches.c.item_id)
                .where(wanted)
                .order_by(item_matches.c.id)
            ):
                matches.setdefault(row.item_id, []).append(
                    MatchRecord(
                        row.entry_id, row.list_name, row.list_kind, row.signal,
                        row.distance, row.category, row.scheme, row.via,
                    )
                )  # fmt: skip
            values: dict[int, dict[str, bytes]] = {}
            qualities: dict[int, dict[str, int]] = {}
            for row in connection.execute(
                select(item_values).join(items, items.c.id == item_values.c.item_id).where(wanted)
            ):
                values.setdefault(row.item_id, {})[row.signal] = bytes(row.value)
                if row.quality is not None:
                    qualities.setdefault(row.item_id, {})[row.signal] = row.quality
            result = connection.execution_options(yield_per=5000).execute(
                select(*columns).where(wanted).order_by(items.c.seq)
            )
            for row in result:
                record = ItemRecord(
                    seq=row.seq,
                    locator=row.locator,
                    steps=json.loads(row.locator_steps),
                    allocation=row.allocation,
                    errors=json.loads(row.errors) if row.errors else [],
                    matches=matches.get(row.id, []),
                    values=values.get(row.id, {}),
                    qualities=qualities.get(row.id, {}),
                )
                for column in _ITEM_COLUMNS[2:]:
                    value = getattr(row, column, None)
                    setattr(
                        record, column, bytes(value) if isinstance(value, memoryview) else value
                    )
                yield record


def _match_row(item_id: int, match: MatchRecord) -> dict:
    return {
        "item_id": item_id,
        "entry_id": match.entry_id,
        "list_name": match.list_name,
        "list_kind": match.list_kind,
        "signal": match.signal,
        "distance": match.distance,
        "category": match.category,
        "scheme": match.scheme,
        "via": match.via,
    }
