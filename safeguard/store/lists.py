"""Graded hash lists: create, import in bulk, look up, disable, delete.

Imports stream their rows into a temporary staging table (bounded memory for
files of any size), find duplicates there with SQL, and move the good rows into
``entries`` in the same transaction: all or nothing, unless the caller asked to
skip bad rows, in which case every skipped row is reported with its line or
record number and the reason.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update

from safeguard.errors import NotFound, UsageError
from safeguard.signals import SIGNAL_TYPES, VPDQ, IndexKind
from safeguard.signals.vpdq import FRAME_QUALITY, FrameHash
from safeguard.store.audit import Audit, audited
from safeguard.store.bulk import BulkWriter, batches
from safeguard.store.database import (
    StoreMissing,
    as_utc,
    create_store_engine,
    database_url,
    describe_location,
    migrate,
    next_revision,
    store_exists,
    store_identity,
)
from safeguard.store.list_types import (
    EntryHit,
    HashList,
    ImportRejected,
    ImportReport,
    ListExists,
    ListSpec,
    check_list_name,
    effective_action,
)
from safeguard.store.schema import entries, entry_frames, hash_lists, list_thresholds
from safeguard.store.thresholds import (
    NO_THRESHOLDS,
    Thresholds,
    check_thresholds,
    read_thresholds,
    write_thresholds,
)
from safeguard.vocabulary.categories import Scheme
from safeguard.vocabulary.entries import (
    Action,
    BadRecord,
    ListKind,
    NewEntry,
    StoredEntry,
)

_LOOKUP_SLICE = 500  # values per exact-lookup query


def _now() -> datetime:
    return datetime.now(UTC)


def _active_entry():
    return or_(
        entries.c.disabled.is_(False),
        and_(entries.c.disabled_until.is_not(None), entries.c.disabled_until <= _now()),
    )


class Store:
    """The list store. Safe to share between threads; open one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # A forked worker (the hashing pool) must not reuse, or close, the parent's
        # database connections: drop them from its copy of the pool.
        alive = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_connections(alive))

    @classmethod
    def open(cls, db: str | None = None, *, create: bool = True) -> Store:
        """Open the store at ``db`` (a SQLite path or a PostgreSQL URL), upgrading its schema.

        With ``create=False`` a store that does not exist yet is refused (``StoreMissing``):
        a mistyped path must not become a new, empty store that matches nothing.
        """
        url = database_url(db)
        engine = create_store_engine(url)
        if not create and not store_exists(engine):
            engine.dispose()
            raise StoreMissing(describe_location(url))
        migrate(engine)
        return cls(engine)

    @property
    def location(self) -> str:
        """Where the store is, as a person would name it (no password)."""
        return describe_location(self.engine.url.render_as_string(hide_password=True))

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- lists ---------------------------------------------------------------

    def lists(self) -> list[HashList]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(hash_lists).order_by(hash_lists.c.name)).all()
            thresholds = read_thresholds(connection)
            return [_to_list(row, thresholds.get(row.id, {})) for row in rows]

    def entry_counts(self) -> dict[int, dict[str, int]]:
        """Entries per list and signal (disabled ones included)."""
        counts: dict[int, dict[str, int]] = {}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(entries.c.list_id, entries.c.signal, func.count()).group_by(
                    entries.c.list_id, entries.c.signal
                )
            )
            for list_id, signal, count in rows:
                counts.setdefault(list_id, {})[signal] = count
        return counts

    def holds_signal(self, signal: str) -> bool:
        """Whether any enabled list has an entry of this signal (worth computing it for)."""
        with self.engine.connect() as connection:
            return (
                connection.execute(
                    select(entries.c.id)
                    .join(hash_lists, hash_lists.c.id == entries.c.list_id)
                    .where(entries.c.signal == signal, hash_lists.c.enabled)
                    .limit(1)
                ).first()
                is not None
            )

    def get_list(self, name: str) -> HashList:
        with self.engine.connect() as connection:
            return self._require_list(connection, name)

    # Each change takes ``audit``: its audit record, chained in the change's transaction.

    def create_list(self, name: str, spec: ListSpec, *, audit: Audit = None) -> HashList:
        """A new, empty list (a UsageError if the name is taken)."""
        with self.engine.begin() as connection:
            if self.find_list_in(connection, name) is not None:
                raise ListExists(f"a list named {name!r} exists")
            created = self.create_list_in(connection, name, spec)
            audited(connection, audit, created)
            return created

    def delete_list(self, name: str, *, audit: Audit = None) -> None:
        with self.engine.begin() as connection:
            found = self._require_list(connection, name)
            next_revision(connection)
            connection.execute(delete(entries).where(entries.c.list_id == found.id))
            connection.execute(delete(hash_lists).where(hash_lists.c.id == found.id))
            audited(connection, audit, found)

    def set_list_enabled(self, name: str, enabled: bool, *, audit: Audit = None) -> None:
        self.set_policy(name, enabled=enabled, audit=audit)

    def set_policy(
        self,
        name: str,
        *,
        action: Action | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,  # by signal; None fields kept
        enabled: bool | None = None,
        vpdq_percents: tuple[float, float] | None = None,  # of the query's frames, the banked's
        audit: Audit = None,
    ) -> HashList:
        """Change whether and how a list matches; arguments left as None keep their value."""
        with self.engine.begin() as connection:
            found = self._require_list(connection, name)
            changes: dict = {}
            if enabled is not None:
                changes["enabled"] = enabled
            if action is not None:
                changes["action"] = action.value
            if vpdq_percents is not None:
                if not all(0 <= percent <= 100 for percent in vpdq_percents):
                    raise UsageError("vPDQ percentages are between 0 and 100")
                changes["vpdq_query_percent"], changes["vpdq_compared_percent"] = vpdq_percents
            merged = {
                signal: found.thresholds.get(signal, NO_THRESHOLDS).merged(change)
                for signal, change in (thresholds or {}).items()
            }
            check_thresholds(merged)
            if changes or merged:
                write_thresholds(connection, found.id, merged)
                connection.execute(
                    update(hash_lists)
                    .where(hash_lists.c.id == found.id)
                    .values(updated_at=_now(), revision=next_revision(connection), **changes)
                )
            changed = self._require_list(connection, name)
            audited(connection, audit, changed)
            return changed

    def disable_entry(
        self, name: str, entry_id: int, until: datetime | None = None, *, audit: Audit = None
    ) -> None:
        with self.engine.begin() as connection:
            found = self._require_list(connection, name)
            revision = next_revision(connection)
            changed = connection.execute(
                update(entries)
                .where(entries.c.id == entry_id, entries.c.list_id == found.id)
                .values(disabled=True, disabled_until=until, revision=revision)
            ).rowcount
            if changed == 0:
                raise NotFound(f"list {name!r} has no entry {entry_id}")
            connection.execute(
                update(hash_lists)
                .where(hash_lists.c.id == found.id)
                .values(updated_at=_now(), revision=revision)
            )
            audited(connection, audit, found)

    # -- entries -------------------------------------------------------------

    def import_entries(
        self,
        name: str,
        rows: Iterable[NewEntry | BadRecord],
        *,
        spec: ListSpec,
        skip_bad: bool = False,
        collapse_duplicates: bool = False,
        audit: Audit = None,
    ) -> ImportReport:
        """Add rows to a list (created from ``spec`` if missing) in one transaction.

        Rows go straight into ``entries`` in batches, with conflicts on the
        (signal, value, list) key ignored; a batch that inserted fewer rows than
        it held is then examined row by row to name each duplicate and the line it
        repeats. ``collapse_duplicates`` is for sources that repeat hashes by
        design (NSRL lists one hash per product): repeats are merged and counted.
        """
        report = ImportReport(list_name=name)
        with self.engine.begin() as connection:
            target = self.import_target(connection, name, spec, report)
            revision = next_revision(connection)
            writer = BulkWriter(connection, target.id, revision)
            for batch in batches(rows, report):
                batch = writer.prepare(batch)
                skipped = writer.insert(batch)
                if not skipped:
                    continue
                if collapse_duplicates:
                    report.collapsed_duplicates += skipped
                else:
                    for bad in writer.explain_duplicates(batch):
                        report.add_bad(bad)
            # Leaving the block on a refusal rolls everything back, the list's creation too.
            good = writer.inserted + report.collapsed_duplicates
            ImportRejected.check(report, good=good, skip_bad=skip_bad)
            report.imported = writer.inserted
            connection.execute(
                update(hash_lists)
                .where(hash_lists.c.id == target.id)
                .values(updated_at=_now(), revision=revision, **spec.provenance())
            )
            audited(connection, audit, report)
        report.committed = True
        return report

    def iter_entries(self, list_id: int) -> Iterator[StoredEntry]:
        """Every entry of a list; a video entry's value is its frames, as imported."""
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=10_000).execute(
                select(entries).where(entries.c.list_id == list_id).order_by(entries.c.id)
            )
            for partition in result.partitions():
                # A partition's video entries have their frames read in one go, not one each.
                frames = self.video_frames([r.id for r in partition if r.signal == VPDQ.name])
                for row in partition:
                    yield StoredEntry(
                        row.id,
                        row.list_id,
                        row.signal,
                        VPDQ.encode(frames[row.id]) if row.id in frames else bytes(row.value),
                        row.category,
                        row.series,
                        row.victim_identified,
                        row.external_id,
                        row.notes,
                        row.disabled,
                        row.disabled_until,
                    )

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
            for start in range(0, len(unique), _LOOKUP_SLICE):
                chunk = unique[start : start + _LOOKUP_SLICE]
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
            for start in range(0, len(found), _LOOKUP_SLICE):
                chunk = list(found)[start : start + _LOOKUP_SLICE]
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
        """Batches of (entry id, binary code) written after a revision: the signal's values,
        or for a video signal its entries' usable frames (each under its entry's id)."""
        query = (
            select(entries.c.id, entries.c.value).where(entries.c.signal == signal)
            if SIGNAL_TYPES[signal].index is not IndexKind.FRAME_BAG
            else select(entries.c.id, entry_frames.c.pdq)
            .join(entry_frames, entry_frames.c.entry_id == entries.c.id)
            .where(entry_frames.c.quality >= FRAME_QUALITY)
        )
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=50_000).execute(
                query.where(entries.c.revision > after_revision).order_by(entries.c.id)
            )
            for partition in result.partitions():
                yield [(row[0], bytes(row[1])) for row in partition]

    def identity(self) -> tuple[str, int]:
        with self.engine.connect() as connection:
            return store_identity(connection)

    # -- helpers -------------------------------------------------------------

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
                list_thresholds.c.threshold,
                list_thresholds.c.review_threshold,
            )
            .join(hash_lists, hash_lists.c.id == entries.c.list_id)
            .outerjoin(
                list_thresholds,
                and_(
                    list_thresholds.c.list_id == entries.c.list_id,
                    list_thresholds.c.signal == entries.c.signal,
                ),
            )
            .where(condition, hash_lists.c.enabled.is_(True), _active_entry())
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
                    action=effective_action(ListKind(row.kind), _own_action(row)),
                    threshold=row.threshold,
                    review_threshold=row.review_threshold,
                    vpdq_query_percent=row.vpdq_query_percent,
                    vpdq_compared_percent=row.vpdq_compared_percent,
                )
                for row in connection.execute(query)
            ]

    def import_target(
        self, connection: Connection, name: str, spec: ListSpec, report: ImportReport
    ) -> HashList:
        """The list rows are written into: made from ``spec`` if missing (and the report
        says so), refused if it exists with another kind or scheme."""
        target = self.find_list_in(connection, name)
        if target is None:
            report.created = True
            return self.create_list_in(connection, name, spec)
        if target.scheme is not spec.scheme or target.kind is not spec.kind:
            raise UsageError(
                f"list {name!r} is {target.kind}/{target.scheme}, not {spec.kind}/{spec.scheme}"
            )
        return target

    def find_list_in(self, connection: Connection, name: str) -> HashList | None:
        row = connection.execute(select(hash_lists).where(hash_lists.c.name == name)).first()
        if row is None:
            return None
        return _to_list(row, read_thresholds(connection, [row.id]).get(row.id, {}))

    def _require_list(self, connection: Connection, name: str) -> HashList:
        found = self.find_list_in(connection, name)
        if found is None:
            raise NotFound(f"no list named {name!r}")
        return found

    def create_list_in(self, connection: Connection, name: str, spec: ListSpec) -> HashList:
        check_list_name(name)
        check_thresholds(spec.thresholds)
        now = _now()
        list_id = connection.execute(
            hash_lists.insert().values(
                name=name,
                kind=spec.kind.value,
                scheme=spec.scheme.value,
                enabled=True,
                **spec.provenance(),
                action=spec.action.value if spec.action else None,
                created_at=now,
                updated_at=now,
                revision=next_revision(connection),
            )
        ).inserted_primary_key[0]
        write_thresholds(connection, list_id, spec.thresholds)
        created = self.find_list_in(connection, name)
        assert created is not None
        return created


def _forget_connections(store_ref: weakref.ref) -> None:
    store = store_ref()
    if store is not None:
        store.engine.dispose(close=False)


def _to_list(row, thresholds: Mapping[str, Thresholds]) -> HashList:
    return HashList(
        id=row.id,
        name=row.name,
        kind=ListKind(row.kind),
        scheme=Scheme(row.scheme),
        enabled=row.enabled,
        source_file=row.source_file,
        importer=row.importer,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        revision=row.revision,
        action=_own_action(row),
        source_sha256=row.source_sha256,
        imported_by=row.imported_by,
        vpdq_query_percent=row.vpdq_query_percent,
        vpdq_compared_percent=row.vpdq_compared_percent,
        thresholds=thresholds,
    )


def _own_action(row) -> Action | None:
    return Action(row.action) if row.action else None
