"""Hostile and broken inputs become error records; every other file still hashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeguard.signals.extract import HashOptions, hash_file

from conftest import jsonl, png_declaring, run_cli


def _exhibit(tmp_path: Path, photo: Path) -> Path:
    folder = tmp_path / "exhibit"
    (folder / "sub").mkdir(parents=True)
    good = photo.read_bytes()
    (folder / "a-good.jpg").write_bytes(good)
    (folder / "b-truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "c-random.jpg").write_bytes(os.urandom(50_000))
    (folder / "d-bomb.png").write_bytes(png_declaring(100_000, 100_000))
    (folder / "e-empty.jpg").write_bytes(b"")
    (folder / "sub" / "f-good-copy.jpg").write_bytes(good)
    (folder / "sub" / "loop").symlink_to("..", target_is_directory=True)
    os.mkfifo(folder / "g-fifo")
    return folder


def test_hostile_files_are_error_records_and_the_rest_hashes(tmp_path, photo):
    folder = _exhibit(tmp_path, photo)
    done = run_cli("hash", "--recursive", "--workers", "2", str(folder))
    assert done.returncode == 0
    records = {Path(r["path"]).relative_to(folder).as_posix(): r for r in jsonl(done.stdout)}
    assert set(records) == {
        "a-good.jpg",
        "b-truncated.jpg",
        "c-random.jpg",
        "d-bomb.png",
        "e-empty.jpg",
        "g-fifo",
        "sub/f-good-copy.jpg",
        "sub/loop",
    }
    for good in ("a-good.jpg", "sub/f-good-copy.jpg"):
        assert records[good]["error"] is None
        assert len(records[good]["pdq"]) == 64
    assert records["a-good.jpg"]["sha256"] == records["sub/f-good-copy.jpg"]["sha256"]

    truncated = records["b-truncated.jpg"]
    assert truncated["error"] == "truncated: hashed the decodable part"
    assert truncated["type"] == "image/jpeg" and len(truncated["pdq"]) == 64
    assert len(truncated["sha256"]) == 64  # the bytes are still evidence: hashed anyway

    random = records["c-random.jpg"]
    assert random["type"] == "application/octet-stream"
    assert "does not match its .jpg extension" in random["error"]

    bomb = records["d-bomb.png"]
    assert "decompression bomb" in bomb["error"] and "100000x100000" in bomb["error"]
    assert bomb["width"] is None

    empty = records["e-empty.jpg"]
    assert empty["error"] == "empty file (0 bytes)"
    assert empty["md5"] == "d41d8cd98f00b204e9800998ecf8427e" and empty["size"] == 0

    assert "loop" in records["sub/loop"]["error"]
    assert records["g-fifo"]["error"] == "not a regular file (named pipe)"


def test_pixel_cap_is_configurable(tmp_path, photo):
    done = run_cli("hash", "--max-pixels", "1000", str(photo))
    (record,) = jsonl(done.stdout)
    assert "over the 1,000-pixel cap" in record["error"]
    assert record["sha1"] is not None
    result = hash_file(str(photo), HashOptions())
    assert result.error is None


@pytest.mark.slow
def test_missing_paths_are_recorded_and_bare_folders_refused(tmp_path, photo):
    done = run_cli("hash", str(tmp_path / "nope.jpg"), str(photo))
    missing, good = jsonl(done.stdout)
    assert missing["error"] == "cannot open: No such file or directory"
    assert good["error"] is None
    # A folder without --recursive would hash nothing: refused up front, never a blank record.
    for command in ("hash", "match"):
        refused = run_cli(command, str(photo), str(tmp_path), check=False)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.strip().splitlines() == [
            f"safeguard: {tmp_path} is a folder: add --recursive (-r) to take its files"
        ]
