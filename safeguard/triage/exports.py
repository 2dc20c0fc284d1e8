"""Report formats beyond JSON and HTML: the CSV item schedule and the VICS case export."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from typing import TextIO

from safeguard import __version__
from safeguard.formats.spreadsheets import spreadsheet_safe
from safeguard.store.cases import Exhibit
from safeguard.store.grades import Grade
from safeguard.store.items import ItemRecord, MatchRecord
from safeguard.triage.report import Report
from safeguard.vocabulary.categories import SEVERITY, Scheme
from safeguard.vocabulary.entries import ALERT_KINDS

SCHEDULE_COLUMNS = (
    "exhibit", "location", "allocation", "md5", "sha1", "sha256", "list", "category", "distance",
    "exhibit_status", "exhibit_warnings", "placement", "size", "entry", "scheme", "signal",
    "match", "pertinent", "graded_by", "graded_at", "verified_by", "verified", "via_family",
    "disputed_category",
)  # fmt: skip
CONTEXT_CASES = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"
_CARVED_AT = re.compile(r"at byte ([\d,]+)")


def write_schedule(report: Report, out: TextIO) -> int:
    """The item schedule of the report: one row per file and scheme, as counted; then one
    row per file an examiner graded (``match`` ``examiner``, with who graded and confirmed).

    Every row carries its exhibit's status and warnings. An exhibit that was not
    fully read and has no matched file still gets one row, with an empty location,
    so the schedule can never pass for a complete one.
    """
    writer = csv.DictWriter(out, SCHEDULE_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    rows = 0
    for summary in report.document["exhibits"]:
        state = {
            "exhibit_status": summary["status"],
            "exhibit_warnings": _cell(
                "; ".join(f"{w['level']}: {w['message']}" for w in summary["warnings"])
            ),
        }
        # List matches first, then what examiners graded (``match`` says which is which).
        written = [*summary["schedule"], *summary["examiner_schedule"]]
        for row in written:
            writer.writerow({**{key: _cell(value) for key, value in row.items()}, **state})
        rows += len(written)
        if not written and summary["status"] != "complete":
            writer.writerow({"exhibit": _cell(summary["exhibit"]), **state})
    return rows


def _cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return spreadsheet_safe(value) if isinstance(value, str) else value


def write_vics_case(
    case: str,
    exhibits: Iterable[tuple[Exhibit, Iterable[ItemRecord], dict[int, Grade]]],
    out: TextIO,
) -> int:
    """A VICS 2.0 case export: one Media per distinct picture or video, one MediaFile per copy;
    list matches and examiners' grades (with their flags) set its Category and Tags."""
    media: dict[bytes, dict] = {}
    for exhibit, records, grades in exhibits:
        for record in records:
            if record.sha256 is None or not (record.type or "").startswith(("image/", "video/")):
                continue
            entry = media.get(record.sha256)
            if entry is None:
                entry = media[record.sha256] = _media(len(media) + 1, record)
            _grade(entry, record.matches)
            if record.seq in grades:
                _examiner_grade(entry, grades[record.seq])
            entry["MediaFiles"].append(_media_file(exhibit, record))
    document = {
        "@odata.context": CONTEXT_CASES,
        "value": [
            {
                "CaseID": 1,
                "CaseNumber": case,
                "SourceApplicationName": "Safeguard",
                "SourceApplicationVersion": __version__,
                "Media": list(media.values()),
            }
        ],
    }
    json.dump(document, out, indent=1)
    out.write("\n")
    return len(media)


def _media(media_id: int, record: ItemRecord) -> dict:
    alternatives = [{"HashName": "SHA256", "HashValue": record.sha256.hex()}]
    if record.pdq is not None:
        alternatives.append({"HashName": "PDQ", "HashValue": record.pdq.hex()})
    return {
        "MediaID": media_id,
        "Category": None,
        "MD5": record.md5.hex().upper() if record.md5 else None,
        "SHA1": record.sha1.hex().upper() if record.sha1 else None,
        "MediaSize": record.size,
        "MimeType": record.type,
        "IsPrecategorized": "false",
        "AlternativeHashes": alternatives,
        "MediaFiles": [],
    }


def _grade(entry: dict, matches: Iterable[MatchRecord]) -> None:
    # Only Project VIC codes can be written as a VICS Category; UK grades stay in Tags.
    vics = [m.category for m in matches if m.list_kind in ALERT_KINDS and m.scheme == "vics"]
    order = SEVERITY[Scheme.VICS]
    graded = [c for c in [*vics, _code(entry["Category"])] if c is not None]
    if graded:
        entry["Category"] = int(min(graded, key=order.index))
        entry["IsPrecategorized"] = "true"
    uk = sorted(
        {
            m.category
            for m in matches
            if m.list_kind in ALERT_KINDS and m.scheme == "uk" and m.category
        }
    )
    if uk:
        entry["Tags"] = sorted({*entry.get("Tags", []), *(f"UK Category {c}" for c in uk)})


def _examiner_grade(entry: dict, grade: Grade) -> None:
    """An examiner's grade: a VICS Category (not pre-categorised: a person graded it, no hash
    set did), or a UK tag; its flags as VICS fields, and who graded and verified it as tags."""
    if grade.scheme is Scheme.VICS:
        order = SEVERITY[Scheme.VICS]
        graded = [c for c in (grade.category, _code(entry["Category"])) if c is not None]
        entry["Category"] = int(min(graded, key=order.index))
        tags = []
    else:
        tags = ["UK non-pertinent" if not grade.pertinent else f"UK Category {grade.category}"]
    tags.append(f"graded by {grade.graded_by}")
    if grade.confirmed_by:
        tags.append(f"verified by {grade.confirmed_by}")
    entry["Tags"] = sorted({*entry.get("Tags", []), *tags})
    if grade.flags.series:
        entry["Series"] = grade.flags.series
    if grade.flags.victim_identified is not None:
        entry["VictimIdentified"] = str(grade.flags.victim_identified).lower()
    if grade.flags.notes:
        entry["Comments"] = grade.flags.notes


def _code(category: int | None) -> str | None:
    return None if category is None else str(category)


def _media_file(exhibit: Exhibit, record: ItemRecord) -> dict:
    path_steps = [step["name"] for step in record.steps[1:] if step["kind"] != "filesystem"]
    file_path = "\\".join(path_steps)  # VICS paths use Windows separators
    name = record.steps[-1]["name"].rsplit("/", 1)[-1]
    carved = record.allocation == "carved"
    media_file = {
        "MD5": record.md5.hex().upper() if record.md5 else None,
        "FileName": name,
        "FilePath": file_path,
        "Created": _iso(record.created),
        "Written": _iso(record.modified),
        "Accessed": _iso(record.accessed),
        "Unallocated": "true" if carved else "false",
        "Deleted": "true" if record.allocation in ("deleted", "carved") else "false",
        "SourceID": exhibit.name,
    }
    if carved and (found := _CARVED_AT.search(record.locator)):
        media_file["PhysicalLocation"] = int(found.group(1).replace(",", ""))
    containers = [
        s
        for s in record.steps[1:-1]
        if s["kind"] in ("file", "zip", "tar", "7z", "gzip", "bzip2", "xz")
    ]
    if containers:
        media_file["ParentFileName"] = containers[-1]["name"].rsplit("/", 1)[-1]
        media_file["ParentFilePath"] = containers[-1]["name"]
    return media_file


def _iso(value) -> str | None:
    return value.isoformat() if value else None
