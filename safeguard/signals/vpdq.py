"""vPDQ, Meta's video hash: a PDQ hash of sampled frames, matched as a bag of frames.

A value is the list of hashed frames: frame number, quality, PDQ hash and timestamp,
written as the reference tool writes them (``frame_number,quality,pdq_hex,timestamp``
with 3 decimals), one frame after another: as text on one line, frames joined by
``;`` (so a value fits a CSV cell or a VICS field), and one line a frame in the
reference's own one-file-per-video text (:func:`reference_text`); both are read.
Inside Safeguard it is ``bytes`` like every other signal value: 41 bytes a frame
(number, quality, hash, timestamp), so the formats carry it as they carry any hash
(the store keeps a video entry's frames a row each, for the frame index).

Matching follows the reference rule: frames of quality below 50 are dropped and
repeated hashes counted once, on both sides; a frame has a partner when some frame
of the other video is within 31 bits; two videos match when at least 80 % of the
query's frames and at least 0 % of the compared video's frames have a partner
(python-threatexchange's defaults; a list may ask for others).

Frames are decoded by :mod:`safeguard.media.video` and hashed with the project's own
PDQ kernel at their full stored size, as the reference hashes them (no 512x512
squash: that is the photo hasher's step, not vPDQ's).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from safeguard.errors import UsageError
from safeguard.signals.base import IndexKind, Needs, SignalType
from safeguard.signals.pdq import PDQ

if TYPE_CHECKING:
    from safeguard.media.video import VideoFrame

_FRAME = struct.Struct("<IB32sf")  # number, quality, PDQ hash, timestamp (float32 seconds)
FRAME_DISTANCE = 31
FRAME_QUALITY = 50
QUERY_PERCENT = 80.0
COMPARED_PERCENT = 0.0
_ROWS = 64  # frames of the query compared at once


def match_percents(query: float | None, compared: float | None) -> tuple[float, float]:
    """A list's percentages of query and compared frames, its own or the defaults."""
    return (
        QUERY_PERCENT if query is None else query,
        COMPARED_PERCENT if compared is None else compared,
    )


@dataclass(frozen=True, slots=True)
class FrameHash:
    number: int
    quality: int
    pdq: bytes
    timestamp: float

    def to_line(self) -> str:
        return f"{self.number},{self.quality},{self.pdq.hex()},{self.timestamp:.3f}"


@dataclass(frozen=True, slots=True)
class BagMatch:
    query_percent: float  # of the query's usable frames that found a partner
    compared_percent: float  # of the compared video's usable frames that found one

    def is_match(
        self, query_percent: float = QUERY_PERCENT, compared_percent: float = COMPARED_PERCENT
    ) -> bool:
        return self.query_percent >= query_percent and self.compared_percent >= compared_percent


class VpdqSignal(SignalType):
    name = "vpdq"
    size_bytes = _FRAME.size  # per frame: a value is any whole number of frames
    default_threshold = FRAME_DISTANCE  # per frame, as PDQ's
    needs = Needs.FRAMES
    index = IndexKind.FRAME_BAG

    def hash_frames(self, frames: Iterable[VideoFrame]) -> list[FrameHash]:
        from safeguard.media.images import Raster

        hashed = []
        for frame in frames:
            rows, cols = frame.rgb.shape[:2]
            pdq = PDQ.hash_raster(Raster(frame.rgb, cols, rows))
            hashed.append(FrameHash(frame.number, pdq.quality, pdq.value, frame.timestamp))
        return hashed

    def encode(self, frames: Sequence[FrameHash]) -> bytes:
        return b"".join(
            _FRAME.pack(f.number, f.quality, f.pdq, np.float32(f.timestamp)) for f in frames
        )

    def decode(self, value: bytes) -> list[FrameHash]:
        if len(value) % _FRAME.size:
            raise UsageError(f"vpdq value of {len(value)} bytes is not whole frames")
        return [
            FrameHash(number, quality, pdq, float(np.float32(timestamp)))
            for number, quality, pdq, timestamp in _FRAME.iter_unpack(value)
        ]

    def to_text(self, value: bytes) -> str:
        return ";".join(frame.to_line() for frame in self.decode(value))

    def parse(self, text: str) -> bytes:
        """Read frames written ``frame,quality,hex,timestamp``, one a line or ``;`` apart."""
        frames = []
        lines = [line for line in text.replace(";", "\n").split("\n") if line.strip()]
        for number, line in enumerate(lines, 1):
            fields = [field.strip() for field in line.split(",")]
            if len(fields) != 4:
                raise UsageError(f"vpdq line {number}: want frame,quality,pdq_hex,timestamp")
            try:
                frame, quality, timestamp = int(fields[0]), int(fields[1]), float(fields[3])
            except ValueError:
                raise UsageError(f"vpdq line {number}: not numbers: {line!r}") from None
            if not 0 <= quality <= 100 or frame < 0:
                raise UsageError(f"vpdq line {number}: frame or quality out of range")
            frames.append(FrameHash(frame, quality, PDQ.parse(fields[2]), timestamp))
        if not frames:
            raise UsageError("vpdq value has no frames")
        return self.encode(frames)

    def compare(
        self,
        query: Sequence[FrameHash],
        compared: Sequence[FrameHash],
        distance: int = FRAME_DISTANCE,
    ) -> BagMatch:
        """The reference's bag-of-frames comparison, both ways."""
        mine, theirs = usable_hashes(query), usable_hashes(compared)
        if not mine or not theirs:
            return BagMatch(0.0, 0.0)
        near = _near(mine, theirs, distance)
        return BagMatch(
            100.0 * near.any(axis=1).sum() / len(mine),
            100.0 * near.any(axis=0).sum() / len(theirs),
        )

    def distance(self, a: bytes, b: bytes) -> int:
        """100 less the share of ``a``'s frames with a partner in ``b``: 0 for the same video."""
        match = self.compare(self.decode(a), self.decode(b))
        return 100 - int(match.query_percent)


def reference_text(value: bytes) -> str:
    """The reference tool's own file for one video: a line a frame."""
    return "\n".join(frame.to_line() for frame in VPDQ.decode(value)) + "\n"


def usable_hashes(frames: Sequence[FrameHash]) -> list[bytes]:
    """Distinct hashes of the frames good enough to match, in first-seen order."""
    return list(dict.fromkeys(f.pdq for f in frames if f.quality >= FRAME_QUALITY))


def _near(mine: list[bytes], theirs: list[bytes], distance: int) -> np.ndarray:
    """Which pairs of frames lie within ``distance`` bits (rows: mine), a block of rows at
    a time so that two long videos never need more than a few MiB."""
    a = np.frombuffer(b"".join(mine), np.uint64).reshape(len(mine), 4)
    b = np.frombuffer(b"".join(theirs), np.uint64).reshape(len(theirs), 4)
    near = np.empty((len(mine), len(theirs)), bool)
    for start in range(0, len(mine), _ROWS):
        block = np.bitwise_count(a[start : start + _ROWS, None, :] ^ b[None, :, :])
        near[start : start + _ROWS] = block.sum(axis=2, dtype=np.int32) <= distance
    return near


VPDQ = VpdqSignal()
