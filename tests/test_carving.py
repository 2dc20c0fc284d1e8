"""The structure-aware carver: whole pictures, fragments, embedded thumbnails."""

from __future__ import annotations

import io
import random
import zlib

from PIL import Image

from safeguard.sources.carving import carve


def _jpeg(photo, with_thumbnail: bool = False, size=(160, 120)) -> bytes:
    with Image.open(photo) as image:
        picture = image.convert("RGB").resize(size)
    buffer = io.BytesIO()
    if with_thumbnail:
        thumbnail = io.BytesIO()
        picture.resize((40, 30)).save(thumbnail, "JPEG")
        # An APP1 segment carrying a whole JPEG, as camera EXIF thumbnails do.
        app1 = b"Exif\0\0" + thumbnail.getvalue()
        picture.save(buffer, "JPEG", quality=85)
        data = buffer.getvalue()
        segment = b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
        return data[:2] + segment + data[2:]
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _png(photo) -> bytes:
    with Image.open(photo) as image:
        buffer = io.BytesIO()
        image.convert("RGB").resize((64, 48)).save(buffer, "PNG")
    return buffer.getvalue()


def _disk(parts: list[bytes | int]) -> tuple[bytes, list[int]]:
    """Filler (ints: that many pseudo-random bytes) and pictures; the bytes and offsets."""
    filler = random.Random(2026)  # fixed, so every run carves the same disk
    data, offsets = bytearray(), []
    for part in parts:
        if isinstance(part, int):
            noise = filler.randbytes(part)
            data += noise.replace(b"\xff\xd8\xff", b"\0\0\0").replace(b"\x89PNG", b"\0PNG")
        else:
            offsets.append(len(data))
            data += part
    return bytes(data), offsets


def _carve(data: bytes, regions=None):
    def read(offset: int, length: int) -> bytes:
        return data[offset : offset + length]

    return list(carve(read, regions or [(0, len(data))]))


def test_whole_pictures_are_carved_with_their_exact_extent(photo):
    jpeg, png = _jpeg(photo), _png(photo)
    data, (at_jpeg, at_png) = _disk([3000, jpeg, 777, png, 5000])
    found = _carve(data)
    assert [(f.kind, f.offset, f.length, f.complete) for f in found] == [
        ("jpeg", at_jpeg, len(jpeg), True),
        ("png", at_png, len(png), True),
    ]


def test_an_embedded_thumbnail_is_not_a_second_picture(photo):
    camera = _jpeg(photo, with_thumbnail=True)
    data, (at,) = _disk([512, camera, 512])
    found = _carve(data)
    assert [(f.offset, f.length, f.complete) for f in found] == [(at, len(camera), True)]


def test_overwritten_pictures_are_reported_as_fragments(photo):
    jpeg, png = _jpeg(photo, size=(320, 240)), _png(photo)
    broken_jpeg = jpeg[: len(jpeg) // 2]  # the rest overwritten by other data
    broken_png = bytearray(png)
    broken_png[60:80] = bytes(range(20))  # inside IHDR/IDAT: the CRC no longer holds
    data, (at_jpeg, at_png) = _disk([100, broken_jpeg, 2000, bytes(broken_png), 300])
    found = {f.kind: f for f in _carve(data)}
    assert found["jpeg"].offset == at_jpeg and not found["jpeg"].complete
    assert found["png"].offset == at_png and not found["png"].complete
    assert "CRC" in found["png"].problem
    assert found["png"].length < len(png)


def test_only_the_regions_given_are_searched(photo):
    jpeg = _jpeg(photo)
    data, (first, second) = _disk([1000, jpeg, 1000, jpeg, 1000])
    found = _carve(data, [(second - 10, len(data))])
    assert [f.offset for f in found] == [second]
    assert first < second


def test_a_picture_across_window_boundaries(photo, monkeypatch):
    import safeguard.sources.carving as carving

    monkeypatch.setattr(carving, "_WINDOW", 4096)
    jpeg = _jpeg(photo, size=(320, 240))
    data, (at,) = _disk([4096 - 1, jpeg, 9000])
    (found,) = _carve(data)
    assert (found.offset, found.length, found.complete) == (at, len(jpeg), True)
    assert zlib.crc32(data[found.offset : found.offset + found.length]) == zlib.crc32(jpeg)


def test_a_picture_ending_exactly_at_the_end_of_the_space_is_whole(photo):
    jpeg = _jpeg(photo)
    data, (at,) = _disk([700, jpeg])
    (found,) = _carve(data)
    assert (found.offset, found.length, found.complete) == (at, len(jpeg), True)
