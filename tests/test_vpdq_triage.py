"""Videos in triage: hashed with vPDQ by every scan, matched and counted per category
(exact and perceptual, as pictures), the unknown ones grouped by vPDQ in the report,
and matched again by ``rematch`` when lists change."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import file_counts, init_store, require_shared, run_cli


@pytest.fixture
def exhibit(tmp_path, monkeypatch, corpus):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    hashes = require_shared("pdq-reference", "upstream", "vpdq", "sample-hashes")
    folder = tmp_path / "phone" / "DCIM"
    folder.mkdir(parents=True)
    for name in ("chair-20-sd-bar", "chair-22-sd-sepia-bar", "pattern-sd-grey-bar",
                 "pattern-sd-with-small-logo-bar", "test-padded-dimensions"):  # fmt: skip
        shutil.copyfile(videos / f"{name}.mp4", folder / f"{name}.mp4")
    shutil.copyfile(sorted(corpus.glob("bsds500/test/*.jpg"))[0], folder / "photo.jpg")
    bank = tmp_path / "bank"
    bank.mkdir()
    shutil.copyfile(hashes / "chair-20-sd-bar.txt", bank / "chair-20-sd-bar.txt")
    db = init_store(str(tmp_path / "case.db"))
    return db, folder.parent, bank


@pytest.mark.slow
def test_videos_are_hashed_matched_counted_and_grouped(exhibit):
    db, folder, bank = exhibit
    run_cli("lists", "import", str(bank), "--list", "national-videos", "--category", "A",
            "--db", db)  # fmt: skip
    run_cli("scan", str(folder), "--case", "OP-V", "--exhibit", "PHONE", "--db", db)
    report = json.loads(run_cli("report", "--case", "OP-V", "--db", db).stdout)
    summary = report["exhibits"][0]
    assert summary["videos"] == 5 and summary["images"] == 1
    # The banked clip and the same chair filmed again in sepia: both category A, perceptual.
    assert file_counts(summary["categories"]) == {"A": {"files": 2, "unique": 2}}
    assert summary["categories"]["A"]["perceptual"] == 2
    # The pattern clip and its copy with a small logo are one group; the padded clip another.
    assert (summary["unknown_videos"], summary["unknown_video_groups"]) == (3, 2)
    assert report["totals"]["unknown_video_groups"] == 2
    rows = [row for row in summary["schedule"] if row["signal"] == "vpdq"]
    assert sorted(row["location"].rsplit("/", 1)[1] for row in rows) == [
        "chair-20-sd-bar.mp4", "chair-22-sd-sepia-bar.mp4"]  # fmt: skip
    html = run_cli("report", "--case", "OP-V", "--format", "html", "--db", db).stdout
    assert "Unknown video groups (to review)" in html


@pytest.mark.slow
def test_a_video_list_imported_after_the_scan_is_matched_by_rematch(exhibit):
    db, folder, bank = exhibit
    run_cli("lists", "import", str(bank), "--list", "empty-start", "--category", "B", "--db", db,
            check=False)  # fmt: skip
    run_cli("lists", "disable", "empty-start", "--db", db)
    run_cli("scan", str(folder), "--case", "OP-V", "--exhibit", "PHONE", "--db", db)
    before = json.loads(run_cli("report", "--case", "OP-V", "--db", db).stdout)["exhibits"][0]
    assert before["categories"] == {} and before["unknown_videos"] == 5
    run_cli("lists", "enable", "empty-start", "--db", db)
    run_cli("rematch", "--case", "OP-V", "--db", db)
    after = json.loads(run_cli("report", "--case", "OP-V", "--db", db).stdout)["exhibits"][0]
    assert file_counts(after["categories"]) == {"B": {"files": 2, "unique": 2}}
    assert after["unknown_videos"] == 3
