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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update

from safeguard.errors import NotFound, SafeguardError, UsageError
from safeguard.signals import PDQ, VPDQ
from safeguard.signals.vpdq import FRAME_QUALITY, FrameHash, match_percents
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
from safeguard.store.schema import entries, entry_frames, hash_lists
from safeguard.vocabulary.categories import Scheme
from safeguard.vocabulary.entries import (
    Action,
    BadRecord,
    ListKind,
    NewEntry,
    StoredEntry,
)

MAX_REPORTED_BAD = 1000
_LOOKUP_SLICE = 500  # values per exact-lookup query
MAX_REVIEW_THRESHOLD = 128


@dataclass(frozen=True, slots=True)
class HashList:
    id: int
    name: str
    kind: ListKind
    scheme: Scheme
    pdq_threshold: int | None
    enabled: bool
    source_file: str | None
    importer: str | None
    created_at: datetime
    updated_at: datetime
    revision: int
    action: Action | None = None  # None: the kind's default (see effective_action)
    review_threshold: int | None = None
    source_sha256: str | None = None  # of the file last imported into it
    imported_by: str | None = None  # who imported that file
    vpdq_query_percent: float | None = None  # None: the vPDQ default (80)
    vpdq_compared_percent: float | None = None  # None: the vPDQ default (0)

    @property
    def effective_action(self) -> Action | None:
        return effective_action(self.kind, self.action)

    @property
    def vpdq_percents(self) -> tuple[float, float]:
        return match_percents(self.vpdq_query_percent, self.vpdq_compared_percent)


def effective_action(kind: ListKind, action: Action | None) -> Action | None:
    """A list's action: its own, else block for graded lists; known-good lists never act."""
    if kind is ListKind.KNOWN_GOOD:
        return None
    return action or Action.BLOCK


@dataclass(frozen=True, slots=True)
class EntryHit:
    """An active entry found for a lookup, with what matching needs of its list."""

    entry_id: int
    list_name: str
    list_kind: ListKind
    scheme: Scheme
    pdq_threshold: int | None
    signal: str
    value: bytes
    category: str | None
    action: Action | None = None  # effective: None only for known-good lists
    review_threshold: int | None = None
    vpdq_query_percent: float | None = None
    vpdq_compared_percent: float | None = None


@dataclass(slots=True)
class ImportReport:
    list_name: str
    created: bool = False
    imported: int = 0
    collapsed_duplicates: int = 0
    bad_count: int = 0
    bad: list[BadRecord] = field(default_factory=list)
    committed: bool = False

    def add_bad(self, bad: BadRecord) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_REPORTED_BAD:
            self.bad.append(bad)


class ListExists(UsageError):
    pass


class ImportRejected(SafeguardError):
    """Bad rows in an all-or-nothing import: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            f"{report.bad_count:,} bad record(s) in the import into {report.list_name!r}; "
            "nothing was imported (use --skip-bad to import the good ones)"
        )


@dataclass(frozen=True, slots=True)
class ListSpec:
    """How to create a list that does not exist yet."""

    kind: ListKind = ListKind.ALERT
    scheme: Scheme = Scheme.UK
    pdq_threshold: int | None = None
    source_file: str | None = None
    importer: str | None = None
    action: Action | None = None
    review_threshold: int | None = None
    source_sha256: str | None = None
    imported_by: str | None = None

    def provenance(self) -> dict:
        """Where this import came from, as the list's columns (only what is known)."""
        known = {
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "importer": self.importer,
            "imported_by": self.imported_by,
        }
        return {column: value for column, value in known.items() if value is not None}


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
            rows = connection.execute(select(hash_lists).order_by(hash_lists.c.name))
            return [_to_list(row) for row in rows]

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
            if self._find_list(connection, name) is not None:
                raise ListExists(f"a list named {name!r} exists")
            created = self._create_list(connection, name, spec)
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
        pdq_threshold: int | None = None,
        review_threshold: int | None = None,
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
            if pdq_threshold is not None:
                changes["pdq_threshold"] = pdq_threshold
            if review_threshold is not None:
                changes["review_threshold"] = review_threshold
            if vpdq_percents is not None:
                if not all(0 <= percent <= 100 for percent in vpdq_percents):
                    raise UsageError("vPDQ percentages are between 0 and 100")
                changes["vpdq_query_percent"], changes["vpdq_compared_percent"] = vpdq_percents
            threshold = changes.get("pdq_threshold", found.pdq_threshold)
            _check_review_band(threshold, changes.get("review_threshold", found.review_threshold))
            if changes:
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
            target = self._find_list(connection, name)
            if target is None:
                target = self._create_list(connection, name, spec)
                report.created = True
            elif target.scheme is not spec.scheme or target.kind is not spec.kind:
                raise UsageError(
                    f"list {name!r} is {target.kind}/{target.scheme}, not {spec.kind}/{spec.scheme}"
                )
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
            if report.bad_count and not skip_bad:
                raise ImportRejected(report)  # leaving the block rolls everything back
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
        """Batches of (entry id, 256-bit code) written after a revision: the signal's values,
        or for a video signal its entries' usable frames (each under its entry's id)."""
        query = (
            select(entries.c.id, entries.c.value).where(entries.c.signal == signal)
            if signal != VPDQ.name
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
                hash_lists.c.pdq_threshold,
                hash_lists.c.action,
                hash_lists.c.review_threshold,
                hash_lists.c.vpdq_query_percent,
                hash_lists.c.vpdq_compared_percent,
            )
            .join(hash_lists, hash_lists.c.id == entries.c.list_id)
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
                    pdq_threshold=row.pdq_threshold,
                    signal=row.signal,
                    value=bytes(row.value),
                    category=row.category,
                    action=effective_action(ListKind(row.kind), _own_action(row)),
                    review_threshold=row.review_threshold,
                    vpdq_query_percent=row.vpdq_query_percent,
                    vpdq_compared_percent=row.vpdq_compared_percent,
                )
                for row in connection.execute(query)
            ]

    def _find_list(self, connection: Connection, name: str) -> HashList | None:
        row = connection.execute(select(hash_lists).where(hash_lists.c.name == name)).first()
        return _to_list(row) if row is not None else None

    def _require_list(self, connection: Connection, name: str) -> HashList:
        found = self._find_list(connection, name)
        if found is None:
            raise NotFound(f"no list named {name!r}")
        return found

    def _create_list(self, connection: Connection, name: str, spec: ListSpec) -> HashList:
        check_list_name(name)
        _check_review_band(spec.pdq_threshold, spec.review_threshold)
        now = _now()
        connection.execute(
            hash_lists.insert().values(
                name=name,
                kind=spec.kind.value,
                scheme=spec.scheme.value,
                pdq_threshold=spec.pdq_threshold,
                enabled=True,
                **spec.provenance(),
                action=spec.action.value if spec.action else None,
                review_threshold=spec.review_threshold,
                created_at=now,
                updated_at=now,
                revision=next_revision(connection),
            )
        )
        created = self._find_list(connection, name)
        assert created is not None
        return created


def check_list_name(name: str) -> None:
    """A name that can be typed, addressed in a URL path and shown: no slashes, no controls."""
    if not name.strip() or name != name.strip():
        raise UsageError("a list needs a name without leading or trailing blanks")
    if len(name) > 200 or name in (".", "..") or any(ch in name for ch in "/\\"):
        raise UsageError(f"list name {name!r}: at most 200 characters, no '/' or '\\', not . or ..")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UsageError(f"list name {name!r} holds a control character")


def _forget_connections(store_ref: weakref.ref) -> None:
    store = store_ref()
    if store is not None:
        store.engine.dispose(close=False)


def _to_list(row) -> HashList:
    return HashList(
        id=row.id,
        name=row.name,
        kind=ListKind(row.kind),
        scheme=Scheme(row.scheme),
        pdq_threshold=row.pdq_threshold,
        enabled=row.enabled,
        source_file=row.source_file,
        importer=row.importer,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        revision=row.revision,
        action=_own_action(row),
        review_threshold=row.review_threshold,
        source_sha256=row.source_sha256,
        imported_by=row.imported_by,
        vpdq_query_percent=row.vpdq_query_percent,
        vpdq_compared_percent=row.vpdq_compared_percent,
    )


def _own_action(row) -> Action | None:
    return Action(row.action) if row.action else None


def _check_review_band(pdq_threshold: int | None, review_threshold: int | None) -> None:
    if review_threshold is None:
        return
    threshold = pdq_threshold if pdq_threshold is not None else PDQ.default_threshold
    if not threshold < review_threshold <= MAX_REVIEW_THRESHOLD:
        raise UsageError(
            f"the review threshold must be above the match threshold ({threshold}) "
            f"and at most {MAX_REVIEW_THRESHOLD}"
        )
