"""What every signal type (a kind of hash) declares, and the capabilities it may have.

A signal type names itself, says how long its values are, how far apart two
values are and how close counts as a match by default, and how it is written as
text. What it can be computed *from* is a separate capability: a byte stream
(:class:`StreamSignal`, the cryptographic hashes) or decoded pixels
(:class:`RasterSignal`, PDQ) or video frames (vPDQ): its ``needs``. Which kind of
index finds its values among list entries is its ``index``. A new hash is one new
module that subclasses one of these and registers an instance in
:mod:`safeguard.signals`.

Values are ``bytes`` everywhere inside Safeguard; hex text exists only at the edges.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from safeguard.errors import UsageError

if TYPE_CHECKING:
    from safeguard.media.images import Raster


class Needs(StrEnum):
    """What a signal is computed from, so extraction knows what to read or decode."""

    BYTES = "bytes"  # the file's bytes, streamed once
    PIXELS = "pixels"  # a picture's decoded pixels
    FRAMES = "frames"  # a video's decoded frames


class IndexKind(StrEnum):
    """Which kind of index finds a signal's values among a list's entries."""

    EXACT = "exact"  # equal values only (cryptographic digests): a store lookup
    HAMMING = "hamming"  # fixed-length binary hashes within a bit distance
    FRAME_BAG = "frame-bag"  # a video's frames, each found by Hamming, voted per video


class Hasher(Protocol):
    """An incremental hash state, as :mod:`hashlib` objects are."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class SignalType(ABC):
    name: str
    size_bytes: int
    default_threshold: int  # the largest distance reported as a match
    needs: Needs
    index: IndexKind

    @property
    def record_fields(self) -> tuple[str, ...]:
        """The keys this signal writes in a ``safeguard hash`` record."""
        return (self.name,)

    def to_text(self, value: bytes) -> str:
        return value.hex()

    def parse(self, text: str) -> bytes:
        """Read a value written as hex (either case, surrounding blanks ignored)."""
        cleaned = text.strip()
        if len(cleaned) != self.size_bytes * 2:
            raise UsageError(
                f"{self.name} value must be {self.size_bytes * 2} hex digits, got {len(cleaned)}"
            )
        try:
            value = bytes.fromhex(cleaned)
        except ValueError:
            value = b""
        if len(value) != self.size_bytes:  # not hex, or hex with blanks inside
            raise UsageError(f"{self.name} value is not hexadecimal: {cleaned!r}")
        return value

    @abstractmethod
    def distance(self, a: bytes, b: bytes) -> int:
        """How far apart two values are; a match when at most the applicable threshold."""

    def __repr__(self) -> str:
        return f"<signal {self.name}>"


class StreamSignal(SignalType):
    """A signal computed over the raw bytes in one streaming pass."""

    default_threshold = 0
    needs = Needs.BYTES
    index = IndexKind.EXACT

    @abstractmethod
    def new_hasher(self) -> Hasher: ...

    def distance(self, a: bytes, b: bytes) -> int:
        # Cryptographic digests carry no notion of nearness: equal or not.
        return 0 if a == b else 1


@dataclass(frozen=True, slots=True)
class PerceptualHash:
    value: bytes
    quality: int  # 0-100: how much detail the picture had to hash
    low_quality: bool  # below the signal's reliable-match quality; flagged, never dropped
    dihedral: dict[str, bytes] | None = None  # rotated/flipped variants, when asked for


class RasterSignal(SignalType):
    """A perceptual signal computed from decoded RGB pixels."""

    min_quality: int
    needs = Needs.PIXELS
    index = IndexKind.HAMMING

    @property
    def record_fields(self) -> tuple[str, ...]:
        return (self.name, f"{self.name}_quality")

    @abstractmethod
    def hash_raster(self, raster: Raster, *, dihedral: bool = False) -> PerceptualHash: ...


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
