"""``safeguard lists`` and ``safeguard match`` as a user runs them."""

from __future__ import annotations

import json
import os

import pytest

from conftest import init_store, jsonl, require_shared, run_cli


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    return init_store(str(tmp_path / "cli.db"))


def _ls(db):
    return {row["name"]: row for row in jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)}


@pytest.mark.slow
def test_import_ls_export_disable_rm(db, tmp_path):
    sample = require_shared("forensic-images", "synthetic", "synthetic-vics2-hashset.json")
    done = run_cli("lists", "import", str(sample), "--list", "vic", "--db", db)
    assert "imported 8 entries into 'vic' (new list) from vics file" in done.stdout
    row = _ls(db)["vic"]
    assert (row["kind"], row["scheme"], row["entries"], row["enabled"]) == (
        "alert",
        "vics",
        {"md5": 4, "sha1": 4},
        True,
    )
    out = tmp_path / "vic.json"
    run_cli("lists", "export", "vic", "--format", "vics", "-o", str(out), "--db", db)
    assert len(json.loads(out.read_text())["value"]) == 4
    run_cli("lists", "disable", "vic", "--db", db)
    assert _ls(db)["vic"]["enabled"] is False
    run_cli("lists", "rm", "vic", "--db", db)
    assert _ls(db) == {}


def test_bad_import_exits_1_and_names_each_bad_line(db, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(f"{os.urandom(16).hex()}\nnot-a-hash\n{'g' * 32}\n")
    done = run_cli(
        "lists", "import", str(path), "--list", "x", "--category", "A", "--db", db, check=False
    )
    assert done.returncode == 1
    assert "bad record 2: 10 characters is not a hash length" in done.stderr
    assert "bad record 3: md5 value is not hexadecimal" in done.stderr
    assert "Traceback" not in done.stderr
    assert _ls(db) == {}
    done = run_cli(
        "lists", "import", str(path), "--list", "x", "--category", "A", "--skip-bad", "--db", db
    )
    assert "imported 1 entries" in done.stdout and "2 bad records skipped" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--category", "Z"],
        ["--scheme", "fr"],
        ["--kind", "alert", "--format", "nsrl"],
    ],
    ids=["bad-category", "bad-scheme", "nsrl-as-alert"],
)
def test_usage_errors_exit_2(db, tmp_path, args):
    path = tmp_path / "list.txt"
    path.write_text(os.urandom(16).hex() + "\n")
    done = run_cli("lists", "import", str(path), "--list", "x", *args, "--db", db, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_ambiguous_64_hex_needs_signal(db, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(os.urandom(32).hex() + "\n")
    done = run_cli("lists", "import", str(path), "--list", "x", "--db", db, check=False)
    assert done.returncode == 2 and "--signal" in done.stderr


@pytest.mark.slow
def test_match_reports_exact_and_pdq_hits(db, tmp_path, photo, corpus):
    record = jsonl(run_cli("hash", str(photo)).stdout)[0]
    (tmp_path / "md5.txt").write_text(record["md5"] + "\n")
    (tmp_path / "pdq.txt").write_text(record["pdq"] + "\n")
    run_cli(
        "lists",
        "import",
        str(tmp_path / "md5.txt"),
        "--list",
        "exact",
        "--category",
        "B",
        "--db",
        db,
    )
    run_cli(
        "lists",
        "import",
        str(tmp_path / "pdq.txt"),
        "--list",
        "near",
        "--signal",
        "pdq",
        "--category",
        "A",
        "--db",
        db,
    )
    from PIL import Image

    with Image.open(photo) as image:
        image.resize((image.width // 2, image.height // 2)).save(tmp_path / "small.jpg", quality=70)
    other = sorted((corpus / "bsds500" / "val").glob("*.jpg"))[0]
    paths = [str(photo), str(tmp_path / "small.jpg"), str(other)]
    rows = jsonl(run_cli("match", *paths, "--db", db).stdout)
    assert [list(r) for r in rows] == [["path", "sha256", "matches"]] * 3
    exact, near, none = rows
    assert sorted(
        (m["list"], m["signal"], m["distance"], m["category"], m["scheme"])
        for m in exact["matches"]
    ) == [
        ("exact", "md5", 0, "B", "uk"),
        ("near", "pdq", 0, "A", "uk"),
    ]
    assert [(m["list"], m["signal"]) for m in near["matches"]] == [("near", "pdq")]
    assert 0 < near["matches"][0]["distance"] <= 31
    assert none["matches"] == []
    only = jsonl(run_cli("match", str(photo), "--list", "exact", "--db", db).stdout)[0]
    assert [m["list"] for m in only["matches"]] == ["exact"]
    assert run_cli("match", str(photo), "--list", "nope", "--db", db, check=False).returncode == 2


@pytest.mark.parametrize("name", ["a/b", "..", " padded", "bell\x07"])
def test_list_names_that_could_not_be_addressed_are_usage_errors(db, tmp_path, name):
    path = tmp_path / "list.txt"
    path.write_text(os.urandom(16).hex() + "\n")
    args = ["lists", "import", str(path), "--list", name, "--category", "A", "--db", db]
    done = run_cli(*args, check=False)
    assert done.returncode == 2 and "name" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
