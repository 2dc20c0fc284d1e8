"""Disk images through dfVFS and the Sleuth Kit: containers, partitions, deleted files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from safeguard.sources.base import Allocation, Level
from safeguard.sources.disk import DiskImageSource, verify_ewf

from conftest import require_shared


def _listing(image):
    listing = {}
    for item in DiskImageSource.from_path(image).items():
        with item.open() as stream:
            listing[str(item.locator)] = (item.allocation, hashlib.md5(stream.read()).hexdigest())
    return listing


@pytest.mark.parametrize(
    ("image", "prefix"),
    [
        ("fat12-synthetic.E01", "fat12-synthetic.E01 / FAT12 / "),
        ("fat12-synthetic.raw", "fat12-synthetic.raw / FAT12 / "),
        ("mbr-fat16-synthetic.E01", "mbr-fat16-synthetic.E01 / partition 1 / FAT16 / "),
    ],
)
def test_synthetic_images_list_every_file_including_the_deleted_one(image, prefix):
    expected = json.loads(
        require_shared("forensic-images", "synthetic", "expected.json").read_text()
    )
    path = require_shared("forensic-images", "synthetic", image)
    listing = _listing(path)
    files = expected["images"]["fat12-synthetic.raw"]["files"]
    wanted = {}
    for entry in files:
        name = entry.get("tsk_name") or entry["path"].rsplit("/", 1)[-1]
        folder = entry["path"].rsplit("/", 1)[0].lstrip("/")
        located = f"{prefix}{folder}/{name}" if folder else f"{prefix}{name}"
        state = Allocation.ALLOCATED if entry["allocated"] else Allocation.DELETED
        wanted[located] = (state, entry["md5"])
    if "fat12" in image:  # only the FAT12 image holds a picture that carving alone finds
        for entry in expected["images"]["fat12-synthetic.raw"]["carve_only"]:
            where = f"jpeg at byte {entry['byte_offset']:,} (sector {entry['sector']})"
            wanted[f"{prefix}{where}"] = (Allocation.CARVED, entry["md5"])
    assert listing == wanted  # the deleted JPEG is listed once: carving does not repeat it


@pytest.mark.parametrize("container", ["ext2.E01", "ext2.qcow2", "ext2.vmdk", "ext2.vhd"])
def test_every_container_gives_the_same_files(container):
    listing = _listing(require_shared("forensic-images", "dfvfs", container))
    assert {name.split(" / ", 1)[1]: md5 for name, (_, md5) in listing.items()} == {
        "ext2 / a_directory/a_file": "85bebf486af24792085f769afa46717d",
        "ext2 / a_directory/another_file": "d54ff73404ed6041a3bd66850b061bff",
        "ext2 / passwords.txt": "39cb097008d17660abd0539891a672af",
    }


def test_ntfs_volume_without_partition_table():
    listing = _listing(require_shared("forensic-images", "dfvfs", "windows_volume.qcow2"))
    assert list(listing) == ["windows_volume.qcow2 / NTFS / Windows/System32/config/syslog"]


def test_e01_stored_md5_is_verified():
    image = require_shared("forensic-images", "synthetic", "fat12-synthetic.E01")
    result = verify_ewf(image)
    assert result == {
        "stored_md5": "21a473bff3cefc1f3f596d8e130e526e",
        "computed_md5": "21a473bff3cefc1f3f596d8e130e526e",
        "verified": True,
    }


def test_reading_an_image_leaves_it_untouched(tmp_path):
    source = require_shared("forensic-images", "synthetic", "mbr-fat16-synthetic.E01")
    copy = tmp_path / "exhibit.E01"
    copy.write_bytes(source.read_bytes())
    copy.chmod(0o444)
    before = (hashlib.sha256(copy.read_bytes()).hexdigest(), os.stat(copy).st_mtime_ns)
    _listing(copy)
    verify_ewf(copy)
    assert (hashlib.sha256(copy.read_bytes()).hexdigest(), os.stat(copy).st_mtime_ns) == before


def test_not_a_disk_image(tmp_path):
    junk = tmp_path / "junk.img"
    junk.write_bytes(os.urandom(64 * 1024))
    source = DiskImageSource.from_path(junk)
    assert list(source.items()) == []
    assert not source.volumes().recognised
    assert [p.level for p in source.problems] == [Level.ERROR]


def _fat12_listing_within(image) -> dict:
    return {name.split(" / ", 1)[1]: state for name, state in _listing(image).items()}


def test_split_raw_segments_are_one_disk(tmp_path):
    raw = require_shared("forensic-images", "synthetic", "fat12-synthetic.raw").read_bytes()
    for index, start in enumerate(range(0, len(raw), 700_000)):
        (tmp_path / f"disk.raw.{index:03d}").write_bytes(raw[start : start + 700_000])
    whole = require_shared("forensic-images", "synthetic", "fat12-synthetic.raw")
    # The carve-only picture at 1 MiB straddles the first segment boundary.
    assert _fat12_listing_within(tmp_path / "disk.raw.000") == _fat12_listing_within(whole)


def test_split_e01_segments_are_one_disk(tmp_path):
    if shutil.which("ewfacquire") is None:
        message = "ewfacquire (Debian ewf-tools) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    raw = require_shared("forensic-images", "synthetic", "fat12-synthetic.raw")
    shutil.copyfile(raw, tmp_path / "whole.raw")
    subprocess.run(
        ["ewfacquire", "-u", "-c", "none", "-S", "1048576", "-C", "C", "-D", "d", "-e", "e",
         "-E", "E", "-M", "logical", "-N", "n", "-t", "seg", "whole.raw"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    assert (tmp_path / "seg.E02").exists()
    assert _fat12_listing_within(tmp_path / "seg.E01") == _fat12_listing_within(raw)
    assert verify_ewf(tmp_path / "seg.E01")["verified"] is True
