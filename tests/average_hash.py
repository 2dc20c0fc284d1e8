"""A 64-bit average hash as a signal type: the proof that a new picture hash is one
module. Registering it (``average_hash_plugin``) before the CLI loads is the whole
integration; the seam test runs every front door with it and checks each carries it.

(Average hash is real but weak: 8x8 block means, a bit per block above the mean.
It is here to exercise the seam, not to be used on evidence.)
"""

from __future__ import annotations

import numpy as np

from safeguard.media.images import Raster
from safeguard.signals import PerceptualHash, RasterSignal, hamming

_SIDE = 8


class AverageHash(RasterSignal):
    name = "ahash"
    size_bytes = 8
    default_threshold = 6
    min_quality = 50

    def distance(self, a: bytes, b: bytes) -> int:
        return hamming(a, b)

    def hash_raster(self, raster: Raster, *, dihedral: bool = False) -> PerceptualHash:
        grey = raster.pixels.astype(np.float64)
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
        rows, cols = grey.shape
        if rows < _SIDE or cols < _SIDE:
            return PerceptualHash(bytes(self.size_bytes), 0, True)
        row_edges = np.linspace(0, rows, _SIDE + 1).astype(int)
        col_edges = np.linspace(0, cols, _SIDE + 1).astype(int)
        cells = np.array([
            [grey[row_edges[r]:row_edges[r + 1], col_edges[c]:col_edges[c + 1]].mean()
             for c in range(_SIDE)]
            for r in range(_SIDE)
        ])  # fmt: skip
        quality = 100 if cells.std() >= 1 else 0  # a flat picture says nothing
        value = np.packbits(cells > cells.mean()).tobytes()
        return PerceptualHash(value, quality, quality < self.min_quality)
