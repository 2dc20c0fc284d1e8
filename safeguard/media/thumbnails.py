"""Review thumbnails that protect the reviewer: small, greyscale and blurred by default;
and the one picture a reviewer deliberately reveals.

Made from the pixels already decoded for PDQ, so they cost no second decode. The
squash to 512x512 is undone with the stored width and height so shapes keep
their proportions. Only images that matched no list are ever given one.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from safeguard.errors import UndecodableImageError
from safeguard.media.camera_raw import embedded_preview
from safeguard.media.images import Raster, loading_truncated, open_image
from safeguard.media.options import DecodeLimits
from safeguard.vocabulary.content import JPEG, SNIFF_BYTES, sniff

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
