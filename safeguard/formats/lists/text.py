"""Plain text lists: one hash per line, its type told by its length.

32 hex digits are MD5, 40 SHA-1. 64 could be SHA-256 or PDQ, so such a file
needs ``--signal sha256|pdq``. Blank lines and lines starting with ``#`` are
skipped. Every entry gets ``--category`` (a plain list carries no grades).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from safeguard.errors import UsageError
from safeguard.formats.lists.common import ReadOptions, make_entry
from safeguard.signals import SIGNAL_TYPES
from safeguard.vocabulary.categories import normalise_category
from safeguard.vocabulary.entries import BadRecord, NewEntry

_BY_LENGTH = {32: "md5", 40: "sha1"}


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    category = normalise_category(options.scheme, options.category)
    sizes = {len_hex: signal for len_hex, signal in _BY_LENGTH.items()}
    if options.signal:
        sizes = {SIGNAL_TYPES[options.signal].size_bytes * 2: options.signal}
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text[0] == "#":
                continue
            signal = sizes.get(len(text))
            if signal is not None:
                # The common case, kept lean: millions of lines go through here.
                try:
                    value = bytes.fromhex(text)
                except ValueError:
                    value = b""
                if len(value) * 2 == len(text):
                    yield NewEntry(signal, value, category, record=number)
                    continue
            if options.signal is None and len(text) == 64:
                raise UsageError(
                    f"line {number}: 64 hex digits could be SHA-256 or PDQ; "
                    "say which with --signal sha256 or --signal pdq"
                )
            if signal is None and options.signal is None:
                yield BadRecord(number, f"{len(text)} characters is not a hash length (32, 40, 64)")
                continue
            yield make_entry(signal or options.signal, text, number, options)
