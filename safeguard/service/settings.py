"""Service settings, read from the environment so every worker process gets the same ones."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    db: str | None = field(default_factory=lambda: os.environ.get("SAFEGUARD_DB"))
    # Bodies above this are refused with 413 before they are read in full.
    max_body_bytes: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_MAX_BODY_BYTES", 32 << 20)
    )
    # Uploads hashed at the same time in one worker (the rest wait their turn).
    decoders: int = field(default_factory=lambda: _env_int("SAFEGUARD_DECODERS", 2))
    # Per-key rate limits are enforced in each worker with this share of the rate.
    workers: int = field(default_factory=lambda: _env_int("SAFEGUARD_SERVICE_WORKERS", 1))
    # How old a worker's view of the lists may be when it answers (seconds).
    freshness: float = field(default_factory=lambda: _env_float("SAFEGUARD_FRESHNESS", 0.25))
    # Readiness fails when the index could not follow the store for this long.
    stale_after: float = field(default_factory=lambda: _env_float("SAFEGUARD_STALE_AFTER", 10.0))
    # Match decisions without hits are written to the audit log in batches this often.
    audit_flush: float = field(default_factory=lambda: _env_float("SAFEGUARD_AUDIT_FLUSH", 0.2))
    webhook_poll: float = field(default_factory=lambda: _env_float("SAFEGUARD_WEBHOOK_POLL", 0.5))
    webhook_retry_base: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_WEBHOOK_RETRY_BASE", 1.0)
    )
    webhook_retry_max: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_WEBHOOK_RETRY_MAX", 300.0)
    )
    # A delivery still failing after this long is marked expired (its attempts stay recorded).
    webhook_expiry: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_WEBHOOK_EXPIRY", 3 * 24 * 3600.0)
    )
    webhook_timeout: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_WEBHOOK_TIMEOUT", 10.0)
    )
    # Match lookups per /v1/match/hashes request.
    max_hashes: int = 1000
    # Entries per POST /v1/lists/{name}/entries request.
    max_entries: int = 10_000
