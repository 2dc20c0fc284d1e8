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
    """Pictures starting inside ``regions`` ((start, end) byte ranges, e.g. unallocated space)."""
    for start, end in regions:
        position = start
        while position < end:
            window = read(position, min(_WINDOW, end - position) + len(PNG_START))
            if not window:
                break
            hits = sorted(
                offset
                for signature in (JPEG_START, PNG_START)
                for offset in _find_all(window, signature)
                # The window overlaps the next by a signature's length, so a signature
                # across the boundary is seen once, by the window it starts in.
                if offset < _WINDOW and position + offset < end
            )
            carved_until = position
            for offset in hits:
                absolute = position + offset
                if absolute < carved_until:
                    continue  # inside a picture already carved (an embedded thumbnail)
                found = _carve_at(read, absolute)
                if found is not None:
                    yield found
                    carved_until = absolute + found.length
            position = max(position + _WINDOW, carved_until)


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    index = data.find(needle)
    while index != -1:
        yield index
        index = data.find(needle, index + 1)


def _carve_at(read: Reader, offset: int) -> Carved | None:
    wanted = 1 << 20
    while True:  # read more only while the structure runs on past what was read
        data = read(offset, wanted)
        kind = "png" if data.startswith(PNG_START) else "jpeg"
        length, complete, problem = (_png_extent if kind == "png" else _jpeg_extent)(data)
        ran_out = not complete and length >= len(data) - 16 and len(data) == wanted
        if not ran_out or wanted >= MAX_PICTURE_BYTES:
            break
        wanted *= 4
    if length <= len(JPEG_START) + 1:
        return None  # a stray signature, not a picture
    return Carved(offset, length, kind, complete, problem)


_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RST0-7
# Markers a real file can hold before its first scan (frame, tables, APPn, COM)...
_HEADER_MARKERS = {*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDD, *range(0xE0, 0xF0), 0xFE}
# ...and after a scan (more scans of a progressive file, their tables, or the end).
_AFTER_SCAN_MARKERS = {0xC4, 0xCC, 0xD9, 0xDA, 0xDB, 0xDD, 0xFE}


def _jpeg_extent(data: bytes) -> tuple[int, bool, str | None]:
    position = 2  # after SOI
    size = len(data)
    allowed = _HEADER_MARKERS
    while position + 2 <= size:  # an end-of-image marker can be the last two bytes
        if data[position] != 0xFF:
            return position, False, f"no marker at +{position}: overwritten or fragmented"
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9 and allowed is _AFTER_SCAN_MARKERS:
            return position + 2, True, None
        if marker in _STANDALONE:
            position += 2
            continue
        if marker not in allowed:
            # Random bytes after an overwrite rarely form a marker that fits here.
            return (
                position,
                False,
                f"marker FF{marker:02X} at +{position} does not fit: overwritten",
            )
        if position + 4 > size:
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            return position, False, f"bad segment length at +{position}"
        position += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            position = _end_of_scan(data, position)
            allowed = _AFTER_SCAN_MARKERS
            if position < 0:
                return size, False, "image data runs past the end of the scanned space"
    return min(position, size), False, "ends before its end-of-image marker"


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


def _png_extent(data: bytes) -> tuple[int, bool, str | None]:
    position = len(PNG_START)
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if length > MAX_PICTURE_BYTES or end > len(data):
            return position, False, f"chunk at +{position} runs past the data"
        crc = int.from_bytes(data[end - 4 : end], "big")
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            return position, False, f"{kind!r} chunk at +{position} fails its CRC: overwritten"
        position = end
        if kind == b"IEND":
            return position, True, None
    return position, False, "ends before its IEND chunk"
