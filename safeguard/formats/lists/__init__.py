"""Hash-list file formats: readers yield entries (or bad records), writers take stored entries.

=========  =========================================================  ======
format     what                                                       writes
=========  =========================================================  ======
vics       Project VIC JSON 1.1-1.3 and 2.0, hash sets and case exports  2.0
csv        CSV with a header, columns by name                         yes
text       one hash per line, type by length                          no
nsrl       NIST NSRL RDS v3 (SQLite) or legacy NSRLFile.txt           no
hma        HMA / threatexchange ``signal_type,signal_value`` rows       no
vpdq       Meta's vPDQ text files, one per video (a file or a folder)  folder
checksums  md5sum/sha1sum/sha256sum, BSD tagged lines, md5deep           no
hashdeep   hashdeep's CSV (its header names the columns)               no
=========  =========================================================  ======

A picture, video, archive or other binary file given as a list is refused with what it
is, before any reader sees it.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.errors import UsageError
from safeguard.formats.lists import checksums, csv_lists, hma, nsrl, text, vics, vpdq_files
from safeguard.formats.lists.common import ReadOptions
from safeguard.signals import SIGNAL_TYPES
from safeguard.vocabulary.content import MediaKind, sniff
from safeguard.vocabulary.entries import BadRecord, NewEntry, StoredEntry

Reader = Callable[[Path, ReadOptions], Iterator[NewEntry | BadRecord]]
Writer = Callable[[Iterable[StoredEntry], TextIO], int]

READERS: dict[str, Reader] = {
    "vics": vics.read,
    "csv": csv_lists.read,
    "text": text.read,
    "nsrl": nsrl.read,
    "hma": hma.read,
    "vpdq": vpdq_files.read,
    "checksums": checksums.read,
    "hashdeep": checksums.read_hashdeep,
}
WRITERS: dict[str, Writer] = {"vics": vics.write, "csv": csv_lists.write}


def detect_format(path: Path) -> str:
    """Guess a list's format from its first bytes (a folder: vPDQ files)."""
    if path.is_dir():
        return "vpdq"
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(nsrl.SQLITE_MAGIC):
        return "nsrl"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "vics"  # old VICS exports are UTF-16; no other supported format is
    _refuse_binary(path, head)
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if first.lstrip().startswith("{"):
        return "vics"
    first_line = first.splitlines()[0] if first.strip() else ""
    if nsrl.looks_like_legacy_nsrl(first_line):
        return "nsrl"
    if hma.looks_like_hma(first_line):
        return "hma"
    if vpdq_files.looks_like_vpdq(first_line):
        return "vpdq"
    if first_line.startswith(checksums.HASHDEEP_MAGIC):
        return "hashdeep"
    if checksums.looks_like_checksums(first_line):
        return "checksums"
    columns = {csv_lists.column_name(c.strip().strip('"')) for c in first_line.split(",")}
    if columns & {*SIGNAL_TYPES, "signal", "value", "hash"}:
        return "csv"
    return "text"


def _refuse_binary(path: Path, head: bytes) -> None:
    """A picture or other binary file given by mistake: say what it is."""
    found = sniff(head)
    if found.kind in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.ARCHIVE):
        what = found.mime.split("/")[-1].upper()
        raise UsageError(f"{path.name} is a {what} {found.kind}, not a hash list")
    if b"\0" in head:
        raise UsageError(f"{path.name} is a binary file, not a hash list")


def read_list(path: Path, fmt: str, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in READERS:
        raise UsageError(f"unknown list format {fmt!r}; known: auto, {', '.join(READERS)}")
    return READERS[fmt](path, options)


__all__ = ["READERS", "WRITERS", "ReadOptions", "detect_format", "read_list"]
