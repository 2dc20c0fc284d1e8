"""Video frames for hashing, decoded with PyAV (FFmpeg inside its wheel; no system FFmpeg).

Frames are numbered and sampled as Meta's vPDQ does, so that hashes made here and
by the reference tool line up frame for frame:

* the frame rate is the stream's average rate, or its base rate when the container
  gives no average (a variable-rate phone video still has one);
* every decoded frame is counted, in decoding output order, from 0; frame ``n`` is
  hashed when ``n % max(1, int(seconds_per_hash * rate)) == 0`` (0 seconds: every
  frame), and its timestamp is ``n / rate`` in single precision;
* a hashed frame is converted to 24-bit RGB at its stored size (or at the size
  asked for) with FFmpeg's area scaler, as the reference's ``sws_scale`` call is.
  Rotation metadata is not applied: the reference hashes frames as stored, so a
  phone video's hashes match the reference and its other copies, however a player
  would turn it.

Anything that stops a full read is an error with a reason (no video stream, an
audio-only file, a codec this build cannot decode, nothing decodable), except a
video cut short (a decoder error part-way, or frames that end well before the
duration its container declares): its decodable frames are hashed and it is
flagged, as a truncated picture is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import av
import numpy as np

from safeguard.errors import DecodeError, MediaTooLargeError, UnsupportedMediaError
from safeguard.media.options import DecodeLimits


@dataclass(frozen=True, slots=True)
class VideoFrame:
    number: int  # counted from 0 over every decoded frame
    timestamp: float  # seconds: number / frame rate, as the reference computes it
    rgb: np.ndarray  # (rows, cols, 3) uint8


@dataclass(slots=True)
class VideoInfo:
    width: int
    height: int
    frame_rate: float
    codec: str
    duration: float | None  # seconds, as the container declares it
    frames_decoded: int = 0
    truncated: str | None = None  # why decoding stopped early, when it did


def frame_step(seconds_per_hash: float, frame_rate: float) -> int:
    """Hash every this-many frames (the reference truncates, and never goes below 1)."""
    return max(1, int(seconds_per_hash * frame_rate))


class VideoDecoder:
    """One video's frames to hash, and what is known about it (filled in as it decodes)."""

    def __init__(
        self,
        stream: BinaryIO,
        limits: DecodeLimits,
        *,
        seconds_per_hash: float = 1.0,
        size: tuple[int, int] | None = None,
    ) -> None:
        try:
            self._container = av.open(stream, mode="r", metadata_errors="ignore")
        except av.FFmpegError as error:
            raise DecodeError(f"cannot read the video container: {_reason(error)}") from error
        videos = self._container.streams.video
        if not videos:
            kinds = sorted({s.type for s in self._container.streams}) or ["no streams"]
            self._container.close()
            raise UnsupportedMediaError(f"no video stream in it ({', '.join(kinds)} only)")
        self._stream = videos[0]
        context = self._stream.codec_context
        width, height = context.width, context.height
        rate = self._stream.average_rate or self._stream.base_rate or self._stream.guessed_rate
        if not width or not height or not rate:
            self._container.close()
            raise DecodeError(f"video stream declares no size or frame rate ({width}x{height})")
        if width * height > limits.max_pixels:
            self._container.close()
            raise MediaTooLargeError(
                f"video frames of {width}x{height} are over the {limits.max_pixels:,}-pixel cap"
            )
        duration = (
            float(self._stream.duration * self._stream.time_base)
            if self._stream.duration is not None and self._stream.time_base
            else (self._container.duration / 1e6 if self._container.duration else None)
        )
        if limits.max_video_seconds is not None and (duration or 0) > limits.max_video_seconds:
            self._container.close()
            raise MediaTooLargeError(
                f"video of {duration:,.0f} s is over the {limits.max_video_seconds:,.0f}-second cap"
            )
        self._max_frames = (
            int(limits.max_video_seconds * float(rate)) + 1
            if limits.max_video_seconds is not None
            else None
        )
        self.info = VideoInfo(width, height, float(rate), context.name, duration)
        self._size = size or (width, height)
        self._step = frame_step(seconds_per_hash, float(rate))
        # Decoding is most of the cost: threads when there are cores for them; on one core
        # they only add switching (measured: 20 % slower than a single-threaded decode).
        if len(os.sched_getaffinity(0)) > 1:
            self._stream.thread_type = "AUTO"
        else:
            self._stream.codec_context.thread_count = 1

    def frames(self) -> Iterator[VideoFrame]:
        """The frames to hash, in order; ``info`` says how many were decoded and why it
        stopped early, if it did."""
        rate = np.float32(self.info.frame_rate)
        width, height = self._size
        number = 0
        try:
            for frame in self._decoded():
                if self._max_frames is not None and number >= self._max_frames:
                    # Its container said it was shorter, or said nothing: the cap still holds.
                    raise MediaTooLargeError(
                        f"video runs past the {self._max_frames / rate:,.0f}-second cap"
                    )
                if number % self._step == 0:
                    rgb = frame.reformat(
                        width=width, height=height, format="rgb24", interpolation="AREA"
                    ).to_ndarray()
                    yield VideoFrame(number, float(np.float32(number) / rate), rgb)
                number += 1
        finally:
            self.info.frames_decoded = number
            self._container.close()
        declared, reached = self.info.duration, number / self.info.frame_rate
        if not self.info.truncated and declared and declared - reached > max(0.5, 3 / rate):
            # The container said how long it is; the frames stopped well short of that.
            self.info.truncated = (
                f"frames end at {reached:.2f} s of the {declared:.2f} s it declares"
            )
        if number == 0:
            raise DecodeError(
                f"no frame could be decoded ({self.info.codec}"
                + (f": {self.info.truncated})" if self.info.truncated else ")")
            )

    def _decoded(self) -> Iterator[av.VideoFrame]:
        try:
            yield from self._container.decode(self._stream)
        except av.FFmpegError as error:
            # Damage or a cut-short file: what decoded so far stands, and says so.
            self.info.truncated = _reason(error)


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip() or type(error).__name__
