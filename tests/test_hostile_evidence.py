"""Evidence made by people who do not want it found: no hiding place, bounded work, no crash.

Each test builds the hostile input from benign pictures and asserts that the
concealed content is found and matched, or an explicit error is recorded, and
that the work ends (a generous timeout guards against hangs; timings are measured
in bench/hostile.py, never asserted here).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import psutil
import py7zr
import pytest

from safeguard.sources.archives import ArchiveLimits
from safeguard.sources.files import change_while_read, open_evidence
from safeguard.sources.folder import FolderSource
from safeguard.sources.nested import expand_containers

from conftest import REPO, import_list, init_store, jsonl, require_shared, run_cli
from disk_builders import require_tools, run

pytestmark = pytest.mark.slow  # many real commands, each a new process


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    stripes = jsonl(run_cli("hash", str(_picture("stripes.jpg"))).stdout)[0]
    (tmp_path / "list.txt").write_text(stripes["md5"] + "\n")
    import_list(db, tmp_path / "list.txt", "graded", "--category", "A")
    return db


def _picture(name: str) -> Path:
    return require_shared("forensic-images", "synthetic", "pictures", name)


def _items(folder: Path, **limits) -> dict[str, object]:
    found = expand_containers(FolderSource(folder, "E").items(), ArchiveLimits(**limits))
    return {str(item.locator): item for item in found}


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _scan(db: str, source: Path, exhibit: str = "E") -> dict:
    done = run_cli("scan", str(source), "--case", "C", "--exhibit", exhibit, "--json", "--db", db,
                   check=False)  # fmt: skip
    assert done.returncode in (0, 3), done.stderr
    return json.loads(done.stdout)


def test_archives_hidden_after_pictures_and_executables_are_opened(db, tmp_path):
    secret = _zip("secret/holiday.jpg", _picture("stripes.jpg").read_bytes())
    folder = tmp_path / "exhibit"
    folder.mkdir()
    (folder / "cover.jpg").write_bytes(_picture("gradient.jpg").read_bytes() + secret)
    (folder / "cover.png").write_bytes(_picture("checker.png").read_bytes() + secret)
    (folder / "setup.exe").write_bytes(b"MZ" + b"\x90" * 4000 + secret)  # a self-extractor
    summary = _scan(db, folder)
    assert summary["categories"]["A"]["files"] == 3  # the concealed picture, three times over
    locations = {row["location"] for row in summary_rows(db)}
    assert "E / cover.jpg / data after the picture, at byte 4,677 / secret/holiday.jpg" in locations
    assert "E / setup.exe / secret/holiday.jpg" in locations


def summary_rows(db: str) -> list[dict]:
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)
    return [row for exhibit in report["exhibits"] for row in exhibit["schedule"]]


def test_tar_and_zip_members_that_used_to_vanish(tmp_path):
    folder = tmp_path / "exhibit"
    folder.mkdir()
    data = _picture("circles.jpg").read_bytes()
    with tarfile.open(folder / "odd.tar", "w") as archive:
        for name, mtime in (("a.jpg", 1_600_000_000), ("b.jpg", 10**12), ("c.jpg", 0)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("again.jpg")
        link.type, link.linkname = tarfile.LNKTYPE, "a.jpg"
        archive.addfile(link)
    with zipfile.ZipFile(folder / "odd.zip", "w") as archive:
        archive.writestr("looks-like-a-folder.jpg/", data)
    items = _items(folder)
    for name in ("a.jpg", "b.jpg", "c.jpg"):  # an absurd time never ends the walk
        assert items[f"E / odd.tar / {name}"].size == len(data)
    assert "hard link to 'a.jpg'" in items["E / odd.tar / again.jpg"].errors[0]
    assert items["E / odd.zip / looks-like-a-folder.jpg/"].size == len(data)


def test_names_that_are_not_utf8_keep_every_record(db, tmp_path):
    folder = tmp_path / "exhibit"
    folder.mkdir()
    raw_name = os.fsencode(folder) + b"/caf\xe9-\xff.jpg"
    with open(raw_name, "wb") as handle:
        handle.write(_picture("stripes.jpg").read_bytes())
    (folder / "later.txt").write_text("after the odd name\n")
    records = jsonl(
        run_cli("hash", "-r", str(folder), env={**os.environ, "LC_ALL": "C.UTF-8"}).stdout
    )
    assert sorted(Path(r["path"]).name for r in records) == ["caf\\xe9-\\xff.jpg", "later.txt"]
    summary = _scan(db, folder)
    assert summary["files"] == 2 and summary["categories"]["A"]["files"] == 1


def test_a_file_that_changes_while_read_is_flagged(tmp_path):
    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * 4096)
    with open_evidence(path) as stream:
        stream.read()
        assert change_while_read(stream) is None
        with path.open("ab") as writer:
            writer.write(b"more")
        assert "changed while being read" in change_while_read(stream)


def _fan_out(tmp_path: Path) -> Path:
    level = b"leaf"
    for depth in range(4):  # 12 members per level, 4 levels: 20,736 leaves
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for index in range(12):
                archive.writestr(f"m{index}" + (".zip" if depth else ".txt"), level)
        level = buffer.getvalue()
    folder = tmp_path / "exhibit"
    folder.mkdir()
    (folder / "a-before.txt").write_text("read\n")
    (folder / "fan.zip").write_bytes(level)
    (folder / "z-after.txt").write_text("read too\n")
    return folder


def test_nested_fan_out_stops_at_the_exhibit_budget_and_the_rest_is_scanned(tmp_path):
    items = _items(_fan_out(tmp_path), max_exhibit_members=1000)
    assert len(items) <= 1000 + 10
    assert "expanded past 1,000 members" in items["E / fan.zip"].errors[0]
    assert "E / a-before.txt" in items and "E / z-after.txt" in items


def test_the_exhibit_budget_is_the_examiners_to_set_and_its_end_fails_the_exhibit(db, tmp_path):
    folder = _fan_out(tmp_path)
    scan = ["scan", str(folder), "--case", "C", "--json", "--db", db]
    done = run_cli(*scan, "--exhibit", "small", "--max-archive-members", "500", check=False)
    summary = json.loads(done.stdout)
    assert done.returncode == 3 and summary["status"] == "failed"
    assert "--max-archive-members" in done.stderr  # how to read the rest
    assert summary["files"] <= 500 + 10
    raised = run_cli(*scan, "--exhibit", "whole", "--max-archive-members", "30000")
    assert json.loads(raised.stdout)["status"] == "complete"
    assert json.loads(raised.stdout)["files"] > 20_736


def test_a_7z_of_many_members_is_read_one_member_at_a_time(tmp_path):
    folder = tmp_path / "exhibit"
    folder.mkdir()
    with py7zr.SevenZipFile(folder / "many.7z", "w") as archive:
        for index in range(20_000):
            archive.writestr(f"note {index}\n".encode() * 20, f"n/{index}.txt")
    items = _items(folder)
    assert len(items) == 20_001 and items["E / many.7z / n/19999.txt"].size > 0


def test_split_image_with_a_missing_segment_fails_loudly(db, tmp_path):
    raw = require_shared("forensic-images", "synthetic", "fat12-synthetic.raw").read_bytes()
    for index, start in enumerate(range(0, len(raw), 500_000), 1):
        if index != 2:
            (tmp_path / f"disk.{index:03d}").write_bytes(raw[start : start + 500_000])
    summary = _scan(db, tmp_path / "disk.001")
    assert summary["status"] == "failed"
    messages = " ".join(w["message"] for w in summary["warnings"])
    assert "disk.002 missing" in messages and "truncated or a segment is missing" in messages


def test_fat_entry_with_an_impossible_size_is_listed(tmp_path):
    require_tools("mkfs.fat", "mcopy")
    image = tmp_path / "card.img"
    run("mkfs.fat", "-F", "16", "-C", image, "16384")
    run("mcopy", "-i", image, _picture("circles.jpg"), "::/HUGE.JPG")
    data = bytearray(image.read_bytes())
    struct.pack_into("<I", data, data.find(b"HUGE    JPG") + 28, 0xFFFFFF00)
    image.write_bytes(bytes(data))
    from safeguard.sources.disk import DiskImageSource

    found = {str(i.locator): i for i in DiskImageSource.from_path(image, "X").items()}
    assert "larger than the volume" in found["X / FAT16 / HUGE.JPG"].errors[0]


def test_a_declared_size_beyond_the_volume_is_read_only_as_far_as_the_volume(tmp_path):
    require_tools("mkfs.ext4", "debugfs")
    image = tmp_path / "ext4.img"
    with image.open("wb") as volume:
        volume.truncate(16 << 20)
    run("mkfs.ext4", "-q", "-F", image)
    run("debugfs", "-w", "-R", f"write {_picture('circles.jpg')} huge.jpg", image)
    run("debugfs", "-w", "-R", "sif huge.jpg size 0x1000000000000000", image)
    from safeguard.sources.disk import DiskImageSource

    (item,) = [
        i for i in DiskImageSource.from_path(image, "X").items() if i.locator.name == "huge.jpg"
    ]
    assert item.size == 16 << 20 and "larger than the volume" in item.errors[0]


def test_hashing_workers_killed_at_random_never_end_the_scan(db, tmp_path, corpus):
    folder = tmp_path / "exhibit"
    folder.mkdir()
    for index, photo in enumerate(sorted(corpus.rglob("*.jpg"))[:150]):
        shutil.copyfile(photo, folder / f"{index:03d}.jpg")
    command = [sys.executable, "-m", "safeguard", "scan", str(folder), "--case", "C",
               "--exhibit", "E", "--workers", "2", "--json", "--db", db]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO)  # fmt: skip
    stop = threading.Event()

    def killer() -> None:
        kills = 0
        while not stop.is_set() and kills < 6:
            time.sleep(0.4)
            try:
                workers = psutil.Process(process.pid).children()
            except psutil.Error:
                return
            if workers:
                os.kill(workers[kills % len(workers)].pid, signal.SIGKILL)
                kills += 1

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        out, err = process.communicate(timeout=600)
    finally:
        stop.set()
        thread.join()
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["files"] == 150 and summary["status"] == "complete"
