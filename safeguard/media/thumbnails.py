"""Review thumbnails that protect the reviewer: small, greyscale and blurred by default
(a picture's; a video's contact sheet of key frames); and the one picture a reviewer
deliberately reveals.

Made from the pixels already decoded for PDQ, so they cost no second decode. The
squash to 512x512 is undone with the stored width and height so shapes keep
their proportions. Only images that matched no list are ever given one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from safeguard.errors import UndecodableImageError
from safeguard.media.camera_raw import embedded_preview
from safeguard.media.images import Raster, loading_truncated, open_image
from safeguard.media.options import DecodeLimits
from safeguard.vocabulary.content import JPEG, SNIFF_BYTES, sniff

if TYPE_CHECKING:
    from safeguard.media.video import VideoFrame

THUMBNAIL_SIDE = 96
BLUR_RADIUS = 3


def review_thumbnail(raster: Raster) -> bytes:
    pixels = raster.pixels
    image = Image.fromarray(pixels if pixels.ndim == 2 else np.ascontiguousarray(pixels))
    scale = THUMBNAIL_SIDE / max(raster.width, raster.height)
    size = (max(1, round(raster.width * scale)), max(1, round(raster.height * scale)))
    # Shrink first (reducing_gap: a box pre-reduction), then go grey: the cheap order.
    small = image.resize(size, Image.BILINEAR, reducing_gap=2.0).convert("L")
    blurred = small.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    buffer = io.BytesIO()
    blurred.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


SHEET_TILES = 8  # key frames on a video's contact sheet, 4 across
_SHEET_KEPT = 64  # small frames held while a video decodes (thinned as it runs on)


class ContactSheet:
    """A blurred, greyscale sheet of a video's key frames, the review thumbnail of a video.

    Frames pass through on their way to hashing; a small grey copy of some is kept
    (every frame at first, then every second, fourth... as the video runs on, so an
    hour-long video holds no more than a short one), and :meth:`render` lays out
    :data:`SHEET_TILES` of them, evenly spread, then blurs the sheet.
    """

    def __init__(self) -> None:
        self._kept: list[Image.Image] = []
        self._stride, self._seen = 1, 0

    def collect(self, frames: Iterable[VideoFrame]) -> Iterator[VideoFrame]:
        for frame in frames:
            if self._seen % self._stride == 0:
                self._kept.append(_tile(frame.rgb))
                if len(self._kept) == _SHEET_KEPT:
                    self._kept, self._stride = self._kept[::2], self._stride * 2
            self._seen += 1
            yield frame

    def render(self) -> bytes | None:
        if not self._kept:
            return None
        count = min(SHEET_TILES, len(self._kept))
        chosen = [self._kept[i * len(self._kept) // count] for i in range(count)]
        width, height = chosen[0].size
        sheet = Image.new("L", (width * 4, height * ((count + 3) // 4)))
        for place, tile in enumerate(chosen):
            sheet.paste(tile, ((place % 4) * width, (place // 4) * height))
        buffer = io.BytesIO()
        sheet.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)).save(buffer, "JPEG", quality=70)
        return buffer.getvalue()


def _tile(rgb: np.ndarray) -> Image.Image:
    """A frame as a small grey tile, THUMBNAIL_SIDE wide (kept proportions)."""
    rows, cols = rgb.shape[:2]
    size = (THUMBNAIL_SIDE, max(1, round(rows * THUMBNAIL_SIDE / cols)))
    return Image.fromarray(rgb).convert("L").resize(size, Image.BILINEAR, reducing_gap=2.0)


REVEAL_SIDE = 1024


def revealed_view(data: bytes, limits: DecodeLimits) -> bytes:
    """The picture as a person asked to see it: colour, upright, at most 1024 pixels a side.

    Made from the file's bytes (read back from the evidence), never stored. Upright
    as a viewer shows it (EXIF orientation applied: hashes ignore it, eyes do not);
    a camera raw file shows its embedded preview, a truncated one its decodable part.
    """
    media_type = sniff(data[:SNIFF_BYTES])
    if media_type.camera_raw:
        preview = embedded_preview(data, limits.max_pixels)
        if preview is None:
            raise UndecodableImageError(f"{media_type.mime}: no embedded preview to show")
        data, media_type = preview, JPEG
    with loading_truncated(), open_image(io.BytesIO(data), media_type, limits) as image:
        image.draft("RGB", (REVEAL_SIDE, REVEAL_SIDE))  # a JPEG decodes straight to near size
        shown = ImageOps.exif_transpose(image)
        shown.thumbnail((REVEAL_SIDE, REVEAL_SIDE), Image.LANCZOS)
        buffer = io.BytesIO()
        shown.convert("RGB").save(buffer, "JPEG", quality=88)
    return buffer.getvalue()
