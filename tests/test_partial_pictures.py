"""Pictures that are not whole or not decodable here: truncated, raw, JPEG XL, sequences.

A truncated picture is hashed from its decodable part as the reference hasher
does (Pillow's truncated loading, then the 512x512 squash), and says so; a raw
photo is hashed through its embedded JPEG preview; a picture with no decoder here
is typed, counted and listed as an image that was not decoded, never as a video,
unknown bytes or an error of the scan.
"""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageFile

from safeguard.media.images import PDQ_SQUASH_SIDE, PdqMode
from safeguard.signals import PDQ
from safeguard.signals.extract import HashOptions, hash_file

from conftest import init_store, jsonl, run_cli

EXACT = HashOptions(pdq_mode=PdqMode.EXACT)


def _reference_on_truncated(data: bytes) -> bytes:
    """Meta's C++ (pdqhash) on what Pillow's truncated loading decodes, squashed to 512."""
    saved, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    rows, cols = pixels.shape[:2]
    if rows > PDQ_SQUASH_SIDE or cols > PDQ_SQUASH_SIDE:
        picked_rows = np.arange(PDQ_SQUASH_SIDE) * rows // PDQ_SQUASH_SIDE
        picked_cols = np.arange(PDQ_SQUASH_SIDE) * cols // PDQ_SQUASH_SIDE
        pixels = pixels[picked_rows][:, picked_cols]
    vector, _ = pdqhash.compute(np.ascontiguousarray(pixels))
    return np.packbits(vector.astype(np.uint8)).tobytes()


def test_truncated_jpeg_is_hashed_from_its_decodable_part(tmp_path, corpus):
    photos = sorted((corpus / "bsds500" / "test").glob("*.jpg"))[:3]
    for photo in photos:
        whole = photo.read_bytes()
        cut = tmp_path / photo.name
        cut.write_bytes(whole[: len(whole) * 2 // 3])
        result = hash_file(str(cut), EXACT)
        assert result.error == "truncated: hashed the decodable part"
        assert result.pdq.value == _reference_on_truncated(cut.read_bytes()), photo.name
        # The top two thirds are the picture's own: still close to the whole photo's hash.
        complete = hash_file(str(photo), EXACT).pdq.value
        assert PDQ.distance(result.pdq.value, complete) < 128


def test_truncated_loading_stays_off_for_everyone_else(corpus):
    photo = sorted((corpus / "bsds500" / "test").glob("*.jpg"))[0].read_bytes()
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        Image.open(io.BytesIO(photo[: len(photo) // 2])).load()
    except OSError as error:
        assert "truncated" in str(error)
    else:
        raise AssertionError("a truncated picture loaded without anyone asking for it")


def _nikon_raw(preview: bytes | None) -> bytes:
    """A NEF-shaped file: TIFF IFD0 naming NIKON, a small thumbnail, sensor bytes, a preview."""
    thumbnail = io.BytesIO()
    Image.new("RGB", (160, 120), (90, 120, 150)).save(thumbnail, "JPEG")
    sensor = bytes((index * 37) % 251 for index in range(200_000))  # stands for raw data
    make = b"NIKON CORPORATION\0"
    header = b"II*\x00" + struct.pack("<IH", 8, 1)
    header += struct.pack("<HHII", 0x010F, 2, len(make), 26) + b"\0\0\0\0" + make
    return header + thumbnail.getvalue() + sensor + (preview or b"")


def test_raw_photo_is_hashed_through_its_embedded_preview(tmp_path, photo):
    with Image.open(photo) as image:
        preview = io.BytesIO()
        image.resize((image.width * 2, image.height * 2)).save(preview, "JPEG", quality=92)
    (tmp_path / "DSC_0001.NEF").write_bytes(_nikon_raw(preview.getvalue()))
    (tmp_path / "preview.jpg").write_bytes(preview.getvalue())
    (tmp_path / "DSC_0002.NEF").write_bytes(_nikon_raw(None))
    raw, without, alone = (
        hash_file(str(tmp_path / name), EXACT)
        for name in ("DSC_0001.NEF", "DSC_0002.NEF", "preview.jpg")
    )
    assert raw.media_type.mime == "image/x-nikon-nef"
    assert raw.error == "camera raw: hashed its embedded JPEG preview"
    assert raw.pdq.value == alone.pdq.value
    assert (raw.width, raw.height) == (alone.width, alone.height)
    assert without.pdq is None and without.media_type.mime == "image/x-nikon-nef"
    assert without.error.startswith("image, not decodable here (image/x-nikon-nef")


@pytest.mark.slow
def test_pictures_without_a_decoder_are_counted_and_listed_not_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    exhibit = tmp_path / "phone"
    exhibit.mkdir()
    (exhibit / "photo.jxl").write_bytes(b"\xff\x0a" + bytes(range(256)) * 40)
    (exhibit / "burst.heics").write_bytes(
        struct.pack(">I", 24) + b"ftyphevc\0\0\0\0msf1hevc" + b"\0\0\0\x08mdat"
    )
    (exhibit / "IMG_0001.CR3").write_bytes(
        struct.pack(">I", 24) + b"ftypcrx \0\0\0\x01crx isom" + bytes(5000)
    )
    records = jsonl(run_cli("hash", "-r", str(exhibit)).stdout)
    assert {r["type"] for r in records} == {
        "image/jxl", "image/heic-sequence", "image/x-canon-cr3",
    }  # fmt: skip
    assert all(r["error"].startswith("image, not decodable here") for r in records)

    db = init_store(str(tmp_path / "case.db"))
    done = run_cli("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--json", "--db", db)
    summary = json.loads(done.stdout)
    assert summary["undecodable_images"] == 3
    assert (summary["errors"], summary["videos"], summary["images"]) == (0, 0, 0)
    html = run_cli("report", "--case", "C", "--format", "html", "--db", db).stdout
    assert "Pictures not decodable here (3)" in html and "burst.heics" in html
