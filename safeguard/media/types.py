"""Content type from magic bytes, never from the file name.

Offenders rename files (``holiday.jpg`` -> ``invoice.pdf``) precisely because
tools trust extensions; Safeguard looks only at the bytes. :func:`sniff` needs
the first :data:`SNIFF_BYTES` bytes of a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    ARCHIVE = "archive"
    EMPTY = "empty"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class MediaType:
    mime: str
    kind: MediaKind
    pillow_format: str | None = None  # the Pillow plugin allowed to decode it (images only)

    @property
    def is_image(self) -> bool:
        return self.kind is MediaKind.IMAGE

    @property
    def is_video(self) -> bool:
        return self.kind is MediaKind.VIDEO


SNIFF_BYTES = 4096

JPEG = MediaType("image/jpeg", MediaKind.IMAGE, "JPEG")
PNG = MediaType("image/png", MediaKind.IMAGE, "PNG")
GIF = MediaType("image/gif", MediaKind.IMAGE, "GIF")
WEBP = MediaType("image/webp", MediaKind.IMAGE, "WEBP")
BMP = MediaType("image/bmp", MediaKind.IMAGE, "BMP")
TIFF = MediaType("image/tiff", MediaKind.IMAGE, "TIFF")
HEIC = MediaType("image/heic", MediaKind.IMAGE, "HEIF")
HEIF = MediaType("image/heif", MediaKind.IMAGE, "HEIF")
AVIF = MediaType("image/avif", MediaKind.IMAGE, "AVIF")
MP4 = MediaType("video/mp4", MediaKind.VIDEO)
QUICKTIME = MediaType("video/quicktime", MediaKind.VIDEO)
THREE_GPP = MediaType("video/3gpp", MediaKind.VIDEO)
AVI = MediaType("video/x-msvideo", MediaKind.VIDEO)
MATROSKA = MediaType("video/x-matroska", MediaKind.VIDEO)
WEBM = MediaType("video/webm", MediaKind.VIDEO)
ZIP = MediaType("application/zip", MediaKind.ARCHIVE)
SEVEN_ZIP = MediaType("application/x-7z-compressed", MediaKind.ARCHIVE)
RAR = MediaType("application/vnd.rar", MediaKind.ARCHIVE)
GZIP = MediaType("application/gzip", MediaKind.ARCHIVE)
BZIP2 = MediaType("application/x-bzip2", MediaKind.ARCHIVE)
XZ = MediaType("application/x-xz", MediaKind.ARCHIVE)
TAR = MediaType("application/x-tar", MediaKind.ARCHIVE)
EMPTY = MediaType("inode/x-empty", MediaKind.EMPTY)
UNKNOWN = MediaType("application/octet-stream", MediaKind.OTHER)

# Fixed signatures at offset 0, longest first where one is a prefix of another.
_PREFIXES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty zip
    (b"7z\xbc\xaf\x27\x1c", SEVEN_ZIP),
    (b"Rar!\x1a\x07", RAR),
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
)

# ISO base media file format: brands in the `ftyp` box decide still image vs video.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_QUICKTIME_BRANDS = {b"qt  "}
_3GPP_PREFIX = (b"3gp", b"3g2")
# Top-level atoms that open a QuickTime file written without an `ftyp` box.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

_BMP_INFO_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def sniff(head: bytes) -> MediaType:
    """Identify content from its first bytes (at least :data:`SNIFF_BYTES` where available)."""
    if not head:
        return EMPTY
    for signature, media_type in _PREFIXES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": WEBP, b"AVI ": AVI}.get(head[8:12], UNKNOWN)
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head[4:8] in _QUICKTIME_ATOMS:
        return QUICKTIME
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML header: the DocType element (0x4282) names the flavour.
        return WEBM if b"\x42\x82\x84webm" in head[:64] else MATROSKA
    if head.startswith(b"BM") and len(head) >= 18 and _looks_like_bmp(head):
        return BMP
    if looks_like_tar(head):
        return TAR
    return UNKNOWN


def looks_like_tar(head: bytes) -> bool:
    """A POSIX tar header: the ``ustar`` magic at byte 257 (tar has no leading signature)."""
    return len(head) >= 262 and head[257:262] == b"ustar"


def _sniff_iso_bmff(head: bytes) -> MediaType:
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(box_size, len(head))
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS:
        return AVIF
    if major in _HEIC_BRANDS:
        return HEIC
    if major in _HEIF_BRANDS:
        # The generic HEIF brands: the compatible list tells which codec is inside.
        if compatible & _AVIF_BRANDS:
            return AVIF
        return HEIC if compatible & _HEIC_BRANDS else HEIF
    if major in _QUICKTIME_BRANDS:
        return QUICKTIME
    if major.startswith(_3GPP_PREFIX):
        return THREE_GPP
    return MP4


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" alone is too weak (plenty of text starts with it): check the header is self-consistent.
    reserved = head[6:10]
    info_size = int.from_bytes(head[14:18], "little")
    return reserved == b"\x00\x00\x00\x00" and info_size in _BMP_INFO_HEADER_SIZES


# Extensions that claim to be pictures or videos. Used only to flag content that
# does *not* match its name (a renamed or damaged file), never to decide a type.
MEDIA_EXTENSIONS = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".gif",
        ".webp",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".mp4",
        ".m4v",
        ".mov",
        ".3gp",
        ".3g2",
        ".avi",
        ".mkv",
        ".webm",
    ]
)
