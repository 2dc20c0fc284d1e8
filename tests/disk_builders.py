"""Disk images the tests build with Debian's own tools, as an examiner's lab would.

Nothing is mounted (no FUSE or loop devices here): FAT through dosfstools and
mtools, NTFS through mkntfs, wimlib (folders, ``$RECYCLE.BIN``) and ntfscp
(alternate data streams), exFAT through mkfs.exfat and :mod:`exfat_writer`. A
deletion on NTFS, which no tool does without mounting, is made as Windows makes
it: the file's MFT record is marked free and its index entry removed from the
parent directory (the bytes stay in the index's slack).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import IN_CI, require_shared
from exfat_writer import ExfatFile, write_files

PACKAGES = {
    "mkfs.fat": "dosfstools",
    "mcopy": "mtools",
    "mkntfs": "ntfs-3g",
    "ntfscp": "ntfs-3g",
    "wimcapture": "wimtools",
    "mkfs.exfat": "exfatprogs",
    "qemu-img": "qemu-utils",
    "cryptsetup": "cryptsetup-bin",
    "fls": "sleuthkit",
    "icat": "sleuthkit",
    "ewfacquire": "ewf-tools",
    "mkfs.ext4": "e2fsprogs",
    "debugfs": "e2fsprogs",
}


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = sorted({PACKAGES.get(tool, tool) for tool in missing})
        reason = f"tools missing: {', '.join(missing)} (Debian: {' '.join(packages)})"
        if IN_CI:
            pytest.fail(reason + " (CI=true: .ci/run installs them)")
        pytest.skip(reason)


def run(*command: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        input=stdin,
        check=True,
        capture_output=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )
    return done.stdout


def pictures() -> dict[str, bytes]:
    """The synthetic benign pictures (gradients, circles, stripes...) by file name."""
    folder = require_shared("forensic-images", "synthetic", "pictures")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def fat_camera_card(image: Path) -> Path:
    """FAT16 card: a live ``_MG_0001.JPG`` beside a deleted ``IMG_0001.JPG`` (TSK lists
    both as ``DCIM/_MG_0001.JPG``), a deleted folder whose files TSK still lists under
    ``_LD/``, and an orphan (a deleted folder's entry overwritten by a new file)."""
    require_tools("mkfs.fat", "mcopy")
    work = image.parent / f"{image.name}.files"
    work.mkdir()
    for name, data in pictures().items():
        (work / name).write_bytes(data)
    (work / "NEW.TXT").write_text("written after the deletions\n")
    run("mkfs.fat", "-F", "16", "-n", "CARD", "-i", "C0FFEE01", "-C", image, "16384")
    i = ("-i", str(image))
    run("mmd", *i, "::/DCIM", "::/OLD", "::/OLD/SUB", "::/TRIP", "::/TRIP/DAY1")
    run("mcopy", "-m", *i, work / "gradient.jpg", "::/DCIM/IMG_0001.JPG")
    run("mcopy", "-m", *i, work / "circles.jpg", "::/DCIM/_MG_0001.JPG")
    run("mdel", *i, "::/DCIM/IMG_0001.JPG")
    run("mcopy", "-m", *i, work / "checker.png", work / "stripes.jpg", "::/OLD/")
    run("mcopy", "-m", *i, work / "notes.dat", "::/OLD/SUB/")
    run("mdeltree", *i, "::/OLD")
    run("mcopy", "-m", *i, work / "gradient_small.jpg", "::/TRIP/DAY1/")
    run("mdeltree", *i, "::/TRIP")
    run("mcopy", "-m", *i, work / "NEW.TXT", "::/")  # takes the deleted TRIP entry's slot
    shutil.rmtree(work)
    return image


def ntfs_volume(image: Path, extra: dict[str, bytes] | None = None) -> Path:
    """NTFS: ``$RECYCLE.BIN`` holding a picture, a picture hidden in ``notes.txt:secret.jpg``,
    a deleted picture TSK finds in its folder, and an orphan in ``$OrphanFiles``; ``extra``
    adds files by path."""
    require_tools("mkntfs", "ntfscp", "wimcapture", "wimapply")
    tree = image.parent / f"{image.name}.tree"
    found = pictures()
    bin_folder = tree / "$RECYCLE.BIN" / "S-1-5-21-1004336348-1177238915-682003330-1001"
    for folder in (bin_folder, tree / "Users" / "bob" / "Pictures", tree / "Users" / "bob" / "Old"):
        folder.mkdir(parents=True)
    (bin_folder / "$R8F2KQ1.jpg").write_bytes(found["stripes.jpg"])
    (bin_folder / "$I8F2KQ1.jpg").write_bytes(b"\x02" + bytes(23))
    (tree / "Users" / "bob" / "notes.txt").write_text("shopping list\n")
    (tree / "Users" / "bob" / "Pictures" / "beach.jpg").write_bytes(found["gradient.jpg"])
    (tree / "Users" / "bob" / "Pictures" / "gone.jpg").write_bytes(found["circles.jpg"])
    (tree / "Users" / "bob" / "Old" / "lost.png").write_bytes(found["checker.png"])
    for path, data in (extra or {}).items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(data)
    config = image.parent / "wim.ini"
    config.write_text("[ExclusionList]\n")  # capture $RECYCLE.BIN too
    wim = image.parent / f"{image.name}.wim"
    run("wimcapture", tree, wim, "--compress=none", f"--config={config}")
    with image.open("wb") as volume:
        volume.truncate((32 << 20) + 2 * sum(len(data) for data in (extra or {}).values()))
    run("mkntfs", "-F", "-q", "-f", "-L", "EVIDENCE", image)
    run("wimapply", wim, "1", image)
    secret = image.parent / "secret.jpg"
    secret.write_bytes(found["gradient_small.jpg"])
    run("ntfscp", "-N", "secret.jpg", image, secret, "/Users/bob/notes.txt")
    mft = _Mft(image)
    gone, pictures_dir = mft.find("gone.jpg"), mft.find("Pictures")
    mft.delete(gone, pictures_dir)
    lost, old_dir = mft.find("lost.png"), mft.find("Old")
    mft.delete(lost, old_dir, orphan=True)
    mft.save()
    shutil.rmtree(tree)
    for leftover in (wim, config, secret):
        leftover.unlink()
    return image


def exfat_card(image: Path) -> Path:
    """exFAT: a live and a deleted ``logs/app.log`` (log rotation), a picture, and a
    deleted picture with a long name."""
    require_tools("mkfs.exfat")
    with image.open("wb") as volume:
        volume.truncate(8 << 20)
    run("mkfs.exfat", "-L", "CARD", image)
    found = pictures()
    write_files(
        image,
        [
            ExfatFile("logs/app.log", b"rotated away\n" * 60, deleted=True),
            ExfatFile("logs/app.log", b"today\n" * 30),
            ExfatFile("DCIM/IMG_0001.JPG", found["gradient.jpg"]),
            ExfatFile("a picture with a long name.jpg", found["circles.jpg"], deleted=True),
        ],
    )
    return image


def with_vhd_footer(raw: Path, image: Path) -> Path:
    """A ``dd`` of a fixed VHD: the raw bytes, then the 512-byte ``conectix`` footer, whose
    disk size (rounded up to a CHS geometry) is larger than the data before it."""
    require_tools("qemu-img")
    fixed = image.parent / f"{image.name}.vhd"
    run("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", raw, fixed)
    image.write_bytes(raw.read_bytes() + fixed.read_bytes()[-512:])
    fixed.unlink()
    return image


def mbr_disk(image: Path, partitions: list[bytes]) -> Path:
    """A disk with an MBR and one primary partition (type 0x0C) per volume given."""
    sector, start, table = 512, 2048, bytearray(512)
    layout = []
    for index, volume in enumerate(partitions):
        length = -(-len(volume) // sector)
        struct.pack_into("<B3sB3sII", table, 446 + 16 * index, 0, b"\0\0\0", 0x0C, b"\0\0\0",
                         start, length)  # fmt: skip
        layout.append((start, volume))
        start += length + 2048
    table[510:512] = b"\x55\xaa"
    with image.open("wb") as disk:
        disk.write(table)
        for offset, volume in layout:
            disk.seek(offset * sector)
            disk.write(volume)
        disk.truncate((start + 2048) * sector)
    return image


class _Mft:
    """Just enough of NTFS's MFT to delete a file as Windows does (small folders only)."""

    def __init__(self, image: Path) -> None:
        self.image = image
        self.data = bytearray(image.read_bytes())
        bytes_per_sector = struct.unpack_from("<H", self.data, 11)[0]
        cluster = bytes_per_sector * self.data[13]
        self.mft = struct.unpack_from("<q", self.data, 0x30)[0] * cluster

    def save(self) -> None:
        self.image.write_bytes(bytes(self.data))

    def find(self, name: str) -> int:
        """The MFT entry whose $FILE_NAME is ``name``."""
        encoded = name.encode("utf-16-le")
        for entry in range(16, 4096):
            record = self._record(entry)
            if record is None:
                continue
            for content in self._attributes(record, 0x30):
                length = self.data[content + 64]
                if self.data[content + 66 : content + 66 + 2 * length] == encoded:
                    return entry
        raise KeyError(name)

    def delete(self, entry: int, parent: int, *, orphan: bool = False) -> None:
        """Free the record, drop its index entry; an orphan also loses its parent link."""
        with self._fixups(entry) as record:
            self.data[record + 0x16] &= ~1 & 0xFF  # not in use
            if orphan:  # the parent reference's sequence number no longer matches
                for content in self._attributes(record, 0x30):
                    reference = struct.unpack_from("<Q", self.data, content)[0]
                    sequence = (reference >> 48) + 7
                    struct.pack_into(
                        "<Q", self.data, content, reference & ((1 << 48) - 1) | sequence << 48
                    )
        with self._fixups(parent) as record:
            for content in self._attributes(record, 0x90):  # $INDEX_ROOT
                node = content + 0x10
                first, used = struct.unpack_from("<II", self.data, node)
                position = node + first
                while position < node + used:
                    reference, length, _, flags = struct.unpack_from("<QHHI", self.data, position)
                    if flags & 2:
                        break
                    if reference & ((1 << 48) - 1) == entry:
                        tail = bytes(self.data[position + length : node + used])
                        self.data[position : position + len(tail)] = tail
                        struct.pack_into("<I", self.data, node + 4, used - length)
                        break
                    position += length

    def _record(self, entry: int) -> int | None:
        record = self.mft + 1024 * entry
        return record if self.data[record : record + 4] == b"FILE" else None

    def _attributes(self, record: int, kind: int):
        offset = record + struct.unpack_from("<H", self.data, record + 0x14)[0]
        while True:
            found, length = struct.unpack_from("<II", self.data, offset)
            if found == 0xFFFFFFFF or length == 0:
                return
            if found == kind:
                yield offset + struct.unpack_from("<H", self.data, offset + 0x14)[0]
            offset += length

    @contextmanager
    def _fixups(self, entry: int):
        """Edit a record with its update-sequence fix-ups undone, then redo them."""
        record = self._record(entry)
        offset, count = struct.unpack_from("<HH", self.data, record + 4)
        slots = [record + offset + 2 * index for index in range(count)]
        ends = [record + 512 * index - 2 for index in range(1, count)]
        for slot, end in zip(slots[1:], ends, strict=True):
            self.data[end : end + 2] = self.data[slot : slot + 2]
        yield record
        sequence = bytes(self.data[slots[0] : slots[0] + 2])
        for slot, end in zip(slots[1:], ends, strict=True):
            self.data[slot : slot + 2] = self.data[end : end + 2]
            self.data[end : end + 2] = sequence
