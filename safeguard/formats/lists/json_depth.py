"""How deeply a JSON document nests, measured before it is parsed, at NumPy speed.

A streaming JSON parser keeps a path per nesting level: a 176 KB file nested
40,000 deep costs it gigabytes. VICS records nest a handful of levels, so a
document is refused past :data:`MAX_DEPTH`, after a pass that only counts
brackets outside strings (a quote is a string's edge unless an odd run of
backslashes precedes it), chunk by chunk with the state carried across.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

MAX_DEPTH = 64
_CHUNK = 16 << 20
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = (ord("["), ord("{")), (ord("]"), ord("}"))


@dataclass(slots=True)
class TooDeep:
    depth: int
    offset: int  # the byte where the limit was passed
    record: int  # how many items of the top-level array had begun by then


def too_deep(stream: BinaryIO, limit: int = MAX_DEPTH) -> TooDeep | None:
    """Where the document first nests deeper than ``limit``, or None."""
    depth = records = position = 0
    in_string, backslashes = False, 0
    while chunk := stream.read(_CHUNK):
        data = np.frombuffer(chunk, np.uint8)
        quotes = np.flatnonzero(data == _QUOTE)
        # Only a quote right after a backslash can be escaped: those few are looked at closely.
        after_backslash = data[np.maximum(quotes - 1, 0)] == _BACKSLASH
        after_backslash[quotes == 0] = backslashes > 0
        doubtful = quotes[after_backslash]
        escaped = doubtful[[_escaped(chunk, at, backslashes) for at in doubtful.tolist()]]
        edges = np.setdiff1d(quotes, escaped, assume_unique=True)
        brackets = np.flatnonzero(
            (data == _OPENERS[0]) | (data == _OPENERS[1])
            | (data == _CLOSERS[0]) | (data == _CLOSERS[1])
        )  # fmt: skip
        # A bracket is inside a string when an odd number of string edges precede it.
        inside = (np.searchsorted(edges, brackets) % 2 == 1) ^ in_string
        brackets = brackets[~inside]
        steps = np.where(np.isin(data[brackets], _OPENERS), 1, -1)
        levels = depth + np.cumsum(steps)
        starts_record = (steps == 1) & (levels == 3)  # {"value": [ {record}, ... ]}
        if levels.size and levels.max() > limit:
            at = int(np.argmax(levels > limit))
            begun = records + int(np.count_nonzero(starts_record[: at + 1]))
            return TooDeep(int(levels[at]), position + int(brackets[at]), begun)
        records += int(np.count_nonzero(starts_record))
        depth = int(levels[-1]) if levels.size else depth
        in_string ^= len(edges) % 2 == 1
        tail = len(chunk) - len(chunk.rstrip(b"\\"))
        backslashes = tail + backslashes if tail == len(chunk) else tail
        position += len(chunk)
    return None


def _escaped(chunk: bytes, at: int, carried: int) -> bool:
    """A quote preceded by an odd run of backslashes (the run may start in the last chunk)."""
    start = at
    while start > 0 and chunk[start - 1] == _BACKSLASH:
        start -= 1
    run = at - start + (carried if start == 0 else 0)
    return run % 2 == 1
