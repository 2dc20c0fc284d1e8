"""The audit log: append-only and hash-chained, so a changed, removed or moved record shows.

Each record's hash covers its sequence number, time, actor, origin, event,
canonical JSON detail and the previous record's hash. ``audit_head`` holds the
last sequence number and hash: appending locks that row (as ``next_revision``
does), so concurrent writers chain in one order, and the head also exposes a
truncated tail. Anyone able to rewrite the whole table and the head can forge
a chain; publishing the head hash from ``safeguard audit verify`` elsewhere
(a ticket, a partner's log) anchors it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from safeguard.store.database import AUDIT_GENESIS as GENESIS
from safeguard.store.schema import audit_head, audit_log


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: str  # who: an API key's name and id, or the command-line user
    origin: str  # from where: the client's address, or cli@host
    event: str  # what: match.decision, list.create, key.revoke, ...
    detail: dict = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    origin: str
    event: str
    detail: str
    prev_hash: str
    hash: str

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "origin": self.origin,
            "event": self.event,
            "detail": json.loads(self.detail),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    head: str  # the hash of the last record: publish it to anchor the chain
    broken_at: int | None = None  # sequence number of the first bad record
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def cli_actor() -> tuple[str, str]:
    """(actor, origin) for changes made from the command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}", f"cli@{socket.gethostname()}"


# How a change says what it did: given the change's result, its audit record(s).
Audit = Callable[[Any], "AuditEvent | Sequence[AuditEvent]"] | None


def audited(connection: Connection, audit: Audit, result: Any = None) -> None:
    """Chain a change's audit record(s) inside the change's own transaction.

    A change and its record commit together or not at all: a process killed between
    the two can no longer leave a change the audit chain does not show.
    """
    if audit is None:
        return
    made = audit(result)
    AuditLog.append_in(connection, list(made) if isinstance(made, list | tuple) else [made])


def record_hash(seq: int, at: str, actor: str, origin: str, event: str, detail: str, prev: str):
    text = "\n".join((str(seq), at, actor, origin, event, detail, prev))
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        with self.engine.begin() as connection:
            return self.append_in(connection, events)

    @staticmethod
    def append_in(connection: Connection, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Chain ``events`` onto the log inside the caller's transaction."""
        if not events:
            return []
        last_seq, prev = _lock_head(connection, len(events))
        records = []
        for offset, event in enumerate(events):
            seq = last_seq + 1 + offset
            at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            detail = json.dumps(event.detail, sort_keys=True, separators=(",", ":"), default=str)
            digest = record_hash(seq, at, event.actor, event.origin, event.event, detail, prev)
            records.append(
                AuditRecord(seq, at, event.actor, event.origin, event.event, detail, prev, digest)
            )
            prev = digest
        connection.execute(
            audit_log.insert(),
            [
                {
                    "seq": r.seq,
                    "at": r.at,
                    "actor": r.actor,
                    "origin": r.origin,
                    "event": r.event,
                    "detail": r.detail,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                }
                for r in records
            ],
        )
        connection.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=prev))
        return records

    def records(self, after: int = 0, limit: int | None = None) -> Iterator[AuditRecord]:
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=10_000).execute(query)
            for row in result:
                yield AuditRecord(
                    row.seq,
                    row.at,
                    row.actor,
                    row.origin,
                    row.event,
                    row.detail,
                    row.prev_hash,
                    row.hash,
                )

    def latest(self, limit: int, events: Sequence[str] | None = None) -> list[AuditRecord]:
        """The newest ``limit`` records (of these events, if named), newest first."""
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if events:
            query = query.where(audit_log.c.event.in_(list(events)))
        with self.engine.connect() as connection:
            return [
                AuditRecord(r.seq, r.at, r.actor, r.origin, r.event, r.detail, r.prev_hash, r.hash)
                for r in connection.execute(query)
            ]

    def verify(self) -> Verification:
        """Walk the chain from the start; name the first record that does not hold."""
        expected_seq, prev, checked = 1, GENESIS, 0
        for record in self.records():
            problem = None
            if record.seq != expected_seq:
                problem = f"record {expected_seq} is missing (next is {record.seq})"
            elif record.prev_hash != prev:
                problem = "does not follow the record before it (deleted or reordered records)"
            elif record.hash != record_hash(
                record.seq,
                record.at,
                record.actor,
                record.origin,
                record.event,
                record.detail,
                record.prev_hash,
            ):
                problem = "its content does not match its hash (modified)"
            if problem:
                return Verification(checked, prev, broken_at=expected_seq, reason=problem)
            expected_seq, prev, checked = record.seq + 1, record.hash, checked + 1
        with self.engine.connect() as connection:
            head = connection.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        if (head_seq, head_hash) != (expected_seq - 1, prev):
            return Verification(
                checked,
                prev,
                broken_at=expected_seq,
                reason=f"the log ends at record {expected_seq - 1} but its head says {head_seq} "
                "(records removed from the end)",
            )
        return Verification(checked, prev)


def _lock_head(connection: Connection, count: int) -> tuple[int, str]:
    """Reserve ``count`` sequence numbers: (last used, its hash), holding the head's lock."""
    row = connection.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=audit_head.c.seq + count)
        .returning(audit_head.c.seq, audit_head.c.hash)
    ).one()
    return row.seq - count, row.hash
