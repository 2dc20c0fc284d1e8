"""How pictures are decoded: the PDQ decode mode and the safety caps.

Kept apart from :mod:`safeguard.media.images` so that the command line can offer
these as options without loading Pillow and NumPy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum


class Variants(StrEnum):
    """Which variants of a picture are matched besides the picture itself: a command's
    choice, and for a list the most it takes (a list left alone takes every tier)."""

    NONE = "none"
    QUERY = "query"  # normalised views of the query: borders and bands cut away
    ALL = "all"  # those, and the geometric variants enrolled with a list's pictures

    @property
    def query_views(self) -> bool:
        return self is not Variants.NONE

    @property
    def enrolled(self) -> bool:
        return self is Variants.ALL


class PdqMode(StrEnum):
    EXACT = "exact"  # decode at full resolution: bit-identical to the reference hasher
    FAST = "fast"  # JPEG DCT-domain downscaled decode: a few bits from exact, several times faster


def _default_max_pixels() -> int:
    return int(os.environ.get("SAFEGUARD_MAX_PIXELS", 128_000_000))


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Caps applied to every decode. 128 MP covers today's 108 MP phone sensors."""

    # What an image may declare: checked on its header, before any pixel exists.
    max_pixels: int = field(default_factory=_default_max_pixels)
    # What a decode may allocate, after any reduced decode (a 108 MP JPEG decoded at
    # 1/8 allocates 1.7 MP): bounds the memory one decode takes. None: ``max_pixels``.
    max_decoded_pixels: int | None = None
    # How long a video may run (seconds, as declared or as its frames go); None: any.
    max_video_seconds: float | None = None
