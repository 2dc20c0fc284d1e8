"""Video lists: upstream vPDQ files imported and exported, carried through CSV and VICS,
and matched by the bag-of-frames rule through the frame index (``safeguard match``).

The list is upstream's own hash files for three of Meta's benign sample videos; the
queries are the videos themselves, hashed here by another decoder build.
"""

from __future__ import annotations

import json
import random
import shutil

import pytest

from safeguard.errors import UsageError
from safeguard.matching import Matcher
from safeguard.signals import VPDQ
from safeguard.signals.vpdq import FrameHash
from safeguard.store import ListKind, ListSpec, NewEntry, Scheme

from conftest import init_store, jsonl, require_shared, run_cli

BANKED = ("chair-20-sd-bar", "pattern-sd-grey-bar", "doorknob-hd-no-bar")


@pytest.fixture
def banked(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    hashes = require_shared("pdq-reference", "upstream", "vpdq", "sample-hashes")
    folder = tmp_path / "vpdq-list"
    folder.mkdir()
    for name in BANKED:
        shutil.copyfile(hashes / f"{name}.txt", folder / f"{name}.txt")
    db = init_store(str(tmp_path / "lists.db"))
    done = run_cli("lists", "import", str(folder), "--list", "videos", "--category", "A",
                   "--db", db)  # fmt: skip
    assert "imported 3 entries into 'videos' (new list) from vpdq file" in done.stdout
    return db, folder


@pytest.mark.slow
def test_a_folder_of_upstream_files_imports_and_exports_unchanged(banked, tmp_path):
    db, folder = banked
    listed = json.loads(run_cli("lists", "ls", "--json", "--db", db).stdout.splitlines()[0])
    assert listed["entries"] == {"vpdq": 3} and listed["vpdq_percents"] == [80.0, 0.0]
    policy = run_cli("lists", "policy", "videos", "--vpdq-percents", "90", "20", "--db", db)
    assert json.loads(policy.stdout)["vpdq_percents"] == [90.0, 20.0]
    # The frame distance is the list's vPDQ threshold, apart from its PDQ one.
    policy = run_cli("lists", "policy", "videos", "--threshold", "vpdq=24", "--db", db)
    assert json.loads(policy.stdout)["thresholds"] == {
        "vpdq": {"threshold": 24, "review_threshold": None}
    }
    for wrong, reason in (("md5=3", "no match distance"), ("vpdq", "write SIGNAL=N")):
        refused = run_cli("lists", "policy", "videos", "--threshold", wrong, "--db", db,
                          check=False)  # fmt: skip
        assert refused.returncode == 2 and reason in refused.stderr
    out = tmp_path / "exported"
    done = run_cli("lists", "export", "videos", "--format", "vpdq", "-o", str(out), "--db", db)
    assert "wrote 3 vPDQ files" in done.stdout
    for name in BANKED:
        assert (out / f"{name}.txt").read_text() == (folder / f"{name}.txt").read_text()
    again = run_cli("lists", "import", str(folder), "--list", "videos", "--category", "A",
                    "--db", db, check=False)  # fmt: skip
    assert again.returncode == 1 and "vpdq already in this list" in again.stderr


@pytest.mark.slow
def test_a_video_list_survives_csv_and_vics(banked, tmp_path):
    db, _ = banked
    run_cli("lists", "export", "videos", "--format", "csv", "-o", str(tmp_path / "v.csv"),
            "--db", db)  # fmt: skip
    run_cli("lists", "import", str(tmp_path / "v.csv"), "--list", "copy", "--db", db)
    run_cli("lists", "import", str(tmp_path / "v.csv"), "--list", "vics-copy", "--scheme", "vics",
            "--category", "1", "--format", "csv", "--db", db, check=False)  # fmt: skip
    store_lists = {
        row["name"]: row for row in jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)
    }
    assert store_lists["copy"]["entries"] == {"vpdq": 3}
    for name in ("videos", "copy"):
        out = tmp_path / name
        run_cli("lists", "export", name, "--format", "vpdq", "-o", str(out), "--db", db)
    for file in (tmp_path / "videos").iterdir():
        assert (tmp_path / "copy" / file.name).read_text() == file.read_text()
    vics_list = tmp_path / "vics-list"
    vics_list.mkdir()
    shutil.copyfile(tmp_path / "videos" / f"{BANKED[0]}.txt", vics_list / "clip.txt")
    run_cli("lists", "import", str(vics_list), "--list", "vic-videos", "--scheme", "vics",
            "--category", "1", "--db", db)  # fmt: skip
    run_cli("lists", "export", "vic-videos", "--format", "vics", "-o", str(tmp_path / "v.json"),
            "--db", db)  # fmt: skip
    media = json.loads((tmp_path / "v.json").read_text())["value"][0]
    assert media["AlternativeHashes"][0]["HashName"] == "VPDQ"
    run_cli("lists", "import", str(tmp_path / "v.json"), "--list", "vic-back", "--db", db)
    back = tmp_path / "vic-back"
    run_cli("lists", "export", "vic-back", "--format", "vpdq", "-o", str(back), "--db", db)
    (text,) = [file.read_text() for file in back.iterdir()]
    assert VPDQ.parse(text) == VPDQ.parse((vics_list / "clip.txt").read_text())


@pytest.mark.slow
def test_the_videos_match_their_upstream_hashes_and_others_do_not(banked):
    db, _ = banked
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    queries = [videos / f"{name}.mp4" for name in (BANKED[0], BANKED[2], "test-padded-dimensions")]
    lines = jsonl(run_cli("match", *map(str, queries), "--db", db).stdout)
    found = {line["path"].rsplit("/", 1)[1]: line["matches"] for line in lines}
    (chair,) = found[f"{BANKED[0]}.mp4"]
    assert (chair["list"], chair["signal"], chair["category"]) == ("videos", "vpdq", "A")
    assert chair["distance"] == 0  # every frame of the query found a partner
    (doorknob,) = found[f"{BANKED[2]}.mp4"]
    assert doorknob["signal"] == "vpdq" and doorknob["distance"] <= 20
    assert found["test-padded-dimensions.mp4"] == []


@pytest.mark.slow
def test_edited_copies_match_the_banked_video(banked):
    """A small logo over the banked pattern clip; the chair filmed again, sepia-toned."""
    db, _ = banked
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    edited = [videos / f"{name}.mp4" for name in ("pattern-sd-with-small-logo-bar",
                                                  "chair-22-sd-sepia-bar")]  # fmt: skip
    lines = jsonl(
        run_cli("match", *map(str, edited), "--seconds-per-hash", "0.5", "--db", db).stdout
    )
    for line in lines:
        assert [m["signal"] for m in line["matches"]] == ["vpdq"], line["path"]


def test_a_long_video_entry_is_kept_and_matched_on_both_backends(store):
    """An hour at one hash a second: 3,600 frames, 148 KB of value, over what a unique
    index on the value could hold in PostgreSQL; kept as its frames, matched, deleted."""
    draw = random.Random(3600)
    frames = [FrameHash(n * 30, 100, draw.randbytes(32), float(n)) for n in range(3600)]
    value = VPDQ.encode(frames)
    spec = ListSpec(kind=ListKind.ALERT, scheme=Scheme.UK)
    report = store.import_entries("hour", [NewEntry("vpdq", value, "B")], spec=spec)
    assert report.imported == 1
    (entry,) = store.iter_entries(store.get_list("hour").id)
    assert entry.value == value  # exported as imported
    clip = VPDQ.encode(frames[600:1200])  # ten minutes cut from the middle
    (hit,) = Matcher(store).match_hashes([("vpdq", clip)]).alerts
    assert (hit.list, hit.signal, hit.distance, hit.category) == ("hour", "vpdq", 0, "B")
    # The list asks that half the banked video be found too: a ten-minute clip is not.
    store.set_policy("hour", vpdq_percents=(80.0, 50.0))
    assert Matcher(store).match_hashes([("vpdq", clip)]).alerts == []
    store.set_policy("hour", vpdq_percents=(80.0, 15.0))
    assert len(Matcher(store).match_hashes([("vpdq", clip)]).alerts) == 1
    with pytest.raises(UsageError, match="between 0 and 100"):
        store.set_policy("hour", vpdq_percents=(180.0, 0.0))
    store.disable_entry("hour", entry.id)
    assert Matcher(store).match_hashes([("vpdq", clip)]).alerts == []
    store.delete_list("hour")
    assert store.video_frames([entry.id]) == {entry.id: []}  # the frames went with it
