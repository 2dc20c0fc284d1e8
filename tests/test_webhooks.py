"""Signed webhooks to a real receiver on loopback: signature, retries, and nothing lost."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from safeguard.errors import UsageError
from safeguard.service.webhooks import SIGNATURE_HEADER, WebhookSender, sign, verify_signature
from safeguard.store.webhook_targets import check_target
from safeguard.store.webhooks import WebhookStore

from conftest import free_port, service_settings

CREDENTIALED = "http://hooks:s3cret@127.0.0.1:9/in"


class Receiver:
    """A webhook endpoint: answers with the status codes it is given, then 200."""

    def __init__(self, port: int = 0, failures: list[int] | None = None) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.failures = list(failures or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.failures.pop(0) if receiver.failures else 200
                if status == 200:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _hit(service, value: str) -> None:
    answer = service.call(
        "POST", "/v1/match/hashes", "match", json={"hashes": [{"signal": "md5", "value": value}]}
    )
    assert answer.json()["results"][0]["action"] == "block"


@pytest.fixture
def listed(service):
    service.call("POST", "/v1/lists", "writer", json={"name": "graded"})
    values = [f"{i:032x}" for i in range(1, 6)]
    service.call(
        "POST",
        "/v1/lists/graded/entries",
        "writer",
        json={"entries": [{"signal": "md5", "value": v, "category": "A"} for v in values]},
    )
    return values


def test_signatures_verify_and_refuse_tampering_and_replays():
    body = b'{"event":"match"}'
    now = int(time.time())
    header = sign("s3cret", body, now)
    assert verify_signature("s3cret", header, body)
    assert not verify_signature("other", header, body)
    assert not verify_signature("s3cret", header, body + b" ")
    assert not verify_signature("s3cret", sign("s3cret", body, now - 3600), body)
    assert not verify_signature("s3cret", "garbage", body)


def test_match_events_arrive_signed(service, listed):
    receiver = Receiver()
    try:
        made = service.call(
            "POST", "/v1/webhooks", "admin", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}
        )
        assert made.status_code == 201
        secret = made.json()["secret"]
        _hit(service, listed[0])
        service.call(  # no hit: no event
            "POST",
            "/v1/match/hashes",
            "match",
            json={"hashes": [{"signal": "md5", "value": "f" * 32}]},
        )
        _wait_for(lambda: len(receiver.received) == 1)
        headers, body = receiver.received[0]
        assert verify_signature(secret, headers[SIGNATURE_HEADER], body)
        event = json.loads(body)
        assert event["event"] == "match" and event["key"] == "match"
        assert event["hits"][0]["value"] == listed[0]
        assert event["hits"][0]["matches"][0]["category"] == "A"
        assert isinstance(event["audit_seq"], int)
        listed_hooks = service.call("GET", "/v1/webhooks", "admin").json()
        assert [hook["url"] for hook in listed_hooks] == [f"http://127.0.0.1:{receiver.port}/hook"]
        assert "secret" not in listed_hooks[0]
    finally:
        receiver.close()


def test_failed_deliveries_are_retried_with_every_attempt_recorded(service, listed):
    receiver = Receiver(failures=[500, 503])
    try:
        service.call(
            "POST", "/v1/webhooks", "admin", json={"url": f"http://127.0.0.1:{receiver.port}/"}
        )
        _hit(service, listed[0])
        hooks = service.app().state.webhooks
        # The receiver answers before the sender writes the outcome down: wait for the record.
        _wait_for(lambda: [d.status for d in hooks.deliveries()] == ["delivered"])
        (delivery,) = hooks.deliveries()
        assert len(receiver.received) == 1 and delivery.attempts == 3
        assert hooks.attempts(delivery.id) == [(500, "HTTP 500"), (503, "HTTP 503"), (200, None)]
    finally:
        receiver.close()


def test_a_receiver_that_is_down_loses_nothing(service, listed):
    port = free_port()  # nothing listens here yet
    service.call("POST", "/v1/webhooks", "admin", json={"url": f"http://127.0.0.1:{port}/"})
    for value in listed:
        _hit(service, value)
    hooks = service.app().state.webhooks
    _wait_for(lambda: all(d.attempts >= 2 for d in hooks.deliveries()))
    assert {d.status for d in hooks.deliveries()} == {"pending"}
    assert all("ConnectError" in (d.last_error or "") for d in hooks.deliveries())

    receiver = Receiver(port=port)  # the receiver comes back
    try:
        _wait_for(lambda: {d.status for d in hooks.deliveries()} == {"delivered"})
        values = sorted(json.loads(body)["hits"][0]["value"] for _, body in receiver.received)
        assert values == sorted(listed)
        assert hooks.pending_count() == 0
    finally:
        receiver.close()


def test_webhook_management_errors(service):
    assert service.call("POST", "/v1/webhooks", "admin", json={"url": "ftp://x"}).status_code == 422
    assert service.call("DELETE", "/v1/webhooks/42", "admin").status_code == 404
    made = service.call("POST", "/v1/webhooks", "admin", json={"url": "http://127.0.0.1:9/"})
    assert service.call("DELETE", f"/v1/webhooks/{made.json()['id']}", "admin").status_code == 204
    assert service.call("GET", "/v1/webhooks", "admin").json() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1/hook",  # shorthand a resolver accepts
        "http://0x7f000001/hook",  # hex
        "http://2130706433/hook",  # one decimal number
        "http://017700000001/hook",  # octal
        "http://localhost:8000/hook",  # a name that resolves to loopback
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_webhooks_into_the_services_own_network_are_refused(url):
    with pytest.raises(UsageError, match="not a public address"):
        check_target(url, allow_private=False)
    check_target(url, allow_private=True)  # a deployment whose receivers live inside


def test_public_webhook_targets_pass_and_other_schemes_never_do():
    check_target("https://93.184.215.14/hook", allow_private=False)
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost"):
        with pytest.raises(UsageError, match="http"):
            check_target(url, allow_private=True)


def test_the_api_refuses_private_targets_and_never_shows_a_password(service):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app

    strict = replace(service_settings(service.store_url), allow_private_webhooks=False)
    admin = {"Authorization": f"Bearer {service.tokens['admin']}"}
    with TestClient(create_app(strict)) as client:
        refused = client.post("/v1/webhooks", json={"url": "http://0x7f000001/"}, headers=admin)
        assert refused.status_code == 422 and "not a public address" in refused.json()["detail"]
        assert client.get("/v1/webhooks", headers=admin).json() == []

    made = service.call("POST", "/v1/webhooks", "admin", json={"url": CREDENTIALED})
    assert made.status_code == 201 and made.json()["url"] == "http://hooks:***@127.0.0.1:9/in"
    listed = service.call("GET", "/v1/webhooks", "admin").json()
    assert [hook["url"] for hook in listed] == ["http://hooks:***@127.0.0.1:9/in"]
    service.app().state.recorder.flush(close_window=True)
    records = [r.to_json() for r in service.app().state.recorder.audit.records()]
    added = [r for r in records if r["event"] == "webhook.add"]
    assert added and "s3cret" not in json.dumps(records)


def test_a_target_is_checked_again_before_each_delivery(store):
    """Allowed when added, refused when sent: a name re-pointed, or the setting changed."""
    receiver = Receiver()
    hooks = WebhookStore(store.engine)
    try:
        hooks.add(f"http://127.0.0.1:{receiver.port}/", allow_private=True)
        with store.engine.begin() as connection:
            hooks.enqueue_in(connection, "match", [{"event": "match"}])
        sender = WebhookSender(
            hooks, poll=0.05, retry_base=60, retry_max=60, expiry=3600, timeout=2
        )
        assert sender.send_due() == 1
        sender.stop()
        (delivery,) = hooks.deliveries()
        assert delivery.status == "pending" and "not a public address" in delivery.last_error
        assert receiver.received == []
    finally:
        receiver.close()


def test_a_hit_that_leads_to_nothing_is_answered_not_announced(service):
    """A VICS 0 (non-pertinent) hit: the caller sees it, no webhook hears of it."""
    service.call("POST", "/v1/lists", "writer", json={"name": "vics", "scheme": "vics"})
    values = {grade: f"{int(grade) + 7:032x}" for grade in ("0", "1")}
    service.call("POST", "/v1/lists/vics/entries", "writer", json={"entries": [
        {"signal": "md5", "value": v, "category": g} for g, v in values.items()]})  # fmt: skip
    receiver = Receiver()
    try:
        service.call("POST", "/v1/webhooks", "admin",
                     json={"url": f"http://127.0.0.1:{receiver.port}/hook"})  # fmt: skip
        for grade in ("0", "1"):
            answer = service.call(
                "POST",
                "/v1/match/hashes",
                "match",
                json={"hashes": [{"signal": "md5", "value": values[grade]}]},
            )
            (result,) = answer.json()["results"]  # fmt: skip
            assert result["matches"][0]["category"] == grade
            assert result["action"] == ("none" if grade == "0" else "block")
        _wait_for(lambda: receiver.received)
        time.sleep(0.3)  # time enough for a second delivery, if one were queued
        (event,) = [json.loads(body) for _, body in receiver.received]
        assert event["hits"][0]["value"] == values["1"]
    finally:
        receiver.close()
