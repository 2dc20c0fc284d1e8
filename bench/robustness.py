"""PDQ robustness baseline: recall and false matches under common transformations.

    python bench/robustness.py [--limit N]

Every corpus photo is transformed 12 ways; each copy is hashed with Safeguard
(fast mode, dihedral variants on) and compared with the PDQ of every original.
For each transform it prints the recall at distance <= 31 (the copy is within 31
bits of its own original), without and with dihedral variants, and the false
matches: pairs (copy of photo i, original of photo j != i) within 31 bits.
No target yet: this is the baseline later work must beat.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import DIHEDRAL_NAMES, PDQ
from safeguard.signals.extract import HashOptions, hash_content

from _common import corpus_photos

OPTIONS = HashOptions(dihedral=True)
THRESHOLD = PDQ.default_threshold


def _crop(fraction: float) -> Callable[[Image.Image], Image.Image]:
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        dx, dy = int(w * fraction), int(h * fraction)
        return image.crop((dx, dy, w - dx, h - dy))

    return crop


def _text_band(image: Image.Image) -> Image.Image:
    out = image.copy()
    w, h = out.size
    band = int(h * 0.2)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - band, w, h), fill=(255, 255, 255))
    draw.text((10, h - band + band // 3), "shared 3 times - reply", fill=(0, 0, 0))
    return out


def _pad(image: Image.Image) -> Image.Image:
    w, h = image.size
    out = Image.new("RGB", (int(w * 1.2), int(h * 1.2)))
    out.paste(image, (int(w * 0.1), int(h * 0.1)))
    return out


def _screenshot(image: Image.Image) -> Image.Image:
    w, h = image.size
    small = image.resize((int(w * 0.7), int(h * 0.7)), Image.BILINEAR)
    return _crop(0.03)(small)


# name -> (transform, JPEG quality the copy is saved at)
TRANSFORMS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "jpeg q30": (lambda im: im, 30),
    "resize 0.5": (lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS), 95),
    "blur r=2": (lambda im: im.filter(ImageFilter.GaussianBlur(2)), 95),
    "brightness x1.3": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), 95),
    "greyscale": (lambda im: im.convert("L").convert("RGB"), 95),
    "20% text band": (_text_band, 95),
    "horizontal flip": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 95),
    "crop 5%/side": (_crop(0.05), 95),
    "crop 10%/side": (_crop(0.10), 95),
    "rotate 5 deg": (lambda im: im.rotate(5, resample=Image.BILINEAR), 95),
    "pad 20% black": (_pad, 95),
    "screenshot-like": (_screenshot, 70),
}


def _pdq_of(image: Image.Image, quality: int | None) -> np.ndarray:
    buffer = io.BytesIO()
    if quality is None:
        image.save(buffer, "PNG")
    else:
        image.save(buffer, "JPEG", quality=quality)
    result = hash_content("copy", lambda: io.BytesIO(buffer.getvalue()), OPTIONS)
    if result.pdq is None:
        raise RuntimeError(result.error)
    return np.frombuffer(b"".join(result.pdq.dihedral[n] for n in DIHEDRAL_NAMES), np.uint8)


def _hash_photo(path: str) -> dict[str, np.ndarray]:
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    hashes = {"original": _pdq_of(image, None)}
    for name, (transform, quality) in TRANSFORMS.items():
        hashes[name] = _pdq_of(transform(image), quality)
    return hashes


def _distances(queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Hamming distances between every query (n, 32 bytes) and every index entry (m, 32 bytes)."""
    q = queries.view(np.uint64)
    x = index.view(np.uint64)
    return np.bitwise_count(q[:, None, :] ^ x[None, :, :]).sum(axis=2, dtype=np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    args = parser.parse_args()
    photos = [str(p) for p in corpus_photos()]
    if args.limit:
        photos = photos[: args.limit]
    rows = list(
        ordered_map(_hash_photo, photos, workers=default_workers(), on_crash=lambda p, r: None)
    )
    rows = [r for r in rows if r is not None]
    n = len(rows)
    originals = np.stack([r["original"][:32] for r in rows])
    baseline = _distances(originals, originals)
    np.fill_diagonal(baseline, 999)
    print(f"{n} corpus photos, PDQ (Safeguard fast mode), match = distance <= {THRESHOLD}")
    print(
        f"false matches among the {n * (n - 1) // 2:,} pairs of distinct originals: "
        f"{int((baseline <= THRESHOLD).sum() // 2)}\n"
    )
    header = (
        f"{'transform':18} {'recall':>7} {'recall+dih':>10} {'median d':>8} "
        f"{'false':>6} {'false+dih':>9}"
    )
    print(header)
    print("-" * len(header))
    off_diagonal = ~np.eye(n, dtype=bool)
    for name in TRANSFORMS:
        variants = np.stack([r[name] for r in rows]).reshape(n, 8, 32)
        plain = _distances(variants[:, 0], originals)
        dihedral = np.min([_distances(variants[:, k], originals) for k in range(8)], axis=0)
        own, own_dih = np.diag(plain), np.diag(dihedral)
        print(
            f"{name:18} {np.mean(own <= THRESHOLD):7.1%} {np.mean(own_dih <= THRESHOLD):10.1%} "
            f"{np.median(own):8.0f} {int(((plain <= THRESHOLD) & off_diagonal).sum()):6d} "
            f"{int(((dihedral <= THRESHOLD) & off_diagonal).sum()):9d}"
        )


if __name__ == "__main__":
    main()
