"""Query-side views (issue 15, first tier): a padded, letterboxed or captioned copy of a
known picture matches through a view of itself with the margin cut away, labelled with
the view, sent to review unless its list chose an action, through match, scan, rematch
and the service; and no view is made of a picture with no margin."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from safeguard.media.geometry import views
from safeguard.media.options import Variants
from safeguard.store import Store

from conftest import init_store, jsonl, require_shared, run_cli

PHOTO = ("coco2017", "val2017", "000000000139.jpg")


def _padded(photo, target, fraction: float = 0.2, colour=(255, 255, 255)) -> None:
    with Image.open(photo) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    canvas = Image.new("RGB", (int(width * (1 + 2 * fraction)), int(height * (1 + 2 * fraction))),
                       colour)  # fmt: skip
    canvas.paste(picture, (int(width * fraction), int(height * fraction)))
    canvas.save(target, quality=90)


def test_views_cut_margins_and_bands_and_nothing_else():
    rng = np.random.default_rng(5)
    picture = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    assert set(views(picture)) == {"tile-1", "tile-2", "tile-3", "tile-4"}  # nothing to cut
    assert views(picture)["tile-2"].shape == (100, 150, 3)
    padded = np.full((280, 380, 3), 255, np.uint8)
    padded[40:240, 40:340] = picture
    assert views(padded)["trim"].shape == (200, 300, 3)
    banded = Image.new("RGB", (300, 260), (250, 250, 250))
    banded.paste(Image.fromarray(picture), (0, 60))
    ImageDraw.Draw(banded).text((10, 20), "WHEN THE BUS IS LATE AGAIN", fill=(0, 0, 0))
    assert views(np.asarray(banded))["band"].shape[0] in range(198, 203)
    dark_edge = picture.copy()
    dark_edge[:30] = 50 + rng.integers(-9, 10, (30, 300, 3))  # the photo's own dark top,
    # flat but for its texture, near the screen's grey
    screen = np.full((280, 380, 3), 60, np.uint8)
    screen[40:240, 40:340] = dark_edge
    cut = views(screen)
    assert cut["trim"].shape == (170, 300, 3)  # the loose trim eats the photo's dark top
    assert cut["trim-tight"].shape == (200, 300, 3)  # the tight one stops at the photo


def test_a_turned_picture_is_turned_back_and_an_upright_one_left_alone():
    from safeguard.media.deskew import deskewed
    from safeguard.media.images import Raster
    from safeguard.signals import PDQ

    photo = require_shared("corpus", *PHOTO)
    with Image.open(photo) as opened:
        picture = opened.convert("RGB")
    picture.thumbnail((512, 512))
    assert deskewed(np.asarray(picture)) is None  # corners of a photo differ: nothing done

    def pdq(pixels: np.ndarray) -> bytes:
        return PDQ.hash_raster(Raster(pixels, pixels.shape[1], pixels.shape[0])).value

    own = pdq(np.asarray(picture))
    grown = picture.rotate(-4, resample=Image.Resampling.BILINEAR, expand=True,
                           fillcolor=(255, 255, 255))  # fmt: skip
    upright = deskewed(np.asarray(grown))
    assert upright is not None
    assert (
        abs(upright.shape[0] - picture.height) <= 2 and abs(upright.shape[1] - picture.width) <= 2
    )
    assert PDQ.distance(own, pdq(upright)) <= 31 < PDQ.distance(own, pdq(np.asarray(grown)))
    padded = np.zeros((picture.height + 80, picture.width + 80, 3), np.uint8)
    padded[40:-40, 40:-40] = np.asarray(picture)
    assert deskewed(padded) is None  # a frame is not the corners a turn leaves


@pytest.mark.slow
def test_a_padded_copy_matches_through_its_trimmed_view(tmp_path):
    photo = require_shared("corpus", *PHOTO)
    db = init_store(str(tmp_path / "store.db"))
    record = jsonl(run_cli("hash", str(photo)).stdout)[0]
    bank = tmp_path / "bank.csv"
    bank.write_text(f"pdq,category\n{record['pdq']},A\n")
    run_cli("lists", "import", str(bank), "--list", "graded", "--db", db)
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    _padded(photo, exhibit / "padded.jpg")
    copy = str(exhibit / "padded.jpg")
    assert jsonl(run_cli("match", copy, "--db", db).stdout)[0]["matches"] == []
    (hit,) = jsonl(run_cli("match", copy, "--variants", "query", "--db", db).stdout)[0]["matches"]
    assert hit["via"] == "query:trim" and hit["distance"] <= 31
    refused = json.loads(run_cli("lists", "policy", "graded", "--variants", "none",
                                 "--db", db).stdout)  # fmt: skip
    assert refused["variants"] == "none"
    assert (
        jsonl(run_cli("match", copy, "--variants", "query", "--db", db).stdout)[0]["matches"] == []
    )
    run_cli("lists", "policy", "graded", "--variants", "query", "--db", db)

    run_cli("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--variants", "query",
            "--db", db)  # fmt: skip
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"][0]
    assert report["categories"]["A"]["perceptual"] == 1
    assert [row["via"] for row in report["schedule"]] == ["query:trim"]
    run_cli("rematch", "--case", "C", "--db", db)  # from the stored views, no re-read
    again = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"][0]
    assert [row["via"] for row in again["schedule"]] == ["query:trim"]


def test_the_service_sends_a_match_through_a_view_to_review(tmp_path, store_url, monkeypatch):
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app
    from safeguard.signals.extract import HashOptions, hash_file
    from safeguard.store import Action, ListSpec, NewEntry
    from safeguard.store.keys import KeyStore, Scope

    from conftest import service_settings

    photo = require_shared("corpus", *PHOTO)
    store = Store.open(store_url)
    value = hash_file(str(photo), HashOptions()).values["pdq"]
    store.import_entries("graded", [NewEntry("pdq", value, "A", record=1)], spec=ListSpec())
    _, token = KeyStore(store.engine).create("platform", [Scope.MATCH])
    padded = tmp_path / "padded.jpg"
    _padded(photo, padded, 0.1, (0, 0, 0))
    monkeypatch.setenv("SAFEGUARD_VARIANTS", "query")
    with TestClient(create_app(service_settings(store_url))) as client:

        def upload() -> dict:
            with padded.open("rb") as handle:
                return client.post("/v1/match", files={"file": handle},
                                   headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip

        answer = upload()
        assert answer["action"] == "review"  # found only through a view: a person looks
        store.set_policy("graded", action=Action.BLOCK)  # unless the list chose its action
        assert upload()["action"] == "block"
    store.close()


def _flipped(value: bytes, bits: int) -> bytes:
    return (int.from_bytes(value, "big") ^ ((1 << bits) - 1)).to_bytes(32, "big")


def test_a_view_only_decides_when_the_picture_itself_does_not_match(store):
    from safeguard.matching import Matcher
    from safeguard.store import Action, ListSpec, NewEntry

    target = bytes(range(32))
    store.import_entries("graded", [NewEntry("pdq", target, "A", record=1)], spec=ListSpec())
    matcher = Matcher(store)
    (own,) = matcher.match_hashes(
        [("pdq", _flipped(target, 20)), ("pdq", _flipped(target, 5), "trim")]
    ).alerts
    assert (own.distance, own.via, own.decision) == (20, None, Action.BLOCK)
    (viewed,) = matcher.match_hashes(
        [("pdq", _flipped(target, 60)), ("pdq", _flipped(target, 5), "trim")]
    ).alerts
    assert (viewed.distance, viewed.via, viewed.decision) == (5, "query:trim", Action.REVIEW)
    assert viewed.to_json()["via"] == "query:trim" and "via" not in own.to_json()
    store.set_policy("graded", variants=Variants.NONE)  # it takes no match through a view
    assert (
        Matcher(store)
        .match_hashes([("pdq", _flipped(target, 60)), ("pdq", _flipped(target, 5), "trim")])
        .alerts
        == []
    )
    (still,) = Matcher(store).match_hashes([("pdq", _flipped(target, 20))]).alerts
    assert still.via is None  # the picture itself still matches
