"""Prometheus metrics: requests, latencies, match decisions, index size and age.

Under ``safeguard serve`` every worker writes its samples to files in
``$PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them, whichever worker a
scrape lands on; a single process (tests, embedded use) uses the default registry.
"""

from __future__ import annotations

import os
import secrets
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "safeguard_http_requests", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "safeguard_http_request_duration_seconds",
    "Time to answer, by route.",
    ["route"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
DECISIONS = Counter(
    "safeguard_match_decisions", "Match decisions, by endpoint and action.", ["endpoint", "action"]
)
INDEX_HASHES = Gauge(
    "safeguard_index_hashes", "PDQ hashes in the worker's index.", multiprocess_mode="livemax"
)
INDEX_AGE = Gauge(
    "safeguard_index_age_seconds",
    "Seconds since the worker's index last followed the store (the stalest live worker).",
    multiprocess_mode="livemax",
)
WEBHOOKS_PENDING = Gauge(
    "safeguard_webhook_deliveries_pending",
    "Webhook deliveries not yet delivered.",
    multiprocess_mode="livemax",
)


def observe_index(hashes: int, refreshed_at: float) -> None:
    INDEX_HASHES.set(hashes)
    INDEX_AGE.set(max(0.0, time.time() - refreshed_at))


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Pure ASGI middleware: counts and times every request by its route template.

    It also names the worker that answered (``X-Safeguard-Worker``), which tells an
    operator, or a test, which worker's view of the lists a reply shows: a random name
    drawn when the worker starts, never its process id.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.worker_header = (b"x-safeguard-worker", secrets.token_hex(4).encode())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watching_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), self.worker_header]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
