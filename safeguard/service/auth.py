"""Who is calling, and may they: API keys checked on every route but health.

Keys are looked up by their public id and cached for a second, so a revoked
key stops working everywhere within a second without a query per request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from safeguard.service.ratelimit import RateLimiter, retry_after_header
from safeguard.store.audit import AuditEvent
from safeguard.store.keys import ApiKey, KeyStore, Scope, StoredKey, parse_token

_CACHE_SECONDS = 1.0
bearer = HTTPBearer(auto_error=False, description="An API key from `safeguard keys create`.")


@dataclass(frozen=True, slots=True)
class Caller:
    key: ApiKey
    origin: str

    @property
    def actor(self) -> str:
        return f"key:{self.key.name} ({self.key.key_id})"

    def event(self, event: str, detail: dict) -> AuditEvent:
        return AuditEvent(actor=self.actor, origin=self.origin, event=event, detail=detail)


class Authenticator:
    def __init__(self, keys: KeyStore, limiter: RateLimiter) -> None:
        self.keys = keys
        self.limiter = limiter
        self._cache: dict[str, tuple[StoredKey | None, float]] = {}
        self._lock = threading.Lock()

    def _find(self, key_id: str) -> StoredKey | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and now - cached[1] < _CACHE_SECONDS:
            return cached[0]
        found = self.keys.find(key_id)
        with self._lock:
            if len(self._cache) > 10_000:  # unknown ids from a scanner must not grow it forever
                self._cache.clear()
            self._cache[key_id] = (found, now)
        return found

    def check(self, token: str | None, scope: Scope) -> ApiKey:
        """The key, or an HTTPException: 401 unknown/revoked, 403 scope, 429 rate."""
        if not token:
            raise _unauthorised("an API key is required (Authorization: Bearer <key>)")
        parsed = parse_token(token)
        stored = self._find(parsed[0]) if parsed else None
        if stored is None or not stored.verifies(parsed[1]):
            raise _unauthorised("unknown API key")
        if stored.key.revoked_at is not None:
            raise _unauthorised("this API key has been revoked")
        if not stored.key.allows(scope):
            raise HTTPException(403, f"this API key lacks the {scope.value!r} scope")
        wait = self.limiter.acquire(stored.key.key_id, stored.key.rate_limit)
        if wait:
            raise HTTPException(
                429,
                "rate limit exceeded for this API key",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return stored.key


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def client_origin(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def require(scope: Scope):
    """A route dependency: the calling key, holding ``scope``."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Caller:
        authenticator: Authenticator = request.app.state.authenticator
        token = credentials.credentials if credentials else None
        try:
            key = authenticator.check(token, scope)
        except HTTPException as refused:
            if refused.status_code in (401, 403):
                parsed = parse_token(token) if token else None
                request.app.state.recorder.record_later(
                    AuditEvent(
                        # Only the public key id: never any part of a secret.
                        actor=f"key-id:{parsed[0]}"
                        if parsed
                        else ("malformed-key" if token else "anonymous"),
                        origin=client_origin(request),
                        event="auth.denied",
                        detail={"path": request.url.path, "reason": refused.detail},
                    )
                )
            raise
        return Caller(key, client_origin(request))

    return dependency
