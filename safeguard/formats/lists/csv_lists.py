"""CSV lists with a header row; columns are found by name (any case, any order).

Hash columns: ``md5``, ``sha1``, ``sha256``, ``pdq`` (one entry per non-empty
cell), or a long form with ``signal`` and ``value`` (alias ``hash``).
Optional: ``category`` (alias ``grade``), ``series``, ``victim_identified``,
``external_id`` (aliases ``id``, ``media_id``, ``mediaid``), ``notes`` (alias
``comments``), ``disabled``, ``disabled_until`` (ISO-8601). Unknown columns are
ignored. This is also the export format, so export then import is lossless: an export
also names the list's kind and grading scheme on every row (``list_kind``,
``list_scheme``), which an import reads (:func:`declared_list`), so a known-good list
comes back known-good and a VICS-graded one VICS-graded without options.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.errors import UsageError
from safeguard.formats.lists.common import (
    ReadOptions,
    csv_rows,
    make_entry,
    parse_bool,
    parse_timestamp,
)
from safeguard.formats.spreadsheets import spreadsheet_restored, spreadsheet_safe
from safeguard.signals import SIGNAL_TYPES
from safeguard.vocabulary.entries import ENTRY_DETAILS, BadRecord, NewEntry, StoredEntry

_ALIASES = {
    "hash": "value",
    "grade": "category",
    "id": "external_id",
    "media_id": "external_id",
    "mediaid": "external_id",
    "comments": "notes",
    # Forensic suites' hash-set exports name their columns so (EnCase, X-Ways, Axiom).
    "md5_hash": "md5",
    "sha1_hash": "sha1",
    "sha256_hash": "sha256",
    "md5_hash_value": "md5",
    "sha1_hash_value": "sha1",
}
EXPORT_COLUMNS = ("signal", "value", "category", *ENTRY_DETAILS)
LIST_COLUMNS = ("list_kind", "list_scheme")


def column_name(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "")
    return _ALIASES.get(key, key)


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from read_rows(handle, options)


def declared_list(path: Path) -> tuple[str, str] | None:
    """The (kind, scheme) an exported CSV names on its first row; None if it names none."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [column_name(name) for name in next(reader, [])]
        first = next(reader, [])
    cells = dict(zip(header, first, strict=False))
    if not all(cells.get(column) for column in LIST_COLUMNS):
        return None
    return cells["list_kind"].strip(), cells["list_scheme"].strip()


def read_rows(handle: TextIO, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    reader = csv.reader(handle)
    header = [column_name(name) for name in next(reader, [])]
    declared: dict[str, str] = {}
    rows = csv_rows(reader)
    hash_columns = [c for c in header if c in SIGNAL_TYPES]
    long_form = "signal" in header and "value" in header
    if not hash_columns and not long_form:
        raise UsageError(
            "CSV header names no hash column (md5, sha1, sha256, pdq, or signal + value)"
        )
    for number, row in rows:
        if isinstance(row, BadRecord):
            yield row
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield BadRecord(number, f"{len(row)} cells but the header names {len(header)}")
            continue
        if any("\x00" in cell for cell in row):
            yield BadRecord(number, "a cell holds a NUL character")
            continue
        cells = dict(
            zip(header, (spreadsheet_restored(cell.strip()) for cell in row), strict=False)
        )
        mixed = [
            column for column in LIST_COLUMNS
            if cells.get(column) and declared.setdefault(column, cells[column]) != cells[column]
        ]  # fmt: skip
        if mixed:
            yield BadRecord(
                number, f"{mixed[0]} differs from the first row's ({declared[mixed[0]]})"
            )
            continue
        try:
            extra = {
                "series": cells.get("series"),
                "victim_identified": parse_bool(cells.get("victim_identified")),
                "external_id": cells.get("external_id"),
                "notes": cells.get("notes"),
                "disabled": bool(parse_bool(cells.get("disabled"))),
                "disabled_until": parse_timestamp(cells.get("disabled_until")),
            }
        except ValueError as error:
            yield BadRecord(number, str(error))
            continue
        pairs = [(c, cells[c]) for c in hash_columns if cells.get(c)]
        if long_form and cells.get("value"):
            pairs.append((cells.get("signal", "").lower(), cells["value"]))
        if not pairs:
            yield BadRecord(number, "no hash in this row")
        for signal, text in pairs:
            yield make_entry(signal, text, number, options, cells.get("category"), **extra)


def write(
    entries: Iterable[StoredEntry],
    out: TextIO,
    *,
    kind: str | None = None,
    scheme: str | None = None,
) -> int:
    """The entries, one a row; with ``kind`` and ``scheme``, the list's on every row too."""
    about = [kind, scheme] if kind and scheme else []
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*EXPORT_COLUMNS, *(LIST_COLUMNS if about else ())])
    count = 0
    for entry in entries:
        writer.writerow(
            [
                entry.signal,
                SIGNAL_TYPES[entry.signal].to_text(entry.value),
                entry.category or "",
                spreadsheet_safe(entry.series or ""),
                "" if entry.victim_identified is None else str(entry.victim_identified).lower(),
                spreadsheet_safe(entry.external_id or ""),
                spreadsheet_safe(entry.notes or ""),
                "true" if entry.disabled else "false",
                entry.disabled_until.isoformat() if entry.disabled_until else "",
                *about,
            ]
        )
        count += 1
    return count
