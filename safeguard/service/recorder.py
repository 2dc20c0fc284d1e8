"""What the service writes down: audit records, and the webhook deliveries of match events.

A decision with hits is written before its response goes out, with its webhook
deliveries in the same transaction: a hit is never lost to a crash. Decisions
without hits (nearly all traffic) are queued and written in batches every
``flush_interval`` seconds, one lock on the chain per batch instead of per
request; a worker killed outright can lose at most that interval of them.

Refused requests (no key, a wrong or revoked key, a missing scope) are counted,
not written one by one: a scanner sending 20,000 anonymous requests would
otherwise write 20,000 records. Each ``denial_window`` a worker writes one
``auth.denied`` record per origin, actor and reason, with the count, the first
and last time and a few of the paths; past ``MAX_DENIAL_GROUPS`` distinct groups
in a window the rest are counted together under origin ``*``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from safeguard.store.audit import AuditEvent, AuditLog
from safeguard.store.webhooks import WebhookStore

log = logging.getLogger("safeguard.service")

MATCH_EVENT = "match"
DENIED_EVENT = "auth.denied"
MAX_DENIAL_GROUPS = 1000
PATHS_SHOWN = 5


@dataclass(slots=True)
class _Denials:
    count: int
    first: datetime
    last: datetime
    paths: set[str] = field(default_factory=set)


class DenialTally:
    """Refusals counted per (origin, actor, reason) over a window, then written as one record."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._groups: dict[tuple[str, str, str], _Denials] = {}
        self._opened = time.monotonic()
        self._lock = threading.Lock()

    def count(self, actor: str, origin: str, path: str, reason: str) -> None:
        now = datetime.now(UTC)
        with self._lock:
            group = (origin, actor, reason)
            if group not in self._groups and len(self._groups) >= MAX_DENIAL_GROUPS:
                group = ("*", "*", "other refusals (too many origins, keys or reasons)")
            found = self._groups.get(group)
            if found is None:
                found = self._groups[group] = _Denials(0, now, now)
            found.count += 1
            found.last = now
            if len(found.paths) < PATHS_SHOWN:
                found.paths.add(path)

    def take(self, *, close: bool = False) -> list[AuditEvent]:
        """The window's records once it has ended (or now, with ``close``)."""
        with self._lock:
            if not self._groups or (not close and time.monotonic() - self._opened < self.window):
                return []
            groups, self._groups = self._groups, {}
            self._opened = time.monotonic()
        return [
            AuditEvent(
                actor=actor,
                origin=origin,
                event=DENIED_EVENT,
                detail={
                    "reason": reason,
                    "count": tally.count,
                    "first": tally.first.isoformat(),
                    "last": tally.last.isoformat(),
                    "paths": sorted(tally.paths),
                },
                at=tally.last,
            )
            for (origin, actor, reason), tally in groups.items()
        ]


class Recorder:
    def __init__(
        self,
        audit: AuditLog,
        webhooks: WebhookStore,
        *,
        flush_interval: float,
        denial_window: float = 60.0,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.audit = audit
        self.webhooks = webhooks
        self.flush_interval = flush_interval
        self.denials = DenialTally(denial_window)
        self.on_enqueued = on_enqueued
        self._queue: list[AuditEvent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush(close_window=True)

    def record_hit(self, event: AuditEvent, payload: dict) -> None:
        """A match decision with hits: audited and queued for the webhooks, atomically."""
        with self.audit.engine.begin() as connection:
            (record,) = self.audit.append_in(connection, [event])
            queued = self.webhooks.enqueue_in(
                connection, MATCH_EVENT, [{**payload, "audit_seq": record.seq}]
            )
        if queued:
            self.on_enqueued()

    def record_later(self, event: AuditEvent) -> None:
        with self._lock:
            self._queue.append(event)

    def record_denial(self, actor: str, origin: str, path: str, reason: str) -> None:
        self.denials.count(actor, origin, path, reason)

    def flush(self, *, close_window: bool = False) -> None:
        """Write the queued records, and the refusal counts of an ended (or closed) window."""
        due = self.denials.take(close=close_window)
        with self._lock:
            batch, self._queue = self._queue + due, []
        if not batch:
            return
        try:
            self.audit.append(batch)
        except Exception:
            # Keep them for the next try rather than drop them; the error is logged.
            log.exception("audit flush failed; %d records kept for the next try", len(batch))
            with self._lock:
                self._queue[:0] = batch

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()
