"""Carving JPEG and PNG pictures out of unallocated space by their structure.

A header/footer search (``FF D8`` ... the last ``FF D9``) mis-carves; this walks
each format's own structure instead:

* JPEG: marker segments by their lengths (RST0-7, SOI, EOI and TEM have none);
  after SOS the entropy-coded data runs to the next real marker (``FF`` not
  followed by ``00`` or RSTn); the picture ends at EOI.
* PNG: chunks by their lengths, each checked against its CRC, up to IEND.

A span whose structure breaks before its end (overwritten by later data) is still
reported, as a fragment, with where and why it broke. A hit inside a span
already carved (a camera JPEG's EXIF thumbnail) is not reported again.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

JPEG_START = b"\xff\xd8\xff"
PNG_START = b"\x89PNG\r\n\x1a\n"
MAX_PICTURE_BYTES = 64 << 20  # a carved span stops here: no runaway on junk
_WINDOW = 4 << 20

Reader = Callable[[int, int], bytes]  # (offset, length) -> bytes, short at the end


@dataclass(frozen=True, slots=True)
class Carved:
    offset: int  # byte offset in the scanned volume
    length: int
    kind: str  # "jpeg" or "png"
    complete: bool
    problem: str | None = None  # why a fragment stops where it does


def carve(read: Reader, regions: list[tuple[int, int]]) -> Iterator[Carved]:
    """Pictures starting inside ``regions`` ((start, end) byte ranges, e.g. unallocated space).

    Each signature is first followed inside the window already read: a false start
    (``FF D8 FF`` followed by junk, over and over) breaks within a few bytes, so the
    time is linear in the bytes searched. Only a structure that runs past the window
    is read again, in growing steps, from where it starts.
    """
    for start, end in regions:
        position = start
        while position < end:
            window = read(position, min(_WINDOW, end - position) + len(PNG_START))
            if not window:
                break
            hits = sorted(
                match.start()
                for match in _SIGNATURES.finditer(window)
                # The window overlaps the next by a signature's length, so a signature
                # across the boundary is seen once, by the window it starts in.
                if match.start() < _WINDOW and position + match.start() < end
            )
            carved_until = position
            for offset in hits:
                absolute = position + offset
                if absolute < carved_until:
                    continue  # inside a picture already carved (an embedded thumbnail)
                found = _carve_at(read, absolute, window, offset)
                if found is not None:
                    yield found
                    carved_until = absolute + found.length
            position = max(position + _WINDOW, carved_until)


def picture_end(data: bytes, kind: str) -> int | None:
    """Where a whole JPEG or PNG at the start of ``data`` ends, or None if it is not whole."""
    length, complete, _ = _EXTENTS[kind](data, 0)
    return length if complete else None


def _carve_at(read: Reader, offset: int, window: bytes, at: int) -> Carved | None:
    kind = "png" if window.startswith(PNG_START, at) else "jpeg"
    length, complete, problem = _EXTENTS[kind](window, at)
    wanted = 4 * (len(window) - at)
    # Read more only while the structure runs on past what is already in hand.
    while not complete and at + length >= len(window) - 16 and wanted <= MAX_PICTURE_BYTES:
        window, at = read(offset, wanted), 0
        length, complete, problem = _EXTENTS[kind](window, 0)
        if len(window) < wanted:
            break  # the end of the volume: it stays a fragment
        wanted *= 4
    if length <= len(JPEG_START) + 1:
        return None  # a stray signature, not a picture
    return Carved(offset, length, kind, complete, problem)


# A JPEG's SOI is followed by a marker a file can open with: checked by the regular
# expression engine, so runs of FF D8 FF and junk cost no Python per hit.
_SIGNATURES = re.compile(
    re.escape(PNG_START)
    + b"|"
    + re.escape(JPEG_START)
    + rb"(?=[\xc0-\xcf\xda\xdb\xdd\xe0-\xef\xfe\xff])"
)
_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RST0-7
# Markers a real file can hold before its first scan (frame, tables, APPn, COM)...
_HEADER_MARKERS = {*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDD, *range(0xE0, 0xF0), 0xFE}
# ...and after a scan (more scans of a progressive file, their tables, or the end).
_AFTER_SCAN_MARKERS = {0xC4, 0xCC, 0xD9, 0xDA, 0xDB, 0xDD, 0xFE}


def _jpeg_extent(data: bytes, start: int) -> tuple[int, bool, str | None]:
    """(length, whole, why not) of the JPEG that starts at ``data[start]``."""
    position = start + 2  # after SOI
    size = len(data)
    allowed = _HEADER_MARKERS
    while position + 2 <= size:  # an end-of-image marker can be the last two bytes
        if data[position] != 0xFF:
            at = position - start
            return at, False, f"no marker at +{at}: overwritten or fragmented"
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9 and allowed is _AFTER_SCAN_MARKERS:
            return position + 2 - start, True, None
        if marker in _STANDALONE:
            position += 2
            continue
        if marker not in allowed:
            # Random bytes after an overwrite rarely form a marker that fits here.
            at = position - start
            return at, False, f"marker FF{marker:02X} at +{at} does not fit: overwritten"
        if position + 4 > size:
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            return position - start, False, f"bad segment length at +{position - start}"
        position += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            position = _end_of_scan(data, position)
            allowed = _AFTER_SCAN_MARKERS
            if position < 0:
                return size - start, False, "image data runs past the end of the scanned space"
    return min(position, size) - start, False, "ends before its end-of-image marker"


def _end_of_scan(data: bytes, position: int) -> int:
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return -1
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1
            continue
        return position


def _png_extent(data: bytes, start: int) -> tuple[int, bool, str | None]:
    """(length, whole, why not) of the PNG that starts at ``data[start]``."""
    position = start + len(PNG_START)
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        at = position - start
        if length > MAX_PICTURE_BYTES or end > len(data):
            return at, False, f"chunk at +{at} runs past the data"
        crc = int.from_bytes(data[end - 4 : end], "big")
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            return at, False, f"{kind!r} chunk at +{at} fails its CRC: overwritten"
        position = end
        if kind == b"IEND":
            return position - start, True, None
    return position - start, False, "ends before its IEND chunk"


_EXTENTS = {"jpeg": _jpeg_extent, "png": _png_extent}
