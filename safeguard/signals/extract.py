"""Every signal of one item, from one read of its bytes.

The bytes stream through MD5, SHA-1 and SHA-256 once, in fixed-size chunks, so
a file of any size hashes in constant memory. An image small enough to keep
(``HashOptions.in_memory_max``) is decoded from the bytes already read; a larger
one is opened again, as a video is (its frames decoded as they stream, for vPDQ).
Any failure becomes the item's ``error`` while whatever was computed before it
(the cryptographic hashes, the type) is kept.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from safeguard.errors import (
    ItemError,
    MediaTooLargeError,
    SourceError,
    UndecodableImageError,
    UnsupportedMediaError,
)
from safeguard.interrupts import reraise_if_interrupt
from safeguard.media.camera_raw import embedded_preview
from safeguard.media.images import DecodeLimits, PdqMode, Raster, decode_raster
from safeguard.media.thumbnails import ContactSheet, review_thumbnail
from safeguard.signals import CRYPTOGRAPHIC, PDQ, RASTER, VPDQ, PerceptualHash
from safeguard.sources.files import change_while_read, open_evidence
from safeguard.vocabulary.content import (
    JPEG,
    MEDIA_EXTENSIONS,
    SNIFF_BYTES,
    MediaKind,
    MediaType,
    sniff,
)

if TYPE_CHECKING:
    import numpy as np

    from safeguard.media.video import VideoInfo

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class HashOptions:
    pdq_mode: PdqMode = PdqMode.FAST
    dihedral: bool = False
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    in_memory_max: int = 256 << 20  # images up to this size are read once and decoded from memory
    thumbnail: bool = False  # also make a blurred greyscale review thumbnail
    # Also hash normalised views of each picture (borders and bands cut away: see
    # media.geometry), to match padded, letterboxed and captioned copies.
    query_views: bool = False
    # Also hash the geometric variants of each picture (crops, cuts, small rotations: see
    # media.variants), for enrolling it in a list.
    enrolment_variants: bool = False
    # vPDQ of videos, one frame hashed per this many seconds (0: every frame); None: not
    # hashed (videos then get their cryptographic hashes only).
    seconds_per_hash: float | None = None


@dataclass(slots=True)
class FileHashes:
    path: str
    size: int | None = None
    media_type: MediaType | None = None
    values: dict[str, bytes] = field(default_factory=dict)  # every signal's value, by name
    perceptual: dict[str, PerceptualHash] = field(default_factory=dict)  # a picture's, in full
    views: dict[str, bytes] = field(default_factory=dict)  # PDQ of normalised views, by name
    variants: dict[str, bytes] = field(default_factory=dict)  # PDQ of geometric variants
    video: VideoInfo | None = None  # what decoding a video found (rate, frames, codec)
    width: int | None = None
    height: int | None = None
    error: str | None = None
    thumbnail: bytes | None = None  # only when asked for: see media.thumbnails
    changed: str | None = None  # the file changed while it was read (a live system)
    too_large: bool = False  # refused by a decode cap: sound, perhaps, but over a limit

    @property
    def pdq(self) -> PerceptualHash | None:
        return self.perceptual.get("pdq")


Opener = Callable[[], BinaryIO]


def hash_file(path: str, options: HashOptions) -> FileHashes:
    """Hash one file of the local file system, opened read-only."""
    return hash_content(path, lambda: open_evidence(path), options)


def hash_content(name: str, opener: Opener, options: HashOptions) -> FileHashes:
    """Hash the bytes ``opener`` returns; ``name`` is used for the record and messages only."""
    result = FileHashes(path=name)
    try:
        kept = _read_and_digest(opener, result, options.in_memory_max)
        media_type = result.media_type
        assert media_type is not None
        if media_type.is_image:
            _hash_image(kept, opener, media_type, options, result)
        elif media_type.is_video and options.seconds_per_hash is not None:
            _hash_video(opener, options, result)
        elif media_type.kind is MediaKind.EMPTY:
            result.error = "empty file (0 bytes)"
        elif media_type.kind is MediaKind.OTHER and _has_media_extension(name):
            raise UnsupportedMediaError(
                f"content does not match its {_extension(name)} extension: "
                "not a recognised image or video format (corrupt, encrypted or renamed?)"
            )
    except ItemError as error:
        result.error = str(error)
        result.too_large = isinstance(error, MediaTooLargeError)
    except Exception as error:  # a fault barrier: one bad item must not end a long run
        reraise_if_interrupt(error)
        result.error = f"internal error ({type(error).__name__}: {error}); please report it"
    if result.changed:
        result.error = "; ".join(filter(None, (result.error, result.changed)))
    return result


def _read_and_digest(opener: Opener, result: FileHashes, keep_max: int) -> bytes | None:
    """Stream the bytes through the cryptographic hashes; return them if worth keeping."""
    hashers = [signal.new_hasher() for signal in CRYPTOGRAPHIC]
    size = 0
    with opener() as stream:
        try:
            chunk = stream.read(CHUNK_BYTES)
            result.media_type = sniff(chunk[:SNIFF_BYTES])
            kept: list[bytes] | None = [] if result.media_type.is_image else None
            while chunk:
                size += len(chunk)
                for hasher in hashers:
                    hasher.update(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if size > keep_max:
                        kept = None
                chunk = stream.read(CHUNK_BYTES)
        except OSError as error:
            raise SourceError(
                f"read error after {size:,} bytes: {error.strerror or error}"
            ) from error
        result.changed = change_while_read(stream)
    result.size = size
    result.values.update(
        (signal.name, hasher.digest())
        for signal, hasher in zip(CRYPTOGRAPHIC, hashers, strict=True)
    )
    return b"".join(kept) if kept is not None else None


def _hash_image(
    kept: bytes | None,
    opener: Opener,
    media_type: MediaType,
    options: HashOptions,
    result: FileHashes,
) -> None:
    notes = []
    if media_type.camera_raw:
        if kept is None:
            raise UndecodableImageError(
                f"image, not decodable here ({media_type.mime}; too large to search for a preview)"
            )
        preview = embedded_preview(kept, options.limits.max_pixels)
        if preview is None:
            raise UndecodableImageError(
                f"image, not decodable here ({media_type.mime}, no embedded JPEG preview found)"
            )
        kept, media_type = preview, JPEG
        notes.append("camera raw: hashed its embedded JPEG preview")
    raster, truncated = decode_raster(
        (lambda: io.BytesIO(kept)) if kept is not None else opener,
        media_type,
        options.limits,
        options.pdq_mode,
    )
    if truncated:
        notes.append("truncated: hashed the decodable part")
    result.width, result.height = raster.width, raster.height
    for signal in RASTER:
        found = signal.hash_raster(raster, dihedral=options.dihedral)
        result.perceptual[signal.name] = found
        result.values[signal.name] = found.value
    if options.query_views or options.enrolment_variants:
        from safeguard.media.geometry import true_shape, views
        from safeguard.media.variants import geometric_variants

        shaped = true_shape(raster.pixels, raster.width, raster.height)
        if options.query_views:
            result.views = _pdq_of(views(shaped).items(), raster)
        if options.enrolment_variants:
            result.variants = _pdq_of(geometric_variants(shaped), raster)
    result.error = "; ".join(notes) or None
    if options.thumbnail:
        result.thumbnail = review_thumbnail(raster)


def _pdq_of(pictures: Iterable[tuple[str, np.ndarray]], raster: Raster) -> dict[str, bytes]:
    """The PDQ of each named picture derived from ``raster``, but none too flat to match."""
    found = {}
    for name, pixels in pictures:
        seen = PDQ.hash_raster(Raster(pixels, raster.width, raster.height))
        if not seen.low_quality:
            found[name] = seen.value
    return found


def _hash_video(opener: Opener, options: HashOptions, result: FileHashes) -> None:
    # PyAV (and FFmpeg under it) load on the first video only.
    from safeguard.media.video import VideoDecoder

    sheet = ContactSheet() if options.thumbnail else None
    with opener() as stream:
        decoder = VideoDecoder(stream, options.limits, seconds_per_hash=options.seconds_per_hash)
        decoded = decoder.frames()
        frames = VPDQ.hash_frames(sheet.collect(decoded) if sheet else decoded)
    if sheet is not None:
        result.thumbnail = sheet.render()
    result.video = decoder.info
    result.width, result.height = decoder.info.width, decoder.info.height
    result.values[VPDQ.name] = VPDQ.encode(frames)
    if decoder.info.truncated:
        result.error = (
            f"truncated: hashed the {decoder.info.frames_decoded:,} decodable frames "
            f"({decoder.info.truncated})"
        )


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _has_media_extension(name: str) -> bool:
    return _extension(name) in MEDIA_EXTENSIONS
