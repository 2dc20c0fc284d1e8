"""Finding entries for matching: exact values, index candidates by id, video frames, and
the codes an index takes in. Mixed into :class:`safeguard.store.lists.Store`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, or_, select, union_all

from safeguard.media.options import Variants
from safeguard.signals import SIGNAL_TYPES, IndexKind
from safeguard.signals.vpdq import FRAME_QUALITY, FrameHash
from safeguard.store.category_policies import hit_action
from safeguard.store.list_types import EntryHit
from safeguard.store.schema import (
    entries,
    entry_frames,
    entry_variants,
    hash_lists,
    list_category_policies,
    list_thresholds,
)
from safeguard.vocabulary.categories import Scheme
from safeguard.vocabulary.entries import Action, ListKind

LOOKUP_SLICE = 500  # values per exact-lookup query


def active_entry():
    return or_(
        entries.c.disabled.is_(False),
        and_(entries.c.disabled_until.is_not(None), entries.c.disabled_until <= datetime.now(UTC)),
    )


def own_action(row) -> Action | None:
    return Action(row.action) if row.action else None


class EntryLookups:
    engine: Engine

    def lookup(self, signal: str, values: Sequence[bytes]) -> list[EntryHit]:
        """Active entries of enabled lists holding any of ``values`` exactly."""
        return self.lookup_many([(signal, value) for value in set(values)])

    def lookup_many(self, pairs: Sequence[tuple[str, bytes]]) -> list[EntryHit]:
        """Active entries of enabled lists holding any (signal, value) pair.

        One ``signal = ? AND value IN (...)`` per signal, in slices small enough
        for SQLite's expression depth and parameter limits: a query per slice.
        """
        by_signal: dict[str, list[bytes]] = {}
        for signal, value in pairs:
            by_signal.setdefault(signal, []).append(value)
        hits: list[EntryHit] = []
        for signal, values in by_signal.items():
            unique = list(dict.fromkeys(values))
            for start in range(0, len(unique), LOOKUP_SLICE):
                chunk = unique[start : start + LOOKUP_SLICE]
                hits += self._hits(and_(entries.c.signal == signal, entries.c.value.in_(chunk)))
        return hits

    def entries_by_id(self, ids: Sequence[int]) -> list[EntryHit]:
        """Active entries of enabled lists among ``ids`` (index candidates)."""
        if not ids:
            return []
        return self._hits(entries.c.id.in_([int(i) for i in set(ids)]))

    def video_frames(self, entry_ids: Sequence[int]) -> dict[int, list[FrameHash]]:
        """The frames of these video entries, in frame order."""
        found: dict[int, list[FrameHash]] = {int(i): [] for i in entry_ids}
        with self.engine.connect() as connection:
            for start in range(0, len(found), LOOKUP_SLICE):
                chunk = list(found)[start : start + LOOKUP_SLICE]
                for row in connection.execute(
                    select(entry_frames)
                    .where(entry_frames.c.entry_id.in_(chunk))
                    .order_by(entry_frames.c.entry_id, entry_frames.c.number)
                ):
                    found[row.entry_id].append(
                        FrameHash(row.number, row.quality, bytes(row.pdq), row.timestamp)
                    )
        return found

    def changed_codes(self, signal: str, after_revision: int) -> Iterator[list[tuple[int, bytes]]]:
        """Batches of (entry id, binary code) written after a revision: the signal's values
        and their enrolled variants, or for a video signal its entries' usable frames (each
        under its entry's id)."""
        changed = entries.c.revision > after_revision
        if SIGNAL_TYPES[signal].index is IndexKind.FRAME_BAG:
            query = (
                select(entries.c.id, entry_frames.c.pdq)
                .join(entry_frames, entry_frames.c.entry_id == entries.c.id)
                .where(entry_frames.c.quality >= FRAME_QUALITY, changed)
                .order_by(entries.c.id)
            )
        else:
            of_signal = and_(entries.c.signal == signal, changed)
            query = union_all(
                select(entries.c.id, entries.c.value).where(of_signal),
                select(entries.c.id, entry_variants.c.value)
                .join(entry_variants, entry_variants.c.entry_id == entries.c.id)
                .where(of_signal),
            ).order_by("id")
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=50_000).execute(query)
            for partition in result.partitions():
                yield [(row[0], bytes(row[1])) for row in partition]

    def _hits(self, condition) -> list[EntryHit]:
        query = (
            select(
                entries.c.id,
                entries.c.signal,
                entries.c.value,
                entries.c.category,
                hash_lists.c.name,
                hash_lists.c.kind,
                hash_lists.c.scheme,
                hash_lists.c.action,
                hash_lists.c.vpdq_query_percent,
                hash_lists.c.vpdq_compared_percent,
                hash_lists.c.variants,
                list_thresholds.c.threshold,
                list_thresholds.c.review_threshold,
                list_category_policies.c.action.label("category_action"),
                list_category_policies.c.review_threshold.label("category_review"),
            )
            .join(hash_lists, hash_lists.c.id == entries.c.list_id)
            .outerjoin(
                list_category_policies,
                and_(
                    list_category_policies.c.list_id == entries.c.list_id,
                    list_category_policies.c.category == func.coalesce(entries.c.category, ""),
                ),
            )
            .outerjoin(
                list_thresholds,
                and_(
                    list_thresholds.c.list_id == entries.c.list_id,
                    list_thresholds.c.signal == entries.c.signal,
                ),
            )
            .where(condition, hash_lists.c.enabled.is_(True), active_entry())
            .order_by(entries.c.id)
        )
        with self.engine.connect() as connection:
            return [
                EntryHit(
                    entry_id=row.id,
                    list_name=row.name,
                    list_kind=ListKind(row.kind),
                    scheme=Scheme(row.scheme),
                    signal=row.signal,
                    value=bytes(row.value),
                    category=row.category,
                    action=hit_action(
                        ListKind(row.kind),
                        Scheme(row.scheme),
                        own_action(row),
                        row.category,
                        row.category_action,
                    ),
                    threshold=row.threshold,
                    action_chosen=row.action is not None or row.category_action is not None,
                    review_threshold=row.category_review
                    if row.category_review is not None
                    else row.review_threshold,
                    vpdq_query_percent=row.vpdq_query_percent,
                    vpdq_compared_percent=row.vpdq_compared_percent,
                    variants=Variants(row.variants or Variants.ALL),
                )
                for row in connection.execute(query)
            ]
