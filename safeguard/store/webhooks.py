"""Webhook subscriptions and their deliveries: an outbox in the store.

A match event becomes one delivery row per enabled webhook, written in the same
transaction as its audit record, so nothing is announced that was not logged
and nothing logged is left unannounced. Senders in any number of processes
claim due rows with a compare-and-set on ``next_attempt_at`` (a lease), record
every attempt, and push the next try out exponentially while a receiver is
down; when it is back, everything pending goes out.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, select, update

from safeguard.errors import NotFound
from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.schema import webhook_attempts, webhook_deliveries, webhooks
from safeguard.store.webhook_targets import check_target, redacted

PENDING, DELIVERED, EXPIRED = "pending", "delivered", "expired"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    enabled: bool
    created_at: datetime

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "url": redacted(self.url),  # a password in it is for delivery only
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: int
    url: str
    secret: str
    event: str
    payload: str
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class DeliveryState:
    id: int
    webhook_id: int
    event: str
    status: str
    attempts: int
    last_error: str | None


class WebhookStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self, url: str, *, allow_private: bool = False, audit: Audit = None
    ) -> tuple[Webhook, str]:
        """A new subscription and its signing secret (shown once to whoever set it up)."""
        check_target(url, allow_private=allow_private)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            webhook_id = connection.execute(
                webhooks.insert()
                .values(url=url, secret=secret, enabled=True, created_at=now)
                .returning(webhooks.c.id)
            ).scalar_one()
            hook = Webhook(webhook_id, url, True, now)
            audited(connection, audit, hook)
        return hook, secret

    def all(self) -> list[Webhook]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(webhooks).order_by(webhooks.c.id))
            return [Webhook(r.id, r.url, r.enabled, as_utc(r.created_at)) for r in rows]

    def remove(self, webhook_id: int, *, audit: Audit = None) -> None:
        with self.engine.begin() as connection:
            gone = connection.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
            if gone.rowcount == 0:
                raise NotFound(f"no webhook {webhook_id}")
            audited(connection, audit, webhook_id)

    def enqueue_in(self, connection: Connection, event: str, payloads: Sequence[dict]) -> int:
        """One pending delivery per enabled webhook and payload, in the caller's transaction."""
        targets = connection.execute(select(webhooks.c.id).where(webhooks.c.enabled.is_(True)))
        target_ids = [row.id for row in targets]
        if not target_ids or not payloads:
            return 0
        now = time.time()
        rows = [
            {
                "webhook_id": webhook_id,
                "event": event,
                "payload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for webhook_id in target_ids
            for payload in payloads
        ]
        connection.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    def claim_due(self, limit: int, lease: float) -> list[Delivery]:
        """Due deliveries, each leased to this caller for ``lease`` seconds."""
        now = time.time()
        query = (
            select(
                webhook_deliveries,
                webhooks.c.url,
                webhooks.c.secret,
            )
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(
                webhook_deliveries.c.status == PENDING,
                webhook_deliveries.c.next_attempt_at <= now,
                webhooks.c.enabled.is_(True),
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
        claimed = []
        with self.engine.begin() as connection:
            for row in connection.execute(query).all():
                won = connection.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.id == row.id,
                        webhook_deliveries.c.next_attempt_at == row.next_attempt_at,
                        webhook_deliveries.c.status == PENDING,
                    )
                    .values(next_attempt_at=now + lease)
                ).rowcount
                if won:
                    claimed.append(
                        Delivery(
                            row.id,
                            row.webhook_id,
                            row.url,
                            row.secret,
                            row.event,
                            row.payload,
                            row.attempts,
                            row.created_at,
                        )
                    )
        return claimed

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        retry_at: float | None,
    ) -> None:
        """Log one attempt; ``retry_at`` None means delivered (no error) or given up."""
        now = time.time()
        if error is None:
            status, values = DELIVERED, {"delivered_at": now}
        elif retry_at is None:
            status, values = EXPIRED, {}
        else:
            status, values = PENDING, {"next_attempt_at": retry_at}
        with self.engine.begin() as connection:
            connection.execute(
                webhook_attempts.insert().values(
                    delivery_id=delivery.id,
                    at=now,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery.id)
                .values(
                    status=status,
                    attempts=webhook_deliveries.c.attempts + 1,
                    last_error=error,
                    **values,
                )
            )

    def deliveries(self, newest: int | None = None) -> list[DeliveryState]:
        """Every delivery, oldest first (or only the ``newest`` few)."""
        query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc())
        if newest is not None:
            query = query.limit(newest)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()[::-1]
        return [
            DeliveryState(r.id, r.webhook_id, r.event, r.status, r.attempts, r.last_error)
            for r in rows
        ]

    def attempts(self, delivery_id: int) -> list[tuple[int | None, str | None]]:
        """(status code, error) of each attempt at a delivery, in order."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(webhook_attempts.c.status_code, webhook_attempts.c.error)
                .where(webhook_attempts.c.delivery_id == delivery_id)
                .order_by(webhook_attempts.c.id)
            )
            return [(r.status_code, r.error) for r in rows]

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).where(webhook_deliveries.c.status == PENDING)
            ).scalar_one()
