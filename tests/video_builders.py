"""Benign synthetic videos for the tests, written with PyAV: moving gradients and shapes,
and slow pans over the corpus's photos."""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def moving_picture(frames: int, width: int = 160, height: int = 120, seed: int = 0) -> list:
    """RGB frames of a gradient with a bright square sliding across it."""
    draw = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0)
    base = np.concatenate([base, base[:, ::-1], np.full_like(base, draw.integers(0, 255))], 2)
    pictures = []
    for number in range(frames):
        picture = base.copy()
        left = (number * 3) % max(1, width - 20)
        picture[height // 4 : height // 4 + 20, left : left + 20] = 255
        pictures.append(picture.astype(np.uint8))
    return pictures


def panning_photo(photo: Path, frames: int, width: int = 320, height: int = 240) -> list:
    """RGB frames of a slow pan across a photo (a benign stand-in for filmed material)."""
    picture = np.asarray(Image.open(photo).convert("RGB").resize((width * 3 // 2, height)))
    travel = picture.shape[1] - width
    return [
        np.ascontiguousarray(picture[:, travel * n // max(1, frames - 1) :][:, :width])
        for n in range(frames)
    ]


def encode_video(
    pictures: Sequence[np.ndarray],
    *,
    container: str = "mp4",
    codec: str = "libx264",
    rate: int = 30,
    pixel_format: str = "yuv420p",
    timestamps: Sequence[int] | None = None,  # in 1/rate units; irregular for variable rate
    crf: int | None = None,  # x264's constant rate factor: higher, more lossy
) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.height, stream.width = pictures[0].shape[:2]
        stream.pix_fmt = pixel_format
        stream.time_base = Fraction(1, rate)
        if crf is not None:
            stream.options = {"crf": str(crf)}
        for index, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = timestamps[index] if timestamps is not None else index
            frame.time_base = Fraction(1, rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return buffer.getvalue()


def audio_only(seconds: float = 0.5) -> bytes:
    """An MP4 holding one silent AAC track and no video at all."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=44100)
        for index in range(int(seconds * 44100 / 1024)):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 44100, index * 1024
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return buffer.getvalue()
