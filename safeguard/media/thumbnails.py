"""Review thumbnails that protect the reviewer: small, greyscale and blurred by default.

Made from the pixels already decoded for PDQ, so they cost no second decode. The
squash to 512x512 is undone with the stored width and height so shapes keep
their proportions. Only images that matched no list are ever given one.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from safeguard.media.images import Raster

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
