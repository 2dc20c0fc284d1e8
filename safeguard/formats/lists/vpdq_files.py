"""vPDQ hash files as Meta's reference tool writes them: one text file per video.

Each line is a hashed frame, ``frame_number,quality,pdq_hex,timestamp``. A file is
one entry (its name, without ``.txt``, becomes the entry's external id; its place in
the folder, in name order, its record number); a folder of such files is a list.
Every entry gets ``--category`` (the files carry no grade).
Export writes the same: one file per video entry into a folder, named by the
entry's external id (or ``entry-<id>`` when it has none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from safeguard.errors import UsageError
from safeguard.formats.lists.common import ReadOptions
from safeguard.signals import VPDQ
from safeguard.signals.vpdq import reference_text
from safeguard.vocabulary.categories import normalise_category
from safeguard.vocabulary.entries import BadRecord, NewEntry, StoredEntry

MAX_FILE_BYTES = 64 << 20  # a day of video at one hash a second is ~9 MB of text
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FRAME_LINE = re.compile(r"^\d+,\d+,[0-9a-fA-F]{64},\d+(\.\d+)?$")


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    category = normalise_category(options.scheme, options.category)
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise UsageError(f"{path}: no .txt vPDQ files in this folder")
    for number, file in enumerate(files, 1):
        if file.stat().st_size > MAX_FILE_BYTES:
            yield BadRecord(file.name, f"over {MAX_FILE_BYTES >> 20} MiB: not a vPDQ file")
            continue
        try:
            value = VPDQ.parse(file.read_text(encoding="utf-8-sig"))
        except (UsageError, UnicodeDecodeError) as error:
            yield BadRecord(file.name, str(error))
            continue
        yield NewEntry(VPDQ.name, value, category, external_id=file.stem, record=number)


def write_folder(entries: Iterable[StoredEntry], folder: Path) -> int:
    """Every video entry as the reference's file; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    used: set[str] = set()
    for entry in entries:
        if entry.signal != VPDQ.name:
            continue
        stem = _UNSAFE.sub("_", entry.external_id or "") or f"entry-{entry.id}"
        if stem in used:
            stem = f"{stem}-entry-{entry.id}"
        used.add(stem)
        (folder / f"{stem}.txt").write_text(reference_text(entry.value), encoding="utf-8")
        count += 1
    return count


def looks_like_vpdq(first_line: str) -> bool:
    return _FRAME_LINE.match(first_line.strip()) is not None
