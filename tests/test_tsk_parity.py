"""Every file The Sleuth Kit sees, Safeguard sees: ``fls -r -p`` + ``icat`` as the oracle.

For every disk image in ``../shared/data/forensic-images`` and every image the
tests build (a FAT camera card with a deleted folder, an orphan and the
``_MG_``/``IMG_`` name collision; NTFS with a recycle bin, an alternate data
stream, a deleted file and an orphan; exFAT with a live and a deleted log of
one name; an image ending in a VHD footer; an MBR disk; a ``.raw.gz``), the
items of each file system (path, deleted or not, size, MD5) equal what the
Sleuth Kit's own tools give, orphans and streams included. Where ``fls``
cannot read a container (QCOW, DMG, shadow copies), the volume is first turned
into raw bytes with ``qemu-img`` or libvshadow, and TSK reads that.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import shutil
from pathlib import Path

import pytest

from safeguard.sources.disk import DiskImageSource

from conftest import require_shared
from disk_builders import (
    exfat_card,
    fat_camera_card,
    mbr_disk,
    ntfs_volume,
    require_tools,
    run,
    with_vhd_footer,
)
from tsk_oracle import differences, scanned_files, tsk_files

pytestmark = pytest.mark.slow


def _check(image: Path, volumes: list[tuple[str, Path, tuple[str, ...], str]]) -> None:
    """``volumes``: (our locator below the image, image for TSK, TSK options, fs kind)."""
    items = list(DiskImageSource.from_path(image, "X").items())
    problems = []
    for where, tsk_image, options, fs in volumes:
        expected = tsk_files(tsk_image, *options, fs=fs)
        assert expected, f"the oracle lists nothing in {where}"
        problems += [
            f"{where}: {line}"
            for line in differences(expected, scanned_files(items, f"X / {where} / "))
        ]
    assert not problems, "\n".join(problems)


def _converted(image: Path, tmp_path: Path, source_format: str) -> Path:
    require_tools("qemu-img")
    raw = tmp_path / f"{image.name}.raw"
    run("qemu-img", "convert", "-f", source_format, "-O", "raw", image, raw)
    return raw


def _forensic(*parts: str) -> Path:
    return require_shared("forensic-images", *parts)


@pytest.mark.parametrize(
    ("name", "where", "options"),
    [
        ("synthetic/fat12-synthetic.raw", "FAT12", ()),
        ("synthetic/fat12-synthetic.E01", "FAT12", ()),
        ("synthetic/mbr-fat16-synthetic.E01", "partition 1 / FAT16", ("-o", "2048")),
        ("dfvfs/ext2.E01", "ext2", ()),
        ("dfvfs/ext2.vmdk", "ext2", ()),
        ("dfvfs/ext2.vhd", "ext2", ()),
        ("dfvfs/hfsplus.raw", "HFS+", ()),
        ("dfvfs/iso9660.raw", "ISO 9660", ()),
    ],
)
def test_images_tsk_reads_directly(name, where, options):
    require_tools("fls", "icat", "istat")
    image = _forensic(*name.split("/"))
    fs = "hfs" if "HFS" in where else "other"
    _check(image, [(where, image, options, fs)])


@pytest.mark.parametrize(
    ("name", "source_format", "where", "options", "fs"),
    [
        ("ext2.qcow2", "qcow2", "ext2", (), "other"),
        ("windows_volume.qcow2", "qcow2", "NTFS", (), "ntfs"),
        ("hfsplus_zlib.dmg", "dmg", "partition 1 / HFS+", ("-o", "40"), "hfs"),
    ],
)
def test_containers_tsk_reads_once_converted(tmp_path, name, source_format, where, options, fs):
    require_tools("fls", "icat", "istat")
    image = _forensic("dfvfs", name)
    _check(image, [(where, _converted(image, tmp_path, source_format), options, fs)])


def test_apfs_read_through_dfvfs_equals_tsk_pool_reading():
    """TSK reads APFS only given the volume's superblock (``pstat``); dfVFS finds it alone."""
    require_tools("fls", "icat", "istat", "pstat")
    image = _forensic("dfvfs", "apfs.raw")
    block = re.search(rb"APSB Block Number: (\d+)", run("pstat", image)).group(1).decode()
    _check(image, [("APFS volume 1 / APFS", image, ("-P", "apfs", "-B", block), "apfs")])


def test_volume_shadow_copies_are_volumes_of_their_own(tmp_path):
    require_tools("fls", "icat", "istat")
    import pyvshadow

    image = _forensic("dfvfs", "vsstest.qcow2")
    raw = _converted(image, tmp_path, "qcow2")
    volumes = [("NTFS", raw, (), "ntfs")]
    shadow = pyvshadow.volume()
    with raw.open("rb") as stream:
        shadow.open_file_object(stream)
        for index in range(shadow.number_of_stores):
            store_raw = tmp_path / f"store{index}.raw"
            _copy_sparse(shadow.get_store(index), store_raw)
            volumes.append((f"shadow copy {index + 1} / NTFS", store_raw, (), "ntfs"))
    assert len(volumes) == 3
    _check(image, volumes)


def _copy_sparse(store, target: Path, chunk: int = 4 << 20) -> None:
    size = store.volume_size
    with target.open("wb") as out:
        out.truncate(size)
        for offset in range(0, size, chunk):
            store.seek(offset)
            data = store.read(min(chunk, size - offset))
            if data.strip(b"\0"):
                out.seek(offset)
                out.write(data)


def test_fat_camera_card_collision_deleted_folder_and_orphan(tmp_path):
    require_tools("fls", "icat", "istat")
    card = fat_camera_card(tmp_path / "card.img")
    _check(card, [("FAT16", card, (), "fat")])
    names = [str(item.locator) for item in DiskImageSource.from_path(card, "X").items()]
    assert "X / FAT16 / DCIM/_MG_0001.JPG" in names
    assert "X / FAT16 / DCIM/_MG_0001.JPG [inode 517]" in names
    assert "X / FAT16 / $OrphanFiles/_otes.dat" in names


def test_ntfs_recycle_bin_stream_deleted_file_and_orphan(tmp_path):
    require_tools("fls", "icat", "istat")
    volume = ntfs_volume(tmp_path / "ntfs.img")
    _check(volume, [("NTFS", volume, (), "ntfs")])
    items = {str(i.locator): i for i in DiskImageSource.from_path(volume, "X").items()}
    hidden = items["X / NTFS / Users/bob/notes.txt:secret.jpg"]
    assert hidden.size == len(require_shared("forensic-images", "synthetic", "pictures",
                                             "gradient_small.jpg").read_bytes())  # fmt: skip
    assert any("$RECYCLE.BIN/" in name and "$R8F2KQ1.jpg" in name for name in items)
    assert items["X / NTFS / $OrphanFiles/lost.png"].allocation.value == "deleted"
    assert items["X / NTFS / Users/bob/Pictures/gone.jpg"].allocation.value == "deleted"


def test_exfat_live_and_deleted_log_of_one_name(tmp_path):
    require_tools("fls", "icat", "istat")
    card = exfat_card(tmp_path / "exfat.img")
    _check(card, [("exFAT", card, (), "exfat")])


def test_raw_image_ending_in_a_vhd_footer_is_read_as_raw(tmp_path):
    require_tools("fls", "icat", "istat")
    card = fat_camera_card(tmp_path / "card.img")
    image = with_vhd_footer(card, tmp_path / "footer.dd")
    _check(image, [("FAT16", image, ("-i", "raw"), "fat")])


def test_mbr_disk_partition(tmp_path):
    require_tools("fls", "icat", "istat")
    card = fat_camera_card(tmp_path / "card.img")
    disk = mbr_disk(tmp_path / "disk.img", [card.read_bytes()])
    _check(disk, [("partition 1 / FAT16", disk, ("-o", "2048"), "fat")])


@pytest.mark.parametrize("compression", [gzip, bz2, lzma], ids=["gz", "bz2", "xz"])
def test_compressed_raw_image(tmp_path, compression):
    require_tools("fls", "icat", "istat")
    volume = ntfs_volume(tmp_path / "ntfs.img")
    packed = tmp_path / "ntfs.raw.packed"
    with volume.open("rb") as raw, compression.open(packed, "wb") as out:
        shutil.copyfileobj(raw, out)
    from safeguard.sources.exhibit import open_exhibit

    items = list(open_exhibit(packed, "X").items)
    expected = tsk_files(volume, fs="ntfs")
    assert not differences(expected, scanned_files(items, "X / NTFS / "))
