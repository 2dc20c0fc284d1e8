"""Behind a reverse proxy (issue 16): the client's address comes from X-Forwarded-For only
when the connection comes from a configured proxy, and the audit log records that client;
without one, or from anywhere else, a forwarded address is never believed."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from safeguard.store import Store
from safeguard.store.keys import KeyStore, Scope

from conftest import run_cli
from serving import serving

PROXY = "127.0.0.2"  # a loopback address of its own: the proxy's connections come from it


def _origins(db: str, expected: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:  # the service writes its audit records in batches
        listed = run_cli("audit", "ls", "--db", db).stdout.splitlines()
        made = [r["origin"] for r in map(json.loads, listed) if r["event"] == "list.create"]
        if len(made) >= expected or time.monotonic() > deadline:
            return made
        time.sleep(0.2)


def _create(base: str, token: str, name: str, forwarded: str, source: str | None) -> None:
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(transport=transport) as client:
        answer = client.post(
            f"{base}/v1/lists",
            json={"name": name},
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": forwarded},
        )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("trusted", [True, False])
@pytest.mark.slow
def test_forwarded_addresses_are_believed_only_from_a_trusted_proxy(tmp_path, trusted):
    db = str(tmp_path / "store.db")
    run_cli("init", "--db", db)
    store = Store.open(db)
    _, token = KeyStore(store.engine).create("operator", [Scope.ADMIN])
    store.close()
    options = ("--trusted-proxy", PROXY) if trusted else ()
    with serving(db, options=options) as base:
        # Through the proxy: the client it names, after any addresses the client made up.
        _create(base, token, "through-proxy", "198.51.100.9, 203.0.113.7", PROXY)
        # Straight from elsewhere on this machine, naming an address of its choice.
        _create(base, token, "direct", "198.51.100.9", "127.0.0.1")
        origins = _origins(db, 2)
    assert origins == (["203.0.113.7", "127.0.0.1"] if trusted else [PROXY, "127.0.0.1"])


@pytest.mark.slow
def test_a_trusted_proxy_must_be_an_address_or_a_network(tmp_path):
    db = str(tmp_path / "store.db")
    run_cli("init", "--db", db)
    for wrong in ("proxy.example", "0.0.0.0/0"):
        refused = run_cli("serve", "--trusted-proxy", wrong, "--db", db, check=False)
        assert refused.returncode != 0 and "--trusted-proxy" in refused.stderr
