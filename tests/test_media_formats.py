"""A format zoo built from a corpus photo: every colour mode and container decodes right.

Each variant is compared with the PDQ of the same pixels as a plain RGB image.
Lossless re-encodings of the same pixels must hash identically; lossy ones must
stay well inside the match threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from safeguard.media.images import PdqMode
from safeguard.signals import PDQ
from safeguard.signals.extract import HashOptions, hash_file

EXACT = HashOptions(pdq_mode=PdqMode.EXACT, dihedral=True)


def _hash(path: Path):
    result = hash_file(str(path), EXACT)
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def original(photo: Path) -> Image.Image:
    with Image.open(photo) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def reference(original: Image.Image, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("ref") / "original.png"
    original.save(path)
    return _hash(path).pdq.value


def _distance(result, reference: bytes) -> int:
    return PDQ.distance(result.pdq.value, reference)


# name, MIME expected from the bytes, how to write it, largest distance allowed
ZOO = [
    ("cmyk.jpg", "image/jpeg", lambda im, p: im.convert("CMYK").save(p, "JPEG", quality=95), 10),
    ("palette.png", "image/png", lambda im, p: im.quantize(256).save(p, "PNG"), 16),
    ("grey.png", "image/png", lambda im, p: im.convert("L").save(p, "PNG"), 8),
    ("bilevel.png", "image/png", lambda im, p: im.convert("1").save(p, "PNG"), 48),
    ("rgb.webp", "image/webp", lambda im, p: im.save(p, "WEBP", quality=90), 10),
    ("rgb.tiff", "image/tiff", lambda im, p: im.save(p, "TIFF"), 0),
    ("rgb.bmp", "image/bmp", lambda im, p: im.save(p, "BMP"), 0),
    ("rgb.avif", "image/avif", lambda im, p: im.save(p, "AVIF", quality=90), 12),
    (
        "rgb.heic",
        "image/heic",
        lambda im, p: pillow_heif.from_pillow(im).save(p, quality=90),
        12,
    ),
]


@pytest.mark.parametrize(("name", "mime", "write", "bound"), ZOO, ids=[z[0] for z in ZOO])
def test_format_zoo(tmp_path, original, reference, name, mime, write, bound):
    path = tmp_path / name
    write(original, path)
    result = _hash(path)
    assert result.media_type.mime == mime
    assert (result.width, result.height) == original.size
    assert _distance(result, reference) <= bound


def test_rgba_alpha_is_dropped_like_the_reference(tmp_path, original, reference):
    rgba = original.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(original.size))
    rgba.save(tmp_path / "rgba.png")
    assert _distance(_hash(tmp_path / "rgba.png"), reference) == 0


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path, original):
    grey8 = np.asarray(original.convert("L"))
    Image.fromarray(grey8).save(tmp_path / "grey8.png")
    Image.fromarray(grey8.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    grey16 = _hash(tmp_path / "grey16.png")
    with Image.open(tmp_path / "grey16.png") as check:
        assert check.mode.startswith("I")  # really a 16-bit file
    assert grey16.pdq.value == _hash(tmp_path / "grey8.png").pdq.value


def test_exif_orientation_is_ignored_and_rotations_match_by_dihedral(tmp_path, original):
    original.save(tmp_path / "plain.jpg", quality=92)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    original.save(tmp_path / "exif-rotated.jpg", quality=92, exif=exif)
    plain = _hash(tmp_path / "plain.jpg")
    tagged = _hash(tmp_path / "exif-rotated.jpg")
    assert tagged.pdq.value == plain.pdq.value  # PDQ ignores orientation, as the reference does

    original.transpose(Image.Transpose.ROTATE_270).save(tmp_path / "turned.jpg", quality=92)
    turned = _hash(tmp_path / "turned.jpg")
    assert PDQ.distance(turned.pdq.value, plain.pdq.value) > PDQ.default_threshold
    nearest = min(PDQ.distance(v, plain.pdq.value) for v in turned.pdq.dihedral.values())
    assert nearest <= 16  # re-encoding a rotated JPEG moves a few bits; 31 is a match


def test_animated_gif_hashes_its_first_frame(tmp_path, original, corpus):
    with Image.open(corpus / "bsds500" / "test" / "100007.jpg") as other:
        second = other.convert("RGB").resize(original.size)
    original.save(
        tmp_path / "anim.gif", save_all=True, append_images=[second, original], duration=100
    )
    second.save(tmp_path / "second.png")
    original.save(tmp_path / "first.png")
    anim = _hash(tmp_path / "anim.gif")
    with Image.open(tmp_path / "anim.gif") as check:
        assert check.n_frames == 3
    assert anim.media_type.mime == "image/gif"
    first = _hash(tmp_path / "first.png").pdq.value
    other = _hash(tmp_path / "second.png").pdq.value
    assert PDQ.distance(anim.pdq.value, first) <= 24
    assert PDQ.distance(anim.pdq.value, other) > PDQ.default_threshold


def test_type_comes_from_bytes_not_extension(tmp_path, original):
    original.save(tmp_path / "holiday.pdf", "PNG")
    original.save(tmp_path / "no-extension", "WEBP")
    assert _hash(tmp_path / "holiday.pdf").media_type.mime == "image/png"
    assert _hash(tmp_path / "no-extension").media_type.mime == "image/webp"
