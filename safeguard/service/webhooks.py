"""Sending webhook deliveries: signed, retried with exponential backoff, every attempt logged.

The signature header reads ``t=<unix seconds>,v1=<hex>``, where the hex is
HMAC-SHA256 over ``<t>.`` followed by the raw body, keyed with the webhook's
secret. Receivers check it with :func:`verify_signature` (or the same few
lines in their language) and refuse old timestamps, which stops replays.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import httpx

from safeguard.errors import UsageError
from safeguard.store.webhook_targets import check_target
from safeguard.store.webhooks import Delivery, WebhookStore

log = logging.getLogger("safeguard.service")

SIGNATURE_HEADER = "X-Safeguard-Signature"
_BATCH = 20


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and is no older than ``tolerance``."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


class WebhookSender:
    """A thread that sends due deliveries; one per worker, coordinating through the store."""

    def __init__(
        self,
        store: WebhookStore,
        *,
        poll: float,
        retry_base: float,
        retry_max: float,
        expiry: float,
        timeout: float,
        allow_private: bool = False,
    ) -> None:
        self.store = store
        self.allow_private = allow_private
        self.poll = poll
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.expiry = expiry
        self.lease = timeout + 5.0  # no other sender takes a delivery while one is sending it
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.client.close()

    def wake(self) -> None:
        self._wake.set()

    def send_due(self) -> int:
        """Send what is due now; returns how many deliveries were attempted."""
        attempted = 0
        while not self._stop.is_set():
            batch = self.store.claim_due(_BATCH, self.lease)
            for delivery in batch:
                self._send(delivery)
            attempted += len(batch)
            if len(batch) < _BATCH:
                return attempted
        return attempted

    def _send(self, delivery: Delivery) -> None:
        body = delivery.payload.encode()
        started = time.perf_counter()
        status_code = None
        try:
            # Checked again at each delivery: a name can be re-pointed at a private address.
            check_target(delivery.url, allow_private=self.allow_private)
            response = self.client.post(
                delivery.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(delivery.secret, body, int(time.time())),
                    "X-Safeguard-Event": delivery.event,
                    "X-Safeguard-Delivery": str(delivery.id),
                },
            )
            status_code = response.status_code
            error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        except UsageError as refused:
            error = f"not sent: {refused}"
        duration_ms = (time.perf_counter() - started) * 1000
        retry_at = None
        if error is not None:
            delay = min(self.retry_max, self.retry_base * 2**delivery.attempts)
            retry_at = time.time() + delay
            if retry_at - delivery.created_at > self.expiry:
                retry_at = None
                log.error("webhook delivery %d expired: %s", delivery.id, error)
        self.store.record_attempt(
            delivery,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            retry_at=retry_at,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:
                log.exception("webhook sender: store unavailable; trying again")
            self._wake.wait(self.poll)
            self._wake.clear()
