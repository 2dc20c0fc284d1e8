"""Signed webhooks to a real receiver on loopback: signature, retries, and nothing lost."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from safeguard.service.webhooks import SIGNATURE_HEADER, sign, verify_signature

from conftest import free_port


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
        _wait_for(lambda: len(receiver.received) == 1)
        hooks = service.app().state.webhooks
        (delivery,) = hooks.deliveries()
        assert delivery.status == "delivered" and delivery.attempts == 3
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
        _wait_for(lambda: len(receiver.received) == len(listed))
        values = sorted(json.loads(body)["hits"][0]["value"] for _, body in receiver.received)
        assert values == sorted(listed)
        assert {d.status for d in hooks.deliveries()} == {"delivered"}
        assert hooks.pending_count() == 0
    finally:
        receiver.close()


def test_webhook_management_errors(service):
    assert service.call("POST", "/v1/webhooks", "admin", json={"url": "ftp://x"}).status_code == 422
    assert service.call("DELETE", "/v1/webhooks/42", "admin").status_code == 404
    made = service.call("POST", "/v1/webhooks", "admin", json={"url": "http://127.0.0.1:9/"})
    assert service.call("DELETE", f"/v1/webhooks/{made.json()['id']}", "admin").status_code == 204
    assert service.call("GET", "/v1/webhooks", "admin").json() == []
