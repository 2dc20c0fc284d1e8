"""Hostile list files: bad records with their numbers, bounded work, no formula injection."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from safeguard.formats.lists import ReadOptions, read_list
from safeguard.store import BadRecord, ListSpec, Scheme

from conftest import init_store, run_cli


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    return init_store(str(tmp_path / "lists.db"))


def _import(db: str, path, *options: str):
    return run_cli("lists", "import", str(path), "--list", "l", *options, "--db", db, check=False)


def _one_record(record: int, **fields) -> dict:
    return {"MediaID": record, "Category": 1, "MD5": f"{record:032x}", **fields}


def test_deep_vics_nesting_is_refused_before_parsing(db, tmp_path):
    nested = b'{"value":[{"MediaID":1,"MD5":"' + b"a" * 32 + b'"},{"x":'
    nested += b'{"a":' * 40_000 + b"1" + b"}" * 40_000 + b"}]}"
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"@odata.context":"x#Media",' + nested[1:])
    done = _import(db, path, "--scheme", "vics")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "record 2" in done.stderr and "nested" in done.stderr


def test_vics_fields_of_the_wrong_type_are_bad_records(db, tmp_path):
    media = [
        _one_record(1),
        _one_record(2, AlternativeHashes="not a list"),
        _one_record(3, Series=["a", "list"]),
        _one_record(4, MediaMetadata=7),
        _one_record(5, Comments="fine"),
    ]
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"@odata.context": "x#Media", "value": media}))
    done = _import(db, path, "--scheme", "vics")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for record in (2, 3, 4):
        assert f"record {record}" in done.stderr
    kept = _import(db, path, "--scheme", "vics", "--skip-bad")
    assert "imported 2 entries" in kept.stdout


def test_oversized_and_nul_csv_cells_are_bad_records(store, tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text(
        "md5,notes\n"
        f"{1:032x},fine\n"
        f"{2:032x}," + "n" * 200_000 + "\n"
        f"{3:032x},has a \x00 inside\n"
        f"{4:032x},fine again\n"
    )
    rows = list(read_list(path, "csv", ReadOptions(scheme=Scheme.UK, category="A")))
    bad = [row for row in rows if isinstance(row, BadRecord)]
    assert [b.record for b in bad] == [3, 4]
    report = store.import_entries("l", rows, spec=ListSpec(), skip_bad=True)
    assert report.imported == 2  # on SQLite and PostgreSQL alike: no NUL reaches the store


def test_an_nsrl_set_whose_file_is_a_view_or_garbage_is_refused(db, tmp_path):
    view = tmp_path / "view.db"
    with sqlite3.connect(view) as connection:
        connection.execute("CREATE TABLE seed (n INTEGER)")
        connection.execute(
            "CREATE VIEW FILE AS WITH RECURSIVE r(n, sha1) AS (SELECT 1, 'x' UNION ALL "
            "SELECT n + 1, 'x' FROM r) SELECT n, sha1 FROM r"
        )
    done = _import(db, view, "--format", "nsrl")
    assert done.returncode == 1 and "FILE is a view" in done.stderr
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    done = _import(db, garbage, "--format", "nsrl")
    assert done.returncode == 1 and "unreadable" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_csv_cells_cannot_run_as_spreadsheet_formulas(db, tmp_path):
    path = tmp_path / "partner.csv"
    formula = '=HYPERLINK("http://example.invalid","x")'
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["md5", "category", "notes", "series"])
        writer.writerow([f"{1:032x}", "A", formula, "+cmd|' /C calc'!A0"])
    assert _import(db, path).returncode == 0
    exported = tmp_path / "out.csv"
    run_cli("lists", "export", "l", "--format", "csv", "-o", str(exported), "--db", db)
    (row,) = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert row["notes"] == "'" + formula and row["series"].startswith("'+")
    run_cli("lists", "import", str(exported), "--list", "again", "--db", db)
    again = tmp_path / "again.csv"
    run_cli("lists", "export", "again", "--format", "csv", "-o", str(again), "--db", db)
    assert again.read_text() == exported.read_text()  # the round trip keeps the text
