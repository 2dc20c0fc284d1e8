"""PDQ, Meta's 256-bit perceptual image hash, bit-identical to the reference hasher.

Decoding, colour conversion and the reference's 512x512 squash are ours
(:mod:`safeguard.media.images`); the float luminance, Jarosz filter, DCT and
quality metric are Meta's own C++ (``pdqhash``), so hashes agree bit for bit with
``pdq-photo-hasher`` and with partners who run it.
"""

from __future__ import annotations

import numpy as np
import pdqhash

from safeguard.media.images import Raster
from safeguard.signals.base import PerceptualHash, RasterSignal, hamming

# The order the reference hasher writes them with --pdqdih-across.
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)


class PdqSignal(RasterSignal):
    name = "pdq"
    size_bytes = 32
    default_threshold = 31  # Meta's recommended match distance
    min_quality = 50

    def distance(self, a: bytes, b: bytes) -> int:
        return hamming(a, b)

    def hash_raster(self, raster: Raster, *, dihedral: bool = False) -> PerceptualHash:
        if dihedral:
            vectors, quality = pdqhash.compute_dihedral(raster.rgb)
            variants = {name: _pack(v) for name, v in zip(DIHEDRAL_NAMES, vectors, strict=True)}
            return self._result(variants["original"], quality, variants)
        vector, quality = pdqhash.compute(raster.rgb)
        return self._result(_pack(vector), quality, None)

    def _result(self, value: bytes, quality: int, variants: dict[str, bytes] | None):
        quality = int(quality)
        return PerceptualHash(value, quality, quality < self.min_quality, variants)


def _pack(bits: np.ndarray) -> bytes:
    # pdqhash returns the 256 bits most significant first, as the reference's hex.
    return np.packbits(bits.astype(np.uint8)).tobytes()


PDQ = PdqSignal()
