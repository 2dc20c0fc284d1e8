"""PDQ, Meta's 256-bit perceptual image hash, bit-identical to the reference hasher.

Decoding, colour conversion and the reference's 512x512 squash are in
:mod:`safeguard.media.images`; the hash itself is :mod:`safeguard.signals.pdq_kernel`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safeguard.signals.base import PerceptualHash, RasterSignal, hamming

if TYPE_CHECKING:
    from safeguard.media.images import Raster

# The order the reference hasher writes them with --pdqdih-across.
DIHEDRAL_NAMES = (
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1",
)  # fmt: skip
_EMPTY_HASH = bytes(32)


class PdqSignal(RasterSignal):
    name = "pdq"
    size_bytes = 32
    default_threshold = 31  # Meta's recommended match distance
    min_quality = 50

    def distance(self, a: bytes, b: bytes) -> int:
        return hamming(a, b)

    def hash_raster(self, raster: Raster, *, dihedral: bool = False) -> PerceptualHash:
        # Compiled on first use: commands that only read lists start without Numba.
        from safeguard.signals.pdq_kernel import (
            bits_above_median,
            dct_coefficients,
            dihedral_coefficients,
        )

        coefficients, quality = dct_coefficients(raster.pixels)
        if coefficients is None:  # under 5 pixels a side: the reference's all-zero hash
            variants = dict.fromkeys(DIHEDRAL_NAMES, _EMPTY_HASH)
        elif dihedral:
            variants = {
                name: bits_above_median(dihedral_coefficients(coefficients, name))
                for name in DIHEDRAL_NAMES
            }
        else:
            variants = {"original": bits_above_median(coefficients)}
        return PerceptualHash(
            variants["original"],
            quality,
            quality < self.min_quality,
            variants if dihedral else None,
        )


PDQ = PdqSignal()
