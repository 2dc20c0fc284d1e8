"""Bytes to pixels for still images, under explicit safety limits.

The rules follow Meta's reference PDQ hasher (``pdq/cpp``), which reads images
through ImageMagick into CImg and takes the first three channels:

* the first frame of a multi-frame file, EXIF orientation ignored;
* colour modes converted to 8-bit RGB, alpha dropped (not composited); greyscale
  kept as one channel, which the reference uses directly as luminance;
* 16-bit samples scaled to 8 bits with rounding (ImageMagick's ``ScaleQuantumToChar``),
  not clipped, which is what a plain Pillow ``convert("RGB")`` would do;
* any image with a side over 512 squashed to exactly 512x512 (aspect ratio not kept)
  by nearest neighbour with source index ``floor(i * size / 512)``.

Decoding is refused before any pixel is allocated when the image is larger than
``DecodeLimits.max_pixels``: a 50 KB PNG can declare 40,000 x 40,000 pixels. A
tighter ``max_decoded_pixels`` (the match service's uploads) caps what the decode
itself would allocate, after a JPEG's reduced decode: only JPEG can be decoded
smaller than it is stored, so a 5 KB lossless WebP of 11,300 x 11,300 is refused
while a 108 MP phone JPEG, decoded at 1/8 in fast mode, is not.

A truncated picture (a deleted photo partly overwritten, a carved fragment) is
decoded again with Pillow's truncated loading, as the reference hasher
(ImageMagick) decodes what is there: its hash is that of the decodable part, and
the caller is told so.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageFile

from safeguard.errors import (
    DecodeError,
    MediaTooLargeError,
    TruncatedImageError,
    UndecodableImageError,
    UnsupportedMediaError,
)
from safeguard.media.options import DecodeLimits, PdqMode
from safeguard.vocabulary.content import MediaType

__all__ = ["PDQ_SQUASH_SIDE", "DecodeLimits", "PdqMode", "Raster", "decode_raster", "open_image"]

pillow_heif.register_heif_opener()


class _TruncatedLoading:
    """Pillow's ``LOAD_TRUNCATED_IMAGES``, true only in the thread that asked for it.

    Pillow reads the flag as a module global; a plain ``True`` there would let every
    other thread (the match service decodes in several) hash a truncated upload
    without anyone being told. Pillow only tests its truth, so this answers per thread.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __bool__(self) -> bool:
        return getattr(self._local, "on", False)

    @contextmanager
    def allowed(self) -> Iterator[None]:
        self._local.on = True
        try:
            yield
        finally:
            self._local.on = False


_TRUNCATED_LOADING = _TruncatedLoading()
loading_truncated = _TRUNCATED_LOADING.allowed  # for showing what a truncated file holds
ImageFile.LOAD_TRUNCATED_IMAGES = _TRUNCATED_LOADING  # type: ignore[assignment]

# Safeguard enforces its own, configurable cap (below) before decoding; Pillow's
# global one would otherwise refuse large-but-legitimate panoramas with no way to
# raise it per call.
Image.MAX_IMAGE_PIXELS = None

PDQ_SQUASH_SIDE = 512
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass(frozen=True, slots=True)
class Raster:
    """8-bit pixels ready for a perceptual hash, and the stored image size."""

    pixels: np.ndarray  # uint8, (rows, cols) for greyscale or (rows, cols, 3) for RGB
    width: int  # of the image as stored (before any squash or scaled decode)
    height: int


def open_image(fp: BinaryIO, media_type: MediaType, limits: DecodeLimits) -> Image.Image:
    """Open an image lazily (header only) with the plugin its magic bytes named, and check caps."""
    if not media_type.is_image:
        raise UnsupportedMediaError(f"{media_type.mime} is not a still-image format")
    if not media_type.decodable:
        raise UndecodableImageError(f"image, not decodable here ({media_type.mime})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(fp, formats=[media_type.pillow_format])
    except (OSError, ValueError, SyntaxError) as error:
        raise DecodeError(f"cannot read {media_type.mime} header: {error}") from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise DecodeError(f"{media_type.mime} declares an empty image ({width}x{height})")
    if width * height > limits.max_pixels:
        raise MediaTooLargeError(
            f"image declares {width}x{height} = {width * height:,} pixels, over the "
            f"{limits.max_pixels:,}-pixel cap (possible decompression bomb)"
        )
    return image


def decode_raster(
    open_stream: Callable[[], BinaryIO], media_type: MediaType, limits: DecodeLimits, mode: PdqMode
) -> tuple[Raster, bool]:
    """The pixels PDQ sees, and whether the file was truncated (only its decodable part read)."""
    try:
        return _decode(open_stream, media_type, limits, mode), False
    except TruncatedImageError:
        with _TRUNCATED_LOADING.allowed():
            return _decode(open_stream, media_type, limits, mode), True


def _decode(open_stream, media_type: MediaType, limits: DecodeLimits, mode: PdqMode) -> Raster:
    with open_stream() as stream, open_image(stream, media_type, limits) as image:
        return pdq_raster(image, mode, limits.max_decoded_pixels)


def pdq_raster(image: Image.Image, mode: PdqMode, max_decoded: int | None = None) -> Raster:
    """Decode the first frame to the pixels the reference PDQ hasher sees."""
    width, height = image.size
    if mode is PdqMode.FAST and image.format == "JPEG" and _dct_scale(width, height) > 1:
        # libjpeg scales in the DCT domain by 1/2, 1/4 or 1/8, keeping both sides >= 512
        # so the squash below still samples a larger picture, as exact mode does. A
        # YCbCr JPEG already stores Y = 0.299 R + 0.587 G + 0.114 B, PDQ's own luminance,
        # so decoding Y alone skips chroma upsampling and colour conversion.
        target_mode = "L" if image.mode in ("RGB", "L") else image.mode
        image.draft(target_mode, (PDQ_SQUASH_SIDE, PDQ_SQUASH_SIDE))
    decoded = image.size[0] * image.size[1]  # what load() allocates, after any draft
    if max_decoded is not None and decoded > max_decoded:
        raise MediaTooLargeError(
            f"image of {width}x{height} would decode to {decoded:,} pixels, over the "
            f"{max_decoded:,}-pixel cap for this decode"
        )
    try:
        image.load()
        pixels = _to_pixels(image)
    except OSError as error:
        if "truncated" in str(error):
            raise TruncatedImageError(f"{image.format or 'image'} is truncated") from error
        raise DecodeError(f"cannot decode {image.format or 'image'}: {error}") from error
    except (ValueError, SyntaxError, EOFError) as error:
        raise DecodeError(f"cannot decode {image.format or 'image'}: {error}") from error
    except MemoryError as error:
        raise MediaTooLargeError(f"not enough memory to decode {width}x{height}") from error
    return Raster(_squash(pixels), width, height)


def _dct_scale(width: int, height: int) -> int:
    """The JPEG DCT scaling Pillow's draft picks for a 512x512 request (1, 2, 4 or 8)."""
    fits = min(width // PDQ_SQUASH_SIDE, height // PDQ_SQUASH_SIDE)
    return next((scale for scale in (8, 4, 2) if fits >= scale), 1)


def _to_pixels(image: Image.Image) -> np.ndarray:
    """8-bit pixels: (rows, cols) for greyscale, (rows, cols, 3) for everything else."""
    if image.mode in ("RGB", "L"):
        return np.asarray(image)
    if image.mode in _SIXTEEN_BIT_MODES:
        samples = np.asarray(image).astype(np.uint32)
        return ((np.clip(samples, 0, 65535) + 128) // 257).astype(np.uint8)
    try:
        return np.asarray(image.convert("RGB"))
    except ValueError as error:  # e.g. LAB, which Pillow cannot convert to RGB
        raise UnsupportedMediaError(f"colour mode {image.mode} is not supported") from error


def _squash(pixels: np.ndarray) -> np.ndarray:
    rows, cols = pixels.shape[:2]
    if rows <= PDQ_SQUASH_SIDE and cols <= PDQ_SQUASH_SIDE:
        return pixels
    if pixels.ndim == 2:
        return np.take(pixels[_nearest_indices(rows)], _nearest_indices(cols), axis=1)
    # Row selection on a (rows, cols*3) view, then one `take` over the flattened
    # columns: about twice as fast as 2-D fancy indexing on an (r, c, 3) array.
    picked_rows = pixels.reshape(rows, cols * 3)[_nearest_indices(rows)]
    picked = np.take(picked_rows, _nearest_channel_indices(cols), axis=1)
    return picked.reshape(PDQ_SQUASH_SIDE, PDQ_SQUASH_SIDE, 3)


@lru_cache(maxsize=64)
def _nearest_indices(size: int) -> np.ndarray:
    return (np.arange(PDQ_SQUASH_SIDE, dtype=np.int64) * size) // PDQ_SQUASH_SIDE


@lru_cache(maxsize=64)
def _nearest_channel_indices(size: int) -> np.ndarray:
    return (_nearest_indices(size)[:, None] * 3 + np.arange(3)).ravel()
