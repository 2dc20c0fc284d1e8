"""Several service instances on one PostgreSQL store (issue 16): a list change made through
one is matchable on the other within a second, and each webhook delivery is made once,
however many instances' senders watch the outbox."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter

import httpx
import pytest
from test_webhooks import Receiver

from safeguard.store import Store
from safeguard.store.keys import KeyStore, Scope

from serving import serving

FAST_OUTBOX = {"SAFEGUARD_WEBHOOK_POLL": "0.1", "SAFEGUARD_WEBHOOK_ALLOW_PRIVATE": "1"}


def _token(store_url: str) -> str:
    store = Store.open(store_url)
    _, token = KeyStore(store.engine).create("operator", [Scope.ADMIN])
    store.close()
    return token


def _match(http: httpx.Client, base: str, value: str, signal: str = "md5") -> str:
    answer = http.post(f"{base}/v1/match/hashes",
                       json={"hashes": [{"signal": signal, "value": value}]})  # fmt: skip
    return answer.json()["results"][0]["action"]


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.slow
def test_a_change_through_one_instance_is_matched_on_the_other_within_a_second(store_url):
    token = _token(store_url)
    with serving(store_url) as first, serving(store_url) as second:
        http = httpx.Client(headers={"Authorization": f"Bearer {token}"})
        http.post(f"{first}/v1/lists", json={"name": "graded"}).raise_for_status()
        delays: dict[str, list[float]] = {"md5": [], "pdq": []}
        for number in range(20):
            # An exact hash is looked up in the store; a PDQ hash in each worker's index,
            # which follows the store by revision.
            signal = ("md5", "pdq")[number % 2]
            value = secrets.token_hex(16 if signal == "md5" else 32)  # far from each other
            writer, reader = (first, second) if number % 4 < 2 else (second, first)
            assert _match(http, reader, value, signal) == "none"
            entry = {"signal": signal, "value": value, "category": "A"}
            http.post(f"{writer}/v1/lists/graded/entries",
                      json={"entries": [entry]}).raise_for_status()  # fmt: skip
            added = time.monotonic()
            while _match(http, reader, value, signal) != "block":
                assert time.monotonic() - added < 1.0, "not matchable on the other instance"
            delays[signal].append(time.monotonic() - added)
        http.close()
    for signal, seen in delays.items():
        print(f"{signal}: matchable on the other instance after {min(seen):.3f}-{max(seen):.3f} s")


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.slow
def test_each_webhook_delivery_is_made_once_across_instances(store_url):
    token = _token(store_url)
    receiver = Receiver()
    values = [f"{number + 1:032x}" for number in range(40)]
    try:
        with (
            serving(store_url, env=FAST_OUTBOX) as first,
            serving(store_url, env=FAST_OUTBOX) as second,
        ):
            http = httpx.Client(headers={"Authorization": f"Bearer {token}"})
            hook = {"url": f"http://127.0.0.1:{receiver.port}/in"}
            http.post(f"{first}/v1/webhooks", json=hook).raise_for_status()
            http.post(f"{first}/v1/lists", json={"name": "graded"}).raise_for_status()
            entries = [{"signal": "md5", "value": v, "category": "A"} for v in values]
            http.post(f"{first}/v1/lists/graded/entries",
                      json={"entries": entries}).raise_for_status()  # fmt: skip
            for number, value in enumerate(values):  # hits through both instances
                assert _match(http, (first, second)[number % 2], value) == "block"
            http.close()
            deadline = time.monotonic() + 20
            while len(receiver.received) < len(values) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # time for any second delivery of the same event to arrive
    finally:
        receiver.close()
    deliveries = Counter(headers["X-Safeguard-Delivery"] for headers, _ in receiver.received)
    assert len(deliveries) == len(values) and set(deliveries.values()) == {1}
    hashes = {json.loads(body)["hits"][0]["value"] for _, body in receiver.received}
    assert hashes == set(values)
