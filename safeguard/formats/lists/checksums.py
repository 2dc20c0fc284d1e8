"""Checksum tools' output as lists: GNU ``md5sum``/``sha1sum``/``sha256sum`` (text or
binary mode, ``HASH  name`` or ``HASH *name``, a leading ``\\`` for escaped names), BSD
``md5 -r`` and tagged ``MD5 (name) = HASH`` lines, ``md5deep`` (also with ``-z``:
``size  HASH  name``) and ``hashdeep`` (its ``%%%% HASHDEEP-1.0`` header names the
columns, for example ``size,md5,sha256,filename``).

A checksum's type is its length (32 hex MD5, 40 SHA-1, 64 SHA-256: these tools never
write PDQ) or, where the line says it, its name. File names are not kept: a list holds
hashes and grades, not where someone once found a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from safeguard.errors import UsageError
from safeguard.formats.lists.common import ReadOptions, make_entry
from safeguard.vocabulary.entries import BadRecord, NewEntry

_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_NAMED = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}
# GNU (md5sum, md5deep): HASH, two blanks or " *", the name; md5deep -z puts a size first.
_GNU = re.compile(r"^\\?(?:\d+\s+)?([0-9a-fA-F]{32,64})(?: \*| {1,2})(\S.*)$")
# BSD tagged: MD5 (name) = HASH; GNU --tag writes the same.
_TAGGED = re.compile(r"^(MD5|SHA1|SHA-1|SHA256|SHA-256) \((.*)\) = ([0-9a-fA-F]+)$", re.I)
HASHDEEP_MAGIC = "%%%% HASHDEEP-1.0"


def looks_like_checksums(first_line: str) -> bool:
    return bool(_GNU.match(first_line) or _TAGGED.match(first_line))


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith("#"):
                continue
            tagged = _TAGGED.match(text)
            if tagged:
                yield make_entry(_NAMED[tagged.group(1).lower()], tagged.group(3), number, options)
                continue
            gnu = _GNU.match(text)
            signal = _BY_LENGTH.get(len(gnu.group(1))) if gnu else None
            if signal is None:
                yield BadRecord(number, "not a checksum line (HASH  name, or MD5 (name) = HASH)")
                continue
            yield make_entry(signal, gnu.group(1), number, options)


def read_hashdeep(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    columns: list[str] | None = None
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.startswith("%%%% ") and "," in text:
                columns = [c.strip().lower() for c in text[5:].split(",")]
                continue
            if not text.strip() or text.startswith(("%%%%", "##")):
                continue
            if columns is None:
                raise UsageError("a hashdeep file names its columns in a '%%%% size,...' line")
            # The file name is last and may hold commas: split only as far as the hashes.
            cells = dict(zip(columns, text.split(",", len(columns) - 1), strict=False))
            hashes = [(_NAMED[c], cells[c]) for c in columns if c in _NAMED and cells.get(c)]
            if not hashes:
                yield BadRecord(number, "no MD5, SHA-1 or SHA-256 in this row")
            for signal, value in hashes:
                yield make_entry(signal, value, number, options)
