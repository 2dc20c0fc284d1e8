"""Exhibits you can trust: no item aborts a scan, and an exhibit not fully read says so.

Every report format carries each exhibit's status (``complete``, ``incomplete``,
``failed``) and its exhibit-level warnings; ``safeguard scan`` exits 3 when the
exhibit is not complete, and ``safeguard report`` says so on stderr too.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import tarfile
import zipfile

import pytest

from conftest import init_store, require_shared, run_cli
from disk_builders import (
    fat_camera_card,
    mbr_disk,
    ntfs_volume,
    pictures,
    require_tools,
    run,
    with_vhd_footer,
)

NOT_COMPLETE = 3


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    return init_store(str(tmp_path / "case.db"))


def _scan(db, source, exhibit="EX1", *, check=True):
    done = run_cli(
        "scan", str(source), "--case", "C1", "--exhibit", exhibit, "--json", "--db", db,
        check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done


def _records(db, exhibit="EX1"):
    from safeguard.store import Store
    from safeguard.store.cases import Cases
    from safeguard.store.items import ExhibitItems

    store = Store.open(db)
    return list(ExhibitItems(store).items(Cases(store).exhibit("C1", exhibit).id))


def _locators(db, exhibit="EX1") -> list[str]:
    return [record.locator for record in _records(db, exhibit)]


def _errors(db, exhibit="EX1") -> dict[str, list[str]]:
    return {record.locator: record.errors for record in _records(db, exhibit)}


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the point of the test
@pytest.mark.slow
def test_members_of_one_name_a_fifo_and_empty_files_never_abort_a_scan(db, tmp_path):
    found = pictures()
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    with zipfile.ZipFile(exhibit / "twice.zip", "w") as archive:
        archive.writestr("DCIM/x.jpg", found["gradient.jpg"])
        archive.writestr("DCIM/x.jpg", found["circles.jpg"])  # same name, other picture
    with tarfile.open(exhibit / "twice.tar", "w") as archive:
        for data in (found["stripes.jpg"], found["checker.png"]):
            info = tarfile.TarInfo("same.bin")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    os.mkfifo(exhibit / "pipe")
    for index in range(3):
        (exhibit / f"empty{index}.txt").write_bytes(b"")

    summary, _ = _scan(db, exhibit)
    assert summary["status"] == "complete" and summary["warnings"] == []
    assert summary["files"] == 2 + 2 + 2 + 1 + 3  # archives, their members, the pipe, empties
    assert summary["empty"] == 3
    assert summary["errors"] == 1  # the pipe, never opened
    locators = _locators(db)
    assert "EX1 / twice.zip / DCIM/x.jpg" in locators
    assert "EX1 / twice.zip / DCIM/x.jpg [member 2]" in locators
    assert "EX1 / twice.tar / same.bin [member 2]" in locators
    again, _ = _scan(db, exhibit)  # finished: the same answer, nothing counted twice
    assert again == summary


@pytest.mark.slow
def test_camera_card_with_a_deleted_name_like_a_live_one(db, tmp_path):
    card = fat_camera_card(tmp_path / "card.img")
    summary, _ = _scan(db, card)
    assert summary["status"] == "complete"
    locators = _locators(db)
    assert "EX1 / FAT16 / DCIM/_MG_0001.JPG" in locators
    assert "EX1 / FAT16 / DCIM/_MG_0001.JPG [inode 517]" in locators
    assert "EX1 / FAT16 / $OrphanFiles/_otes.dat" in locators


@pytest.mark.slow
def test_truncated_e01_is_a_failed_exhibit_in_every_report(db, tmp_path):
    e01 = require_shared("forensic-images", "synthetic", "fat12-synthetic.E01")
    truncated = tmp_path / "exhibit.E01"
    truncated.write_bytes(e01.read_bytes()[:15_000])
    summary, done = _scan(db, truncated, check=False)
    assert done.returncode == NOT_COMPLETE
    assert summary["status"] == "failed" and summary["files"] == 0
    assert summary["warnings"] and summary["warnings"][0]["level"] == "error"
    assert "EWF" in summary["warnings"][0]["message"]
    assert "FAILED" in done.stderr

    report = run_cli("report", "--case", "C1", "--format", "json", "--db", db)
    assert json.loads(report.stdout)["exhibits"][0]["status"] == "failed"
    assert "FAILED" in report.stderr
    html = run_cli("report", "--case", "C1", "--format", "html", "--db", db).stdout
    assert "This report is not complete" in html and "class=banner" in html
    rows = list(csv.DictReader(io.StringIO(run_cli(
        "report", "--case", "C1", "--format", "csv", "--db", db).stdout)))  # fmt: skip
    assert [(r["exhibit"], r["location"], r["exhibit_status"]) for r in rows] == [
        ("EX1", "", "failed")
    ]
    assert "EWF" in rows[0]["exhibit_warnings"]


@pytest.mark.slow
def test_interrupted_scan_reads_as_incomplete(db, tmp_path):
    from safeguard.store import Store
    from safeguard.store.cases import Cases
    from safeguard.store.items import ExhibitItems, ItemRecord

    store = Store.open(db)
    state = Cases(store).start_exhibit("C1", "EX1", str(tmp_path), {"pdq_mode": "fast"})
    record = ItemRecord(0, "EX1 / a.txt", [{"kind": "folder", "name": "EX1"}], "allocated", size=3)
    ExhibitItems(store).save_items(state.id, [record])
    report = run_cli("report", "--case", "C1", "--format", "json", "--db", db)
    assert json.loads(report.stdout)["exhibits"][0]["status"] == "incomplete"
    assert "INCOMPLETE" in report.stderr and "1 items so far" in report.stderr
    html = run_cli("report", "--case", "C1", "--format", "html", "--db", db).stdout
    assert "INCOMPLETE" in html and "This report is not complete" in html


@pytest.mark.slow
def test_partition_without_a_file_system_fails_the_exhibit_but_the_others_are_read(db, tmp_path):
    card = fat_camera_card(tmp_path / "card.img")
    disk = mbr_disk(tmp_path / "disk.img", [card.read_bytes(), os.urandom(1 << 20)])
    summary, done = _scan(db, disk, check=False)
    assert done.returncode == NOT_COMPLETE and summary["status"] == "failed"
    assert [w["message"] for w in summary["warnings"]] == [
        "partition 2: no file system found (unsupported, damaged or wiped)"
    ]
    assert "EX1 / partition 1 / FAT16 / DCIM/_MG_0001.JPG" in _locators(db)


@pytest.mark.slow
def test_encrypted_volume_is_listed_never_skipped(db, tmp_path):
    require_tools("cryptsetup")
    volume = tmp_path / "luks.img"
    with volume.open("wb") as out:
        out.truncate(8 << 20)
    passphrase = b"benign test passphrase"
    run("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks1",
        "--pbkdf-force-iterations", "1000", volume, "-", stdin=passphrase)  # fmt: skip
    summary, done = _scan(db, volume, check=False)
    assert done.returncode == NOT_COMPLETE and summary["status"] == "failed"
    assert summary["warnings"] == [
        {"level": "error", "message": "the image: LUKS encrypted volume: not read"}
    ]


def test_file_with_a_file_system_signature_is_never_one_opaque_file(db, tmp_path):
    fake = tmp_path / "disk.img"
    sector = bytearray(os.urandom(64 * 1024))
    sector[3:11] = b"NTFS    "
    fake.write_bytes(bytes(sector))
    summary, done = _scan(db, fake, check=False)
    assert done.returncode == NOT_COMPLETE and summary["status"] == "failed"
    assert summary["files"] == 0 and summary["warnings"][0]["level"] == "error"


@pytest.mark.slow
def test_vhd_footer_image_is_read_as_raw_with_a_warning(db, tmp_path):
    card = fat_camera_card(tmp_path / "card.img")
    image = with_vhd_footer(card, tmp_path / "card.dd")
    summary, _ = _scan(db, image)
    assert summary["status"] == "complete"
    (warning,) = summary["warnings"]
    assert warning["level"] == "warning" and "read as raw" in warning["message"]
    assert "EX1 / FAT16 / DCIM/_MG_0001.JPG" in _locators(db)


@pytest.mark.slow
def test_disk_images_inside_a_folder_an_archive_and_a_compressed_file(db, tmp_path):
    card = fat_camera_card(tmp_path / "card.img")
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    shutil.copyfile(card, exhibit / "backup.dd")
    with zipfile.ZipFile(exhibit / "images.zip", "w") as archive:
        archive.write(card, "old/card.img")
    with card.open("rb") as raw, gzip.open(tmp_path / "card.raw.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    require_tools("ewfacquire")
    raw = tmp_path / "acquired.raw"
    shutil.copyfile(card, raw)
    split = ("-c", "none", "-S", "1048576", "-C", "C", "-D", "d", "-e", "e", "-E", "E", "-N", "n")
    run("ewfacquire", "-u", *split, "-M", "logical", "-t", exhibit / "card", raw)
    assert (exhibit / "card.E02").exists()  # split: read once, through its first segment

    summary, _ = _scan(db, exhibit)
    assert summary["status"] == "complete"
    locators = _locators(db)
    assert "EX1 / backup.dd / FAT16 / DCIM/_MG_0001.JPG" in locators
    assert "EX1 / backup.dd / FAT16 / DCIM/_MG_0001.JPG [inode 517]" in locators
    assert "EX1 / images.zip / old/card.img / FAT16 / DCIM/_MG_0001.JPG" in locators
    assert "EX1 / backup.dd" in locators  # the image file is itself an item
    assert "EX1 / card.E01 / FAT16 / DCIM/_MG_0001.JPG" in locators
    assert not any(locator.startswith("EX1 / card.E02 /") for locator in locators)
    containers = ("backup.dd", "images.zip", "images.zip / old/card.img", "card.E01", "card.E02")
    assert all(not _errors(db)[f"EX1 / {name}"] for name in containers)

    compressed, _ = _scan(db, tmp_path / "card.raw.gz", "EX2")
    assert compressed["status"] == "complete"
    assert "EX2 / FAT16 / DCIM/_MG_0001.JPG" in _locators(db, "EX2")


@pytest.mark.slow
def test_disk_image_inside_a_disk_image(db, tmp_path):
    card = fat_camera_card(tmp_path / "card.img")
    laptop = ntfs_volume(tmp_path / "laptop.img", {"Backups/card.img": card.read_bytes()})
    summary, _ = _scan(db, laptop)
    assert summary["status"] == "complete"
    errors = _errors(db)
    assert errors["EX1 / NTFS / Backups/card.img"] == []
    assert "EX1 / NTFS / Backups/card.img / FAT16 / DCIM/_MG_0001.JPG [inode 517]" in errors
    assert "EX1 / NTFS / Users/bob/notes.txt:secret.jpg" in errors
