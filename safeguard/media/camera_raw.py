"""The JPEG preview a camera embeds in its raw photos (CR2, CR3, NEF, ARW, DNG...).

No raw decoder ships with Safeguard, but every camera stores a JPEG rendering of
the shot inside the raw file (usually at full size, for its own screen), so a
raw photo can still be matched perceptually through it. The previews are found
by their structure, as carving finds pictures in free space; the largest one
Pillow can decode is taken (the sensor data itself is lossless JPEG, which it
cannot, and the small EXIF thumbnail loses to the full-size preview).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from safeguard.sources.carving import carve

MIN_PREVIEW_SIDE = 256  # smaller previews are thumbnails, too coarse to stand for the shot


def embedded_preview(data: bytes, max_pixels: int) -> bytes | None:
    """The largest decodable JPEG inside ``data``, or None."""
    candidates = []
    for found in carve(lambda offset, length: data[offset : offset + length], [(0, len(data))]):
        if found.kind != "jpeg" or not found.complete:
            continue
        jpeg = data[found.offset : found.offset + found.length]
        size = _size(jpeg)
        if size is not None and min(size) >= MIN_PREVIEW_SIDE and size[0] * size[1] <= max_pixels:
            candidates.append((size[0] * size[1], jpeg))
    for _, jpeg in sorted(candidates, key=lambda candidate: -candidate[0]):
        if _decodes(jpeg):
            return jpeg
    return None


def _size(jpeg: bytes) -> tuple[int, int] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
                return image.size
    except Exception:  # not a JPEG Pillow reads: not a preview
        return None


def _decodes(jpeg: bytes) -> bool:
    """Lossless sensor data opens (its header is a JPEG's) but does not decode: try, small."""
    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
            image.draft("L", (64, 64))
            image.load()
        return True
    except Exception:
        return False
