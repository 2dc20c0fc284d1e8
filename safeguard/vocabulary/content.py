"""Content type from magic bytes, never from the file name.

Offenders rename files (``holiday.jpg`` -> ``invoice.pdf``) precisely because
tools trust extensions; Safeguard looks only at the bytes. :func:`sniff` needs
the first :data:`SNIFF_BYTES` bytes of a file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"  # sound only: hashed as bytes, nothing to see
    ARCHIVE = "archive"
    EMPTY = "empty"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class MediaType:
    mime: str
    kind: MediaKind
    pillow_format: str | None = None  # the Pillow plugin allowed to decode it (images only)
    camera_raw: bool = False  # a raw photo: its embedded JPEG preview is what can be hashed

    @property
    def is_image(self) -> bool:
        return self.kind is MediaKind.IMAGE

    @property
    def decodable(self) -> bool:
        """An image Safeguard turns into pixels (a raw photo only through its preview)."""
        return self.pillow_format is not None

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
# Pictures recognised but with no decoder here: typed, counted and listed as images,
# never as videos or unknown bytes, though they cannot be hashed perceptually.
JPEG_XL = MediaType("image/jxl", MediaKind.IMAGE)
HEIF_SEQUENCE = MediaType("image/heif-sequence", MediaKind.IMAGE)
HEIC_SEQUENCE = MediaType("image/heic-sequence", MediaKind.IMAGE)
CANON_CR2 = MediaType("image/x-canon-cr2", MediaKind.IMAGE, camera_raw=True)
CANON_CR3 = MediaType("image/x-canon-cr3", MediaKind.IMAGE, camera_raw=True)
NIKON_NEF = MediaType("image/x-nikon-nef", MediaKind.IMAGE, camera_raw=True)
SONY_ARW = MediaType("image/x-sony-arw", MediaKind.IMAGE, camera_raw=True)
ADOBE_DNG = MediaType("image/x-adobe-dng", MediaKind.IMAGE, camera_raw=True)
PENTAX_PEF = MediaType("image/x-pentax-pef", MediaKind.IMAGE, camera_raw=True)
OLYMPUS_ORF = MediaType("image/x-olympus-orf", MediaKind.IMAGE, camera_raw=True)
PANASONIC_RW2 = MediaType("image/x-panasonic-rw2", MediaKind.IMAGE, camera_raw=True)
FUJI_RAF = MediaType("image/x-fuji-raf", MediaKind.IMAGE, camera_raw=True)
MP4 = MediaType("video/mp4", MediaKind.VIDEO)
QUICKTIME = MediaType("video/quicktime", MediaKind.VIDEO)
THREE_GPP = MediaType("video/3gpp", MediaKind.VIDEO)
AVI = MediaType("video/x-msvideo", MediaKind.VIDEO)
MATROSKA = MediaType("video/x-matroska", MediaKind.VIDEO)
WEBM = MediaType("video/webm", MediaKind.VIDEO)
M4A = MediaType("audio/mp4", MediaKind.AUDIO)  # music, audiobooks, a phone's voice memos
ZIP = MediaType("application/zip", MediaKind.ARCHIVE)
SEVEN_ZIP = MediaType("application/x-7z-compressed", MediaKind.ARCHIVE)
RAR = MediaType("application/vnd.rar", MediaKind.ARCHIVE)
GZIP = MediaType("application/gzip", MediaKind.ARCHIVE)
BZIP2 = MediaType("application/x-bzip2", MediaKind.ARCHIVE)
XZ = MediaType("application/x-xz", MediaKind.ARCHIVE)
TAR = MediaType("application/x-tar", MediaKind.ARCHIVE)
EMPTY = MediaType("inode/x-empty", MediaKind.EMPTY)
UNKNOWN = MediaType("application/octet-stream", MediaKind.OTHER)

# Recognised pictures that cannot be turned into pixels here (raw photos only through a
# preview, when they have one): counted as pictures not decodable, never as failures.
WITHOUT_DECODER = frozenset(
    media_type.mime
    for media_type in (
        JPEG_XL, HEIF_SEQUENCE, HEIC_SEQUENCE, CANON_CR2, CANON_CR3, NIKON_NEF, SONY_ARW,
        ADOBE_DNG, PENTAX_PEF, OLYMPUS_ORF, PANASONIC_RW2, FUJI_RAF,
    )
)  # fmt: skip

# Fixed signatures at offset 0, longest first where one is a prefix of another.
_PREFIXES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\xff\x0a", JPEG_XL),  # a bare JPEG XL codestream
    (b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a", JPEG_XL),  # JPEG XL in its container
    (b"IIRO", OLYMPUS_ORF),
    (b"IIRS", OLYMPUS_ORF),
    (b"MMOR", OLYMPUS_ORF),
    (b"IIU\x00", PANASONIC_RW2),
    (b"FUJIFILMCCD-RAW", FUJI_RAF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty zip
    (b"7z\xbc\xaf\x27\x1c", SEVEN_ZIP),
    (b"Rar!\x1a\x07", RAR),
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
)

# ISO base media file format: brands in the `ftyp` box decide still image vs video.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis"}
_HEIC_SEQUENCE_BRANDS = {b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"mif2", b"miaf", b"avci", b"jpeg", b"vvic", b"j2ki"}
_HEIF_SEQUENCE_BRANDS = {b"msf1", b"avcs", b"jpgs", b"vvis", b"j2is"}
_AVIF_BRANDS = {b"avif", b"avis"}
_CANON_CR3_BRANDS = {b"crx "}
_QUICKTIME_BRANDS = {b"qt  "}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
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
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return _sniff_tiff(head)
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
    if major in _CANON_CR3_BRANDS:
        return CANON_CR3
    if major in _HEIF_BRANDS:
        # The generic HEIF brands: the compatible list tells which codec is inside.
        if compatible & _AVIF_BRANDS:
            return AVIF
        return HEIC if compatible & _HEIC_BRANDS else HEIF
    if major in _HEIC_SEQUENCE_BRANDS:
        return HEIC_SEQUENCE
    if major in _HEIF_SEQUENCE_BRANDS or compatible & _HEIF_SEQUENCE_BRANDS:
        # A picture sequence (a burst, an animation): pictures, not a video.
        return HEIC_SEQUENCE if compatible & _HEIC_SEQUENCE_BRANDS else HEIF_SEQUENCE
    if compatible & _HEIF_BRANDS:  # a generic major brand, HEIF named among the compatible
        return HEIC if compatible & _HEIC_BRANDS else HEIF
    if major in _QUICKTIME_BRANDS:
        return QUICKTIME
    if major in _AUDIO_BRANDS:
        return M4A
    if major.startswith(_3GPP_PREFIX):
        return THREE_GPP
    return MP4


_TIFF_MAKE, _TIFF_DNG_VERSION = 0x010F, 0xC612
_RAW_MAKERS = (
    (b"NIKON", NIKON_NEF),
    (b"SONY", SONY_ARW),
    (b"PENTAX", PENTAX_PEF),
    (b"RICOH", PENTAX_PEF),
    (b"Canon", CANON_CR2),
)


def _sniff_tiff(head: bytes) -> MediaType:
    """A TIFF, or a camera raw photo built on TIFF (CR2, NEF, ARW, DNG, PEF)."""
    if head[8:10] == b"CR":
        return CANON_CR2
    order = "<" if head.startswith(b"II") else ">"
    try:
        (first,) = struct.unpack_from(f"{order}I", head, 4)
        (count,) = struct.unpack_from(f"{order}H", head, first)
        make = b""
        for index in range(min(count, 256)):
            tag, kind, length, value = struct.unpack_from(
                f"{order}HHII", head, first + 2 + 12 * index
            )
            if tag == _TIFF_DNG_VERSION:
                return ADOBE_DNG
            if tag == _TIFF_MAKE and kind == 2:  # ASCII; over 4 bytes it lies at an offset
                start = first + 2 + 12 * index + 8 if length <= 4 else value
                make = head[start : start + length]
    except struct.error:
        return TIFF  # IFD0 lies past the bytes sniffed: an ordinary TIFF, for Pillow to judge
    return next((kind for maker, kind in _RAW_MAKERS if make.startswith(maker)), TIFF)


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
        ".jxl",
        ".heics",
        ".heifs",
        ".avifs",
        ".cr2",
        ".cr3",
        ".nef",
        ".arw",
        ".dng",
        ".pef",
        ".orf",
        ".rw2",
        ".raf",
        ".mov",
        ".3gp",
        ".3g2",
        ".avi",
        ".mkv",
        ".webm",
    ]
)
