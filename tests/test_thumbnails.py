"""Review thumbnails: small, greyscale, blurred, with the picture's own proportions."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from safeguard.media.images import DecodeLimits, PdqMode, open_image, pdq_raster
from safeguard.media.thumbnails import THUMBNAIL_SIDE, review_thumbnail
from safeguard.vocabulary.content import sniff


def test_thumbnail_is_small_grey_and_blurred(big_photo):
    data = big_photo.read_bytes()
    image = open_image(io.BytesIO(data), sniff(data[:4096]), DecodeLimits())
    raster = pdq_raster(image, PdqMode.FAST)
    with Image.open(io.BytesIO(review_thumbnail(raster))) as thumbnail:
        assert thumbnail.mode == "L"
        assert max(thumbnail.size) == THUMBNAIL_SIDE
        assert abs(thumbnail.size[0] / thumbnail.size[1] - 4032 / 3024) < 0.05  # not squashed
        pixels = np.asarray(thumbnail, dtype=float)
    # Blurred: neighbouring pixels barely differ, unlike a sharp photo at this size.
    sharp = np.asarray(Image.open(big_photo).convert("L").resize(thumbnail.size), dtype=float)
    assert np.abs(np.diff(pixels, axis=1)).mean() < 0.5 * np.abs(np.diff(sharp, axis=1)).mean()
