"""A new picture hash is one module: every front door carries a signal it has never
heard of (``average_hash_plugin``, registered before the CLI loads and nothing else).

The record keys, the CSV list columns, per-list thresholds, the index, matching,
scans, reports and re-matching all come from the registry; this runs each of them
with the plugin's 64-bit average hash and checks the hash arrives everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from average_hash import AverageHash
from PIL import Image, ImageDraw
from test_signal_conformance import SignalConformance

from safeguard.signals import PerceptualHash
from safeguard.signals.base import IndexKind, Needs

from conftest import jsonl, require_shared, run_cli

_TESTS = Path(__file__).parent


def run_with_plugin(*args: str) -> subprocess.CompletedProcess[str]:
    """``safeguard ARGS`` with the average-hash plugin imported first."""
    completed = subprocess.run(
        [sys.executable, "-c", "import average_hash_plugin; from safeguard.cli import main; main()",
         *args],
        capture_output=True, text=True, timeout=600, cwd=_TESTS,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return completed


def _near_copy(original: Path, target: Path) -> None:
    """Smaller, recompressed and with a dark corner: 7 of 64 average-hash bits change."""
    with Image.open(original) as image:
        copy = image.convert("RGB").resize((image.width * 9 // 10, image.height * 9 // 10))
    ImageDraw.Draw(copy).rectangle([0, 0, copy.width // 6, copy.height // 6], fill=(0, 0, 0))
    copy.save(target, quality=40)


@pytest.mark.slow
def test_a_new_picture_hash_reaches_every_front_door(tmp_path):
    original = require_shared("corpus", "coco2017", "val2017", "000000000139.jpg")
    unrelated = require_shared("corpus", "coco2017", "val2017", "000000000285.jpg")
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    _near_copy(original, exhibit / "copy.jpg")
    (exhibit / "other.jpg").write_bytes(unrelated.read_bytes())
    db = str(tmp_path / "store.db")

    # The hash record gains the signal's fields beside PDQ's; without the plugin, as before.
    (record,) = jsonl(run_with_plugin("hash", str(original)).stdout)
    assert list(record)[6:11] == ["pdq", "pdq_quality", "ahash", "ahash_quality", "width"]
    assert len(record["ahash"]) == 16 and record["ahash_quality"] == 100
    (plain,) = jsonl(run_cli("hash", str(original)).stdout)
    assert "ahash" not in plain and {k: plain[k] for k in plain} == {
        k: v for k, v in record.items() if not k.startswith("ahash")
    }

    # A CSV list with an ahash column; no PDQ anywhere, so only the new signal can match.
    bank = tmp_path / "bank.csv"
    bank.write_text(f"ahash,category\n{record['ahash']},A\n")
    run_with_plugin("lists", "import", str(bank), "--list", "toy", "--create", "--db", db)
    copy = str(exhibit / "copy.jpg")
    assert jsonl(run_with_plugin("match", copy, "--db", db).stdout)[0]["matches"] == []
    # The list's own threshold for the signal, keyed by its name.
    policy = json.loads(
        run_with_plugin("lists", "policy", "toy", "--threshold", "ahash=10", "--db", db).stdout
    )
    assert policy["thresholds"] == {"ahash": {"threshold": 10, "review_threshold": None}}
    (hit,) = jsonl(run_with_plugin("match", copy, "--db", db).stdout)[0]["matches"]
    assert (hit["list"], hit["signal"], hit["distance"], hit["category"]) == (
        "toy",
        "ahash",
        7,
        "A",
    )

    # A scan stores the value and its quality, and counts the hit as a perceptual match.
    run_with_plugin("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--db", db)
    report = json.loads(run_with_plugin("report", "--case", "C", "--db", db).stdout)
    (counted,) = report["exhibits"]
    assert counted["categories"]["A"]["files"] == 1
    assert counted["categories"]["A"]["perceptual"] == 1
    assert counted["unknown_images"] == 1  # the unrelated photo

    # Re-matching reads the stored value back (quality included) without the evidence.
    run_with_plugin("lists", "disable", "toy", "--db", db)
    run_with_plugin("rematch", "--case", "C", "--db", db)
    report = json.loads(run_with_plugin("report", "--case", "C", "--db", db).stdout)
    assert "A" not in report["exhibits"][0]["categories"]
    run_with_plugin("lists", "enable", "toy", "--db", db)
    run_with_plugin("rematch", "--case", "C", "--db", db)
    report = json.loads(run_with_plugin("report", "--case", "C", "--db", db).stdout)
    assert report["exhibits"][0]["categories"]["A"]["files"] == 1

    # Exported and imported again through CSV with the signal's column name.
    exported = tmp_path / "toy.csv"
    run_with_plugin("lists", "export", "toy", "--format", "csv", "-o", str(exported), "--db", db)
    assert f"ahash,{record['ahash']},A" in exported.read_text()


class TestAverageHashPlugin(SignalConformance):
    """The plugin's signal passes the same conformance class as the built-in ones."""

    signal = AverageHash()  # not registered here: this process keeps the shipped registry
    needs, index = Needs.PIXELS, IndexKind.HAMMING

    def test_hashes_a_picture(self, photo):
        from safeguard.media.images import DecodeLimits, PdqMode, decode_raster
        from safeguard.vocabulary.content import JPEG

        raster, _ = decode_raster(lambda: photo.open("rb"), JPEG, DecodeLimits(), PdqMode.FAST)
        found = self.signal.hash_raster(raster)
        assert isinstance(found, PerceptualHash) and len(found.value) == 8 and found.quality == 100
