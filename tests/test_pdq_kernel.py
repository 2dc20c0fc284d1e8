"""The PDQ kernel against Meta's own C++ (the ``pdqhash`` binding) on the same pixels.

The reference CSVs pin 45 real images; these tests add property-based pictures of
every size and texture, where any deviation in summation order would show up.
Grey pictures are compared exactly: both sides then start from identical
float luminance (pdqhash computes RGB luminance in float64, the reference in
float32, so RGB inputs are compared on corpus photos instead).
"""

from __future__ import annotations

import io

import numpy as np
import pdqhash
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from safeguard.media.images import DecodeLimits, PdqMode, open_image, pdq_raster
from safeguard.signals import PDQ
from safeguard.signals.pdq_kernel import bits_above_median, dct_coefficients
from safeguard.vocabulary.content import sniff


def _meta(pixels: np.ndarray) -> tuple[bytes, int]:
    rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[:, :, None], 3, axis=2)
    vector, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(vector.astype(np.uint8)).tobytes(), int(quality)


def _ours(pixels: np.ndarray) -> tuple[bytes, int]:
    coefficients, quality = dct_coefficients(pixels)
    return bits_above_median(coefficients), quality


@st.composite
def grey_pictures(draw):
    rows = draw(st.integers(5, 700))
    cols = draw(st.integers(5, 700))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    texture = draw(st.sampled_from(["noise", "smooth", "bands"]))
    if texture == "noise":
        return rng.integers(0, 256, (rows, cols), dtype=np.uint8)
    y, x = np.mgrid[0:rows, 0:cols]
    if texture == "smooth":
        fx, fy = rng.uniform(0.001, 0.05, 2)
        return (127.5 + 127.5 * np.sin(x * fx + y * fy)).astype(np.uint8)
    return ((x // max(1, cols // 7) + y // max(1, rows // 5)) % 2 * 255).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(grey_pictures())
def test_kernel_equals_meta_cpp_on_grey_pictures(pixels):
    assert _ours(pixels) == _meta(pixels)


def test_kernel_equals_meta_cpp_on_corpus_photos(corpus):
    photos = sorted(corpus.rglob("*.jpg"))[::5]
    for photo in photos:
        data = photo.read_bytes()
        image = open_image(io.BytesIO(data), sniff(data[:4096]), DecodeLimits())
        pixels = pdq_raster(image, PdqMode.EXACT).pixels
        assert _ours(pixels) == _meta(pixels), photo


def test_pictures_under_five_pixels_get_the_reference_empty_hash():
    sliver = Image.fromarray(np.full((4, 300), 128, np.uint8))
    result = PDQ.hash_raster(pdq_raster(sliver, PdqMode.EXACT), dihedral=True)
    assert result.value == bytes(32) and result.quality == 0 and result.low_quality
    assert set(result.dihedral.values()) == {bytes(32)}
