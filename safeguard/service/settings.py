"""Service settings, read from the environment so every worker process gets the same ones."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from safeguard.media.options import Variants


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
    # Connection limits (see service.http_limits): header bytes (431), seconds to send
    # the headers (408), seconds a body may stall (408), open connections per worker (503).
    max_header_bytes: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_MAX_HEADER_BYTES", 16 << 10)
    )
    header_timeout: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_HEADER_TIMEOUT", 10.0)
    )
    body_timeout: float = field(default_factory=lambda: _env_float("SAFEGUARD_BODY_TIMEOUT", 30.0))
    max_connections: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_MAX_CONNECTIONS", 1000)
    )
    # Uploads hashed at the same time in one worker (the rest wait their turn).
    decoders: int = field(default_factory=lambda: _env_int("SAFEGUARD_DECODERS", 2))
    # Pixels one upload's decode may allocate (after a JPEG's reduced decode), else 413.
    # With ``decoders`` this bounds a worker's decode memory: about 4 bytes a pixel
    # plus an RGB copy, so 2 x 40 MP is under 0.6 GB.
    max_upload_pixels: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_MAX_UPLOAD_PIXELS", 40_000_000)
    )
    # A video upload longer than this (as declared, or as its frames run) is refused
    # with 413: its decoding would hold a decoder for too long.
    max_video_seconds: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_MAX_VIDEO_SECONDS", 600.0)
    )
    # Per-key rate limits are enforced in each worker with this share of the rate.
    workers: int = field(default_factory=lambda: _env_int("SAFEGUARD_SERVICE_WORKERS", 1))
    # Redis for per-key rate limits shared by every instance (redis://host:6379/0); none:
    # each worker keeps its share.
    redis_url: str | None = field(default_factory=lambda: os.environ.get("SAFEGUARD_REDIS_URL"))
    # How old a worker's view of the lists may be when it answers (seconds).
    freshness: float = field(default_factory=lambda: _env_float("SAFEGUARD_FRESHNESS", 0.25))
    # Readiness fails when the index could not follow the store for this long.
    stale_after: float = field(default_factory=lambda: _env_float("SAFEGUARD_STALE_AFTER", 10.0))
    # Match decisions without hits are written to the audit log in batches this often.
    audit_flush: float = field(default_factory=lambda: _env_float("SAFEGUARD_AUDIT_FLUSH", 0.2))
    # Refused requests are written as one count per origin, key and reason this often.
    denial_window: float = field(
        default_factory=lambda: _env_float("SAFEGUARD_DENIAL_WINDOW", 60.0)
    )
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
    # Webhooks may point at private, loopback or link-local addresses (receivers inside).
    allow_private_webhooks: bool = field(
        default_factory=lambda: os.environ.get("SAFEGUARD_WEBHOOK_ALLOW_PRIVATE") == "1"
    )
    # Match lookups per /v1/match/hashes request.
    # The self-report door: the list its entries go to, the proof of work's bits, the
    # reports one address may send per window, the page's help lines (a JSON file), and
    # the origins of a page hosted elsewhere that may call the API.
    self_report_list: str = field(
        default_factory=lambda: os.environ.get("SAFEGUARD_SELF_REPORT_LIST", "self-reported")
    )
    self_report_bits: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_SELF_REPORT_BITS", 16)
    )
    self_report_limit: int = field(
        default_factory=lambda: _env_int("SAFEGUARD_SELF_REPORT_LIMIT", 10)
    )
    self_report_window: float = 600.0
    self_report_help: str | None = field(
        default_factory=lambda: os.environ.get("SAFEGUARD_SELF_REPORT_HELP")
    )
    self_report_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            filter(None, os.environ.get("SAFEGUARD_SELF_REPORT_ORIGINS", "").split(","))
        )
    )
    # TLS is terminated in front of the service: the console's cookie is sent only over it.
    tls_in_front: bool = field(
        default_factory=lambda: os.environ.get("SAFEGUARD_TLS_IN_FRONT") == "1"
    )
    # Variants of uploaded pictures matched too: views of them (query), and the variants
    # enrolled with known pictures (all); or not (none).
    variants: Variants = field(
        default_factory=lambda: Variants(os.environ.get("SAFEGUARD_VARIANTS", "none"))
    )
    max_hashes: int = 1000
    # Entries per POST /v1/lists/{name}/entries request.
    max_entries: int = 10_000
