"""Per-key token buckets, kept in each worker process.

A key's rate is split evenly between the service's workers, so the whole
service allows about the configured rate; a client whose connections all land
on one worker gets its share of it. No shared state means no round trip to a
database or cache on the hot path.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, key: str, rate: float | None) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        if rate is None:
            return 0.0
        share = rate / self.workers
        burst = max(1.0, share)  # a second's worth, at least one request
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * share)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / share


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
