"""The PDQ computation, bit-compatible with Meta's reference C++ (``pdq/cpp``).

Written from the published algorithm (PDQ paper, ``hashing.pdf``) and checked bit
for bit against the reference hasher's outputs in ``../shared/data/pdq-reference``.
Bit-compatibility rests on doing the same single-precision operations in the same
order as the reference, so each loop below keeps the reference's summation order:

1. luminance ``0.299 R + 0.587 G + 0.114 B`` in float32 (a grey image is used as is);
2. a "Jarosz" tent filter: two rounds of a running-sum box filter along rows then
   along columns, window ``ceil(size / 128)``, edges averaged over the part of the
   window inside the picture;
3. a 64x64 decimation at pixel centres;
4. quality from the quantised gradients of that 64x64 image;
5. a 16x16 block of the 2-D DCT (frequencies 1-16, the DC term skipped), each bit
   set when its coefficient is above the median of the 256.

The loops are compiled with Numba (cached on disk after the first run); the filter
is written so that the inner loop runs over independent columns, which the
compiler vectorises without reordering any one column's additions.
Nothing is reassociated and no fast-math is enabled: the result must be the
reference's to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

HASH_SIDE = 16
DOWNSAMPLE_SIDE = 64
MIN_HASHABLE_SIDE = 5  # the reference returns an all-zero hash, quality 0, below this
_TENT_ROUNDS = 2


def _dct_matrix() -> np.ndarray:
    # The reference multiplies a float scale by a double cosine and stores a float.
    scale = float(np.float32(math.sqrt(2.0 / DOWNSAMPLE_SIDE)))
    matrix = np.empty((HASH_SIDE, DOWNSAMPLE_SIDE), dtype=np.float32)
    for i in range(HASH_SIDE):
        for j in range(DOWNSAMPLE_SIDE):
            angle = (math.pi / 2.0 / DOWNSAMPLE_SIDE) * (i + 1) * (2 * j + 1)
            matrix[i, j] = scale * math.cos(angle)
    return matrix


_DCT = _dct_matrix()


def _window(size: int) -> int:
    return (size + 2 * DOWNSAMPLE_SIDE - 1) // (2 * DOWNSAMPLE_SIDE)


def _decimation_indices(size: int) -> np.ndarray:
    return np.array(
        [int(((k + 0.5) * size) / DOWNSAMPLE_SIDE) for k in range(DOWNSAMPLE_SIDE)], np.int64
    )


@njit(cache=True)
def _luma_from_rgb(rgb):
    rows, cols = rgb.shape[0], rgb.shape[1]
    samples = rgb.reshape(rows * cols * 3)  # one flat loop vectorises; a 3-D one did not
    luma = np.empty(rows * cols, dtype=np.float32)
    r_coeff, g_coeff, b_coeff = np.float32(0.299), np.float32(0.587), np.float32(0.114)
    for p in range(rows * cols):
        luma[p] = (
            r_coeff * np.float32(samples[3 * p])
            + g_coeff * np.float32(samples[3 * p + 1])
            + b_coeff * np.float32(samples[3 * p + 2])
        )
    return luma.reshape(rows, cols)


@njit(cache=True)
def _box_down_columns(source, target, window):
    """Running-sum box filter down every column (along axis 0), all columns at once."""
    length, width = source.shape
    half = (window + 2) // 2
    sums = np.zeros(width, dtype=np.float32)
    count = 0
    right = 0
    left = 0
    out = 0
    for _ in range(half - 1):
        for j in range(width):
            sums[j] += source[right, j]
        count += 1
        right += 1
    for _ in range(window - half + 1):
        count += 1
        divisor = np.float32(count)
        for j in range(width):
            sums[j] += source[right, j]
            target[out, j] = sums[j] / divisor
        right += 1
        out += 1
    divisor = np.float32(count)
    for _ in range(length - window):
        for j in range(width):
            sums[j] += source[right, j]
            sums[j] -= source[left, j]
            target[out, j] = sums[j] / divisor
        left += 1
        right += 1
        out += 1
    for _ in range(half - 1):
        count -= 1
        divisor = np.float32(count)
        for j in range(width):
            sums[j] -= source[left, j]
            target[out, j] = sums[j] / divisor
        left += 1
        out += 1


@njit(cache=True)
def _tent_filter(luma, row_window, column_window, rounds):
    """Filter ``luma`` in place. A pass along the rows is a pass down the columns of
    the transposed views, so one loop serves both directions without copying."""
    scratch = np.empty_like(luma)
    for _ in range(rounds):
        _box_down_columns(luma.T, scratch.T, row_window)
        _box_down_columns(scratch, luma, column_window)
    return luma


@njit(cache=True)
def _quality(block):
    gradient_sum = 0
    for i in range(DOWNSAMPLE_SIDE - 1):
        for j in range(DOWNSAMPLE_SIDE):
            gradient_sum += abs(
                int((block[i, j] - block[i + 1, j]) * np.float32(100) / np.float32(255))
            )
    for i in range(DOWNSAMPLE_SIDE):
        for j in range(DOWNSAMPLE_SIDE - 1):
            gradient_sum += abs(
                int((block[i, j] - block[i, j + 1]) * np.float32(100) / np.float32(255))
            )
    return min(gradient_sum // 90, 100)


@njit(cache=True)
def _dct_16(block, dct):
    partial = np.zeros((HASH_SIDE, DOWNSAMPLE_SIDE), dtype=np.float32)
    for i in range(HASH_SIDE):
        for k in range(DOWNSAMPLE_SIDE):
            weight = dct[i, k]
            for j in range(DOWNSAMPLE_SIDE):
                partial[i, j] += weight * block[k, j]
    coefficients = np.empty((HASH_SIDE, HASH_SIDE), dtype=np.float32)
    for i in range(HASH_SIDE):
        for j in range(HASH_SIDE):
            total = np.float32(0.0)
            for k in range(DOWNSAMPLE_SIDE):
                total += partial[i, k] * dct[j, k]
            coefficients[i, j] = total
    return coefficients


def dct_coefficients(pixels: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The 16x16 DCT block and quality of 8-bit pixels, (rows, cols) grey or (rows, cols, 3) RGB.

    Returns ``(None, 0)`` for pictures too small to hash, as the reference does.
    """
    rows, cols = pixels.shape[:2]
    if rows < MIN_HASHABLE_SIDE or cols < MIN_HASHABLE_SIDE:
        return None, 0
    if pixels.ndim == 2:
        luma = pixels.astype(np.float32)
    else:
        luma = _luma_from_rgb(np.ascontiguousarray(pixels))
    if rows == DOWNSAMPLE_SIDE and cols == DOWNSAMPLE_SIDE:
        block = luma  # already the reference's 64x64: no filtering
    else:
        filtered = _tent_filter(luma, _window(cols), _window(rows), _TENT_ROUNDS)
        block = np.ascontiguousarray(
            filtered[_decimation_indices(rows)][:, _decimation_indices(cols)]
        )
    return _dct_16(block, _DCT), int(_quality(block))


def bits_above_median(coefficients: np.ndarray) -> bytes:
    """The 256-bit hash, as the reference writes it (coefficient 255 first)."""
    flat = coefficients.ravel()
    # Torben's median of 256 values is the 128th smallest (the lower median).
    median = np.partition(flat, 127)[127]
    return np.packbits((flat > median)[::-1]).tobytes()


# The DCT-domain form of each dihedral transform: (sign pattern, transpose).
_ODD = (np.arange(HASH_SIDE) % 2).astype(bool)
_ROW_ODD = np.where(_ODD[:, None], 1, -1).astype(np.float32) * np.ones((1, HASH_SIDE), np.float32)
_COLUMN_ODD = _ROW_ODD.T.copy()
_CHECKER = np.where((np.add.outer(np.arange(HASH_SIDE), np.arange(HASH_SIDE)) % 2) == 1, -1, 1)
_CHECKER = _CHECKER.astype(np.float32)
_ONES = np.ones((HASH_SIDE, HASH_SIDE), np.float32)

DIHEDRAL_TRANSFORMS: dict[str, tuple[np.ndarray, bool]] = {
    "original": (_ONES, False),
    "rotate90": (_COLUMN_ODD, True),
    "rotate180": (_CHECKER, False),
    "rotate270": (_ROW_ODD, True),
    "flipx": (_ROW_ODD, False),
    "flipy": (_COLUMN_ODD, False),
    "flipplus1": (_ONES, True),
    "flipminus1": (_CHECKER, True),
}


def dihedral_coefficients(coefficients: np.ndarray, name: str) -> np.ndarray:
    """The DCT block of the rotated or flipped picture, derived without re-hashing."""
    signs, transpose = DIHEDRAL_TRANSFORMS[name]
    transformed = coefficients * signs
    return transformed.T if transpose else transformed
