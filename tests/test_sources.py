"""Sources: folder trees and archives nested inside them, hostile ones included."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest

from safeguard.sources.archives import ArchiveLimits
from safeguard.sources.folder import FolderSource
from safeguard.sources.nested import expand_containers


def _items(folder: Path, **limits):
    items = list(expand_containers(FolderSource(folder, "EX1").items(), ArchiveLimits(**limits)))
    return {str(item.locator): item for item in items}


def _sha(item) -> str:
    with item.open() as stream:
        return hashlib.sha256(stream.read()).hexdigest()


@pytest.fixture
def photos(corpus) -> list[bytes]:
    return [p.read_bytes() for p in sorted((corpus / "bsds500" / "test").glob("*.jpg"))[:4]]


def test_folder_tree_links_stay_inside_the_exhibit(tmp_path, photos):
    exhibit = tmp_path / "exhibit"
    (exhibit / "DCIM" / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(photos[1])
    (exhibit / "DCIM" / "a.jpg").write_bytes(photos[0])
    (exhibit / "DCIM" / "link-in.jpg").symlink_to(exhibit / "DCIM" / "a.jpg")
    (exhibit / "DCIM" / "link-out.jpg").symlink_to(outside)
    (exhibit / "DCIM" / "sub" / "loop").symlink_to("..", target_is_directory=True)
    items = _items(exhibit)
    assert set(items) == {
        "EX1 / DCIM/a.jpg",
        "EX1 / DCIM/link-in.jpg",
        "EX1 / DCIM/link-out.jpg",
        "EX1 / DCIM/sub/loop",
    }
    assert _sha(items["EX1 / DCIM/link-in.jpg"]) == hashlib.sha256(photos[0]).hexdigest()
    out = items["EX1 / DCIM/link-out.jpg"]
    assert out.open is None and "outside the exhibit" in out.errors[0]
    assert "loop" in items["EX1 / DCIM/sub/loop"].errors[0]
    first = items["EX1 / DCIM/a.jpg"]
    assert first.size == len(photos[0]) and first.modified is not None


def test_nested_archives_are_walked_in_place(tmp_path, photos):
    inner = io.BytesIO()
    with py7zr.SevenZipFile(inner, "w") as seven:
        seven.writestr(photos[1], "deep/b.jpg")
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tar:
        info = tarfile.TarInfo("c.jpg")
        info.size = len(photos[2])
        tar.addfile(info, io.BytesIO(photos[2]))
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    with zipfile.ZipFile(exhibit / "a.zip", "w") as archive:
        archive.writestr("a.jpg", photos[0])
        archive.writestr("inner.7z", inner.getvalue())
        archive.writestr("pics.tar.gz", tar_bytes.getvalue())
    (exhibit / "holiday.jpg.gz").write_bytes(gzip.compress(photos[3]))
    items = _items(exhibit)
    expected = {
        "EX1 / a.zip": None,
        "EX1 / a.zip / a.jpg": photos[0],
        "EX1 / a.zip / inner.7z": None,
        "EX1 / a.zip / inner.7z / deep/b.jpg": photos[1],
        "EX1 / a.zip / pics.tar.gz": None,
        "EX1 / a.zip / pics.tar.gz / c.jpg": photos[2],
        "EX1 / holiday.jpg.gz": None,
        "EX1 / holiday.jpg.gz / holiday.jpg": photos[3],
    }
    assert set(items) == set(expected)
    for name, data in expected.items():
        assert items[name].errors == [], name
        if data is not None:
            assert _sha(items[name]) == hashlib.sha256(data).hexdigest(), name
    assert items["EX1 / a.zip / inner.7z / deep/b.jpg"].locator.archive_depth == 2


def test_zip_bombs_are_stopped_and_recorded(tmp_path):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    with zipfile.ZipFile(exhibit / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (40 << 20))
        archive.writestr("ok.txt", b"fine")
    items = _items(exhibit)
    bomb = items["EX1 / bomb.zip / zeros.bin"]
    assert bomb.open is None and "possible zip bomb" in bomb.errors[0]
    assert items["EX1 / bomb.zip / ok.txt"].errors == []
    capped = _items(exhibit, max_ratio=10_000, max_total_bytes=1 << 20)
    assert "expands past" in capped["EX1 / bomb.zip / zeros.bin"].errors[0]


def test_encrypted_traversal_corrupt_and_too_deep(tmp_path, photos):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    with zipfile.ZipFile(exhibit / "odd.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("locked.jpg", b"x" * 100)
        archive.writestr("../../etc/evil.jpg", photos[0])
        archive.writestr("broken.jpg", photos[1])
    data = bytearray((exhibit / "odd.zip").read_bytes())
    with zipfile.ZipFile(exhibit / "odd.zip") as archive:
        locked = archive.getinfo("locked.jpg")
        broken = archive.getinfo("broken.jpg")
    # Mark locked.jpg encrypted (general-purpose flag bit 0) in its local and central headers.
    data[locked.header_offset + 6] |= 0x1
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len("locked.jpg")] != b"locked.jpg":
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + 8] |= 0x1
    # Scramble the middle of broken.jpg's compressed data.
    middle = broken.header_offset + 30 + len(broken.filename) + broken.compress_size // 2
    data[middle : middle + 64] = os.urandom(64)
    (exhibit / "odd.zip").write_bytes(bytes(data))

    with py7zr.SevenZipFile(exhibit / "secret.7z", "w", password="p4ss") as seven:
        seven.set_encrypted_header(True)
        seven.writestr(photos[2], "x.jpg")

    nested = photos[3]
    for level in range(4):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"level{level}.zip" if level else "deep.jpg", nested)
        nested = buffer.getvalue()
    (exhibit / "russian.zip").write_bytes(nested)

    items = _items(exhibit, max_depth=2)
    assert items["EX1 / odd.zip / locked.jpg"].errors == ["encrypted member: not read"]
    evil = items["EX1 / odd.zip / ../../etc/evil.jpg"]
    assert (
        "path traversal" in evil.errors[0] and _sha(evil) == hashlib.sha256(photos[0]).hexdigest()
    )
    assert "corrupt member" in items["EX1 / odd.zip / broken.jpg"].errors[0]
    secret = items["EX1 / secret.7z"]
    assert secret.errors and "7z" in str(secret.locator)
    deep = [name for name in items if name.startswith("EX1 / russian.zip")]
    assert len(deep) == 3  # the exhibit's zip, one level inside, and the level it stops at
    assert any("nested deeper than 2 levels" in e for n in deep for e in items[n].errors)


def test_truncated_archive_keeps_what_was_read(tmp_path, photos):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for index, data in enumerate(photos):
            info = tarfile.TarInfo(f"{index}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    whole = buffer.getvalue()
    (exhibit / "cut.tar.gz").write_bytes(whole[: int(len(whole) * 0.6)])
    items = _items(exhibit)
    archive = items["EX1 / cut.tar.gz"]
    assert archive.errors and "damaged" in archive.errors[0]
    members = [n for n in items if n.startswith("EX1 / cut.tar.gz / ")]
    assert 1 <= len(members) < len(photos)


def test_rar_archives_are_flagged_not_silently_skipped(tmp_path):
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    (exhibit / "old.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(64))
    items = _items(exhibit)
    assert items["EX1 / old.rar"].errors == [
        "RAR archive: members not read (no RAR backend installed)"
    ]
