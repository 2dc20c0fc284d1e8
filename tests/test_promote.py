"""Grades become a local alert list: the next exhibit matches what an examiner graded."""

from __future__ import annotations

import csv
import io
import json
import shutil
from importlib import resources

import jsonschema
import pytest
from PIL import Image

from safeguard.store import Store
from safeguard.store.cases import Cases
from safeguard.store.grades import GradeFlags, Grades
from safeguard.store.reviewers import Reviewers, Role

from conftest import file_counts, import_list, init_store, run_cli

PASSWORD = "correct horse battery"


def _scan(db: str, folder, exhibit: str) -> None:
    run_cli("scan", str(folder), "--case", "OP-1", "--exhibit", exhibit, "--db", db,
            check=False)  # fmt: skip


@pytest.mark.slow
def test_promoted_grades_are_matched_in_the_next_exhibit_exactly_and_perceptually(
    tmp_path, monkeypatch, corpus
):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    (tmp_path / "unrelated.txt").write_text("d41d8cd98f00b204e9800998ecf8427e\n")
    import_list(db, tmp_path / "unrelated.txt", "national", "--category", "A")
    photos = sorted(corpus.glob("coco2017/val2017/*.jpg"))[:4]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for index, photo in enumerate(photos):
        shutil.copyfile(photo, first / f"{index}.jpg")
    _scan(db, first, "E1")

    store = Store.open(db)
    exhibit = Cases(store).exhibit("OP-1", "E1")
    accounts = Reviewers(store.engine)
    reviewer = accounts.create("rev", Role.REVIEWER, PASSWORD)
    supervisor = accounts.create("sup", Role.SUPERVISOR, PASSWORD)
    grades = Grades(store.engine)
    seqs = sorted(item.seq for item in _items(store, exhibit.id))
    grades.grade(exhibit.id, seqs[0], "uk", "B", by=reviewer, seen_version=0,
                 flags=GradeFlags(series="harbour", victim_identified=False))  # fmt: skip
    grades.grade(exhibit.id, seqs[1], "uk", "C", by=reviewer, seen_version=0)
    grades.grade(exhibit.id, seqs[2], "uk", "NP", by=reviewer, seen_version=0)
    grades.confirm(exhibit.id, seqs[0], by=supervisor, seen_version=1)
    store.close()

    _reports_count_grades_beside_list_matches(db, tmp_path)
    verified = run_cli("lists", "promote", "--case", "OP-1", "--list", "local-grades",
                       "--verified-only", "--db", db).stdout  # fmt: skip
    assert "promoted 1 graded items" in verified and "4 new entries" in verified
    assert "1 unconfirmed grades left out" in verified and "1 non-pertinent" in verified
    _single_grading_verifies_grades_when_made(db)
    again = run_cli("lists", "promote", "--case", "OP-1", "--list", "local-grades",
                    "--db", db).stdout  # fmt: skip
    assert "promoted 2 graded items" in again and "4 new entries, 4 already there" in again
    run_cli("lists", "export", "local-grades", "--format", "csv", "-o", str(tmp_path / "x.csv"),
            "--db", db)  # fmt: skip
    exported = (tmp_path / "x.csv").read_text()
    assert "harbour" in exported and "OP-1/E1/" in exported

    # The next exhibit: one graded picture as is, the other re-encoded (bytes differ).
    shutil.copyfile(first / "0.jpg", second / "same.jpg")
    buffer = io.BytesIO()
    Image.open(first / "1.jpg").save(buffer, "JPEG", quality=60)
    (second / "reencoded.jpg").write_bytes(buffer.getvalue())
    shutil.copyfile(first / "3.jpg", second / "ungraded.jpg")
    _scan(db, second, "E2")
    report = json.loads(run_cli("report", "--case", "OP-1", "--exhibit", "E2", "--db", db).stdout)
    summary = report["exhibits"][0]
    assert file_counts(summary["categories"]) == {
        "B": {"files": 1, "unique": 1},
        "C": {"files": 1, "unique": 1},
    }
    assert summary["categories"]["B"]["exact"] == 1
    assert summary["categories"]["C"]["perceptual"] == 1
    assert summary["unknown_images"] == 1
    assert "list.promote" in run_cli("audit", "ls", "--db", db).stdout


@pytest.mark.slow
def test_promoting_nothing_or_mixed_schemes_is_refused(tmp_path, monkeypatch, corpus):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    folder = tmp_path / "exhibit"
    folder.mkdir()
    for index, photo in enumerate(sorted(corpus.glob("coco2017/val2017/*.jpg"))[:2]):
        shutil.copyfile(photo, folder / f"{index}.jpg")
    _scan(db, folder, "E1")
    none = run_cli("lists", "promote", "--case", "OP-1", "--list", "x", "--db", db, check=False)
    assert none.returncode == 2 and "no pertinent grade to promote" in none.stderr
    store = Store.open(db)
    exhibit = Cases(store).exhibit("OP-1", "E1")
    reviewer = Reviewers(store.engine).create("rev", Role.REVIEWER, PASSWORD)
    grades = Grades(store.engine)
    grades.grade(exhibit.id, 0, "uk", "A", by=reviewer, seen_version=0)
    flags = GradeFlags(series="pier", victim_identified=True, notes="seen 2019")
    grades.grade(exhibit.id, 1, "vics", "1", by=reviewer, seen_version=0, flags=flags)
    store.close()
    _the_vics_export_carries_grades_and_flags_and_reimports(db, tmp_path)
    mixed = run_cli("lists", "promote", "--case", "OP-1", "--list", "x", "--db", db, check=False)
    assert mixed.returncode == 2 and "--scheme uk|vics" in mixed.stderr
    only_vics = run_cli("lists", "promote", "--case", "OP-1", "--list", "v", "--scheme", "vics",
                        "--db", db).stdout  # fmt: skip
    assert "promoted 1 graded items" in only_vics
    listed = [
        json.loads(line)
        for line in run_cli("lists", "ls", "--json", "--db", db).stdout.split("\n")
        if line
    ]
    assert {(x["name"], x["scheme"]) for x in listed if x["name"] == "v"} == {("v", "vics")}


def _single_grading_verifies_grades_when_made(db: str) -> None:
    """A case set to single grading: every grade counts as verified (and is promoted by
    --verified-only); back to dual, only the confirmed one does."""
    run_cli("cases", "set", "OP-1", "--grading", "single", "--db", db)
    document = json.loads(run_cli("report", "--case", "OP-1", "--db", db).stdout)
    assert document["metadata"]["grading"] == "single"
    grades = document["exhibits"][0]["examiner_grades"]
    assert (grades["C"]["verified"], grades["C"]["unverified"]) == (1, 0)
    assert grades["C"]["verified_by"] == []  # nobody confirmed it: no name is claimed
    html = run_cli("report", "--case", "OP-1", "--format", "html", "--db", db).stdout
    assert "single: an examiner&#x27;s grade counts as verified as soon as it is made" in html
    promoted = run_cli("lists", "promote", "--case", "OP-1", "--list", "single-graded",
                       "--verified-only", "--db", db).stdout  # fmt: skip
    assert "promoted 2 graded items" in promoted
    refused = run_cli("cases", "set", "OP-1", "--grading", "triple", "--db", db, check=False)
    assert refused.returncode == 2 and "single or dual" in refused.stderr
    run_cli("cases", "set", "OP-1", "--grading", "dual", "--db", db)


def _reports_count_grades_beside_list_matches(db: str, tmp_path) -> None:
    document = json.loads(run_cli("report", "--case", "OP-1", "--db", db).stdout)
    schema = json.loads(
        resources.files("safeguard.triage").joinpath("report.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)
    summary = document["exhibits"][0]
    assert summary["categories"] == {} and summary["matched_files"] == 0  # lists matched nothing
    assert summary["graded_images"] == 3 and summary["unknown_images"] == 4
    grades = summary["examiner_grades"]
    assert {key: (g["files"], g["verified"], g["unverified"]) for key, g in grades.items()} == {
        "B": (1, 1, 0), "C": (1, 0, 1), "NP": (1, 0, 1),
    }  # fmt: skip
    assert grades["B"]["graded_by"] == ["rev"] and grades["B"]["verified_by"] == ["sup"]
    assert grades["NP"]["pertinent"] is False
    assert document["totals"]["examiner_grades"] == grades
    assert "never counted" in document["legend"]["NP"]
    run_cli("report", "--case", "OP-1", "--format", "csv", "-o", str(tmp_path / "s.csv"),
            "--db", db)  # fmt: skip
    with (tmp_path / "s.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    graded = sorted((r["category"], r["match"], r["graded_by"], r["verified_by"]) for r in rows)
    assert graded == [
        ("B", "examiner", "rev", "sup"),
        ("C", "examiner", "rev", ""),
        ("NP", "examiner", "rev", ""),
    ]
    html = run_cli("report", "--case", "OP-1", "--format", "html", "--db", db).stdout
    assert "Graded by examiners (not list matches)" in html and "Graded files: 3" in html


def _the_vics_export_carries_grades_and_flags_and_reimports(db: str, tmp_path) -> None:
    run_cli("report", "--case", "OP-1", "--format", "vics", "-o", str(tmp_path / "case.json"),
            "--db", db)  # fmt: skip
    media = json.loads((tmp_path / "case.json").read_text())["value"][0]["Media"]
    by_tags = {tuple(m.get("Tags", [])): m for m in media}
    uk = by_tags[("UK Category A", "graded by rev")]
    assert uk["Category"] is None and uk["IsPrecategorized"] == "false"
    vics = by_tags[("graded by rev",)]
    assert (vics["Category"], vics["Series"], vics["VictimIdentified"], vics["Comments"]) == (
        1, "pier", "true", "seen 2019",
    )  # fmt: skip
    run_cli("lists", "import", str(tmp_path / "case.json"), "--list", "returned", "--db", db)
    store = Store.open(db)
    returned = store.get_list("returned")
    entries = [e for e in store.iter_entries(returned.id) if e.category is not None]
    store.close()
    assert {(e.category, e.series, e.victim_identified, e.notes) for e in entries} == {
        ("1", "pier", True, "seen 2019"),
    }
    assert {e.signal for e in entries} >= {"md5", "sha1", "sha256"}


def _items(store, exhibit_id):
    from safeguard.store.items import ExhibitItems

    return list(ExhibitItems(store).items(exhibit_id, thumbnails=False))
