"""Operator console sessions: opened with an admin API key, kept as the SHA-256 of the
cookie (a copy of the database opens no session), ended on logout or after 30 minutes
without a page, and no longer valid the moment their key is revoked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update

from safeguard.store.keys import ApiKey, KeyStore
from safeguard.store.schema import console_sessions

IDLE = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    key: ApiKey
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keys = KeyStore(engine)

    def open(self, key: ApiKey) -> str:
        """A new session for ``key``; returns the cookie value (never stored)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            connection.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
            connection.execute(
                console_sessions.insert().values(
                    token_sha256=_digest(token),
                    key_id=key.key_id,
                    csrf=secrets.token_urlsafe(24),
                    expires_at=now + IDLE,
                )
            )
        return token

    def find(self, token: str | None) -> ConsoleSession | None:
        """The live session of a cookie (its idle time restarted), else None."""
        if not token:
            return None
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(console_sessions).where(console_sessions.c.token_sha256 == _digest(token))
            ).first()
            if row is None or _aware(row.expires_at) < now:
                return None
            stored = self.keys.find(row.key_id)
            if stored is None or stored.key.revoked_at is not None:
                return None
            connection.execute(
                update(console_sessions)
                .where(console_sessions.c.token_sha256 == row.token_sha256)
                .values(expires_at=now + IDLE)
            )
        return ConsoleSession(stored.key, row.csrf)

    def close(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(console_sessions).where(console_sessions.c.token_sha256 == _digest(token))
            )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
