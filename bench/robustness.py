"""PDQ robustness: recall and false matches under common transformations, without and
with the query-side views (``--variants query``: borders, letterbox and bands cut away).

    python bench/robustness.py [--limit N]

Every corpus photo is transformed 16 ways; each copy is hashed with Safeguard (fast
mode, dihedral variants and views on) and compared with the PDQ of every original. For
each transform it prints the recall at distance <= 31 (the copy within 31 bits of its own
original) plain, with dihedral variants, and with dihedral variants and views; and the
false matches, pairs (copy of photo i, original of photo j != i) within 31 bits, with the
lowest such distance. The view rules were tuned on the first 120 COCO val2017 photos (by
name); those are left out here, so every figure is on photos held out from the tuning.
Last, the cost: the time to hash a photo with views, as a ratio to without.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import DIHEDRAL_NAMES, PDQ
from safeguard.signals.extract import HashOptions, hash_content

from _common import corpus_photos

OPTIONS = HashOptions(dihedral=True, query_views=True)
TUNED_ON = 120  # the first COCO val2017 photos by name: the view rules were tuned on them
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


def _pad_white_asymmetric(image: Image.Image) -> Image.Image:
    w, h = image.size
    out = Image.new("RGB", (int(w * 1.3), int(h * 1.15)), (255, 255, 255))
    out.paste(image, (int(w * 0.05), int(h * 0.12)))
    return out


def _letterbox(image: Image.Image) -> Image.Image:
    w, h = image.size
    width = max(w, int(h * 16 / 9)) + 2
    out = Image.new("RGB", (width, h))
    out.paste(image, ((width - w) // 2, 0))
    return out


def _meme(image: Image.Image) -> Image.Image:
    w, h = image.size
    out = Image.new("RGB", (w, int(h * 1.25)), (255, 255, 255))
    out.paste(image, (0, int(h * 0.25)))
    draw = ImageDraw.Draw(out)
    draw.text((12, int(h * 0.06)), "ME WHEN THE WEEKEND IS OVER", fill=(0, 0, 0))
    draw.text((12, int(h * 0.15)), "and the bus is late again", fill=(0, 0, 0))
    return out


def _phone(image: Image.Image) -> Image.Image:
    """Shown on a phone: a dark screen with status and caption text around the picture."""
    width = 720
    shown = image.resize((width, int(image.height * width / image.width)), Image.BILINEAR)
    out = Image.new("RGB", (width, max(1560, shown.height + 400)), (18, 18, 18))
    top = (out.height - shown.height) // 2
    out.paste(shown, (0, top))
    draw = ImageDraw.Draw(out)
    draw.text((20, 20), "9:41        5G  87%", fill=(230, 230, 230))
    draw.text((20, top - 40), "someone_12  - 2h", fill=(230, 230, 230))
    draw.text((20, top + shown.height + 20), "look at this lol", fill=(230, 230, 230))
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
    "pad white, uneven": (_pad_white_asymmetric, 90),
    "letterbox 16:9": (_letterbox, 90),
    "meme caption": (_meme, 90),
    "phone screenshot": (_phone, 85),
    "screenshot-like": (_screenshot, 70),
}


def _pdq_of(image: Image.Image, quality: int | None) -> np.ndarray:
    """The copy's 8 dihedral PDQs, then its views' (none if it has none): (8 + k) x 32."""
    buffer = io.BytesIO()
    if quality is None:
        image.save(buffer, "PNG")
    else:
        image.save(buffer, "JPEG", quality=quality)
    result = hash_content("copy", lambda: io.BytesIO(buffer.getvalue()), OPTIONS)
    if result.pdq is None:
        raise RuntimeError(result.error)
    hashes = [result.pdq.dihedral[n] for n in DIHEDRAL_NAMES] + list(result.views.values())
    return np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, 32)


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
    tuned = set(sorted(p for p in corpus_photos() if "val2017" in p.parts)[:TUNED_ON])
    photos = [str(p) for p in corpus_photos() if p not in tuned]
    if args.limit:
        photos = photos[: args.limit]
    rows = list(
        ordered_map(_hash_photo, photos, workers=default_workers(), on_crash=lambda p, r: None)
    )
    rows = [r for r in rows if r is not None]
    n = len(rows)
    originals = np.stack([r["original"][0] for r in rows])
    baseline = _distances(originals, originals)
    np.fill_diagonal(baseline, 999)
    print(f"{n} corpus photos, PDQ (Safeguard fast mode), match = distance <= {THRESHOLD}")
    print(
        f"false matches among the {n * (n - 1) // 2:,} pairs of distinct originals: "
        f"{int((baseline <= THRESHOLD).sum() // 2)}\n"
    )
    header = (
        f"{'transform':18} {'recall':>7} {'+dih':>7} {'+views':>7} {'median d':>8} "
        f"{'false':>6} {'+views':>7} {'lowest unrelated':>16}"
    )
    print(header)
    print("-" * len(header))
    off_diagonal = ~np.eye(n, dtype=bool)
    for name in TRANSFORMS:
        plain = _distances(np.stack([r[name][0] for r in rows]), originals)
        dihedral = np.min([_distances(np.stack([r[name][k] for r in rows]), originals)
                           for k in range(8)], axis=0)  # fmt: skip
        viewed = dihedral.copy()
        for i, r in enumerate(rows):  # the views a copy has (0, 1 or 2)
            if len(r[name]) > 8:
                viewed[i] = np.minimum(viewed[i], _distances(r[name][8:], originals).min(axis=0))
        own, own_dih, own_views = np.diag(plain), np.diag(dihedral), np.diag(viewed)
        unrelated = viewed[off_diagonal]
        print(
            f"{name:18} {np.mean(own <= THRESHOLD):7.1%} {np.mean(own_dih <= THRESHOLD):7.1%} "
            f"{np.mean(own_views <= THRESHOLD):7.1%} {np.median(own):8.0f} "
            f"{int(((plain <= THRESHOLD) & off_diagonal).sum()):6d} "
            f"{int((unrelated <= THRESHOLD).sum()):7d} {int(unrelated.min()):16d}"
        )
    _cost(photos[:40])


def _cost(photos: list[str]) -> None:
    """Time to hash a photo with views, as a ratio to without (medians of 3 rounds)."""
    from safeguard.signals.extract import hash_file

    plain = HashOptions(dihedral=True)
    times = {False: [], True: []}
    for _ in range(3):
        for views, options in ((False, plain), (True, OPTIONS)):
            started = time.perf_counter()
            for photo in photos:
                hash_file(photo, options)
            times[views].append(time.perf_counter() - started)
    without, with_views = (statistics.median(times[k]) / len(photos) for k in (False, True))
    print(f"\ncost: {with_views * 1000:.1f} ms a photo with views, {without * 1000:.1f} ms "
          f"without: {with_views / without:.2f}x (target <= 2x)")  # fmt: skip


if __name__ == "__main__":
    main()
