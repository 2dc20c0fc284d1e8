"""Is this file a disk image? Signatures of containers, partition tables and file systems.

A disk image must never pass as one opaque file: whatever these signatures
recognise is opened as a disk image, and if that fails the failure is reported
(the exhibit, or the item holding the image, says so) instead of the image being
hashed as a blob with no error. Most signatures sit in the first sectors; ISO
9660 is 32 KiB in, and fixed VHDs and Apple disk images (UDIF) are recognised by
a 512-byte footer.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

HEAD_BYTES = 36 * 1024  # reaches the ISO 9660 volume descriptor at 32,769
TAIL_BYTES = 512

# (offset, magic, what): checked in order, against the head of the file.
_AT_OFFSET: tuple[tuple[int, bytes, str], ...] = (
    (0, b"EVF\x09\x0d\x0a\xff\x00", "EWF (E01) image"),
    (0, b"EVF2\x0d\x0a\x81\x00", "EWF2 (Ex01) image"),
    (0, b"LVF\x09\x0d\x0a\xff\x00", "EWF logical (L01) image"),
    (0, b"QFI\xfb", "QCOW image"),
    (0, b"KDMV", "VMDK image"),
    (0, b"# Disk DescriptorFile", "VMDK descriptor"),
    (0, b"vhdxfile", "VHDX image"),
    (0, b"conectix", "VHD image"),
    (0, b"LUKS\xba\xbe", "LUKS encrypted volume"),
    (3, b"-FVE-FS-", "BitLocker encrypted volume"),
    (3, b"NTFS    ", "NTFS file system"),
    (3, b"EXFAT   ", "exFAT file system"),
    (32, b"NXSB", "APFS container"),
    (512, b"EFI PART", "GPT partition table"),
    (1024, b"H+\x00\x04", "HFS+ file system"),
    (1024, b"HX\x00\x05", "HFSX file system"),
    (1080, b"\x53\xef", "ext file system"),
    (32769, b"CD001", "ISO 9660 file system"),
)
_FAT_SECTOR_SIZES = {512, 1024, 2048, 4096}
_FAT_MEDIA = {0xF0, *range(0xF8, 0x100)}


def read_signature(stream: BinaryIO, size: int | None) -> str | None:
    """What kind of disk image ``stream`` holds, or None; the stream must be seekable.

    A later segment of a split E01 (``.E02``...) is None: it is read through the first.
    """
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    if (ewf_segment(head) or 1) > 1:
        return None  # a later segment of a split E01: read through the first one
    tail = b""
    if size is not None and size >= len(head) + TAIL_BYTES:
        stream.seek(size - TAIL_BYTES)
        tail = stream.read(TAIL_BYTES)
    return disk_image_signature(head, tail)


def ewf_segment(head: bytes) -> int | None:
    """The segment number of an EWF file (1 for ``.E01``), or None if it is not one."""
    if head[:8] != b"EVF\x09\x0d\x0a\xff\x00" or len(head) < 11:
        return None
    return int.from_bytes(head[9:11], "little")


def disk_image_signature(head: bytes, tail: bytes = b"") -> str | None:
    """Recognise a disk image from its first bytes (:data:`HEAD_BYTES`) and its last 512."""
    for offset, magic, what in _AT_OFFSET:
        if head[offset : offset + len(magic)] == magic:
            if what == "ext file system" and not _plausible_ext(head):
                continue
            return what
    if tail.startswith(b"conectix"):
        return "VHD image"
    if tail.startswith(b"koly"):
        return "Apple disk image (UDIF)"
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        if _looks_like_fat(head):
            return "FAT file system"
        if _looks_like_mbr(head):
            return "MBR partition table"
    return None


def _plausible_ext(head: bytes) -> bool:
    # Two bytes are weak: also ask for a sane block size and a non-zero inode count.
    if len(head) < 1024 + 64:
        return False
    inodes, blocks = struct.unpack_from("<II", head, 1024)
    log_block = struct.unpack_from("<I", head, 1024 + 24)[0]
    return inodes > 0 and blocks > 0 and log_block <= 6


def _looks_like_fat(sector: bytes) -> bool:
    bytes_per_sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", sector, 11)
    media = sector[21]
    return (
        sector[0] in (0xEB, 0xE9)
        and bytes_per_sector in _FAT_SECTOR_SIZES
        and per_cluster in (1, 2, 4, 8, 16, 32, 64, 128)
        and reserved >= 1
        and fats in (1, 2)
        and media in _FAT_MEDIA
    )


def _looks_like_mbr(sector: bytes) -> bool:
    """Four partition entries that make sense, at least one of them used."""
    used = 0
    for index in range(4):
        entry = sector[446 + 16 * index : 462 + 16 * index]
        status, kind = entry[0], entry[4]
        start, length = struct.unpack_from("<II", entry, 8)
        if status not in (0x00, 0x80):
            return False
        if kind:
            if start == 0 or length == 0:
                return False
            used += 1
    return used > 0
