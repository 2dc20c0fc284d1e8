"""Geometric variants of a known picture, made when it is enrolled in a list, so that its
cropped, cut and slightly rotated copies still match.

A crop leaves nothing in the copy that says what was cut, so no view of the query can
undo it (see :mod:`safeguard.media.geometry` for what a view can undo). The known
picture's side can: its crops, cuts and rotations are hashed and kept beside its own
hash, as variants of the one entry. PDQ's capture radius is about 1 % of scale per side,
2 % of shift and 1 degree of rotation (``../shared/notes/geometry-variants.md``), which
sets the grid's spacing:

* ``trim``, ``trim-tight``: the picture with its own flat borders trimmed, as the query
  side trims (so a photo with a flat edge of its own is cut alike on both sides);
* ``crop-N%``: centred crops of 1 to 20 % a side, every 1 %;
* ``top-N%``, ``bottom-N%`` (10, 20, 30) and ``left-N%``, ``right-N%`` (10, 20): one side
  cut, as a caption band laid over the picture and cut away again leaves it;
* ``rotate+N``, ``rotate-N`` (2 to 7 degrees): turned with black corners, as an editor
  turns it in place; ``rotate+N-crop``: turned and cut to the largest rectangle of the
  same shape that holds no corner;
* ``square``, ``4:5``: the centred crops that feeds and profile pictures make;
* ``window-L-T-R-B``: off-centre crops, each side cut by 0, 5 or 10 % (L, T, R, B: the
  left, top, right and bottom cuts), those not already above: a copy cut unevenly is
  within a few percent of one of them (the query side cannot tell where a crop was);
* ``tile-1`` to ``tile-4``: the quadrants, matched only as a vote of aligned quadrants of
  the query (see media.geometry), never one alone.

136 variants at most; one too flat to hash well (quality under 50) is left out, since
flat crops match each other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
from PIL import Image

from safeguard.media.geometry import margin_views, quadrants

CROP_PERCENTS = range(1, 21)
SIDE_CUTS = {"top": (10, 20, 30), "bottom": (10, 20, 30), "left": (10, 20), "right": (10, 20)}
ROTATION_DEGREES = range(2, 8)
ASPECTS = {"square": 1.0, "4:5": 4 / 5}  # width / height
WINDOW_CUTS = (0, 5, 10)  # percent of a side, for off-centre crops


def geometric_variants(pixels: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """(name, pixels) of each geometric variant of a picture (rows, cols[, 3])."""
    cut = margin_views(pixels)
    for name in ("trim", "trim-tight"):
        if name in cut:
            yield name, cut[name]
    rows, cols = pixels.shape[:2]
    for percent in CROP_PERCENTS:
        dy, dx = round(rows * percent / 100), round(cols * percent / 100)
        yield f"crop-{percent}%", pixels[dy : rows - dy, dx : cols - dx]
    for side, percents in SIDE_CUTS.items():
        for percent in percents:
            yield f"{side}-{percent}%", _cut(pixels, side, percent)
    picture = Image.fromarray(pixels)
    for degrees in ROTATION_DEGREES:
        for signed in (degrees, -degrees):
            turned = np.asarray(picture.rotate(signed, resample=Image.Resampling.BILINEAR))
            yield f"rotate{signed:+d}", turned
            yield f"rotate{signed:+d}-crop", inscribed(turned, signed)
    for name, aspect in ASPECTS.items():
        yield name, _centre_aspect(pixels, aspect)
    for cuts in itertools.product(WINDOW_CUTS, repeat=4):
        if cuts.count(0) == 4 or len(set(cuts)) == 1 or sorted(cuts) == [0, 0, 0, 10]:
            continue  # the picture itself, a centred crop, a side cut: made above
        left, top, right, bottom = (cut / 100 for cut in cuts)
        window = pixels[
            round(rows * top) : rows - round(rows * bottom),
            round(cols * left) : cols - round(cols * right),
        ]
        yield "window-" + "-".join(map(str, cuts)), window
    yield from quadrants(pixels).items()


def _cut(pixels: np.ndarray, side: str, percent: int) -> np.ndarray:
    rows, cols = pixels.shape[:2]
    dy, dx = round(rows * percent / 100), round(cols * percent / 100)
    return {
        "top": pixels[dy:],
        "bottom": pixels[: rows - dy],
        "left": pixels[:, dx:],
        "right": pixels[:, : cols - dx],
    }[side]


def inscribed(turned: np.ndarray, degrees: float) -> np.ndarray:
    """The centred rectangle of the picture's shape that a turn by ``degrees`` (about the
    centre, same canvas) leaves free of corners."""
    rows, cols = turned.shape[:2]
    sin, cos = abs(math.sin(math.radians(degrees))), math.cos(math.radians(degrees))
    scale = min(cols / (cols * cos + rows * sin), rows / (cols * sin + rows * cos))
    keep_rows, keep_cols = int(rows * scale), int(cols * scale)
    top, left = (rows - keep_rows) // 2, (cols - keep_cols) // 2
    return turned[top : top + keep_rows, left : left + keep_cols]


def _centre_aspect(pixels: np.ndarray, aspect: float) -> np.ndarray:
    rows, cols = pixels.shape[:2]
    if cols / rows > aspect:  # too wide: keep the centre columns
        keep = round(rows * aspect)
        left = (cols - keep) // 2
        return pixels[:, left : left + keep]
    keep = round(cols / aspect)
    top = (rows - keep) // 2
    return pixels[top : top + keep]
