"""What the service writes down: audit records, and the webhook deliveries of match events.

A decision with hits is written before its response goes out, with its webhook
deliveries in the same transaction: a hit is never lost to a crash. Decisions
without hits (nearly all traffic) are queued and written in batches every
``flush_interval`` seconds, one lock on the chain per batch instead of per
request; a worker killed outright can lose at most that interval of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from safeguard.store.audit import AuditEvent, AuditLog
from safeguard.store.webhooks import WebhookStore

log = logging.getLogger("safeguard.service")

MATCH_EVENT = "match"


class Recorder:
    def __init__(
        self,
        audit: AuditLog,
        webhooks: WebhookStore,
        *,
        flush_interval: float,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.audit = audit
        self.webhooks = webhooks
        self.flush_interval = flush_interval
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
        self.flush()

    def record(self, event: AuditEvent) -> None:
        """Write one event now (list changes, key events)."""
        self.audit.append([event])

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

    def flush(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
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
