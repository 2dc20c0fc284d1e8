"""A 1.44 MB FAT12 disk image, written byte by byte, for the demo's "camera card".

The demo must run on a fresh machine without Debian's disk tools, so this writes
the few structures a FAT12 floppy needs: boot sector, two FATs, root directory
and data clusters. Files go in the root directory with 8.3 names. A deleted file
keeps its data and first cluster with its directory entry marked 0xE5 and its
clusters freed, exactly as DOS (and mtools' ``mdel``) leave one; a carve-only
picture is written into free clusters with no entry at all.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SECTOR = 512
TOTAL_SECTORS = 2880
RESERVED_SECTORS = 1
FAT_COUNT = 2
SECTORS_PER_FAT = 9
ROOT_ENTRIES = 224
ROOT_SECTORS = ROOT_ENTRIES * 32 // SECTOR
DATA_START = RESERVED_SECTORS + FAT_COUNT * SECTORS_PER_FAT + ROOT_SECTORS
CLUSTER_COUNT = TOTAL_SECTORS - DATA_START
_END_OF_CHAIN = 0xFFF
_DATE = ((2021 - 1980) << 9) | (5 << 5) | 6  # 2021-05-06
_TIME = (7 << 11) | (8 << 5)  # 07:08


@dataclass(frozen=True, slots=True)
class DiskFile:
    name: str  # 8.3, e.g. "SUNSET.JPG"
    data: bytes
    deleted: bool = False


def build_image(files: list[DiskFile], unallocated: list[bytes] = ()) -> bytes:
    image = bytearray(TOTAL_SECTORS * SECTOR)
    _boot_sector(image)
    fat = bytearray(SECTORS_PER_FAT * SECTOR)
    _set_fat(fat, 0, 0xFF0)  # media descriptor
    _set_fat(fat, 1, _END_OF_CHAIN)
    root = bytearray(ROOT_SECTORS * SECTOR)
    cluster = 2
    for index, file in enumerate(files):
        count = max(1, -(-len(file.data) // SECTOR))
        if cluster + count > CLUSTER_COUNT:
            raise ValueError("demo files do not fit on a 1.44 MB image")
        _write_clusters(image, cluster, file.data)
        if not file.deleted:
            for step in range(count):
                _set_fat(
                    fat, cluster + step, _END_OF_CHAIN if step == count - 1 else cluster + step + 1
                )
        root[index * 32 : index * 32 + 32] = _entry(file, cluster)
        cluster += count
    # Unallocated pictures go well after the files, in clusters the FAT marks free.
    spare = max(cluster + 8, CLUSTER_COUNT // 2)
    for data in unallocated:
        _write_clusters(image, spare, data)
        spare += -(-len(data) // SECTOR) + 4
    for copy in range(FAT_COUNT):
        start = (RESERVED_SECTORS + copy * SECTORS_PER_FAT) * SECTOR
        image[start : start + len(fat)] = fat
    root_start = (RESERVED_SECTORS + FAT_COUNT * SECTORS_PER_FAT) * SECTOR
    image[root_start : root_start + len(root)] = root
    return bytes(image)


def _boot_sector(image: bytearray) -> None:
    header = struct.pack(
        "<3s8sHBHBHHBHHHII",
        b"\xeb\x3c\x90",
        b"SAFEGRD ",
        SECTOR,
        1,  # sectors per cluster
        RESERVED_SECTORS,
        FAT_COUNT,
        ROOT_ENTRIES,
        TOTAL_SECTORS,
        0xF0,  # 1.44 MB floppy
        SECTORS_PER_FAT,
        18,  # sectors per track
        2,  # heads
        0,
        0,
    )
    extended = struct.pack("<BBBI11s8s", 0, 0, 0x29, 0x5AFE0001, b"NO NAME    ", b"FAT12   ")
    image[: len(header)] = header
    image[len(header) : len(header) + len(extended)] = extended
    image[510:512] = b"\x55\xaa"


def _write_clusters(image: bytearray, cluster: int, data: bytes) -> None:
    start = (DATA_START + cluster - 2) * SECTOR
    image[start : start + len(data)] = data


def _set_fat(fat: bytearray, cluster: int, value: int) -> None:
    offset = cluster * 3 // 2
    if cluster % 2 == 0:
        fat[offset] = value & 0xFF
        fat[offset + 1] = (fat[offset + 1] & 0xF0) | (value >> 8)
    else:
        fat[offset] = (fat[offset] & 0x0F) | ((value & 0x0F) << 4)
        fat[offset + 1] = value >> 4


def _entry(file: DiskFile, cluster: int) -> bytes:
    stem, _, extension = file.name.upper().partition(".")
    if not (0 < len(stem) <= 8 and len(extension) <= 3):
        raise ValueError(f"{file.name!r} is not an 8.3 name")
    name = stem.ljust(8).encode("ascii") + extension.ljust(3).encode("ascii")
    if file.deleted:
        name = b"\xe5" + name[1:]
    return struct.pack(
        "<11sBBBHHHHHHHI",
        name,
        0x20,  # archive attribute: a plain file
        0,
        0,
        _TIME,
        _DATE,
        _DATE,
        0,
        _TIME,
        _DATE,
        cluster,
        len(file.data),
    )
