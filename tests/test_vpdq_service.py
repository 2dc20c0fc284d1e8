"""Videos through the match service: a video upload hashed with vPDQ and matched, vPDQ
frame lists looked up by hash, video entries added through the API, and a video over
the length cap refused with 413 (the worker lives on), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from safeguard.signals import VPDQ

from conftest import require_shared, service_settings
from video_builders import encode_video, moving_picture

CLIP = "chair-20-sd-bar"


@pytest.fixture
def video_list(service):
    hashes = require_shared("pdq-reference", "upstream", "vpdq", "sample-hashes")
    frames = VPDQ.to_text(VPDQ.parse((hashes / f"{CLIP}.txt").read_text()))
    made = service.call("POST", "/v1/lists", "admin", json={"name": "videos", "scheme": "uk"})
    assert made.status_code == 201, made.text
    added = service.call("POST", "/v1/lists/videos/entries", "writer", json={
        "entries": [{"signal": "vpdq", "value": frames, "category": "A", "external_id": CLIP}],
    })  # fmt: skip
    assert added.status_code == 200 and added.json()["imported"] == 1, added.text
    return frames


def test_a_video_upload_is_matched_by_its_frames(service, video_list):
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    answer = service.call("POST", "/v1/match", "match",
                          content=(videos / f"{CLIP}.mp4").read_bytes())  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["hashes"]["type"] == "video/mp4" and body["action"] == "block"
    (hit,) = body["matches"]
    assert (hit["list"], hit["signal"], hit["category"], hit["distance"]) == (
        "videos", "vpdq", "A", 0)  # fmt: skip


def test_vpdq_frame_lists_are_looked_up_like_any_hash(service, video_list):
    clip = ";".join(video_list.split(";")[100:300])  # a part cut from the middle
    answer = service.call("POST", "/v1/match/hashes", "match",
                          json={"hashes": [{"signal": "vpdq", "value": clip}]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["action"] == "block" and result["matches"][0]["signal"] == "vpdq"
    broken = service.call("POST", "/v1/match/hashes", "match",
                          json={"hashes": [{"signal": "vpdq", "value": "1,2,3" * 20}]})  # fmt: skip
    assert broken.status_code == 422 and "vpdq line 1" in broken.json()["detail"]


def test_a_video_over_the_length_cap_is_refused_and_the_worker_lives_on(service):
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app

    settings = replace(service_settings(service.store_url), max_video_seconds=5.0)
    ten_seconds = encode_video(moving_picture(40, 64, 48), rate=4)
    headers = {"Authorization": f"Bearer {service.tokens['match']}"}
    with TestClient(create_app(settings)) as client:
        refused = client.post("/v1/match", content=ten_seconds, headers=headers)
        assert refused.status_code == 413 and "5-second cap" in refused.json()["detail"]
        short = encode_video(moving_picture(12, 64, 48), rate=4)  # 3 s: within the cap
        assert client.post("/v1/match", content=short, headers=headers).status_code == 200
