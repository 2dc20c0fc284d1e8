"""NIST NSRL Reference Data Sets, as known-good (exclusion) lists.

* RDS v3 (2022 on): a SQLite database whose ``FILE`` table holds ``sha256``,
  ``sha1``, ``md5`` per file; opened read-only.
* Legacy ``NSRLFile.txt``: quoted CSV in one of two layouts, told apart by the
  header (``"SHA-1","MD5","CRC32","FileName",...`` or the older
  ``"SHA-1","FileName","FileSize","ProductCode","OpSystemCode","MD4","MD5",...``);
  a "minimal" set carries SHA-1 only.

NSRL repeats a hash once per product that ships the file, so repeats are
collapsed rather than reported (the importer asks the store to do so).
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from safeguard.formats.lists.common import ReadOptions, csv_rows, make_entry
from safeguard.vocabulary.entries import BadRecord, NewEntry

SQLITE_MAGIC = b"SQLite format 3\x00"
_COLUMNS = {"sha256": "sha256", "sha-256": "sha256", "sha1": "sha1", "sha-1": "sha1", "md5": "md5"}


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    with path.open("rb") as handle:
        is_sqlite = handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    yield from (_read_rds3 if is_sqlite else _read_legacy)(path, options)


def _read_rds3(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    # A hostile "NSRL" database can make a query run for ever (a recursive view) or
    # grow without bound: only a real FILE table is read, and SQLite is kept small.
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1 << 20)
    connection.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
    connection.setlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 10)
    try:
        yield from _rds3_rows(connection, options)
    except sqlite3.DatabaseError as error:
        yield BadRecord("NSRL database", f"unreadable: {error}")
    finally:
        connection.close()


def _rds3_rows(connection, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    kind = connection.execute(
        "SELECT type FROM sqlite_master WHERE name = 'FILE' COLLATE NOCASE"
    ).fetchone()
    if kind is None or kind[0] != "table":
        what = "no FILE table" if kind is None else f"FILE is a {kind[0]}, not a table"
        yield BadRecord("FILE table", f"{what}: not an NSRL RDS v3 set")
        return
    columns = {row[1].lower() for row in connection.execute("PRAGMA table_info(FILE)")}
    wanted = [c for c in ("sha256", "sha1", "md5") if c in columns]
    if not wanted:
        yield BadRecord("FILE table", "no sha256, sha1 or md5 column: not an NSRL RDS v3 set")
        return
    cursor = connection.execute(f"SELECT rowid, {', '.join(wanted)} FROM FILE")
    while rows := cursor.fetchmany(50_000):
        for rowid, *values in rows:
            for signal, text in zip(wanted, values, strict=True):
                if text:
                    yield make_entry(signal, str(text), rowid, options)


def _read_legacy(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        positions = [(i, _COLUMNS[name]) for i, name in enumerate(header) if name in _COLUMNS]
        if not positions:
            yield BadRecord(1, "header names no SHA-1, MD5 or SHA-256 column: not an NSRL file")
            return
        for line, row in csv_rows(reader):
            if isinstance(row, BadRecord):
                yield row
                continue
            for index, signal in positions:
                if index < len(row) and row[index]:
                    yield make_entry(signal, row[index], line, options)


def looks_like_legacy_nsrl(first_line: str) -> bool:
    return first_line.lstrip("\ufeff").startswith('"SHA-1"')
