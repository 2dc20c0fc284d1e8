"""Per-key rate limits shared across service instances (issue 16): with Redis, one key's
rate holds however its requests are spread over workers and hosts, within 10 % under load;
without Redis reachable, each worker still counts its share."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from safeguard.service.ratelimit import RateLimiter, SharedRateLimiter
from safeguard.store import Store
from safeguard.store.keys import KeyStore, Scope

from serving import serving

LOOKUP = {"hashes": [{"signal": "md5", "value": "0" * 32}]}


def _expected(rate: float, seconds: float) -> float:
    return rate * seconds + max(1.0, rate)  # what flowed in, and the bucket it started with


@pytest.mark.slow
def test_two_instances_draw_from_one_bucket(redis_url):
    hosts = [SharedRateLimiter(redis_url, RateLimiter(1)) for _ in range(2)]
    key, rate, accepted = f"test-{uuid.uuid4().hex}", 40.0, 0
    started = time.monotonic()
    while time.monotonic() - started < 3:
        for limiter in hosts:  # as a load balancer would spread them
            accepted += limiter.acquire(key, rate) == 0
            time.sleep(0.002)
    expected = _expected(rate, time.monotonic() - started)
    assert abs(accepted - expected) <= 0.1 * expected, (accepted, expected)


def test_without_redis_each_worker_keeps_its_share():
    local = RateLimiter(1)
    unreachable = SharedRateLimiter("redis://127.0.0.1:1/0", local)
    assert unreachable.acquire("k", 1.0) == 0  # counted here instead: the first goes through
    assert unreachable.acquire("k", 1.0) > 0  # and the bucket is then empty
    assert unreachable.acquire("k", None) == 0  # a key without a limit is never held


@pytest.mark.slow
def test_a_keys_limit_holds_across_two_service_instances(postgres_url, redis_url, monkeypatch):
    from conftest import run_cli

    run_cli("init", "--db", postgres_url)
    store = Store.open(postgres_url)
    rate = 50.0
    _, token = KeyStore(store.engine).create("platform", [Scope.MATCH], rate_limit=rate)
    store.close()
    env = {"SAFEGUARD_REDIS_URL": redis_url}
    with (
        serving(postgres_url, workers=2, env=env) as first,
        serving(postgres_url, env=env) as second,
    ):
        counts = {200: 0, 429: 0}
        lock = threading.Lock()
        stop = time.monotonic() + 4

        def client(base: str) -> None:
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
                while time.monotonic() < stop:
                    answer = http.post(f"{base}/v1/match/hashes", json=LOOKUP)
                    with lock:
                        counts[answer.status_code] = counts.get(answer.status_code, 0) + 1

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(base,)) for base in (first, second) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = _expected(rate, time.monotonic() - started)
    assert counts[429] > counts[200]  # the clients asked for far more than the rate
    assert abs(counts[200] - expected) <= 0.1 * expected, (counts, expected)
