"""Live FAT directory entries the Sleuth Kit refuses to list, so they cannot vanish.

TSK drops a directory entry it finds implausible (a size larger than the volume,
a first cluster past its end): such a file would then exist only as whatever
carving finds of it. Each live 8.3 entry of a directory is compared with the
names TSK listed there; one it did not list becomes an item with the reason.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_LONG_NAME, _VOLUME_LABEL, _DIRECTORY = 0x0F, 0x08, 0x10
_FREE, _DELETED = 0x00, 0xE5


def unlisted(directory: bytes, listed: set[str], volume_size: int) -> Iterator[tuple[str, str]]:
    """(name, why) for each live entry in the raw ``directory`` that TSK did not list."""
    for offset in range(0, len(directory) - 31, 32):
        entry = directory[offset : offset + 32]
        if entry[0] == _FREE:
            return  # the end of the directory
        attributes = entry[11]
        if entry[0] == _DELETED or attributes == _LONG_NAME or attributes & _VOLUME_LABEL:
            continue
        name = _short_name(entry)
        if name in (".", "..") or name.upper() in listed:
            continue
        (cluster_high,) = struct.unpack_from("<H", entry, 20)
        (cluster_low,) = struct.unpack_from("<H", entry, 26)
        (size,) = struct.unpack_from("<I", entry, 28)
        kind = "folder" if attributes & _DIRECTORY else "file"
        why = f"a {kind} entry the Sleuth Kit refuses to list"
        if size > volume_size:
            why += f" (its size, {size:,} bytes, is larger than the volume)"
        yield name, f"{why}; first cluster {cluster_high << 16 | cluster_low}: content not read"


def _short_name(entry: bytes) -> str:
    base = entry[:8].decode("cp437").rstrip()
    extension = entry[8:11].decode("cp437").rstrip()
    return f"{base}.{extension}" if extension else base
