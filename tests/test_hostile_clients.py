"""The match service against hostile clients: bounded cost, a complete audit log, no holes.

The in-process tests use the real application on both store backends; the
connection-level ones run a real ``safeguard serve`` (uvicorn and its protocol)
and speak raw HTTP over loopback sockets, as a hostile client would.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import time
from dataclasses import replace

import pytest
from PIL import Image

from safeguard.store import ListSpec, Store
from safeguard.store.audit import AuditEvent, AuditLog
from safeguard.store.keys import KeyStore, Scope

from conftest import png_declaring, service_settings
from serving import serving

UNADDRESSABLE = ["a/b", "..", ".", " leading", "trailing ", "back\\slash", "bell\x07", "x" * 201]


def _records(store_url: str, event: str) -> list[dict]:
    store = Store.open(store_url)
    try:
        return [r.to_json() for r in AuditLog(store.engine).records() if r.event == event]
    finally:
        store.close()


# -- names, bodies and the audit log ----------------------------------------------------


@pytest.mark.parametrize("name", UNADDRESSABLE)
def test_list_names_that_could_never_be_addressed_are_refused(service, name):
    made = service.call("POST", "/v1/lists", "writer", json={"name": name})
    assert made.status_code == 422, made.text
    assert service.call("GET", "/v1/lists", "reader").json() == []


def test_an_ordinary_name_with_spaces_and_accents_is_addressable(service):
    name = "Liste nationale (catégorie A) 2026"
    assert service.call("POST", "/v1/lists", "writer", json={"name": name}).status_code == 201
    assert service.call("GET", f"/v1/lists/{name}", "reader").json()["name"] == name


def test_multipart_over_its_limits_is_a_422_not_a_400(service, photo):
    jpeg = photo.read_bytes()
    two_files = {"file": ("a.jpg", jpeg), "another": ("b.jpg", jpeg)}
    many_fields = {f"field{i}": str(i) for i in range(20)}
    for files, data in ((two_files, None), ({"file": ("a.jpg", jpeg)}, many_fields)):
        refused = service.call("POST", "/v1/match", "match", files=files, data=data)
        assert refused.status_code == 422, refused.text
        assert "multipart" in refused.json()["detail"]


def test_a_change_and_its_audit_record_commit_together(store_url):
    """An audit record that cannot be written takes its change with it (no unaudited change)."""
    store = Store.open(store_url)
    try:

        def failing(_result) -> AuditEvent:
            raise RuntimeError("the process dies between the change and its record")

        with pytest.raises(RuntimeError):
            store.create_list("graded", ListSpec(), audit=failing)
        assert store.lists() == []
        with pytest.raises(RuntimeError):
            KeyStore(store.engine).create("ops", [Scope.ADMIN], audit=failing)
        assert KeyStore(store.engine).all() == []
        event = AuditEvent("cli:examiner", "cli@lab", "list.create", {"list": "graded"})
        store.create_list("graded", ListSpec(), audit=lambda _: event)
        assert [r["detail"] for r in _records(store_url, "list.create")] == [{"list": "graded"}]
    finally:
        store.close()


def test_refusals_are_counted_per_origin_not_written_one_by_one(service):
    body = {"hashes": [{"signal": "md5", "value": "a" * 32}]}
    for _ in range(300):
        assert service.call("POST", "/v1/match/hashes", None, json=body).status_code == 401
    forged = {"Authorization": "Bearer sgk_0123456789ab_forged"}
    for _ in range(50):
        service.call("GET", "/v1/lists", None, headers=forged)
    service.app().state.recorder.flush(close_window=True)
    denied = {r["actor"]: r["detail"] for r in _records(service.store_url, "auth.denied")}
    assert set(denied) == {"anonymous", "key-id:0123456789ab"}
    assert denied["anonymous"]["count"] == 300 and denied["anonymous"]["paths"] == [
        "/v1/match/hashes"
    ]
    assert denied["key-id:0123456789ab"]["count"] == 50
    assert "forged" not in json.dumps(denied)


# -- uploads: the decode is bounded --------------------------------------------------------


def _encoded(size: tuple[int, int], fmt: str, **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, fmt, **options)
    return out.getvalue()


def test_uploads_that_would_decode_past_the_pixel_cap_are_413(service):
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app

    capped = replace(service_settings(service.store_url), max_upload_pixels=1_000_000)
    match = {"Authorization": f"Bearer {service.tokens['match']}"}
    lossless = _encoded((1300, 1000), "WEBP", lossless=True)  # 1.3 MP: no reduced decode
    phone = _encoded((4000, 3000), "JPEG", quality=80)  # 12 MP, decoded at 1/4: 0.75 MP
    with TestClient(create_app(capped)) as client:
        refused = client.post("/v1/match", content=lossless, headers=match)
        assert refused.status_code == 413, refused.text
        assert "1,300,000 pixels" in refused.json()["detail"]
        assert client.post("/v1/match", content=phone, headers=match).status_code == 200
        bomb = client.post("/v1/match", content=png_declaring(50_000, 50_000), headers=match)
        assert bomb.status_code == 413
    # Under the default cap the same picture is hashed.
    assert service.call("POST", "/v1/match", "match", content=lossless).status_code == 200


# -- connections: a real server, raw sockets ---------------------------------------------------


LIMITS = {
    "SAFEGUARD_MAX_HEADER_BYTES": "8192",
    "SAFEGUARD_HEADER_TIMEOUT": "1",
    "SAFEGUARD_BODY_TIMEOUT": "1",
    "SAFEGUARD_MAX_CONNECTIONS": "8",
}


@pytest.fixture
def server(tmp_path):
    url = str(tmp_path / "store.db")
    store = Store.open(url)
    _, token = KeyStore(store.engine).create("match", [Scope.MATCH])
    store.close()
    with serving(url, env=LIMITS) as base:
        yield int(base.rsplit(":", 1)[1]), token, url


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _answer(connection: socket.socket) -> tuple[int, bytes]:
    """The status and whatever arrived until the server closed the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1") else 0
    return status, received


def _request_head(path: str, extra: str = "", length: int | None = None) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
    if length is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
    return (head + "\r\n").encode()


@pytest.mark.slow
def test_a_huge_header_is_refused_at_the_cap_without_a_key(server):
    port, _, _ = server
    connection = _connect(port)
    huge = "X-Padding: " + "a" * (4 << 20) + "\r\n"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused mid-send
        connection.sendall(_request_head("/v1/match/hashes", huge))
    status, answer = _answer(connection)
    assert status == 431, answer[:200]


@pytest.mark.slow
def test_headers_and_bodies_that_trickle_are_cut_off(server):
    port, token, _ = server
    silent = _connect(port)  # connects and never sends a byte
    trickle = _connect(port)
    trickle.sendall(b"POST /v1/match/hashes HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert _answer(silent)[0] == 408 and _answer(trickle)[0] == 408
    assert time.monotonic() - started < 8  # the 1 s deadline, with room for a slow machine

    stalled = _connect(port)
    auth = f"Authorization: Bearer {token}\r\n"
    stalled.sendall(_request_head("/v1/match/hashes", auth, length=1000) + b'{"hashes": [')
    status, _ = _answer(stalled)
    assert status == 408


@pytest.mark.slow
def test_a_request_without_a_live_key_is_refused_before_its_body(server):
    port, token, _ = server
    for extra in ("", "Authorization: Bearer sgk_0123456789ab_forged\r\n"):
        connection = _connect(port)
        # 19 MiB announced, not one byte of it sent: the answer must not wait for it.
        connection.sendall(_request_head("/v1/match/hashes", extra, length=19 << 20))
        status, answer = _answer(connection)
        assert status == 401 and b"connection: close" in answer.lower()
    good = _connect(port)
    body = json.dumps({"hashes": [{"signal": "md5", "value": "a" * 32}]}).encode()
    auth = f"Authorization: Bearer {token}\r\nConnection: close\r\n"
    good.sendall(_request_head("/v1/match/hashes", auth, length=len(body)) + body)
    assert _answer(good)[0] == 200


@pytest.mark.slow
def test_connections_past_the_worker_limit_are_answered_503(server):
    port, token, _ = server
    held = [_connect(port) for _ in range(8)]
    try:
        time.sleep(0.2)
        extra = f"Authorization: Bearer {token}\r\nConnection: close\r\n"
        connection = _connect(port)
        connection.sendall(f"GET /v1/health HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
        assert _answer(connection)[0] == 503
    finally:
        for connection in held:
            connection.close()
