"""Type detection from magic bytes, including the video and archive containers."""

from __future__ import annotations

import struct

import pytest

from safeguard.vocabulary.content import MediaKind, sniff

from conftest import require_shared


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08mdat"


def _tiff(*tags: tuple[int, int, int, bytes]) -> bytes:
    """A little-endian TIFF header and IFD0 with the given (tag, type, count, value) entries."""
    entries, extra = b"", b""
    data_at = 8 + 2 + 12 * len(tags) + 4
    for tag, kind, count, value in tags:
        if len(value) <= 4:
            entries += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
            extra += value
    return b"II*\x00" + struct.pack("<IH", 8, len(tags)) + entries + b"\0\0\0\0" + extra


def _make(name: bytes) -> tuple[int, int, int, bytes]:
    return (0x010F, 2, len(name) + 1, name + b"\0")


CASES = [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"miaf"), "image/heif"),
    (_ftyp(b"avif", b"mif1"), "image/avif"),
    (_ftyp(b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "video/quicktime"),
    (_ftyp(b"3gp4", b"isom"), "video/3gpp"),
    (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),  # music, a voice memo
    (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
    (b"PK\x03\x04\x14\x00", "application/zip"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
    (b"\x1f\x8b\x08\x00", "application/gzip"),
    (b"\x00" * 257 + b"ustar\x0000", "application/x-tar"),
    # Pictures with no decoder here: images all the same, never videos or unknown bytes.
    (b"\xff\x0a\xfa\x7f\x01\x90", "image/jxl"),
    (b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a\x00\x00\x00\x14ftypjxl ", "image/jxl"),
    (b"II*\x00\x10\x00\x00\x00CR\x02\x00", "image/x-canon-cr2"),
    (_ftyp(b"crx ", b"crx ", b"isom"), "image/x-canon-cr3"),
    (_tiff(_make(b"NIKON CORPORATION")), "image/x-nikon-nef"),
    (_tiff(_make(b"SONY")), "image/x-sony-arw"),
    (_tiff(_make(b"Canon"), (0xC612, 1, 4, b"\x01\x04\x00\x00")), "image/x-adobe-dng"),
    (_tiff(_make(b"Scanner Co")), "image/tiff"),
    (b"IIRO\x08\x00\x00\x00", "image/x-olympus-orf"),
    (b"IIU\x00\x18\x00\x00\x00", "image/x-panasonic-rw2"),
    (b"FUJIFILMCCD-RAW 0201", "image/x-fuji-raf"),
    (_ftyp(b"msf1", b"msf1", b"iso8"), "image/heif-sequence"),
    (_ftyp(b"hevc", b"msf1", b"hevc"), "image/heic-sequence"),
    (_ftyp(b"avcs", b"msf1"), "image/heif-sequence"),
    (_ftyp(b"iso8", b"msf1", b"hevc"), "image/heic-sequence"),
    (_ftyp(b"iso8", b"mif1", b"heic"), "image/heic"),
    (b"", "inode/x-empty"),
    (b"BMW owners' manual, chapter 1", "application/octet-stream"),
    (b"%PDF-1.7", "application/octet-stream"),
]


@pytest.mark.parametrize(("head", "mime"), CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
def test_sniff(head, mime):
    assert sniff(head).mime == mime


def test_real_videos_are_recognised():
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    for video in sorted(videos.glob("*.mp4")):
        detected = sniff(video.read_bytes()[:4096])
        assert detected.kind is MediaKind.VIDEO, video.name
