"""Who is calling, and may they: API keys checked on every route but health.

Keys are looked up by their public id and cached for a second, so a revoked
key stops working everywhere within a second without a query per request.
A key is checked twice: by :class:`KeyGate` before anything of the request's
body is read (an unknown key costs no parsing), then by the route for its scope
and rate limit. Refusals are counted for the audit log, never written one by one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass

import anyio
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from safeguard.service.ratelimit import RateLimiter, SharedRateLimiter, retry_after_header
from safeguard.store.audit import AuditEvent
from safeguard.store.keys import ApiKey, KeyStore, Scope, StoredKey, parse_token

_CACHE_SECONDS = 1.0
_KEY_ID = re.compile(r"[0-9a-f]{12}")  # what KeyStore.create draws
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
    def __init__(self, keys: KeyStore, limiter: RateLimiter | SharedRateLimiter) -> None:
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

    def needs_lookup(self, token: str | None) -> bool:
        """Whether identifying ``token`` would query the store (else it is answered from memory)."""
        parsed = parse_token(token) if token else None
        if parsed is None or not _KEY_ID.fullmatch(parsed[0]):
            return False
        with self._lock:
            cached = self._cache.get(parsed[0])
        return cached is None or time.monotonic() - cached[1] >= _CACHE_SECONDS

    def identify(self, token: str | None) -> ApiKey:
        """The live key ``token`` names, or a 401 HTTPException."""
        if not token:
            raise _unauthorised("an API key is required (Authorization: Bearer <key>)")
        parsed = parse_token(token)
        # An id that no key could have is refused without asking the store.
        known = parsed is not None and _KEY_ID.fullmatch(parsed[0])
        stored = self._find(parsed[0]) if known else None
        if stored is None or not stored.verifies(parsed[1]):
            raise _unauthorised("unknown API key")
        if stored.key.revoked_at is not None:
            raise _unauthorised("this API key has been revoked")
        return stored.key

    def check(self, token: str | None, scope: Scope) -> ApiKey:
        """The key, or an HTTPException: 401 unknown/revoked, 403 scope, 429 rate."""
        key = self.identify(token)
        if not key.allows(scope):
            raise HTTPException(403, f"this API key lacks the {scope.value!r} scope")
        wait = self.limiter.acquire(key.key_id, key.rate_limit)
        if wait:
            raise HTTPException(
                429,
                "rate limit exceeded for this API key",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return key


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def client_origin(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def denied_actor(token: str | None) -> str:
    """Who a refused request claimed to be: only the public key id, never any secret."""
    parsed = parse_token(token) if token else None
    if parsed is not None:
        return f"key-id:{parsed[0][:32]}"
    return "malformed-key" if token else "anonymous"


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return (credentials.strip() or None) if scheme.lower() == "bearer" else None
    return None


class KeyGate:
    """Pure ASGI: a request to a keyed route without a live key is refused before its body.

    The 401 closes the connection, since the unread body cannot be skipped reliably.
    """

    def __init__(
        self,
        app,
        authenticator: Authenticator,
        recorder,
        public: set[str],
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.recorder = recorder
        self.public = public
        self.public_prefixes = public_prefixes  # whole doors that need no key

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in self.public
            or scope["path"].startswith(self.public_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope["headers"])
        try:
            if self.authenticator.needs_lookup(token):
                await anyio.to_thread.run_sync(self.authenticator.identify, token)
            else:
                self.authenticator.identify(token)
        except HTTPException as refused:
            client = scope.get("client")
            self.recorder.record_denial(
                denied_actor(token),
                client[0] if client else "unknown",
                scope["path"],
                refused.detail,
            )
            await _refuse(send, refused)
            return
        await self.app(scope, receive, send)


async def _refuse(send, refused: HTTPException) -> None:
    body = json.dumps({"detail": refused.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"Bearer"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": refused.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
                request.app.state.recorder.record_denial(
                    denied_actor(token), client_origin(request), request.url.path, refused.detail
                )
            raise
        return Caller(key, client_origin(request))

    return dependency
