"""Normalised views of a query picture, for matching copies that were padded,
letterboxed, shown on a phone screen or given a caption band.

PDQ catches almost no geometric change (about 1 % of scale or 2 % of shift: see
``../shared/notes/geometry-variants.md``), but the commonest edits add something flat
around the picture. Cutting that away again gives a view close to the original, which
is hashed and looked up beside the query's own hash: no pixels of the known picture
are needed, so it works against hash-only partner lists too.

* ``trim``: uniform borders (rows or columns whose pixels nearly all lie close to the
  border colour), from all four sides, twice; ``trim-tight`` the same with a tight
  tolerance, where that cuts otherwise;
* ``band``: flat bands at the top and bottom that may hold text (a caption, a meme's
  words, a phone's status bar), then any uniform borders left (``band-tight``: after
  the tight trim);
* ``deskew``: a picture turned by 1 to 12 degrees, turned back (see media.deskew);
* ``tile-1`` to ``tile-4``: the four quadrants (top left, top right, bottom left,
  bottom right). In a 2 x 2 collage each is a whole picture; against the quadrants
  enrolled with a known picture they vote (two of four aligned quadrants must match),
  which a sticker, a logo or a caption laid over one part of the picture cannot spoil.

A trim or band view is made only when it cuts a real margin and keeps most of the
picture. Lines are examined from the edge inwards, in blocks, and the scan stops at the
first that is not margin, so the work follows the margin's size, on pixels of at most
512 x 512.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from safeguard.media.deskew import deskewed
from safeguard.media.images import PDQ_SQUASH_SIDE

_BORDER_TOLERANCE = 20  # of a channel value, from the border colour
_TIGHT_TOLERANCE = 6  # the same, for a flat, clean margin (a screen's)
_BORDER_SHARE = 0.97  # of a line's pixels that must be border-coloured
_BAND_TOLERANCE = 28
_BAND_LINE_SHARE = 0.5  # a band line may hold text: half its pixels in the band colour
_BAND_EDGE_SHARE = 0.9  # a band ends at its last nearly uniform line,
_BAND_EDGE_TOLERANCE = 10  # uniform within this: a bright sky is not a white band's end
_MIN_KEPT = 0.3  # of each side: a view never keeps less
_TRIM_PASSES = 2  # a third pass eats into screens (measured on the tuning photos)
_MIN_BAND = 0.03  # of the height: a thinner band is not worth a view


def true_shape(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """The pixels at the picture's own shape (longer side 512), where the decode squashed
    them to 512 x 512 for PDQ: a turn, a square crop or a turn's fill is only what it is on
    the picture as it is seen. PDQ's own downsampling makes the hash of either the same."""
    rows, cols = pixels.shape[:2]
    if abs(cols / rows - width / height) <= 0.01 * width / height:
        return pixels
    scale = PDQ_SQUASH_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Nearest, as the squash itself: a blend would blur the edges that views cut along.
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST))


def views(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The normalised views of ``pixels`` (rows, cols[, 3]) that apply, by name."""
    found = margin_views(pixels)
    upright = deskewed(pixels)
    if upright is not None:
        found["deskew"] = upright
    found.update(quadrants(pixels))
    return found


def quadrants(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """``tile-1`` to ``tile-4``: top left, top right, bottom left, bottom right."""
    rows, cols = pixels.shape[0] // 2, pixels.shape[1] // 2
    return {
        "tile-1": pixels[:rows, :cols],
        "tile-2": pixels[:rows, cols:],
        "tile-3": pixels[rows:, :cols],
        "tile-4": pixels[rows:, cols:],
    }


def margin_views(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The ``trim`` and ``band`` views where the picture has such margins, and the same
    cut with a tight tolerance (``trim-tight``, ``band-tight``) where that cuts otherwise.

    The loose tolerance forgives a margin blotched by heavy JPEG; the tight one stops at
    a photo's own flat edge (a dark sky against a dark screen), which the loose one eats
    into. Either alone misses about one copy in ten that the other finds (measured on the
    tuning photos).
    """
    found: dict[str, np.ndarray] = {}
    base = cut = None
    for suffix, tolerance in (("", _BORDER_TOLERANCE), ("-tight", _TIGHT_TOLERANCE)):
        trimmed = _trim(pixels, tolerance)
        # A band that holds text survives the trim (its lines are not uniform): look for
        # it in what the trim left (once, when both trims left the same).
        left = trimmed if trimmed is not None else pixels
        if base is None or not _same(base, left):
            base, cut = left, _bands(left)
        banded = cut
        if cut is not None:
            rest = _trim(cut, tolerance)
            banded = rest if rest is not None else cut
        for name, view in (("trim", trimmed), ("band", banded)):
            if view is not None and not any(_same(view, seen) for seen in found.values()):
                found[name + suffix] = view
    return found


def _same(one: np.ndarray, other: np.ndarray) -> bool:
    return one.shape == other.shape and np.array_equal(one, other)


def _distances(lines: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """(lines, pixels): how far each pixel is from ``colour`` (RGB: its farthest channel),
    in unsigned bytes throughout (no widening, no reduction over the short channel axis:
    both cost more than the comparison itself)."""
    difference = np.maximum(lines, colour) - np.minimum(lines, colour)
    if difference.ndim == 3:
        difference = np.maximum(np.maximum(difference[..., 0], difference[..., 1]),
                                difference[..., 2])  # fmt: skip
    return difference


def _shares(distances: np.ndarray, tolerance: int) -> np.ndarray:
    """Each line's share of pixels within ``tolerance``."""
    return np.count_nonzero(distances <= tolerance, axis=1) / distances.shape[1]


def _blocks(lines: np.ndarray, limit: int):
    """(first line, distances from the edge's colour) of the lines up to ``limit``, in
    blocks that double from 2 lines: a scan stops in its first, small block when there is
    no margin, and takes a deep one in a few."""
    colour = np.median(lines[0], axis=0).astype(lines.dtype)
    start, size = 0, 2
    while start < limit:
        yield start, _distances(lines[start : min(start + size, limit)], colour)
        start, size = start + size, size * 2


def _depth(lines: np.ndarray, tolerance: int, share: float, limit: int) -> int:
    """How many lines from the edge (lines[0]) are near the edge's colour, up to ``limit``."""
    for start, distances in _blocks(lines, limit):
        outside = np.flatnonzero(_shares(distances, tolerance) < share)
        if outside.size:
            return start + int(outside[0])
    return limit


def _trim(pixels: np.ndarray, tolerance: int) -> np.ndarray | None:
    current, changed = pixels, False
    for _ in range(_TRIM_PASSES):  # a later pass catches a border inside a border
        rows, cols = current.shape[:2]
        row_limit, col_limit = int(rows * (1 - _MIN_KEPT)), int(cols * (1 - _MIN_KEPT))
        columns = current.swapaxes(0, 1)
        top = _depth(current, tolerance, _BORDER_SHARE, row_limit)
        bottom = _depth(current[::-1], tolerance, _BORDER_SHARE, row_limit)
        left = _depth(columns, tolerance, _BORDER_SHARE, col_limit)
        right = _depth(columns[::-1], tolerance, _BORDER_SHARE, col_limit)
        if not (top or bottom or left or right):
            break
        if rows - top - bottom < _MIN_KEPT * rows or cols - left - right < _MIN_KEPT * cols:
            break  # nearly all of it flat: not a picture in a margin
        current = current[top : rows - bottom, left : cols - right]
        changed = True
    return current if changed else None


def _band_depth(lines: np.ndarray, limit: int) -> int:
    """The depth of a band at this edge: lines mostly in its colour (text allowed), ending
    at the last nearly uniform one; 0 when there is none worth cutting."""
    end = 0
    for start, distances in _blocks(lines, limit):
        outside = np.flatnonzero(_shares(distances, _BAND_TOLERANCE) < _BAND_LINE_SHARE)
        inside = distances[: outside[0]] if outside.size else distances
        uniform = np.flatnonzero(_shares(inside, _BAND_EDGE_TOLERANCE) >= _BAND_EDGE_SHARE)
        if uniform.size:
            end = start + int(uniform[-1]) + 1
        if outside.size:
            break
    return end


def _bands(pixels: np.ndarray) -> np.ndarray | None:
    """The picture without flat bands, which may hold text, at its top and bottom."""
    rows = pixels.shape[0]
    limit = int(rows * (1 - _MIN_KEPT))
    top, bottom = _band_depth(pixels, limit), _band_depth(pixels[::-1], limit)
    # One band worth a view is enough: the thinner one at the other edge (a phone's
    # caption line under the picture) goes with it.
    if max(top, bottom) < _MIN_BAND * rows or rows - top - bottom < _MIN_KEPT * rows:
        return None
    return pixels[top : rows - bottom]
