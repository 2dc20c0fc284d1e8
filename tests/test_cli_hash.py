"""The ``safeguard hash`` contract: keys, types, order, formats and exit codes."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

import pytest

from safeguard.formats.hash_records import RECORD_FIELDS

from conftest import jsonl, run_cli

KEYS = "path size type md5 sha1 sha256 pdq pdq_quality width height error".split()  # noqa: SIM905


def _folder(tmp_path: Path, corpus: Path, count: int = 12) -> list[Path]:
    sources = sorted((corpus / "bsds500" / "test").glob("*.jpg"))[:count]
    tmp_path.mkdir(parents=True, exist_ok=True)
    copies = []
    for index, source in enumerate(sources):
        target = tmp_path / f"{index:02d}-{source.name}"
        shutil.copyfile(source, target)
        copies.append(target)
    (tmp_path / "99-notes.txt").write_text("not a picture\n")
    copies.append(tmp_path / "99-notes.txt")
    return copies


def test_record_schema_and_values(tmp_path, corpus):
    files = _folder(tmp_path, corpus, count=2)
    records = jsonl(run_cli("hash", *map(str, files)).stdout)
    assert list(RECORD_FIELDS) == KEYS
    for record, path in zip(records, files, strict=True):
        assert list(record) == KEYS
        data = path.read_bytes()
        assert record["path"] == str(path)
        assert record["size"] == len(data)
        assert record["md5"] == hashlib.md5(data).hexdigest()
        assert record["sha1"] == hashlib.sha1(data).hexdigest()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
    image, text = records[0], records[-1]
    assert image["type"] == "image/jpeg"
    assert len(image["pdq"]) == 64 and image["pdq"] == image["pdq"].lower()
    assert isinstance(image["pdq_quality"], int) and isinstance(image["width"], int)
    assert image["error"] is None
    # A non-image keeps its cryptographic hashes and has nulls for the picture fields.
    assert text["type"] == "application/octet-stream"
    assert (text["pdq"], text["pdq_quality"], text["width"], text["height"]) == (None,) * 4
    assert text["error"] is None


@pytest.mark.slow
def test_parallel_output_keeps_input_order(tmp_path, corpus):
    files = _folder(tmp_path, corpus)
    shuffled = [str(p) for p in files[::-1]]
    serial = jsonl(run_cli("hash", "--workers", "1", *shuffled).stdout)
    parallel = jsonl(run_cli("hash", "--workers", "3", *shuffled).stdout)
    assert [r["path"] for r in parallel] == shuffled
    assert parallel == serial


def test_recursive_walk_is_sorted_and_complete(tmp_path, corpus):
    _folder(tmp_path / "b", corpus, count=2)
    _folder(tmp_path / "a", corpus, count=1)
    records = jsonl(run_cli("hash", "-r", str(tmp_path)).stdout)
    names = [Path(r["path"]).relative_to(tmp_path).as_posix() for r in records]
    assert names == [
        "a/00-100007.jpg",
        "a/99-notes.txt",
        "b/00-100007.jpg",
        "b/01-100039.jpg",
        "b/99-notes.txt",
    ]


def test_csv_output(tmp_path, corpus):
    files = _folder(tmp_path, corpus, count=1)
    out = run_cli("hash", "--format", "csv", "--dihedral", *map(str, files)).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[: len(KEYS)] == KEYS
    assert list(rows[0])[len(KEYS) :] == [
        "pdq_original",
        "pdq_rotate90",
        "pdq_rotate180",
        "pdq_rotate270",
        "pdq_flipx",
        "pdq_flipy",
        "pdq_flipplus1",
        "pdq_flipminus1",
    ]
    assert rows[0]["pdq"] == rows[0]["pdq_original"]
    assert rows[1]["pdq"] == "" and rows[1]["error"] == ""


@pytest.mark.slow
def test_dihedral_key_only_when_asked(tmp_path, corpus):
    files = _folder(tmp_path, corpus, count=1)
    plain, text = jsonl(run_cli("hash", *map(str, files)).stdout)
    assert "pdq_dihedral" not in plain
    record, text = jsonl(run_cli("hash", "--dihedral", *map(str, files)).stdout)
    assert list(record) == [*KEYS, "pdq_dihedral"]
    assert record["pdq_dihedral"]["original"] == record["pdq"] == plain["pdq"]
    assert len(record["pdq_dihedral"]) == 8
    assert text["pdq_dihedral"] is None


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--pdq-mode", "sloppy", "x.jpg"],
        ["--format", "xml", "x.jpg"],
        ["--workers", "0", "x.jpg"],
        ["--no-such-option", "x.jpg"],
    ],
    ids=["no-paths", "bad-mode", "bad-format", "zero-workers", "unknown-option"],
)
def test_usage_errors_exit_2(args):
    done = run_cli("hash", *args, check=False)
    assert done.returncode == 2
    assert done.stdout == ""


def test_progress_is_silent_when_stderr_is_not_a_terminal(tmp_path, corpus):
    files = _folder(tmp_path, corpus, count=1)
    assert run_cli("hash", *map(str, files)).stderr == ""
