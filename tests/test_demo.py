"""``safeguard demo``, the README's main job, and the pure-Python FAT12 card it builds."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from safeguard.demo.fat12 import DiskFile, build_image
from safeguard.sources.base import Allocation
from safeguard.sources.disk import DiskImageSource

from conftest import file_counts, run_cli


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    run_cli("demo", "--out", str(out), "--workers", "2")
    report = json.loads((out / "report.json").read_text())
    folder, card = report["exhibits"]
    assert (folder["exhibit"], card["exhibit"]) == ("folder", "camera-card")
    assert file_counts(folder["categories"]) == {
        "A": {"files": 3, "unique": 3},  # sunset.jpg; clouds.jpg and its re-saved, renamed copy
        "B": {"files": 2, "unique": 2},  # mountains.jpg and its rotated copy
        "C": {"files": 3, "unique": 3},  # rings.jpg, tiles.jpg and its palette GIF
    }
    assert folder["errors"] == 1 and folder["known_good"] == 1
    assert file_counts(card["categories"]) == {
        "A": {"files": 1, "unique": 1},
        "C": {"files": 1, "unique": 1},
    }
    html = (out / "report.html").read_text()
    assert html.count("<img") == folder["unknown_groups"] + card["unknown_groups"]
    run_cli("demo", "--out", str(out))  # runs again over its own earlier output


def test_fat12_card_holds_live_deleted_and_unallocated_pictures(tmp_path):
    files = [
        DiskFile("A.JPG", b"\xff\xd8\xff\xe0" + bytes(600)),
        DiskFile("B.TXT", b"hello", deleted=True),
    ]
    image = tmp_path / "card.img"
    image.write_bytes(build_image(files))
    listing = {
        str(item.locator): (item.allocation, hashlib.md5(item.open().read()).hexdigest())
        for item in DiskImageSource.from_path(image, carve=False).items()
    }
    assert listing == {
        "card.img / FAT12 / A.JPG": (Allocation.ALLOCATED, hashlib.md5(files[0].data).hexdigest()),
        "card.img / FAT12 / _.TXT": (Allocation.DELETED, hashlib.md5(b"hello").hexdigest()),
    }
    if shutil.which("fsck.fat"):
        checked = subprocess.run(["fsck.fat", "-n", str(image)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
