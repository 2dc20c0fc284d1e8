"""``safeguard scan``: exhibits triaged end to end, counted, resumable after SIGKILL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import file_counts, import_list, init_store, jsonl, require_shared, run_cli


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    return init_store(str(tmp_path / "case.db"))


@pytest.mark.slow
def test_disk_image_exhibit_counts_deleted_and_carved_matches(db):
    image = require_shared("forensic-images", "synthetic", "fat12-synthetic.E01")
    hashset = require_shared("forensic-images", "synthetic", "synthetic-vics2-hashset.json")
    run_cli("lists", "import", str(hashset), "--list", "vic", "--db", db)
    summary = json.loads(
        run_cli(
            "scan", str(image), "--case", "OP-1", "--exhibit", "EX1", "--json", "--db", db
        ).stdout
    )
    expected = {
        "exhibit": "EX1",
        "source": str(image.resolve()),
        "status": "complete",
        "warnings": [],
        "files": 6,
        "images": 6,
        "videos": 0,
        "undecodable_images": 0,
        "empty": 0,
        "errors": 0,
        "known_good": 0,
        "unknown_images": 2,  # gradient_small.jpg and notes.dat (a PNG)
        "unknown_groups": 2,
        "type": "disk image",
        "matched_files": 3,  # checker.png's VICS 0 is non-pertinent: not a match
    }
    assert {key: summary[key] for key in expected} == expected
    assert file_counts(summary["categories"]) == {
        "vics:0": {"files": 1, "unique": 1},  # checker.png
        "vics:1": {"files": 1, "unique": 1},  # gradient.jpg
        "vics:2": {"files": 1, "unique": 1},  # circles.jpg, deleted
        "vics:3": {"files": 1, "unique": 1},  # stripes.jpg, carved only
    }
    assert summary["categories"]["vics:0"]["pertinent"] is False
    assert summary["categories"]["vics:2"]["allocation"]["deleted"] == 1
    assert summary["categories"]["vics:3"]["allocation"]["carved"] == 1
    assert summary["verification"]["verified"] is True
    assert summary["lists_used"] == [{"name": "vic", "revision": 2}]
    connection = sqlite3.connect(db)
    (verification,) = connection.execute("SELECT verification FROM exhibits").fetchone()
    assert json.loads(verification)["verified"] is True


def _photos(corpus: Path, count: int) -> list[Path]:
    return sorted((corpus / "bsds500" / "test").glob("*.jpg"))[:count]


@pytest.mark.slow
def test_folder_exhibit_with_archives_copies_and_lists(db, tmp_path, corpus):
    photos = _photos(corpus, 8)
    exhibit = tmp_path / "exhibit"
    (exhibit / "DCIM").mkdir(parents=True)
    for photo in photos[:6]:
        shutil.copyfile(photo, exhibit / "DCIM" / photo.name)
    shutil.copyfile(photos[0], exhibit / "DCIM" / "copy-of-first.txt")  # renamed exact copy
    with Image.open(photos[1]) as image:  # a near-duplicate of a listed photo
        image.resize((image.width // 2, image.height // 2)).save(exhibit / "small.jpg", quality=70)
    with zipfile.ZipFile(exhibit / "backup.zip", "w") as archive:
        archive.write(photos[2], "old/a.jpg")
        archive.write(photos[6], "old/new-one.jpg")
    (exhibit / "broken.jpg").write_bytes(photos[7].read_bytes()[:3000])
    (exhibit / "readme.txt").write_text("nothing to see\n")

    hashes = {
        p.name: jsonl(run_cli("hash", "--pdq-mode", "exact", str(p)).stdout)[0] for p in photos
    }
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a.txt").write_text(hashes[photos[0].name]["md5"] + "\n")
    (lists / "b.txt").write_text(hashes[photos[1].name]["pdq"] + "\n")
    (lists / "c.txt").write_text(hashes[photos[2].name]["sha1"] + "\n")
    (lists / "nsrl.txt").write_text(
        '"SHA-1","FileName"\n"'
        + hashlib.sha1(b"nothing to see\n").hexdigest().upper()
        + '","readme.txt"\n'
    )
    import_list(db, lists / "a.txt", "caid-a", "--category", "A")
    import_list(db, lists / "b.txt", "caid-b", "--signal", "pdq", "--category", "B")
    import_list(db, lists / "c.txt", "caid-c", "--category", "C")
    import_list(db, lists / "nsrl.txt", "nsrl")

    summary = json.loads(
        run_cli(
            "scan", str(exhibit), "--case", "OP-2", "--exhibit", "laptop", "--json", "--db", db
        ).stdout
    )
    assert summary["files"] == 13  # 6 + copy + small + zip + 2 members + broken + readme
    # Every decodable picture: broken.jpg (cut short) from its decodable part, flagged.
    assert summary["images"] == 11
    assert summary["errors"] == 1  # broken.jpg: "truncated: hashed the decodable part"
    assert summary["known_good"] == 1  # readme.txt, by NSRL-style SHA-1
    assert file_counts(summary["categories"]) == {
        "A": {"files": 2, "unique": 1},  # the photo and its renamed copy
        "B": {"files": 2, "unique": 2},  # the listed photo and its half-size copy, by PDQ
        "C": {"files": 2, "unique": 1},  # the photo and its copy inside the zip
    }
    assert summary["unknown_images"] == 5  # photos 3, 4, 5, the zip's new one, broken.jpg
    assert summary["unknown_groups"] == 5


def _scan_process(db: str, source: Path, exhibit: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "safeguard", "scan", str(source), "--case", "OP-3",
         "--exhibit", exhibit, "--workers", "1", "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def _items(db: str, exhibit: str) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            "SELECT i.locator, i.sha256, i.pdq, i.allocation FROM items i JOIN exhibits e "
            "ON e.id = i.exhibit_id WHERE e.name = ? ORDER BY i.locator",
            (exhibit,),
        ).fetchall()
    finally:
        connection.close()


@pytest.mark.slow
def test_a_killed_scan_resumes_without_losing_or_repeating_items(db, tmp_path, corpus):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    photos = sorted(p for p in corpus.rglob("*.jpg") if "highres" not in p.parts)[:600]
    for index, photo in enumerate(photos):
        shutil.copyfile(photo, exhibit / f"{index:04d}.jpg")
    run_cli("lists", "ls", "--db", db)  # create the store before the race below
    scanning = _scan_process(db, exhibit, "resumed")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            partial = len(_items(db, "resumed"))
        except sqlite3.OperationalError:
            continue
        if partial:
            break
    os.kill(scanning.pid, signal.SIGKILL)
    scanning.wait()
    partial = len(_items(db, "resumed"))
    assert 0 < partial < 600, "the scan must be killed part-way"
    assert _scan_process(db, exhibit, "resumed").wait() == 0
    assert _scan_process(db, exhibit, "straight").wait() == 0

    def within(rows):  # locators start with the exhibit's own name
        return [(locator.split(" / ", 1)[1], *rest) for locator, *rest in rows]

    resumed, straight = within(_items(db, "resumed")), within(_items(db, "straight"))
    assert len(resumed) == 600
    assert resumed == straight


def test_scanning_leaves_the_exhibit_untouched(db, tmp_path, corpus):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    for photo in _photos(corpus, 3):
        shutil.copyfile(photo, exhibit / photo.name)
    with zipfile.ZipFile(exhibit / "a.zip", "w") as archive:
        archive.write(_photos(corpus, 4)[3], "x.jpg")

    def state():
        return {
            p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(exhibit.iterdir())
        }

    before = state()
    run_cli("scan", str(exhibit), "--case", "OP-4", "--exhibit", "E", "--db", db)
    assert state() == before


@pytest.mark.slow
def test_resuming_with_other_options_is_refused(db, tmp_path, corpus):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    shutil.copyfile(_photos(corpus, 1)[0], exhibit / "a.jpg")
    run_cli("scan", str(exhibit), "--case", "OP-5", "--exhibit", "E", "--db", db)
    done = run_cli("scan", str(exhibit), "--case", "OP-5", "--exhibit", "E", "--pdq-mode", "exact",
                   "--db", db, check=False)  # fmt: skip
    assert done.returncode == 2 and "same ones" in done.stderr


@pytest.mark.slow
def test_csv_schedule_and_vics_case_export(db, tmp_path):
    image = require_shared("forensic-images", "synthetic", "fat12-synthetic.E01")
    hashset = require_shared("forensic-images", "synthetic", "synthetic-vics2-hashset.json")
    run_cli("lists", "import", str(hashset), "--list", "vic", "--db", db)
    run_cli("scan", str(image), "--case", "OP-6", "--exhibit", "EX1", "--db", db)

    schedule = run_cli("report", "--case", "OP-6", "--format", "csv", "--db", db).stdout
    rows = list(csv.DictReader(io.StringIO(schedule)))
    assert [(r["location"], r["allocation"], r["category"]) for r in rows] == [
        ("EX1 / FAT12 / checker.png", "allocated", "vics:0"),  # a folder's files first
        ("EX1 / FAT12 / DCIM/_ircles.jpg", "deleted", "vics:2"),
        ("EX1 / FAT12 / DCIM/gradient.jpg", "allocated", "vics:1"),
        ("EX1 / FAT12 / jpeg at byte 1,048,576 (sector 2048)", "carved", "vics:3"),
    ]
    assert rows[2]["md5"] == "636ef4bc9383ac988eb25e50270d4cb4" and rows[2]["list"] == "vic"
    assert {r["exhibit_status"] for r in rows} == {"complete"}

    export = tmp_path / "case.json"
    run_cli("report", "--case", "OP-6", "--format", "vics", "-o", str(export), "--db", db)
    document = json.loads(export.read_text())
    assert document["@odata.context"].endswith("#Cases")
    media = {m["MD5"]: m for m in document["value"][0]["Media"]}
    assert len(media) == 6
    carved = media["A8FCAEBC64A1C6FCA19D1D40833A4EB8"]
    assert carved["Category"] == 3
    (carved_file,) = carved["MediaFiles"]
    flags = (carved_file["Unallocated"], carved_file["Deleted"], carved_file["PhysicalLocation"])
    assert flags == ("true", "true", 1048576)
    deleted_file = media["17D12F275A7BD209764878CC488DF166"]["MediaFiles"][0]
    assert (deleted_file["Deleted"], deleted_file["Unallocated"]) == ("true", "false")
    assert media["1F74922817AA6C5C948DD7B7C0125452"]["Category"] is None  # unknown: uncategorised
    # The export flows back in as a hash set a national database could take.
    done = run_cli("lists", "import", str(export), "--list", "back", "--db", db)
    assert "imported 24 entries" in done.stdout


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    return binary


@pytest.mark.slow
def test_html_report_is_self_contained_and_renders_in_chromium(db, tmp_path):
    image = require_shared("forensic-images", "synthetic", "fat12-synthetic.E01")
    hashset = require_shared("forensic-images", "synthetic", "synthetic-vics2-hashset.json")
    run_cli("lists", "import", str(hashset), "--list", "vic", "--db", db)
    run_cli("scan", str(image), "--case", "OP-7", "--exhibit", "EX1", "--db", db)
    report = tmp_path / "report.html"
    run_cli("report", "--case", "OP-7", "--format", "html", "-o", str(report), "--db", db)
    html = report.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert html.count("<img") == 2  # the two unknown pictures' thumbnails, nothing graded
    assert "<svg" in html and "verified" in html

    chromium = _chromium()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [chromium, *flags, "--window-size=1000,1400", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.stat().st_size > 10_000
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Unknown images: 2 in 2 families" in dom
    with Image.open(shot) as screenshot:
        assert screenshot.size == (1000, 1400)
        assert screenshot.convert("L").getextrema() != (255, 255)  # something was drawn
