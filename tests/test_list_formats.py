"""List file formats: every reader, the round trips, and every kind of bad input."""

from __future__ import annotations

import codecs
import csv
import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.errors import UsageError
from safeguard.formats.lists import WRITERS, ReadOptions, detect_format, read_list
from safeguard.store import BadRecord, ListKind, ListSpec, NewEntry, Scheme

from conftest import require_shared

VICS = ReadOptions(scheme=Scheme.VICS)
UK = ReadOptions(scheme=Scheme.UK)


def _split(rows):
    rows = list(rows)
    return [r for r in rows if isinstance(r, NewEntry)], [
        r for r in rows if isinstance(r, BadRecord)
    ]


def _hex(n: int) -> str:
    return os.urandom(n).hex()


def test_vics_2_0_sample_hash_set():
    sample = require_shared("forensic-images", "synthetic", "synthetic-vics2-hashset.json")
    assert detect_format(sample) == "vics"
    good, bad = _split(read_list(sample, "auto", VICS))
    assert bad == []
    assert [(e.signal, e.category, e.external_id) for e in good[:2]] == [
        ("md5", "1", "1"),
        ("sha1", "1", "1"),
    ]
    assert good[0].value.hex() == "636ef4bc9383ac988eb25e50270d4cb4"  # upper-case hex read
    assert good[0].series == "Synthetic Series A" and good[0].victim_identified is True
    assert sorted({e.category for e in good}) == ["0", "1", "2", "3"]


def _case_export(media: list[dict], key: str = "odata.metadata") -> dict:
    url = "http://x/ProjectVic/DataModels/1.3.xml#Cases"
    case = {"CaseID": 7, "CaseNumber": "OP-1", "Media": media, "SourceApplicationName": "t"}
    return {key: url, "value": [case]}


def test_vics_1x_case_export_with_bom_strings_and_lower_hex(tmp_path):
    md5, sha1, pdq = _hex(16), _hex(20), _hex(32)
    media = [
        {
            "odata.id": "x",
            "MediaID": 11,
            "Category": "1",
            "MD5": md5.lower(),
            "SHA1": sha1.upper(),
            "VictimIdentified": "False",
            "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq}],
            "MediaFiles": [{"MD5": md5, "FileName": "a.jpg", "Unallocated": "true"}],
        }
    ]
    path = tmp_path / "case.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(_case_export(media)).encode())
    good, bad = _split(read_list(path, "auto", VICS))
    assert bad == []
    assert [(e.signal, e.value.hex(), e.external_id) for e in good] == [
        ("md5", md5, "11"),
        ("sha1", sha1, "11"),
        ("pdq", pdq, "11"),
    ]
    assert all(e.victim_identified is False and e.category == "1" for e in good)


def test_vics_utf16_with_bom(tmp_path):
    media = [{"MediaID": 1, "Category": 2, "MD5": _hex(16)}]
    document = {"@odata.context": "http://x/2.0.xml/US/$metadata#Media", "value": media}
    path = tmp_path / "old.json"
    path.write_bytes(codecs.BOM_UTF16_LE + json.dumps(document).encode("utf-16-le"))
    assert detect_format(path) == "vics"
    good, bad = _split(read_list(path, "vics", VICS))
    assert (len(good), bad) == (1, [])


def test_vics_profiles_map_categories_explicitly(tmp_path):
    media = [{"MediaID": i, "Category": c, "MD5": _hex(16)} for i, c in enumerate([0, 5, 1, None])]
    path = tmp_path / "dhs.json"
    path.write_text(json.dumps({"odata.metadata": "http://x/1.1.xml#Media", "value": media}))
    dhs, bad = _split(read_list(path, "vics", ReadOptions(scheme=Scheme.VICS, vics_profile="dhs")))
    assert [e.category for e in dhs] == [None, "0", "1", None] and bad == []
    us, bad = _split(read_list(path, "vics", VICS))
    assert [e.category for e in us] == ["0", "1", None]  # 5 is not a US category
    assert "category 5 is not defined" in bad[0].reason


def test_vics_bad_records_are_reported_by_record(tmp_path):
    media = [
        {"MediaID": 1, "Category": 1, "MD5": _hex(16)},
        {"MediaID": 2, "Category": "x", "MD5": _hex(16)},
        {"MediaID": 3, "Category": 1, "MD5": "zz" * 16},
        {"MediaID": 4, "Category": 1},
        {"MediaID": 5, "Category": 1, "MD5": _hex(16), "PhotoDNA": "AAAA"},
        {"MediaID": 6, "Category": 1, "MD5": _hex(15)},
        {"MediaID": 7, "Category": 1, "MD5": _hex(16), "VictimIdentified": "perhaps"},
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"@odata.context": "x#Media", "value": media}))
    good, bad = _split(read_list(path, "vics", VICS))
    assert len(good) == 1
    messages = {str(b) for b in bad}
    assert messages == {
        "record 2 (MediaID 2): VICS category 'x' is not an integer",
        "record 3 (MediaID 3): md5 value is not hexadecimal: " + repr("zz" * 16),
        "record 4 (MediaID 4): no MD5, SHA1 or alternative hash",
        "record 5 (MediaID 5): PhotoDNA decodes to 3 bytes, not 144",
        "record 6 (MediaID 6): md5 value must be 32 hex digits, got 30",
        "record 7 (MediaID 7): not a boolean: 'perhaps'",
    }


def test_malformed_json_is_a_bad_record_not_a_traceback(tmp_path):
    media = [{"MediaID": i, "Category": 1, "MD5": _hex(16)} for i in range(3)]
    text = json.dumps({"@odata.context": "x#Media", "value": media})
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2 + 20])
    good, bad = _split(read_list(path, "vics", VICS))
    assert len(good) >= 1
    assert len(bad) == 1 and "malformed JSON" in bad[0].reason


def test_vics_needs_the_vics_scheme(tmp_path):
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps({"@odata.context": "x#Media", "value": []}))
    with pytest.raises(UsageError):
        list(read_list(sample, "vics", UK))


def _entries_of(store, name):
    return [
        (
            e.signal,
            e.value,
            e.category,
            e.series,
            e.victim_identified,
            e.external_id,
            e.notes,
            e.disabled,
            e.disabled_until,
        )
        for e in store.iter_entries(store.get_list(name).id)
    ]


@pytest.mark.parametrize("fmt", ["vics", "csv"])
def test_export_then_import_is_lossless(store, tmp_path, fmt):
    until = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    rows = [
        NewEntry(
            "md5", os.urandom(16), "1", 'Series, "quoted"', True, "17", "note\nline", record=1
        ),
        NewEntry(
            "sha1", os.urandom(20), "1", 'Series, "quoted"', True, "17", "note\nline", record=2
        ),
        NewEntry("sha256", os.urandom(32), "0", None, False, "abc-9", None, record=3),
        NewEntry("pdq", os.urandom(32), None, None, None, None, None, True, until, record=4),
        NewEntry("md5", os.urandom(16), "4", None, None, "17", None, record=5),
    ]
    spec = ListSpec(scheme=Scheme.VICS)
    store.import_entries("original", rows, spec=spec)
    exported = tmp_path / f"out.{fmt}"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        WRITERS[fmt](store.iter_entries(store.get_list("original").id), handle)
    assert detect_format(exported) == fmt
    store.import_entries("copy", read_list(exported, fmt, VICS), spec=spec)
    original, copy = _entries_of(store, "original"), _entries_of(store, "copy")
    assert _naive_utc(copy) == _naive_utc(original)


def _naive_utc(rows):
    """SQLite hands back naive UTC timestamps, PostgreSQL aware ones: compare as naive UTC."""
    return sorted((*r[:8], r[8].replace(tzinfo=None) if r[8] else None) for r in rows)


def test_csv_columns_by_name_and_bad_rows(tmp_path):
    path = tmp_path / "list.csv"
    md5, sha1 = _hex(16), _hex(20)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Notes", "MD5", "Grade", "SHA1", "Media ID", "whatever"])
        writer.writerow(["n", md5, "a", sha1, "5", "x"])
        writer.writerow(["", "", "B", "", "", ""])
        writer.writerow(["", _hex(16), "D", "", "", ""])
        writer.writerow(["", _hex(16), "A", "", "", "", "extra"])
    good, bad = _split(read_list(path, "auto", UK))
    assert [(e.signal, e.category, e.external_id, e.notes) for e in good] == [
        ("md5", "A", "5", "n"),
        ("sha1", "A", "5", "n"),
    ]
    assert [str(b) for b in bad] == [
        "3: no hash in this row",
        "4: unknown uk category 'D' (expected one of A, B, C)",
        "5: 7 cells but the header names 6",
    ]


def test_csv_without_a_hash_column_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,grade\nfoo,A\n")
    with pytest.raises(UsageError):
        list(read_list(path, "csv", UK))


def test_plain_text_types_by_length(tmp_path):
    md5, sha1, sha256 = _hex(16), _hex(20), _hex(32)
    path = tmp_path / "list.txt"
    path.write_text(f"# comment\n{md5.upper()}\n\n{sha1}\n{'q' * 40}\n{_hex(10)}\n")
    good, bad = _split(read_list(path, "auto", ReadOptions(scheme=Scheme.UK, category="C")))
    assert [(e.signal, e.value.hex(), e.category) for e in good] == [
        ("md5", md5, "C"),
        ("sha1", sha1, "C"),
    ]
    assert [b.record for b in bad] == [5, 6]
    ambiguous = tmp_path / "sha.txt"
    ambiguous.write_text(sha256 + "\n")
    with pytest.raises(UsageError, match="--signal"):
        list(read_list(ambiguous, "text", UK))
    good, bad = _split(read_list(ambiguous, "text", ReadOptions(signal="pdq")))
    assert good[0].signal == "pdq" and bad == []


def test_nsrl_rds_v3_sqlite(tmp_path):
    path = tmp_path / "RDS.db"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, "
        "file_size INTEGER, package_id INTEGER)"
    )
    shared = (_hex(32).upper(), _hex(20).upper(), _hex(16).upper())
    rows = [(*shared, "00", "kernel32.dll", 1, p) for p in (1, 2)]  # same file, two products
    rows.append((_hex(32), _hex(20), _hex(16), "00", "b.exe", 2, 3))
    connection.executemany("INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()
    assert detect_format(path) == "nsrl"
    good, bad = _split(read_list(path, "auto", UK))
    assert len(good) == 9 and bad == []
    assert {e.signal for e in good} == {"sha256", "sha1", "md5"}


@pytest.mark.parametrize(
    "header",
    [
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"',
        '"SHA-1","FileName","FileSize","ProductCode","OpSystemCode","MD4","MD5","CRC32","SpecialCode"',
        '"SHA-1","FileName","FileSize","ProductCode"',
    ],
    ids=["current", "older", "minimal"],
)
def test_nsrl_legacy_text_layouts(tmp_path, header):
    columns = next(csv.reader([header]))
    sha1, md5 = _hex(20).upper(), _hex(16).upper()
    values = {"SHA-1": sha1, "MD5": md5, "MD4": _hex(16), "FileName": "a.dll", "CRC32": "0"}
    line = ",".join(f'"{values.get(c, "1")}"' for c in columns)
    path = tmp_path / "NSRLFile.txt"
    path.write_text(f"{header}\n{line}\n{line}\n")
    good, bad = _split(read_list(path, "auto", UK))
    expected = {("sha1", sha1.lower())} | ({("md5", md5.lower())} if "MD5" in columns else set())
    assert {(e.signal, e.value.hex()) for e in good} == expected and bad == []


def test_hma_bank_csv(tmp_path):
    pdq, md5 = _hex(32), _hex(16)
    path = tmp_path / "bank.csv"
    path.write_text(f"signal_type,signal_value\npdq,{pdq}\nvideo_md5,{md5}\nurl,http://x\n")
    assert detect_format(path) == "hma"
    good, bad = _split(read_list(path, "auto", ReadOptions(category="A")))
    assert [(e.signal, e.value.hex(), e.category) for e in good] == [
        ("pdq", pdq, "A"),
        ("md5", md5, "A"),
    ]
    assert [str(b) for b in bad] == ["4: unsupported signal type 'url'"]


def test_nsrl_import_through_the_store_is_known_good_and_collapsed(store, tmp_path):
    sha1 = _hex(20).upper()
    path = tmp_path / "NSRLFile.txt"
    path.write_text('"SHA-1","FileName"\n' + f'"{sha1}","a"\n' * 3)
    report = store.import_entries(
        "nsrl",
        read_list(Path(path), "nsrl", UK),
        spec=ListSpec(kind=ListKind.KNOWN_GOOD),
        collapse_duplicates=True,
    )
    assert (report.imported, report.collapsed_duplicates) == (1, 2)


def test_csv_whose_first_column_is_a_signal_name_is_not_hma(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"md5,pdq,category\n{_hex(16)},{_hex(32)},A\n")
    assert detect_format(path) == "csv"
    headerless = tmp_path / "bank.csv"
    headerless.write_text(f"pdq,{_hex(32)}\n")
    assert detect_format(headerless) == "hma"
