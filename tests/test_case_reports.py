"""Court-ready reports: one model, counts that reconcile with the schedule in every format,
provenance, re-matching without re-reading, cases, and an audit trail of it all."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from collections import Counter
from importlib import resources

import jsonschema
import pytest
from PIL import Image
from pypdf import PdfReader

from conftest import import_list, init_store, jsonl, require_shared, run_cli

SYNTHETIC = ("forensic-images", "synthetic")

pytestmark = pytest.mark.slow  # many real commands, each a new process


@pytest.fixture
def case(tmp_path, monkeypatch):
    """Case OP-7: a FAT12 E01 (a deleted and a carved picture) and a folder with a zip, matched
    against a VICS list (exact) and UK lists (one MD5, one PDQ of a near-duplicate)."""
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    pictures = require_shared(*SYNTHETIC, "pictures")
    import_list(db, require_shared(*SYNTHETIC, "synthetic-vics2-hashset.json"), "vic")
    with Image.open(pictures / "circles.jpg") as image:  # a near-duplicate, as lists hold them
        image.save(tmp_path / "near.jpg", quality=40)  # recompressed: a few bits away
    near = jsonl(run_cli("hash", "--pdq-mode", "exact", str(tmp_path / "near.jpg")).stdout)
    gradient = jsonl(run_cli("hash", str(pictures / "gradient.jpg")).stdout)
    (tmp_path / "a.txt").write_text(near[0]["pdq"] + "\n")
    (tmp_path / "c.txt").write_text(gradient[0]["md5"] + "\n")
    import_list(db, tmp_path / "a.txt", "uk-a", "--signal", "pdq", "--category", "A")
    import_list(db, tmp_path / "c.txt", "uk-c", "--category", "C")
    run_cli("cases", "set", "OP-7", "--reference", "REF/2026/77", "--agency", "Test Constabulary",
            "--examiner", "DC Lab", "--db", db)  # fmt: skip
    image = require_shared(*SYNTHETIC, "fat12-synthetic.E01")
    run_cli("scan", str(image), "--case", "OP-7", "--exhibit", "EX1", "--examiner", "DC Lab",
            "--db", db)  # fmt: skip
    folder = tmp_path / "phone"
    folder.mkdir()
    shutil.copyfile(pictures / "checker.png", folder / "checker.png")
    with zipfile.ZipFile(folder / "old.zip", "w") as archive:
        archive.write(pictures / "stripes.jpg", "DCIM/stripes.jpg")
    run_cli("scan", str(folder), "--case", "OP-7", "--exhibit", "EX2", "--db", db)
    return db, tmp_path


def _report(db: str, fmt: str, *extra: str) -> str:
    return run_cli("report", "--case", "OP-7", "--format", fmt, *extra, "--db", db).stdout


def _check_counts(categories: dict, rows: list[dict]) -> None:
    """Every count is the number of schedule rows that feed it."""
    by_key: dict[str, list[dict]] = {}
    for row in rows:
        by_key.setdefault(row["category"], []).append(row)
    assert set(categories) == set(by_key)
    for key, count in categories.items():
        feeding = by_key[key]
        assert count["files"] == len(feeding), key
        assert count["unique"] == len({row["sha256"] for row in feeding}), key
        assert count["exact"] == sum(row["match"] == "exact" for row in feeding), key
        assert count["exact"] + count["perceptual"] == count["files"], key
        assert count["allocation"] == dict(Counter(row["placement"] for row in feeding)) | {
            p: 0 for p in ("allocated", "deleted", "carved", "archive")
            if p not in {row["placement"] for row in feeding}
        }, key  # fmt: skip


def test_counts_and_schedule_reconcile_in_json_csv_and_html(case):
    db, _ = case
    document = json.loads(_report(db, "json"))
    exhibits = {summary["exhibit"]: summary for summary in document["exhibits"]}
    for summary in exhibits.values():
        _check_counts(summary["categories"], summary["schedule"])
    all_rows = [row for summary in exhibits.values() for row in summary["schedule"]]
    _check_counts(document["totals"]["categories"], all_rows)

    first = exhibits["EX1"]["categories"]
    assert (first["A"]["files"], first["A"]["perceptual"], first["A"]["exact"]) == (1, 1, 0)
    assert first["A"]["perceptual_distances"][1] > 0  # the deleted circles.jpg, by PDQ
    assert first["A"]["allocation"]["deleted"] == 1
    assert (first["C"]["exact"], first["C"]["allocation"]["allocated"]) == (1, 1)
    assert first["vics:3"]["allocation"]["carved"] == 1
    assert first["vics:0"]["pertinent"] is False and "vics:0" in document["legend"]
    circles = [r for r in exhibits["EX1"]["schedule"] if r["location"].endswith("_ircles.jpg")]
    assert sorted((r["category"], r["match"]) for r in circles) == [
        ("A", "perceptual"), ("vics:2", "exact"),  # one file, one row per scheme
    ]  # fmt: skip
    assert exhibits["EX2"]["categories"]["vics:3"]["allocation"]["archive"] == 1
    assert document["totals"]["files"] == exhibits["EX1"]["files"] + exhibits["EX2"]["files"]

    rows = list(csv.DictReader(io.StringIO(_report(db, "csv"))))
    for name, summary in exhibits.items():
        counted = Counter(r["category"] for r in rows if r["exhibit"] == name)
        assert counted == {key: c["files"] for key, c in summary["categories"].items()}

    html = _report(db, "html")
    for summary in exhibits.values():
        assert f"Item schedule: {len(summary['schedule']):,} rows" in html
    for key, count in document["totals"]["categories"].items():
        assert re.search(rf"<tr><td>{re.escape(key)}</td><td>{count['files']}</td>", html), key
    assert "Project VIC categories" in html and "UK categories" in html
    assert "Non-pertinent (Project VIC 0)" in html


def test_report_header_lists_and_json_schema(case):
    db, _ = case
    document = json.loads(_report(db, "json"))
    schema = json.loads(
        resources.files("safeguard.triage").joinpath("report.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)
    meta = document["metadata"]
    assert (meta["reference"], meta["agency"], meta["examiner"]) == (
        "REF/2026/77", "Test Constabulary", "DC Lab",
    )  # fmt: skip
    assert meta["tool"] == "Safeguard" and meta["version"] and meta["generated_at"]
    names = {used["name"] for used in document["lists"]}
    assert names == {"vic", "uk-a", "uk-c"}
    vic = next(used for used in document["lists"] if used["name"] == "vic")
    assert (
        len(vic["source_sha256"]) == 64 and vic["imported_by"] and vic["exhibits"] == ["EX1", "EX2"]
    )
    first = document["exhibits"][0]
    assert first["type"] == "disk image" and first["verification"]["verified"] is True
    assert first["examiner"] == "DC Lab" and first["settings"]["pdq_thresholds"]["uk-a"] == 31
    html = _report(db, "html")
    for text in ("REF/2026/77", "Test Constabulary", "Lists used", "Legend", "verified"):
        assert text in html


def test_pdf_report_has_the_counts_on_page_one(case):
    db, tmp_path = case
    pdf = tmp_path / "report.pdf"
    run_cli("report", "--case", "OP-7", "--format", "pdf", "-o", str(pdf), "--db", db)
    reader = PdfReader(pdf)
    first = reader.pages[0].extract_text()
    totals = json.loads(_report(db, "json"))["totals"]
    assert "Case OP-7" in first and "Case totals" in first
    assert re.search(rf"Files\s+{totals['files']}\b", first), first
    assert "page 1 of" in first  # the print stylesheet's page numbers


def test_rematch_uses_todays_lists_without_reading_the_evidence(case):
    db, tmp_path = case
    before = json.loads(_report(db, "json"))["exhibits"][1]
    assert set(before["categories"]) == {"vics:0", "vics:3"}
    pictures = require_shared(*SYNTHETIC, "pictures")
    checker = jsonl(run_cli("hash", str(pictures / "checker.png")).stdout)[0]
    (tmp_path / "b.txt").write_text(checker["sha1"] + "\n")
    import_list(db, tmp_path / "b.txt", "uk-b", "--category", "B")
    scanned_again = run_cli("scan", str(tmp_path / "phone"), "--case", "OP-7", "--exhibit", "EX2",
                            "--db", db)  # fmt: skip
    assert "safeguard rematch --case OP-7 --exhibit EX2" in scanned_again.stderr
    done = run_cli("rematch", "--case", "OP-7", "--exhibit", "EX2", "--db", db)
    assert "EX2: 3 items matched again, 1 with new results" in done.stdout
    after = json.loads(_report(db, "json"))["exhibits"][1]
    assert after["categories"]["B"]["files"] == 1 and after["matched_at"] > before["matched_at"]
    assert {used["name"] for used in after["lists_used"]} == {"vic", "uk-a", "uk-b", "uk-c"}
    shown = json.loads(run_cli("cases", "show", "OP-7", "--json", "--db", db).stdout)
    assert shown["exhibits"][1]["lists"]["uk-b"] >= 1


def test_cases_and_the_audit_trail(case):
    db, _ = case
    (listed,) = jsonl(run_cli("cases", "ls", "--json", "--db", db).stdout)
    assert listed["name"] == "OP-7" and listed["exhibits"] == {"EX1": "complete", "EX2": "complete"}
    shown = run_cli("cases", "show", "OP-7", "--db", db).stdout
    assert "REF/2026/77" in shown and "exhibit EX1: complete" in shown
    _report(db, "html")
    events = [json.loads(line) for line in run_cli("audit", "ls", "--db", db).stdout.splitlines()]
    kinds = [event["event"] for event in events]
    assert kinds.count("exhibit.scan") == 2 and "case.describe" in kinds and "report.write" in kinds
    scan = next(e for e in events if e["event"] == "exhibit.scan")
    assert len(scan["detail"]["result_sha256"]) == 64 and scan["detail"]["lists"]["vic"] >= 1
    written = next(e for e in events if e["event"] == "report.write")
    assert written["detail"]["format"] == "html" and len(written["detail"]["sha256"]) == 64
    assert "intact" in run_cli("audit", "verify", "--db", db).stdout
