"""Enrolment-side variants (issue 15, second tier): a picture enrolled with
``lists enrol --variants geometric`` keeps the PDQ of its crops, cuts and small rotations
as variants of its one entry, so a cropped or turned copy matches under ``--variants
all`` (labelled ``enrolled:NAME``, sent to review unless its list chose an action), and
never under ``none`` or ``query``, nor on a list that takes less."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from safeguard.media.options import Variants
from safeguard.media.variants import geometric_variants
from safeguard.store import Action, ListSpec, NewEntry, Store
from safeguard.store.schema import entry_variants

from conftest import evidence_snapshot, jsonl, require_shared, run_cli

PHOTOS = [("coco2017", "val2017", name) for name in ("000000000139.jpg", "000000000285.jpg")]


def _copies(photo, folder) -> dict[str, str]:
    """A 7 %-a-side crop and a 4-degree turn (black corners) of a photo, as JPEGs."""
    with Image.open(photo) as opened:
        picture = opened.convert("RGB")
    width, height = picture.size
    dx, dy = int(width * 0.07), int(height * 0.07)
    made = {
        "crop": picture.crop((dx, dy, width - dx, height - dy)),
        "turn": picture.rotate(4, resample=Image.Resampling.BILINEAR),
    }
    paths = {}
    for name, copy in made.items():
        paths[name] = str(folder / f"{name}-{photo.name}")
        copy.save(paths[name], quality=90)
    return paths


def test_the_variants_are_the_documented_grid():
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    found = dict(geometric_variants(picture))
    assert len(found) == 134  # no flat border: no trim
    assert found["window-10-0-0-10"].shape == (270, 360, 3)  # cut on the left and bottom
    assert found["tile-4"].shape == (150, 200, 3)
    assert "window-5-5-5-5" not in found and "window-0-0-0-10" not in found  # made above
    assert found["crop-10%"].shape == (240, 320, 3)
    assert found["bottom-20%"].shape == (240, 400, 3) and found["left-10%"].shape == (300, 360, 3)
    assert found["square"].shape == (300, 300, 3) and found["4:5"].shape == (300, 240, 3)
    assert found["rotate+5"].shape == picture.shape
    rows, cols = found["rotate-7-crop"].shape[:2]
    assert rows < 300 and abs(cols / rows - 4 / 3) < 0.02  # the picture's shape, corners cut
    padded = np.zeros((340, 440, 3), np.uint8)
    padded[20:320, 20:420] = picture
    assert dict(geometric_variants(padded))["trim"].shape == picture.shape


@pytest.mark.slow
def test_cropped_and_turned_copies_match_through_enrolled_variants(tmp_path):
    photos = [require_shared("corpus", *parts) for parts in PHOTOS]
    known = tmp_path / "known"
    known.mkdir()
    for photo in photos:
        (known / photo.name).write_bytes(photo.read_bytes())
    db = str(tmp_path / "store.db")
    before = evidence_snapshot(known)
    enrol = ("lists", "enrol", str(known), "-r", "--list", "graded", "--category", "A")
    summary = json.loads(run_cli(*enrol, "--create", "--db", db).stdout)
    assert evidence_snapshot(known) == before  # the pictures are read, never touched
    assert summary["pictures"] == 2 and summary["entries_added"] == 8  # md5, sha1, sha256, pdq
    assert summary["entries_with_variants"] == 2 and summary["variants"] >= 100
    (listed,) = jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)
    assert listed["entries_with_variants"] == 2 and listed["variants"] == "all"
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    copies = [path for photo in photos for path in _copies(photo, exhibit).values()]
    records = jsonl(run_cli("match", *copies, "--variants", "none", "--db", db).stdout)
    assert all(record["matches"] == [] for record in records)
    records = jsonl(run_cli("match", *copies, "--variants", "query", "--db", db).stdout)
    # Without enrolled variants a crop cannot match; a turned copy may, turned back upright.
    assert all(record["matches"] == [] for record in records if "crop-" in record["path"])
    assert all(m["via"] == "query:deskew" for record in records for m in record["matches"])
    records = jsonl(run_cli("match", *copies, "--variants", "all", "--db", db).stdout)
    vias = [record["matches"][0]["via"] for record in records]
    assert [via.split(":")[0] for via in vias] == ["enrolled"] * 4, vias
    turned = [via for via in vias if "rotate" in via]
    assert len(turned) == 2 and all(via.startswith("enrolled:rotate+") for via in turned)
    assert all(record["matches"][0]["distance"] <= 31 for record in records)
    assert all(record["matches"][0]["category"] == "A" for record in records)

    # Enrolling again adds nothing twice and replaces the variants.
    again = json.loads(
        run_cli("lists", "enrol", str(known), "-r", "--list", "graded", "--db", db).stdout
    )
    assert again["entries_added"] == 0
    store = Store.open(db)
    with store.engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(entry_variants)).scalar()
    assert rows == summary["variants"]

    # A list that takes only views of the query refuses its enrolled variants.
    run_cli("lists", "policy", "graded", "--variants", "query", "--db", db)
    records = jsonl(run_cli("match", *copies, "--variants", "all", "--db", db).stdout)
    assert all("enrolled" not in m["via"] for record in records for m in record["matches"])
    assert all(record["matches"] == [] for record in records if "crop-" in record["path"])
    run_cli("lists", "policy", "graded", "--variants", "all", "--db", db)

    # Triage: counted as perceptual, the variant named in the schedule, kept by rematch.
    run_cli("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--variants", "all",
            "--db", db)  # fmt: skip
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"][0]
    assert report["categories"]["A"]["perceptual"] == 4
    assert sorted(row["via"] for row in report["schedule"]) == sorted(vias)
    run_cli("rematch", "--case", "C", "--db", db)
    again = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"][0]
    assert sorted(row["via"] for row in again["schedule"]) == sorted(vias)

    # Deleting the list deletes its variants with its entries.
    store.delete_list("graded")
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(entry_variants)).scalar() == 0
    store.close()


def test_a_picture_that_cannot_be_enrolled_is_named_and_the_rest_go_in(tmp_path):
    photo = require_shared("corpus", *PHOTOS[0])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:300])
    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 300), (90, 90, 90)).save(flat)
    db = str(tmp_path / "store.db")
    result = run_cli("lists", "enrol", str(photo), str(broken), str(flat), "--list", "graded",
                     "--create", "--db", db, check=False)  # fmt: skip
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["pictures"] == 1
    failed = {os.path.basename(f["path"]): f["error"] for f in summary["failed"]}
    assert set(failed) == {"broken.jpg", "flat.png"}
    assert "quality" in failed["flat.png"]
    assert "broken.jpg" in result.stderr and "flat.png" in result.stderr


def _flipped(value: bytes, bits: int) -> bytes:
    return (int.from_bytes(value, "big") ^ ((1 << bits) - 1)).to_bytes(32, "big")


def test_an_entry_counts_once_at_its_own_hash_first(store):
    """The matcher, on SQLite and PostgreSQL: the query's own hash against the entry's own
    decides whenever it is within the threshold; a variant only adds what it misses; an
    entry found through several variants is one hit."""
    from safeguard.matching import Matcher

    own = bytes(range(32))
    store.import_entries("graded", [NewEntry("pdq", own, "A", record=1)], spec=ListSpec())
    variants = {f"crop-{n}%": _flipped(own, 100 + n) for n in range(1, 5)}
    assert store.enrol_variants("graded", {own: variants}) == 1
    query = _flipped(own, 104)  # 0 from crop-4%, 1 from crop-3%, 104 from the entry's own
    matcher = Matcher(store, enrolled_variants=True)
    (hit,) = matcher.match_hashes([("pdq", query)]).alerts
    assert (hit.distance, hit.via, hit.decision) == (0, "enrolled:crop-4%", Action.REVIEW)
    (both,) = matcher.match_hashes([("pdq", _flipped(own, 60)), ("pdq", query, "trim")]).alerts
    assert both.via == "query:trim+enrolled:crop-4%"
    (plain,) = matcher.match_hashes([("pdq", _flipped(own, 10)), ("pdq", query)]).alerts
    assert (plain.distance, plain.via, plain.decision) == (10, None, Action.BLOCK)
    assert Matcher(store).match_hashes([("pdq", query)]).alerts == []  # not asked for
    store.set_policy("graded", variants=Variants.QUERY)
    assert Matcher(store, enrolled_variants=True).match_hashes([("pdq", query)]).alerts == []
    store.set_policy("graded", variants=Variants.ALL, action=Action.BLOCK)
    (chosen,) = Matcher(store, enrolled_variants=True).match_hashes([("pdq", query)]).alerts
    assert chosen.decision is Action.BLOCK  # the list chose its action itself


def test_quadrants_vote_and_a_collage_holds_a_whole_picture(store):
    from safeguard.matching import Matcher

    own = bytes(range(32))
    store.import_entries("graded", [NewEntry("pdq", own, "A", record=1)], spec=ListSpec())
    rng = np.random.default_rng(11)
    tiles = {f"tile-{n}": rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for n in range(1, 5)}
    store.enrol_variants("graded", {own: tiles})
    matcher = Matcher(store, enrolled_variants=True)
    far = _flipped(own, 80)
    one = [("pdq", far), ("pdq", _flipped(tiles["tile-1"], 3), "tile-1")]
    assert matcher.match_hashes(one).alerts == []  # one quadrant alone never decides
    two = [*one, ("pdq", _flipped(tiles["tile-3"], 9), "tile-3")]
    (voted,) = matcher.match_hashes(two).alerts
    assert (voted.distance, voted.via) == (9, "query:tiles+enrolled:tiles")
    crossed = [*one, ("pdq", _flipped(tiles["tile-3"], 9), "tile-2")]
    assert matcher.match_hashes(crossed).alerts == []  # quadrants must be aligned
    collage = [("pdq", far), ("pdq", _flipped(own, 7), "tile-2")]
    (whole,) = Matcher(store).match_hashes(collage).alerts  # no enrolled variant needed
    assert (whole.distance, whole.via) == (7, "query:tile-2")


@pytest.mark.slow
def test_promoted_pictures_are_read_back_for_their_variants(tmp_path, monkeypatch):
    import shutil
    import zipfile

    from safeguard.store.cases import Cases
    from safeguard.store.grades import Grades
    from safeguard.store.items import ExhibitItems
    from safeguard.store.reviewers import Reviewers, Role

    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    photos = [require_shared("corpus", *parts) for parts in PHOTOS]
    first = tmp_path / "first"
    first.mkdir()
    shutil.copyfile(photos[0], first / "loose.jpg")
    with zipfile.ZipFile(first / "album.zip", "w") as album:  # read back through a container
        album.write(photos[1], "inside.jpg")
    db = str(tmp_path / "store.db")
    run_cli("init", "--db", db)
    run_cli("scan", str(first), "--case", "OP", "--exhibit", "E1", "--db", db)
    store = Store.open(db)
    exhibit = Cases(store).exhibit("OP", "E1")
    reviewer = Reviewers(store.engine).create("rev", Role.REVIEWER, "correct horse battery")
    for item in ExhibitItems(store).items(exhibit.id):
        if item.pdq is not None:
            Grades(store.engine).grade(exhibit.id, item.seq, "uk", "B", by=reviewer,
                                       seen_version=0)  # fmt: skip
    before = evidence_snapshot(first)
    promoted = run_cli("lists", "promote", "--case", "OP", "--list", "local", "--variants",
                       "geometric", "--db", db)  # fmt: skip
    assert "geometric variants kept for 2 pictures" in promoted.stdout
    assert evidence_snapshot(first) == before

    second = tmp_path / "second"
    second.mkdir()
    _copies(photos[1], second)
    run_cli("scan", str(second), "--case", "OP", "--exhibit", "E2", "--variants", "all",
            "--db", db)  # fmt: skip
    report = json.loads(run_cli("report", "--case", "OP", "--exhibit", "E2", "--db", db).stdout)
    summary = report["exhibits"][0]
    assert summary["categories"]["B"]["perceptual"] == 2
    assert all(row["via"].startswith("enrolled:") for row in summary["schedule"])

    # Evidence that changed since the scan gives no variants, and says so; entries stay.
    (first / "loose.jpg").write_bytes(photos[1].read_bytes())
    again = run_cli("lists", "promote", "--case", "OP", "--list", "local", "--variants",
                    "geometric", "--db", db)  # fmt: skip
    assert "geometric variants kept for 1 pictures" in again.stdout
    assert "E1/" in again.stderr and "SHA-256 differs" in again.stderr
    store.close()


def test_the_service_matches_uploads_through_enrolled_variants(tmp_path, store_url, monkeypatch):
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app
    from safeguard.signals.extract import HashOptions, hash_file
    from safeguard.store.keys import KeyStore, Scope

    from conftest import service_settings

    photo = require_shared("corpus", *PHOTOS[0])
    store = Store.open(store_url)
    enrolled = hash_file(str(photo), HashOptions(enrolment_variants=True))
    store.import_entries("graded", [NewEntry("pdq", enrolled.pdq.value, "A", record=1)],
                         spec=ListSpec())  # fmt: skip
    store.enrol_variants("graded", {enrolled.pdq.value: enrolled.variants})
    _, token = KeyStore(store.engine).create("platform", [Scope.MATCH])
    crop = _copies(photo, tmp_path)["crop"]

    def upload(client) -> dict:
        with open(crop, "rb") as handle:
            return client.post("/v1/match", files={"file": handle},
                               headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip

    for tier, action in (("query", "none"), ("all", "review")):
        monkeypatch.setenv("SAFEGUARD_VARIANTS", tier)
        with TestClient(create_app(service_settings(store_url))) as client:
            answer = upload(client)
        assert answer["action"] == action, (tier, answer)
    assert answer["matches"][0]["via"].startswith("enrolled:crop-")
    store.close()


def test_a_variant_hit_takes_the_lists_review_band(store):
    from safeguard.matching import Matcher
    from safeguard.store import Thresholds

    own = bytes(range(32))
    store.import_entries("graded", [NewEntry("pdq", own, "A", record=1)], spec=ListSpec())
    store.enrol_variants("graded", {own: {"crop-3%": _flipped(own, 150)}})
    store.set_policy("graded", thresholds={"pdq": Thresholds(31, 40)})
    near = _flipped(_flipped(own, 150), 36)  # 36 from the variant, far from the entry itself
    band = Matcher(store, review_band=True, enrolled_variants=True)
    (hit,) = band.match_hashes([("pdq", near)]).alerts
    assert (hit.distance, hit.via, hit.in_review_band) == (36, "enrolled:crop-3%", True)
    assert hit.decision is Action.REVIEW
    assert Matcher(store, enrolled_variants=True).match_hashes([("pdq", near)]).alerts == []


def test_slivers_and_specks_give_no_variant_and_no_error():
    import io

    from safeguard.media.images import PdqMode
    from safeguard.signals.extract import HashOptions, hash_content

    rng = np.random.default_rng(0)
    options = (
        HashOptions(dihedral=True, query_views=True),
        HashOptions(pdq_mode=PdqMode.EXACT, enrolment_variants=True),
    )
    for width, height in ((1, 1), (1, 100), (700, 2), (3, 3), (2000, 3)):
        buffer = io.BytesIO()
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(buffer, "PNG")
        data = buffer.getvalue()
        for chosen in options:
            hashed = hash_content("sliver.png", lambda data=data: io.BytesIO(data), chosen)
            assert hashed.error is None and hashed.pdq is not None
            assert hashed.views == {} and hashed.variants == {}  # all too small to trust
