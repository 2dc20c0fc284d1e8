"""Per-key token buckets: in each worker process, or shared in Redis.

Kept in each worker, a key's rate is split evenly between the service's workers, so
one service allows about the configured rate, with no round trip on the hot path; a
client whose connections all land on one worker gets its share of it. Several service
instances behind a load balancer share the buckets in Redis instead
(``SAFEGUARD_REDIS_URL``), one atomic script call a request.
"""

from __future__ import annotations

import logging
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


# One key's token bucket in Redis, refilled and taken from atomically on the server's own
# clock (hosts' clocks may differ); a key idle for a full bucket's time expires.
_TAKE = """
local now = redis.call('TIME')
local at = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local last = tonumber(held[2]) or at
tokens = math.min(burst, tokens + math.max(0, at - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class SharedRateLimiter:
    """Per-key token buckets in Redis, shared by every worker of every service instance, so
    a key's rate holds however its requests are spread across hosts.

    If Redis cannot be reached, the request is counted against this worker's share instead
    (the local limiter) and the failure is logged once a minute: a lost cache must not stop
    a platform's uploads being checked, nor let a key run unlimited.
    """

    def __init__(self, url: str, fallback: RateLimiter, prefix: str = "safeguard:rate:") -> None:
        import redis  # only services configured with Redis load it

        self.fallback = fallback
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._client.register_script(_TAKE)
        self._errors = (redis.RedisError, OSError)
        self._warned_at = -math.inf

    def acquire(self, key: str, rate: float | None) -> float:
        if rate is None:
            return 0.0
        try:
            return float(self._take(keys=[self.prefix + key], args=[rate, max(1.0, rate)]))
        except self._errors as error:
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                logging.getLogger("safeguard.service").warning(
                    "rate limits: Redis unreachable (%s); counting per worker meanwhile", error
                )
            return self.fallback.acquire(key, rate)
