"""PDQ against Meta's reference C++ hasher: every hash, quality and dihedral variant."""

from __future__ import annotations

import csv

import pytest

from safeguard.media.images import PdqMode
from safeguard.signals import DIHEDRAL_NAMES, PDQ
from safeguard.signals.extract import HashOptions, hash_file

from conftest import SHARED_DATA, jsonl, require_shared, run_cli

REFERENCE = SHARED_DATA / "pdq-reference"
EXPECTED = REFERENCE / "expected" / "pdq-cpp-reference.csv"
EXPECTED_DIHEDRAL = REFERENCE / "expected" / "pdq-cpp-reference-dihedral.csv"


def _rows(path):
    """The reference rows whose image ships in ../shared (45 of the 49 listed)."""
    if not path.exists() or not EXPECTED.exists():
        return [pytest.param(None, id="reference-csv-missing")]
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [pytest.param(row, id=row["path"]) for row in rows if row["path"] not in _NOT_SHIPPED]


def _not_shipped() -> set[str]:
    if not EXPECTED.exists():
        return set()
    with EXPECTED.open(newline="") as handle:
        return {r["path"] for r in csv.DictReader(handle) if r["image_in_this_folder"] != "yes"}


_NOT_SHIPPED = _not_shipped()


def _image(row) -> str:
    if row is None:
        require_shared("pdq-reference", "expected")
    return str(require_shared("pdq-reference", "upstream", row["path"]))


def test_all_45_shipped_reference_images_are_covered():
    require_shared("pdq-reference", "expected")
    with EXPECTED.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    present = [r for r in rows if r["image_in_this_folder"] == "yes"]
    assert len(rows) == 49
    assert len(present) == 45
    for row in present:
        assert (REFERENCE / "upstream" / row["path"]).exists(), row["path"]


@pytest.mark.parametrize("row", _rows(EXPECTED))
def test_exact_mode_hash_and_quality_equal_reference(row):
    path = _image(row)
    result = hash_file(path, HashOptions(pdq_mode=PdqMode.EXACT))
    assert result.error is None
    assert PDQ.to_text(result.pdq.value) == row["pdq_hash"]
    assert result.pdq.quality == int(row["quality"])
    assert (result.width, result.height) == (int(row["width"]), int(row["height"]))
    assert result.values["sha256"].hex() == row["sha256"]


@pytest.mark.parametrize("row", _rows(EXPECTED_DIHEDRAL))
def test_exact_mode_dihedral_variants_equal_reference(row):
    path = _image(row)
    result = hash_file(path, HashOptions(pdq_mode=PdqMode.EXACT, dihedral=True))
    assert result.error is None
    got = {name: PDQ.to_text(value) for name, value in result.pdq.dihedral.items()}
    assert got == {name: row[name] for name in DIHEDRAL_NAMES}
    assert result.pdq.quality == int(row["quality"])


def test_low_quality_is_flagged_not_dropped():
    path = require_shared("pdq-reference", "upstream", "pdq", "data", "misc-images", "small.jpg")
    result = hash_file(str(path), HashOptions(pdq_mode=PdqMode.EXACT))
    assert PDQ.to_text(result.pdq.value).startswith("0007001f")
    assert result.pdq.quality == 0
    assert result.pdq.low_quality


def test_cli_exact_dihedral_record_matches_reference():
    bridge = require_shared(
        "pdq-reference", "upstream", "pdq", "data", "reg-test-input", "dih", "bridge-1-original.jpg"
    )
    (record,) = jsonl(run_cli("hash", "--pdq-mode", "exact", "--dihedral", str(bridge)).stdout)
    assert record["pdq"] == "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    assert record["pdq_quality"] == 100
    assert record["pdq_dihedral"]["rotate90"] == (
        "f0a10efd51c83d429053d48d0fffbc52e34e0e17ada956a9d29685211ea9e58f"
    )
