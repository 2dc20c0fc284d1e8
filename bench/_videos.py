"""Benign videos for the video benchmarks, filmed from the shared photos, and their edits.

A "film" is a slow pan and zoom over one photo (a camera drifting over a still
scene), H.264 at a chosen height and length. Edits re-encode a film the way copies
circulate: recompressed, resized, at a lower frame rate, greyscale, trimmed, cut
from the middle, with a logo, letterboxed. Everything is written with PyAV; no
system FFmpeg is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def film(photo: Path, out: Path, *, seconds: float, height: int, rate: int = 30) -> Path:
    """A pan-and-zoom over ``photo``: 16:9, ``height`` lines, ``seconds`` long."""
    width = (height * 16 // 9) // 2 * 2
    source = Image.open(photo).convert("RGB")
    frames = int(seconds * rate)

    def pictures() -> Iterator[np.ndarray]:
        for number in range(frames):
            progress = number / max(1, frames - 1)
            zoom = 1.0 - 0.25 * progress  # the window shrinks to 75 %: a slow zoom in
            crop_w = source.width * zoom
            crop_h = min(source.height, crop_w * 9 / 16)
            left = (source.width - crop_w) * progress
            top = (source.height - crop_h) * (0.5 + 0.3 * np.sin(progress * np.pi))
            box = (left, top, left + crop_w, top + crop_h)
            yield np.asarray(source.resize((width, height), Image.BILINEAR, box=box))

    return write(pictures(), out, rate=rate)


def write(pictures, out: Path, *, rate: float, crf: int = 23) -> Path:
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        first = True
        for picture in pictures:
            if first:
                stream.height, stream.width = picture.shape[:2]
                first = False
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return out


def frames_of(video: Path) -> tuple[list[np.ndarray], float]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], float(
            stream.average_rate
        )


def _even(size: int) -> int:
    return max(2, size // 2 * 2)


def _logo(picture: np.ndarray) -> np.ndarray:
    marked = Image.fromarray(picture)
    side = _even(picture.shape[1] // 8)
    draw = ImageDraw.Draw(marked)
    left, top = picture.shape[1] - side - 8, 8
    draw.rectangle((left, top, left + side, top + side // 2), fill=(240, 240, 240))
    draw.text((left + 4, top + 4), "CHANNEL", fill=(200, 20, 20))
    return np.asarray(marked)


def _letterbox(picture: np.ndarray) -> np.ndarray:
    rows, cols = picture.shape[:2]
    bar = _even(rows // 8)
    padded = np.zeros((rows + 2 * bar, cols, 3), np.uint8)
    padded[bar : bar + rows] = picture
    return padded


def _resized(picture: np.ndarray, scale: float) -> np.ndarray:
    rows, cols = picture.shape[:2]
    size = (_even(int(cols * scale)), _even(int(rows * scale)))
    return np.asarray(Image.fromarray(picture).resize(size, Image.BILINEAR))


def _grey(picture: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(Image.fromarray(picture).convert("L"))[..., None], 3, axis=2)


Edit = Callable[[list[np.ndarray], float, Path], Path]

EDITS: dict[str, Edit] = {
    "re-encode CRF 35": lambda f, r, o: write(iter(f), o, rate=r, crf=35),
    "resize to 50 %": lambda f, r, o: write((_resized(p, 0.5) for p in f), o, rate=r),
    "30 -> 15 fps": lambda f, r, o: write(iter(f[::2]), o, rate=r / 2),
    "greyscale": lambda f, r, o: write((_grey(p) for p in f), o, rate=r),
    "trim 20 % each end": lambda f, r, o: write(
        iter(f[len(f) // 5 : len(f) - len(f) // 5]), o, rate=r
    ),
    "30 % clip from the middle": lambda f, r, o: write(
        iter(f[len(f) * 35 // 100 : len(f) * 65 // 100]), o, rate=r
    ),
    "logo overlay": lambda f, r, o: write((_logo(p) for p in f), o, rate=r),
    "letterbox": lambda f, r, o: write((_letterbox(p) for p in f), o, rate=r),
}
