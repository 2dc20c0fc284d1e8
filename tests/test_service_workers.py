"""A real ``safeguard serve`` with two worker processes: every change is live everywhere in 1 s."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from safeguard.store import Store
from safeguard.store.keys import KeyStore, Scope

from conftest import run_cli
from serving import serving

pytestmark = pytest.mark.slow
FRESH_WITHIN = 1.0


@pytest.fixture
def server(store_url, tmp_path):
    store = Store.open(store_url)
    _, token = KeyStore(store.engine).create("ops", [Scope.ADMIN])
    store.close()
    env = {**os.environ, "SAFEGUARD_INDEX_DIR": str(tmp_path / "index")}
    with serving(store_url, workers=2, env=env) as base:
        yield base, {"Authorization": f"Bearer {token}"}, store_url, env


def _ask(base: str, headers: dict, hashes: list[dict]) -> tuple[str, list[str]]:
    # A fresh connection each time, so the kernel hands it to either worker.
    answer = httpx.post(f"{base}/v1/match/hashes", json={"hashes": hashes}, headers=headers)
    answer.raise_for_status()
    return answer.headers["X-Safeguard-Worker"], [r["action"] for r in answer.json()["results"]]


def _watch(base, headers, hashes, expected, changed_at) -> None:
    """Ask both workers repeatedly; past the freshness bound every answer must be current."""
    seen_late: set[str] = set()
    stale_late = []
    with ThreadPoolExecutor(4) as pool:
        while time.monotonic() - changed_at < FRESH_WITHIN + 1.0:
            for worker, actions in pool.map(lambda _: _ask(base, headers, hashes), range(4)):
                age = time.monotonic() - changed_at
                if age > FRESH_WITHIN:
                    seen_late.add(worker)
                    if actions != expected:
                        stale_late.append((worker, round(age, 3), actions))
    assert not stale_late, f"stale answers after {FRESH_WITHIN} s: {stale_late[:5]}"
    assert len(seen_late) == 2, f"only workers {seen_late} answered; both must be checked"


def test_changes_reach_every_worker_within_a_second(server, tmp_path):
    base, headers, store_url, env = server
    pdq = "0f" * 32
    md5 = "ab" * 16
    queries = [{"signal": "pdq", "value": pdq}, {"signal": "md5", "value": md5}]
    assert _ask(base, headers, queries)[1] == ["none", "none"]

    # Through the API (lands on one worker; the other must follow).
    httpx.post(f"{base}/v1/lists", json={"name": "api-list"}, headers=headers).raise_for_status()
    httpx.post(
        f"{base}/v1/lists/api-list/entries",
        json={"entries": [{"signal": "pdq", "value": pdq, "category": "A"}]},
        headers=headers,
    ).raise_for_status()
    _watch(base, headers, queries, ["block", "none"], time.monotonic())

    # Through the command line, in another process altogether.
    listed = tmp_path / "md5.txt"
    listed.write_text(md5 + "\n")
    run_cli("lists", "import", str(listed), "--list", "cli-list", "--db", store_url, env=env)
    _watch(base, headers, queries, ["block", "block"], time.monotonic())

    run_cli("lists", "disable", "api-list", "--db", store_url, env=env)
    _watch(base, headers, queries, ["none", "block"], time.monotonic())

    metrics = httpx.get(f"{base}/metrics", headers=headers).text
    assert 'safeguard_http_requests_total{method="POST",route="/v1/match/hashes",status="200"}' in (
        metrics
    )
