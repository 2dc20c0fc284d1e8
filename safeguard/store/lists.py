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
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, select, update

from safeguard.errors import NotFound, UsageError
from safeguard.media.options import Variants
from safeguard.signals import VPDQ
from safeguard.store.audit import Audit, audited
from safeguard.store.bulk import BulkWriter, batches
from safeguard.store.category_policies import (
    CategoryPolicy,
    check_policies,
    read_policies,
    write_policies,
)
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
from safeguard.store.entry_variants import EntryVariants
from safeguard.store.list_types import (
    HashList,
    ImportRejected,
    ImportReport,
    ListExists,
    ListSpec,
    check_list_name,
)
from safeguard.store.lookups import EntryLookups, own_action
from safeguard.store.schema import (
    entries,
    hash_lists,
)
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


class Store(EntryLookups, EntryVariants):
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
            thresholds, policies = read_thresholds(connection), read_policies(connection)
            return [
                _to_list(row, thresholds.get(row.id, {}), policies.get(row.id, {})) for row in rows
            ]

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
        category_policies: Mapping[str, CategoryPolicy] | None = None,  # None fields kept
        enabled: bool | None = None,
        vpdq_percents: tuple[float, float] | None = None,  # of the query's frames, the banked's
        variants: Variants | None = None,  # the most it takes of matches through variants
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
            if variants is not None:
                changes["variants"] = None if variants is Variants.ALL else variants.value
            if vpdq_percents is not None:
                if not all(0 <= percent <= 100 for percent in vpdq_percents):
                    raise UsageError("vPDQ percentages are between 0 and 100")
                changes["vpdq_query_percent"], changes["vpdq_compared_percent"] = vpdq_percents
            merged = {
                signal: found.thresholds.get(signal, NO_THRESHOLDS).merged(change)
                for signal, change in (thresholds or {}).items()
            }
            check_thresholds(merged)
            by_category = {
                category: _merged_policy(found.category_policies.get(category), change)
                for category, change in (category_policies or {}).items()
            }
            check_policies(by_category)
            if changes or merged or by_category:
                write_thresholds(connection, found.id, merged)
                write_policies(connection, found.id, by_category)
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

    def identity(self) -> tuple[str, int]:
        with self.engine.connect() as connection:
            return store_identity(connection)

    # -- helpers -------------------------------------------------------------

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
        return _to_list(
            row,
            read_thresholds(connection, [row.id]).get(row.id, {}),
            read_policies(connection, [row.id]).get(row.id, {}),
        )

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


def _to_list(
    row, thresholds: Mapping[str, Thresholds], policies: Mapping[str, CategoryPolicy]
) -> HashList:
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
        action=own_action(row),
        source_sha256=row.source_sha256,
        imported_by=row.imported_by,
        vpdq_query_percent=row.vpdq_query_percent,
        vpdq_compared_percent=row.vpdq_compared_percent,
        variants=Variants(row.variants or Variants.ALL),
        thresholds=thresholds,
        category_policies=policies,
    )


def _merged_policy(current: CategoryPolicy | None, change: CategoryPolicy) -> CategoryPolicy:
    current = current or CategoryPolicy()
    return CategoryPolicy(
        change.action if change.action is not None else current.action,
        change.review_threshold
        if change.review_threshold is not None
        else current.review_threshold,
    )
