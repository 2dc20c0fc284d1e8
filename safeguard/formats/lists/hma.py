"""HMA / python-threatexchange bank exports: ``signal_type,signal_value`` rows.

A header naming ``signal_type`` (and ``signal_value`` or ``signal``) is optional;
further columns are ignored. Signal types use threatexchange's names: ``pdq``,
``md5``, and ``video_md5`` (the MD5 of a video file's bytes, which is our md5).
Other types (``url``, ``raw_text``, ...) are reported as unsupported rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from safeguard.formats.lists.common import ReadOptions, make_entry
from safeguard.vocabulary.entries import BadRecord, NewEntry

_SIGNAL_NAMES = {"pdq": "pdq", "md5": "md5", "video_md5": "md5", "photo_md5": "md5"}


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for row in reader:
            number = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if number == 1 and cells[0].lower() == "signal_type":
                continue  # header
            if len(cells) < 2:
                yield BadRecord(number, "expected signal_type,signal_value")
                continue
            signal = _SIGNAL_NAMES.get(cells[0].lower())
            if signal is None:
                yield BadRecord(number, f"unsupported signal type {cells[0]!r}")
                continue
            yield make_entry(signal, cells[1], number, options)


def looks_like_hma(first_line: str) -> bool:
    """A ``signal_type`` header, or a first row like ``pdq,<hex>`` (not a CSV header)."""
    cells = [cell.strip().lower() for cell in first_line.split(",")]
    if cells[0] == "signal_type":
        return True
    if cells[0] not in _SIGNAL_NAMES or len(cells) < 2:
        return False
    try:
        bytes.fromhex(cells[1])
    except ValueError:
        return False  # e.g. "md5,pdq,category": a CSV header naming hash columns
    return bool(cells[1])
