"""API keys for the match service: scoped, shown once, kept only as a salted hash.

A key reads ``sgk_<key id>_<secret>``. The key id is public (it names the key in
logs and in ``safeguard keys ls``); the secret is 256 random bits, of which the
store keeps SHA-256(salt + secret). A slow password hash would add nothing for a
secret that cannot be guessed, and would cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, or_, select, update

from safeguard.errors import NotFound, UsageError
from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.schema import api_keys

KEY_PREFIX = "sgk"


class Scope(StrEnum):
    MATCH = "match"  # look up uploads and hashes
    LISTS_READ = "lists:read"
    LISTS_WRITE = "lists:write"  # add, disable and delete lists and entries
    METRICS = "metrics"  # read /metrics (a scraper's key)
    ADMIN = "admin"  # everything, webhooks included


# What each scope carries with it.
_IMPLIED = {
    Scope.ADMIN: frozenset(Scope),
    Scope.LISTS_WRITE: frozenset({Scope.LISTS_WRITE, Scope.LISTS_READ}),
}

# The fields of a match a key may be shown; a key with none gets the action only.
MATCH_FIELDS = ("list", "entry", "signal", "distance", "category")


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[Scope]
    fields: tuple[str, ...]
    rate_limit: float | None
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, scope: Scope) -> bool:
        return any(scope in _IMPLIED.get(held, {held}) for held in self.scopes)

    def to_json(self) -> dict:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "fields": list(self.fields),
            "rate_limit": self.rate_limit,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: ApiKey
    salt: bytes
    digest: bytes

    def verifies(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, secret), self.digest)


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        scopes: Iterable[Scope],
        *,
        fields: Iterable[str] = MATCH_FIELDS,
        rate_limit: float | None = None,
        audit: Audit = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its token, which is never stored and cannot be shown again."""
        scopes = frozenset(scopes)
        fields = tuple(fields)
        if not name.strip():
            raise UsageError("a key needs a name")
        if not scopes:
            raise UsageError("a key needs at least one scope")
        unknown = [f for f in fields if f not in MATCH_FIELDS]
        if unknown:
            raise UsageError(f"unknown match field(s) {unknown}; known: {list(MATCH_FIELDS)}")
        if rate_limit is not None and rate_limit <= 0:
            raise UsageError("a rate limit must be positive")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            connection.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    name=name,
                    salt=salt,
                    digest=_digest(salt, secret),
                    scopes=" ".join(sorted(scopes)),
                    fields=" ".join(fields),
                    rate_limit=rate_limit,
                    created_at=now,
                )
            )
            key = ApiKey(key_id, name, scopes, fields, rate_limit, now, None)
            audited(connection, audit, key)
        return key, f"{KEY_PREFIX}_{key_id}_{secret}"

    def find(self, key_id: str) -> StoredKey | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return _to_stored(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(api_keys).order_by(api_keys.c.id))
            return [_to_stored(row).key for row in rows]

    def revoke(self, name_or_id: str, *, audit: Audit = None) -> list[ApiKey]:
        """Revoke the key with this key id, or every live key with this name."""
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            chosen = or_(api_keys.c.key_id == name_or_id, api_keys.c.name == name_or_id)
            rows = connection.execute(
                select(api_keys).where(chosen, api_keys.c.revoked_at.is_(None))
            ).all()
            if not rows:
                raise NotFound(f"no live key with id or name {name_or_id!r}")
            connection.execute(
                update(api_keys)
                .where(api_keys.c.id.in_([row.id for row in rows]))
                .values(revoked_at=now)
            )
            revoked = [_to_stored(row).key for row in rows]
            audited(connection, audit, revoked)
        return revoked


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def _to_stored(row) -> StoredKey:
    key = ApiKey(
        key_id=row.key_id,
        name=row.name,
        scopes=frozenset(Scope(s) for s in row.scopes.split()),
        fields=tuple(row.fields.split()),
        rate_limit=row.rate_limit,
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at),
    )
    return StoredKey(key, bytes(row.salt), bytes(row.digest))
