"""The match service's routes: happy paths and every error path, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os

import pytest

from safeguard.store.audit import AuditLog
from safeguard.store.database import create_store_engine, database_url

from conftest import png_declaring


def _flip_bits(hex_value: str, count: int) -> str:
    """The PDQ hash at Hamming distance ``count`` from ``hex_value``."""
    value = bytearray(bytes.fromhex(hex_value))
    for bit in range(count):
        value[bit // 8] ^= 1 << (bit % 8)
    return value.hex()


def _upload(service, data: bytes, key: str = "match", **kwargs):
    return service.call("POST", "/v1/match", key, content=data, **kwargs)


def _audit(service) -> list[dict]:
    engine = create_store_engine(database_url(service.store_url))
    try:
        service.app().state.recorder.flush(close_window=True)
        return [record.to_json() for record in AuditLog(engine).records()]
    finally:
        engine.dispose()


@pytest.fixture
def graded(service, photo):
    """A UK list holding the photo's exact hash (A) and its PDQ hash (B)."""
    answer = _upload(service, photo.read_bytes()).json()
    hashes = answer["hashes"]
    created = service.call(
        "POST", "/v1/lists", "writer", json={"name": "uk-graded", "review_threshold": 60}
    )
    assert created.status_code == 201, created.text
    added = service.call(
        "POST",
        "/v1/lists/uk-graded/entries",
        "writer",
        json={
            "entries": [
                {"signal": "sha256", "value": hashes["sha256"], "category": "A"},
                {"signal": "pdq", "value": hashes["pdq"], "category": "B"},
            ]
        },
    )
    assert added.status_code == 200 and added.json()["imported"] == 2, added.text
    return hashes


def test_upload_is_hashed_exactly_as_the_hash_command(service, photo):
    from conftest import jsonl, run_cli

    raw = _upload(service, photo.read_bytes())
    multipart = service.call(
        "POST", "/v1/match", "match", files={"file": ("holiday.jpg", photo.read_bytes())}
    )
    assert raw.status_code == multipart.status_code == 200
    (cli,) = jsonl(run_cli("hash", str(photo)).stdout)
    assert raw.json()["hashes"] == {**cli, "path": None}
    assert multipart.json()["hashes"] == {**cli, "path": "holiday.jpg"}
    assert raw.json()["matches"] == [] and raw.json()["action"] == "none"


def test_upload_and_hash_lookups_match_with_the_lists_action(service, photo, graded):
    answer = _upload(service, photo.read_bytes()).json()
    assert answer["action"] == "block"
    found = {(m["signal"], m["category"], m["distance"]) for m in answer["matches"]}
    assert found == {("sha256", "A", 0), ("pdq", "B", 0)}
    assert all(m["list"] == "uk-graded" and m["scheme"] == "uk" for m in answer["matches"])

    lookup = service.call(
        "POST",
        "/v1/match/hashes",
        "match",
        json={
            "hashes": [
                {"signal": "pdq", "value": _flip_bits(graded["pdq"], 10)},
                {"signal": "sha256", "value": graded["sha256"].upper()},
                {"signal": "md5", "value": graded["md5"]},
            ]
        },
    ).json()["results"]
    assert [r["action"] for r in lookup] == ["block", "block", "none"]
    assert lookup[0]["matches"][0]["distance"] == 10
    assert lookup[1]["value"] == graded["sha256"]  # answered in canonical (lower) case


def test_review_band_and_the_strongest_action(service, graded):
    near = _flip_bits(graded["pdq"], 45)  # above 31, within the review threshold of 60
    far = _flip_bits(graded["pdq"], 70)
    results = service.call(
        "POST",
        "/v1/match/hashes",
        "match",
        json={"hashes": [{"signal": "pdq", "value": near}, {"signal": "pdq", "value": far}]},
    ).json()["results"]
    assert results[0]["action"] == "review" and results[0]["matches"][0]["distance"] == 45
    assert results[1] == {"signal": "pdq", "value": far, "matches": [], "action": "none"}

    # A second list that quarantines at 50: review loses to quarantine.
    service.call(
        "POST",
        "/v1/lists",
        "writer",
        json={"name": "platform", "action": "quarantine", "pdq_threshold": 50},
    )
    service.call(
        "POST",
        "/v1/lists/platform/entries",
        "writer",
        json={"entries": [{"signal": "pdq", "value": graded["pdq"]}]},
    )
    again = service.call(
        "POST", "/v1/match/hashes", "match", json={"hashes": [{"signal": "pdq", "value": near}]}
    ).json()["results"][0]
    assert again["action"] == "quarantine"
    assert [m["action"] for m in again["matches"]] == ["quarantine", "review"]

    changed = service.call("PATCH", "/v1/lists/platform", "writer", json={"action": "report"})
    assert changed.json()["action"] == "report"
    third = service.call(
        "POST", "/v1/match/hashes", "match", json={"hashes": [{"signal": "pdq", "value": near}]}
    ).json()["results"][0]
    assert third["action"] == "report"


def test_each_key_sees_only_its_fields(service, photo, graded):
    hidden = _upload(service, photo.read_bytes(), key="action-only").json()
    assert hidden["action"] == "block" and hidden["matches"] is None
    partial = _upload(service, photo.read_bytes(), key="no-category").json()
    assert partial["matches"] and all(
        set(m) == {"action", "list", "signal", "distance"} for m in partial["matches"]
    )


def test_disabling_an_entry_or_a_list_stops_matches(service, photo, graded):
    listed = service.call("GET", "/v1/lists/uk-graded", "reader").json()
    assert listed["entries"] == {"pdq": 1, "sha256": 1}
    first = _upload(service, photo.read_bytes()).json()["matches"]
    sha_entry = next(m["entry"] for m in first if m["signal"] == "sha256")
    gone = service.call("POST", f"/v1/lists/uk-graded/entries/{sha_entry}/disable", "writer")
    assert gone.status_code == 204
    assert {m["signal"] for m in _upload(service, photo.read_bytes()).json()["matches"]} == {"pdq"}

    off = service.call("PATCH", "/v1/lists/uk-graded", "writer", json={"enabled": False})
    assert off.json()["enabled"] is False
    assert _upload(service, photo.read_bytes()).json()["action"] == "none"
    missing = service.call("POST", "/v1/lists/uk-graded/entries/999999/disable", "writer")
    assert missing.status_code == 404


def test_list_lifecycle_and_its_errors(service):
    assert service.call("GET", "/v1/lists", "reader").json() == []
    made = service.call("POST", "/v1/lists", "writer", json={"name": "vics-list", "scheme": "vics"})
    assert made.status_code == 201 and made.json()["action"] == "block"
    assert (
        service.call("POST", "/v1/lists", "writer", json={"name": "vics-list"}).status_code == 409
    )
    bad_band = service.call(
        "POST",
        "/v1/lists",
        "writer",
        json={"name": "x", "pdq_threshold": 40, "review_threshold": 30},
    )
    assert bad_band.status_code == 422
    assert service.call("GET", "/v1/lists/nope", "reader").status_code == 404

    rejected = service.call(
        "POST",
        "/v1/lists/vics-list/entries",
        "writer",
        json={
            "entries": [
                {"signal": "md5", "value": "a" * 32, "category": "1"},
                {"signal": "md5", "value": "xyz"},
                {"signal": "md5", "value": "b" * 32, "category": "Z"},
            ]
        },
    )
    assert rejected.status_code == 422
    assert [bad["record"] for bad in rejected.json()["bad"]] == [2, 3]
    assert service.call("GET", "/v1/lists/vics-list", "reader").json()["entries"] == {}

    skipped = service.call(
        "POST",
        "/v1/lists/vics-list/entries",
        "writer",
        json={
            "entries": [{"signal": "md5", "value": "a" * 32}, {"signal": "sha1", "value": "1"}],
            "skip_bad": True,
        },
    )
    assert skipped.json()["imported"] == 1 and len(skipped.json()["bad"]) == 1
    assert service.call("DELETE", "/v1/lists/vics-list", "writer").status_code == 204
    assert service.call("DELETE", "/v1/lists/vics-list", "writer").status_code == 404

    events = [record["event"] for record in _audit(service)]
    assert events.count("list.create") == 1 and "list.delete" in events
    assert "entries.add" in events


def test_hash_lookup_validation(service):
    def lookup(hashes):
        return service.call("POST", "/v1/match/hashes", "match", json={"hashes": hashes})

    assert lookup([{"signal": "md5", "value": "g" * 32}]).status_code == 422
    assert lookup([{"signal": "sha1", "value": "a" * 32}]).status_code == 422  # wrong length
    assert lookup([{"signal": "phash", "value": "a" * 32}]).status_code == 422
    assert lookup([]).status_code == 422
    many = [{"signal": "md5", "value": f"{i:032x}"} for i in range(1001)]
    assert lookup(many).status_code == 422
    assert len(lookup(many[:1000]).json()["results"]) == 1000


def test_auth_errors(service):
    plain = {"hashes": [{"signal": "md5", "value": "a" * 32}]}
    assert service.call("POST", "/v1/match/hashes", None, json=plain).status_code == 401
    bad = service.call(
        "POST",
        "/v1/match/hashes",
        None,
        json=plain,
        headers={"Authorization": "Bearer sgk_000000000000_forged"},
    )
    assert bad.status_code == 401 and bad.json()["detail"] == "unknown API key"
    assert service.call("GET", "/v1/lists", "match").status_code == 403
    assert service.call("POST", "/v1/lists", "reader", json={"name": "x"}).status_code == 403
    assert service.call("GET", "/v1/webhooks", "writer").status_code == 403
    assert service.call("GET", "/metrics", "match").status_code == 403

    from safeguard.store.keys import KeyStore

    engine = create_store_engine(database_url(service.store_url))
    KeyStore(engine).revoke("reader")
    engine.dispose()
    import time

    time.sleep(1.1)  # the key cache holds a key for a second
    revoked = service.call("GET", "/v1/lists", "reader")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    denied = [r for r in _audit(service) if r["event"] == "auth.denied"]
    assert sum(r["detail"]["count"] for r in denied) == 7  # every refusal above, counted
    assert all("sgk_" not in json.dumps(r) for r in denied)


def test_rate_limit_answers_429_with_retry_after(service):
    body = {"hashes": [{"signal": "md5", "value": "a" * 32}]}
    answers = [service.call("POST", "/v1/match/hashes", "slow", json=body) for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes[:2] == [200, 200] and 429 in codes
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    # Other keys are not affected.
    assert service.call("POST", "/v1/match/hashes", "match", json=body).status_code == 200


def test_oversized_and_hostile_uploads_are_refused_and_the_worker_lives_on(service, photo):
    too_big = _upload(service, b"\xff" * (5 << 20))
    assert too_big.status_code == 413

    def chunks():
        for _ in range(6):
            yield b"\0" * (1 << 20)

    assert _upload(service, chunks()).status_code == 413  # no Content-Length: counted
    jpeg = photo.read_bytes()
    bomb = _upload(service, png_declaring(100_000, 100_000))  # refused before any pixel
    assert bomb.status_code == 413 and "too large to decode" in bomb.json()["detail"]
    truncated = _upload(service, jpeg[: len(jpeg) // 3])
    assert truncated.status_code == 422, truncated.text
    assert "cannot hash this upload" in truncated.json()["detail"]
    renamed = service.call("POST", "/v1/match", "match", files={"file": ("a.jpg", b"\x00" * 999)})
    assert renamed.status_code == 422
    assert service.call("POST", "/v1/match", "match", content=b"").status_code == 422
    assert (
        service.call("POST", "/v1/match", "match", files={"other": ("a.jpg", jpeg)}).status_code
        == 422
    )
    assert _upload(service, jpeg).status_code == 200  # still serving


def test_health_and_metrics(service, graded):
    # Anyone may ask whether a worker lives; what it holds is for the metrics key.
    assert service.call("GET", "/v1/health", None).json() == {"alive": True}
    ready = service.call("GET", "/v1/health/ready", None)
    assert ready.status_code == 200 and ready.json() == {"ready": True, "reason": None}
    assert ready.headers["X-Safeguard-Worker"] != str(os.getpid())
    scraped = service.call("GET", "/metrics", "metrics")
    assert scraped.status_code == 200
    text = scraped.text
    assert 'safeguard_http_requests_total{method="POST",route="/v1/match",status="200"}' in text
    assert "safeguard_http_request_duration_seconds_bucket" in text
    assert 'safeguard_match_decisions_total{action="none",endpoint="upload"}' in text
    assert "safeguard_index_hashes 1.0" in text and "safeguard_index_age_seconds" in text


def test_readiness_fails_while_the_index_cannot_follow_the_store(service, monkeypatch):
    index = service.app().state.index

    def unreachable():
        raise ConnectionError("store down")

    monkeypatch.setattr(index, "refresh", unreachable)
    index.refreshed_at = 0.0
    answer = service.call("GET", "/v1/health/ready", None)
    assert answer.status_code == 503 and not answer.json()["ready"]
    assert "cannot follow the store" in answer.json()["reason"]
    assert service.call("GET", "/v1/health", None).status_code == 200  # alive all the same


def test_every_match_decision_is_audited_with_who_and_where(service, photo, graded):
    _upload(service, photo.read_bytes(), key="action-only")
    _upload(service, b"not a picture")
    decisions = [r for r in _audit(service) if r["event"] == "match.decision"]
    hit = next(r for r in decisions if r["actor"].startswith("key:action-only"))
    assert hit["origin"] == "testclient" and hit["detail"]["action"] == "block"
    assert {m["category"] for m in hit["detail"]["matches"]} == {"A", "B"}  # full, for the record
    assert any(r["detail"]["action"] == "none" for r in decisions)
    engine = create_store_engine(database_url(service.store_url))
    assert AuditLog(engine).verify().ok
    engine.dispose()


def test_list_thresholds_are_named_by_signal(service):
    made = service.call(
        "POST",
        "/v1/lists",
        "writer",
        json={"name": "videos", "thresholds": {"vpdq": {"threshold": 24}}, "pdq_threshold": 20},
    )
    assert made.status_code == 201
    assert made.json()["thresholds"] == {
        "pdq": {"threshold": 20, "review_threshold": None},
        "vpdq": {"threshold": 24, "review_threshold": None},
    }
    assert made.json()["pdq_threshold"] == 20
    changed = service.call(
        "PATCH",
        "/v1/lists/videos",
        "writer",
        json={"thresholds": {"pdq": {"review_threshold": 50}}},
    )
    assert changed.json()["thresholds"]["pdq"] == {"threshold": 20, "review_threshold": 50}
    assert changed.json()["review_threshold"] == 50
    for refused in (
        {"thresholds": {"md5": {"threshold": 1}}},  # exact: no distance
        {"thresholds": {"vpdq": {"review_threshold": 40}}},  # no review band for videos
        {"thresholds": {"shazam": {"threshold": 1}}},  # no such signal
    ):
        answer = service.call("PATCH", "/v1/lists/videos", "writer", json=refused)
        assert answer.status_code == 422, refused
