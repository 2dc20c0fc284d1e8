"""Files written into an exFAT image made by ``mkfs.exfat``, without mounting it.

No Debian tool writes into an exFAT image (mtools stops at FAT32) and FUSE
mounts are not available here, so the tests place directory entries
themselves, following Microsoft's published exFAT specification: a file is a
File entry (0x85), a Stream Extension (0xC0) and File Name entries (0xC1),
with the set checksum and the name hash; data sits in contiguous clusters
marked in the allocation bitmap (NoFatChain). A deleted file is the same set
with each entry's in-use bit cleared and its clusters freed, as Windows leaves
it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_ATTRIBUTE_ARCHIVE, _ATTRIBUTE_DIRECTORY = 0x20, 0x10
_STAMP = ((2021 - 1980) << 25) | (5 << 21) | (6 << 16) | (7 << 11) | (8 << 5)  # 2021-05-06 07:08


@dataclass(frozen=True)
class ExfatFile:
    path: str  # "name" at the root, or "folder/name" one level down
    data: bytes
    deleted: bool = False


def write_files(image: Path, files: list[ExfatFile]) -> None:
    volume = _Volume(bytearray(image.read_bytes()))
    folders: dict[str, int] = {}
    for file in files:
        folder, _, name = file.path.rpartition("/")
        if folder and folder not in folders:
            folders[folder] = volume.add_directory(volume.root, folder)
        parent = folders[folder] if folder else volume.root
        volume.add_file(parent, name, file.data, deleted=file.deleted)
    image.write_bytes(bytes(volume.data))


def _rotate_add(checksum: int, byte: int) -> int:
    return (((checksum >> 1) | ((checksum & 1) << 15)) + byte) & 0xFFFF


class _Volume:
    def __init__(self, data: bytearray) -> None:
        self.data = data
        sector_shift, cluster_shift = data[0x6C], data[0x6D]
        self.cluster_size = 1 << (sector_shift + cluster_shift)
        self.heap = struct.unpack_from("<I", data, 0x58)[0] << sector_shift
        self.cluster_count = struct.unpack_from("<I", data, 0x5C)[0]
        self.root = struct.unpack_from("<I", data, 0x60)[0]
        bitmap_entry = self._entries(self.root).index(0x81)
        entry = self.offset(self.root) + 32 * bitmap_entry
        self.bitmap = self.offset(struct.unpack_from("<I", data, entry + 20)[0])

    def offset(self, cluster: int) -> int:
        return self.heap + (cluster - 2) * self.cluster_size

    def _entries(self, cluster: int) -> list[int]:
        start = self.offset(cluster)
        return [self.data[start + 32 * i] for i in range(self.cluster_size // 32)]

    def _allocate(self, size: int) -> int:
        """The first run of free clusters long enough for ``size`` bytes, marked used."""
        needed = max(1, -(-size // self.cluster_size))
        run = 0
        for index in range(self.cluster_count):
            used = self.data[self.bitmap + index // 8] >> (index % 8) & 1
            run = 0 if used else run + 1
            if run == needed:
                first = index - needed + 1
                for bit in range(first, index + 1):
                    self.data[self.bitmap + bit // 8] |= 1 << (bit % 8)
                return first + 2
        raise ValueError("exFAT image full")

    def _free(self, first: int, size: int) -> None:
        for cluster in range(first, first + max(1, -(-size // self.cluster_size))):
            bit = cluster - 2
            self.data[self.bitmap + bit // 8] &= ~(1 << (bit % 8)) & 0xFF

    def add_directory(self, parent: int, name: str) -> int:
        cluster = self._allocate(self.cluster_size)
        start = self.offset(cluster)
        self.data[start : start + self.cluster_size] = bytes(self.cluster_size)
        self._write_set(parent, name, cluster, self.cluster_size, _ATTRIBUTE_DIRECTORY, False)
        return cluster

    def add_file(self, parent: int, name: str, data: bytes, *, deleted: bool) -> None:
        cluster = self._allocate(len(data))
        start = self.offset(cluster)
        self.data[start : start + len(data)] = data
        self._write_set(parent, name, cluster, len(data), _ATTRIBUTE_ARCHIVE, deleted)
        if deleted:
            self._free(cluster, len(data))

    def _write_set(self, parent, name, cluster, size, attributes, deleted) -> None:
        units = name.encode("utf-16-le")
        name_entries = -(-len(name) // 15)
        entries = bytearray(32 * (2 + name_entries))
        struct.pack_into("<BBHH", entries, 0, 0x85, 1 + name_entries, 0, attributes)
        struct.pack_into("<III", entries, 8, _STAMP, _STAMP, _STAMP)
        name_hash = 0
        for byte in name.upper().encode("utf-16-le"):
            name_hash = _rotate_add(name_hash, byte)
        struct.pack_into("<BBBBH", entries, 32, 0xC0, 0x03, 0, len(name), name_hash)
        struct.pack_into("<Q", entries, 40, size)
        struct.pack_into("<IQ", entries, 52, cluster, size)
        for index in range(name_entries):
            base = 64 + 32 * index
            entries[base] = 0xC1
            chunk = units[30 * index : 30 * (index + 1)]
            entries[base + 2 : base + 2 + len(chunk)] = chunk
        checksum = 0
        for position, byte in enumerate(entries):
            if position not in (2, 3):
                checksum = _rotate_add(checksum, byte)
        struct.pack_into("<H", entries, 2, checksum)
        if deleted:
            for base in range(0, len(entries), 32):
                entries[base] &= 0x7F
        slots = self._entries(parent)
        free = next(
            i
            for i in range(len(slots) - len(entries) // 32)
            if all(slots[j] == 0 for j in range(i, i + len(entries) // 32))
        )
        start = self.offset(parent) + 32 * free
        self.data[start : start + len(entries)] = entries
