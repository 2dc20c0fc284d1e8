"""The acceptance scenario: a seizure of two disk images, triaged and counted exactly.

Built in the test from benign corpus photos with Debian's own tools, as an
examiner's lab would: a FAT16 disk (dosfstools + mtools) with a deleted photo,
a photo only in unallocated space, nested zip and 7z archives, a renamed
picture, a near-duplicate and a corrupt file, acquired to E01 with ewfacquire;
and an NTFS volume (ntfs-3g's mkntfs and ntfscp) with an exact copy, a
recompressed copy and an unknown photo. Graded lists label some photos A, B and
C (a "Category A" here is a label on a harmless photo) and an NSRL-style list
marks a known-good file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import py7zr
import pytest
from PIL import Image

from conftest import IN_CI, file_counts, import_list, jsonl, run_cli

TOOLS = ("mkfs.fat", "mmd", "mcopy", "mdel", "mkntfs", "ntfscp", "ewfacquire")


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"Debian tools missing: {', '.join(missing)} (mtools dosfstools ntfs-3g ewf-tools)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def _run(*command: str, cwd: Path) -> None:
    subprocess.run(
        command,
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )


def _counted(summary: dict) -> dict:
    """The counts of an exhibit summary (provenance and schedule are checked elsewhere)."""
    keys = (
        "exhibit", "source", "status", "warnings", "files", "images", "videos",
        "undecodable_images", "empty", "errors", "known_good", "unknown_images", "unknown_groups",
    )  # fmt: skip
    return {key: summary[key] for key in keys} | {"categories": file_counts(summary["categories"])}


def _recompressed(photo: Path, scale: float, quality: int) -> bytes:
    with Image.open(photo) as image:
        size = (round(image.width * scale), round(image.height * scale))
        buffer = io.BytesIO()
        image.convert("RGB").resize(size).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.mark.slow
def test_seizure_scenario(tmp_path, corpus, monkeypatch):
    _require_tools()
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = str(tmp_path / "case.db")
    work = tmp_path / "lab"
    work.mkdir()
    photos = sorted((corpus / "bsds500" / "val").glob("*.jpg"))[:9]
    p = [photo.read_bytes() for photo in photos]
    for index, data in enumerate(p):
        (work / f"p{index}.jpg").write_bytes(data)
    (work / "small.jpg").write_bytes(_recompressed(photos[2], 0.5, 80))
    (work / "recompressed.jpg").write_bytes(_recompressed(photos[0], 1.0, 50))
    (work / "broken.jpg").write_bytes(p[6][: len(p[6]) // 3])
    (work / "license.txt").write_text("Permission is hereby granted, free of charge.\n")
    (work / "notes.txt").write_text("meeting at 10\n")
    seven = io.BytesIO()
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.writestr(p[0], "p0copy.jpg")
    with zipfile.ZipFile(work / "archive.zip", "w") as archive:
        archive.writestr("holiday/c.jpg", p[3])
        archive.writestr("inner.7z", seven.getvalue())

    # Exhibit 1: a FAT16 disk, one file deleted, one picture only in unallocated space, to E01.
    _run("mkfs.fat", "-C", "-F", "16", "-n", "EXHIBIT1", "fat.img", "16384", cwd=work)
    _run("mmd", "-i", "fat.img", "::/DCIM", "::/DOCS", cwd=work)
    for local, remote in (
        ("p0.jpg", "::/DCIM/p0.jpg"),
        ("p1.jpg", "::/DCIM/p1.jpg"),
        ("p4.jpg", "::/DCIM/p4.jpg"),
        ("small.jpg", "::/DCIM/small.jpg"),
        ("broken.jpg", "::/DCIM/broken.jpg"),
        ("license.txt", "::/license.txt"),
        ("archive.zip", "::/archive.zip"),
        ("p5.jpg", "::/DOCS/report.doc"),  # a picture under a misleading name
    ):
        _run("mcopy", "-m", "-i", "fat.img", local, remote, cwd=work)
    _run("mdel", "-i", "fat.img", "::/DCIM/p1.jpg", cwd=work)
    with (work / "fat.img").open("r+b") as disk:
        disk.seek(14 << 20)  # far past the files: space no directory entry points at
        disk.write(p[7])
    _run(
        "ewfacquire", "-u", "-c", "best", "-C", "OP-SCENARIO", "-D", "laptop disk",
        "-e", "examiner", "-E", "EXHIBIT-1", "-M", "logical", "-N", "benign test data",
        "-t", "exhibit1", "fat.img", cwd=work,
    )  # fmt: skip

    # Exhibit 2: an NTFS volume.
    with (work / "ntfs.img").open("wb") as volume:
        volume.truncate(24 << 20)
    _run("mkntfs", "-F", "-Q", "-q", "ntfs.img", cwd=work)
    for local, remote in (
        ("p3.jpg", "c.jpg"),
        ("p8.jpg", "p8.jpg"),
        ("recompressed.jpg", "recompressed.jpg"),
        ("notes.txt", "notes.txt"),
    ):
        _run("ntfscp", "-f", "ntfs.img", local, remote, cwd=work)

    # Graded lists: A by MD5 and PDQ, B by PDQ only, C by SHA-1; and a known-good list.
    exact = {
        i: jsonl(run_cli("hash", "--pdq-mode", "exact", str(work / f"p{i}.jpg")).stdout)[0]
        for i in range(4)
    }
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a.csv").write_text(
        f"md5,pdq,category\n{exact[0]['md5']},{exact[0]['pdq']},A\n{exact[1]['md5']},,A\n"
    )
    (lists / "b.txt").write_text(exact[2]["pdq"] + "\n")
    (lists / "c.txt").write_text(exact[3]["sha1"] + "\n")
    licence_sha1 = hashlib.sha1((work / "license.txt").read_bytes()).hexdigest().upper()
    (lists / "nsrl.txt").write_text(
        f'"SHA-1","MD5","CRC32","FileName"\n"{licence_sha1}","","","license.txt"\n'
    )
    import_list(db, lists / "a.csv", "caid-a")
    import_list(db, lists / "b.txt", "caid-b", "--signal", "pdq", "--category", "B")
    import_list(db, lists / "c.txt", "caid-c", "--category", "C")
    import_list(db, lists / "nsrl.txt", "nsrl")

    before = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in work.glob("exhibit1.E01")}
    run_cli(
        "scan", str(work / "exhibit1.E01"), "--case", "OP-SCENARIO", "--exhibit", "EX1", "--db", db
    )
    run_cli("scan", str(work / "ntfs.img"), "--case", "OP-SCENARIO", "--exhibit", "EX2", "--db", db)
    assert {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in work.glob("exhibit1.E01")
    } == before

    report = json.loads(
        run_cli("report", "--case", "OP-SCENARIO", "--format", "json", "--db", db).stdout
    )
    first, second = report["exhibits"]
    assert _counted(first) == {
        "exhibit": "EX1",
        "source": str((work / "exhibit1.E01").resolve()),
        "status": "complete",
        "warnings": [],
        # p0, deleted p1, p4, small, broken, license, archive.zip, its c.jpg, inner.7z,
        # its p0copy.jpg, report.doc, and the carved p7
        "files": 12,
        "images": 9,  # all pictures, broken.jpg (cut short) from its decodable part
        "videos": 0,
        "undecodable_images": 0,
        "empty": 0,
        "errors": 1,
        "known_good": 1,
        "categories": {
            "A": {"files": 3, "unique": 2},  # p0, the deleted p1, p0's copy inside zip/7z
            "B": {"files": 1, "unique": 1},  # the half-size copy of p2, by PDQ
            "C": {"files": 1, "unique": 1},  # p3 inside the zip
        },
        "unknown_images": 4,  # p4, report.doc (p5), the carved p7, broken.jpg (p6, cut)
        "unknown_groups": 4,
    }
    assert _counted(second) == {
        "exhibit": "EX2",
        "source": str((work / "ntfs.img").resolve()),
        "status": "complete",
        "warnings": [],
        "files": 4,
        "images": 3,
        "videos": 0,
        "undecodable_images": 0,
        "empty": 0,
        "errors": 0,
        "known_good": 0,
        "categories": {
            "A": {"files": 1, "unique": 1},  # p0 recompressed at quality 50, by PDQ
            "C": {"files": 1, "unique": 1},  # the exact copy of p3
        },
        "unknown_images": 1,  # p8
        "unknown_groups": 1,
    }
    assert first["categories"]["B"]["perceptual"] == 1  # to be confirmed by eye
    assert second["categories"]["A"]["perceptual"] == 1
    schedule = run_cli("report", "--case", "OP-SCENARIO", "--format", "csv", "--db", db).stdout
    assert len(schedule.strip().splitlines()) == 1 + 5 + 2
    assert ",deleted," in schedule
