"""PDQ robustness: recall and false matches under common edits, with each tier of
variants (``--variants``): none, the query-side views (``query``: borders, bands and
quadrants of the query) and the variants enrolled with the known pictures (``all``).

    python bench/robustness.py [--limit N]

Split: the view and variant rules were tuned on the first 120 COCO val2017 photos (by
name); recall is reported on every other corpus photo (held out). Each held-out photo is
enrolled as ``safeguard lists enrol --variants geometric`` enrols it (exact-mode PDQ and
its geometric variants), then edited 30 ways; each copy is hashed as ``match`` hashes
it (fast mode, with dihedral variants and views) and compared with every enrolled photo.

Three edits fall on the enrolled grid (crops of 5 and 10 % a side, the off-centre crop
"grid": 10, 5, 5 and 10 % from the left, top, right and bottom); their neighbours off it
(7.5 % a side; 11, 4, 4, 11 %) show what the grid's spacing is worth.

For each edit it prints the recall at distance <= 31 (the copy found as its own photo)
plain, with dihedral variants, with the query tier, and with both tiers; then false
matches: a copy within 31 of another photo's entry, through any pair of its hashes and
that entry's variants (with the aligned-quadrant vote as the matcher counts it), and
the lowest such distance. Last, every pair of distinct corpus photos (all of them,
tuned ones too) with every variant on both sides, and the cost of each tier.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from safeguard.media.images import PdqMode
from safeguard.media.variants import inscribed
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import DIHEDRAL_NAMES, PDQ
from safeguard.signals.extract import HashOptions, hash_content, hash_file

from _common import corpus_photos

QUERY = HashOptions(dihedral=True, query_views=True)
ENROL = HashOptions(pdq_mode=PdqMode.EXACT, enrolment_variants=True, query_views=True)
TUNED_ON = 120  # the first COCO val2017 photos by name: the rules were tuned on them
THRESHOLD = PDQ.default_threshold
FAR = 255


# -- edits -------------------------------------------------------------------------


def _crop(left: float, top: float, right: float, bottom: float):
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)))

    return crop


def _canvas(image: Image.Image, size: tuple[int, int], at: tuple[int, int], colour) -> Image.Image:
    out = Image.new("RGB", size, colour)
    out.paste(image, at)
    return out


def _pad(fraction: float, colour=(0, 0, 0)):
    def pad(image: Image.Image) -> Image.Image:
        w, h = image.size
        size = (int(w * (1 + 2 * fraction)), int(h * (1 + 2 * fraction)))
        return _canvas(image, size, (int(w * fraction), int(h * fraction)), colour)

    return pad


def _pad_white_uneven(image: Image.Image) -> Image.Image:
    w, h = image.size
    return _canvas(image, (int(w * 1.3), int(h * 1.15)), (int(w * 0.05), int(h * 0.12)),
                   (255, 255, 255))  # fmt: skip


def _letterbox(image: Image.Image) -> Image.Image:
    w, h = image.size
    width = max(w, int(h * 16 / 9)) + 2
    return _canvas(image, (width, h), ((width - w) // 2, 0), (0, 0, 0))


def _text_band(image: Image.Image) -> Image.Image:
    out = image.copy()
    w, h = out.size
    band = int(h * 0.2)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - band, w, h), fill=(255, 255, 255))
    draw.text((10, h - band + band // 3), "shared 3 times - reply", fill=(0, 0, 0))
    return out


def _meme(image: Image.Image) -> Image.Image:
    w, h = image.size
    out = _canvas(image, (w, int(h * 1.25)), (0, int(h * 0.25)), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.text((12, int(h * 0.06)), "ME WHEN THE WEEKEND IS OVER", fill=(0, 0, 0))
    draw.text((12, int(h * 0.15)), "and the bus is late again", fill=(0, 0, 0))
    return out


def _sticker(image: Image.Image) -> Image.Image:
    """A round sticker of 6 % of the area over the picture, off centre."""
    out = image.copy()
    w, h = out.size
    radius = int((0.06 * w * h / np.pi) ** 0.5)
    cx, cy = int(w * 0.68), int(h * 0.35)
    draw = ImageDraw.Draw(out)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(250, 205, 40),
                 outline=(40, 40, 40), width=3)  # fmt: skip
    draw.text((cx - radius // 2, cy - 5), "LOL", fill=(40, 40, 40))
    return out


def _corner_logo(image: Image.Image) -> Image.Image:
    """A channel's logo over 10 % of the area, in the bottom right corner."""
    out = image.copy()
    w, h = out.size
    lw, lh = int(w * 0.4), int(h * 0.25)
    draw = ImageDraw.Draw(out)
    draw.rectangle((w - lw, h - lh, w, h), fill=(20, 60, 160))
    draw.text((w - lw + 12, h - lh // 2 - 6), "@somechannel", fill=(255, 255, 255))
    return out


def _noise(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(pixels.size).normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def _square(image: Image.Image) -> Image.Image:
    w, h = image.size
    side = min(w, h)
    return image.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2))


def _rotate_cut(image: Image.Image) -> Image.Image:
    """Turned 3.5 degrees (between two enrolled angles), then cut to the largest centred
    rectangle of its shape free of corners."""
    turned = np.asarray(image.rotate(3.5, resample=Image.Resampling.BILINEAR))
    return Image.fromarray(inscribed(turned, 3.5))


def _phone(image: Image.Image) -> Image.Image:
    """Shown on a phone: a dark screen with status and caption text around the picture."""
    width = 720
    shown = image.resize((width, int(image.height * width / image.width)), Image.BILINEAR)
    out = _canvas(shown, (width, max(1560, shown.height + 400)), (0, 0), (18, 18, 18))
    top = (out.height - shown.height) // 2
    out = _canvas(shown, out.size, (0, top), (18, 18, 18))
    draw = ImageDraw.Draw(out)
    draw.text((20, 20), "9:41        5G  87%", fill=(230, 230, 230))
    draw.text((20, top - 40), "someone_12  - 2h", fill=(230, 230, 230))
    draw.text((20, top + shown.height + 20), "look at this lol", fill=(230, 230, 230))
    return out


def _desktop(image: Image.Image) -> Image.Image:
    """Shown in a viewer window on a 1920 x 1080 desktop: title bar, grey surround, taskbar."""
    out = Image.new("RGB", (1920, 1080), (32, 86, 140))
    draw = ImageDraw.Draw(out)
    draw.rectangle((200, 80, 1720, 980), fill=(60, 60, 60))
    draw.rectangle((200, 80, 1720, 115), fill=(230, 230, 230))
    draw.text((215, 90), "IMG_2041.jpg - Photos", fill=(0, 0, 0))
    draw.rectangle((0, 1040, 1920, 1080), fill=(20, 20, 20))
    draw.text((1800, 1052), "14:02", fill=(255, 255, 255))
    scale = min(1480 / image.width, 845 / image.height)
    shown = image.resize((int(image.width * scale), int(image.height * scale)), Image.BILINEAR)
    out.paste(shown, (960 - shown.width // 2, 120 + (855 - shown.height) // 2))
    return out


def _screenshot_like(image: Image.Image) -> Image.Image:
    w, h = image.size
    return _crop(0.03, 0.03, 0.03, 0.03)(image.resize((int(w * 0.7), int(h * 0.7)), Image.BILINEAR))


FILLERS: list[Image.Image] = []  # three tuned-on photos, never enrolled: the collage's others


def _collage(image: Image.Image) -> Image.Image:
    """The photo top left in a 2 x 2 grid of 600 x 450 tiles with three other photos."""
    out = Image.new("RGB", (1200, 900), (255, 255, 255))
    for position, tile in enumerate([image, *FILLERS]):
        out.paste(tile.resize((596, 446), Image.BILINEAR), (600 * (position % 2) + 2,
                                                            450 * (position // 2) + 2))  # fmt: skip
    return out


EDITS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "jpeg q30": (lambda im: im, 30),
    "resize 0.5": (lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS), 95),
    "blur r=2": (lambda im: im.filter(ImageFilter.GaussianBlur(2)), 95),
    "noise sd 12": (_noise, 95),
    "brightness x1.3": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), 95),
    "greyscale": (lambda im: im.convert("L").convert("RGB"), 95),
    "squash 16:9": (lambda im: im.resize((im.width, im.width * 9 // 16), Image.BILINEAR), 90),
    "horizontal flip": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 95),
    "rotate 90": (lambda im: im.transpose(Image.Transpose.ROTATE_90), 95),
    "rotate 180": (lambda im: im.transpose(Image.Transpose.ROTATE_180), 95),
    "crop 5%/side": (_crop(0.05, 0.05, 0.05, 0.05), 95),
    "crop 10%/side": (_crop(0.10, 0.10, 0.10, 0.10), 95),
    "crop 7.5%/side": (_crop(0.075, 0.075, 0.075, 0.075), 95),
    "off-centre 15%, grid": (_crop(0.10, 0.05, 0.05, 0.10), 95),
    "off-centre 15%, off": (_crop(0.11, 0.04, 0.04, 0.11), 95),
    "square crop": (_square, 95),
    "rotate 5 deg": (lambda im: im.rotate(5, resample=Image.BILINEAR), 95),
    "rotate 3.5 deg, cut": (_rotate_cut, 95),
    "pad 5% black": (_pad(0.05), 95),
    "pad 20% black": (_pad(0.20), 95),
    "pad white, uneven": (_pad_white_uneven, 90),
    "letterbox 16:9": (_letterbox, 90),
    "20% text band": (_text_band, 95),
    "meme caption": (_meme, 90),
    "sticker 6%": (_sticker, 90),
    "corner logo 10%": (_corner_logo, 90),
    "desktop screenshot": (_desktop, 85),
    "phone screenshot": (_phone, 85),
    "screenshot-like": (_screenshot_like, 70),
    "2x2 collage": (_collage, 85),
}


# -- hashing -----------------------------------------------------------------------


def _hashed(data: bytes, options: HashOptions) -> dict[str, list[bytes]]:
    """A picture's PDQs by role: ``own``, ``dihedral`` (its 8, own first), ``views``
    (trim, band), ``tile-1``..``tile-4`` (its quadrants), and when enrolled ``variants``
    (its geometric ones) and ``enrolled-tile-1``..4 (its quadrants, enrolled)."""
    result = hash_content("copy", lambda: io.BytesIO(data), options)
    if result.pdq is None:
        raise RuntimeError(result.error)
    dihedral = result.pdq.dihedral or {"original": result.pdq.value}
    found = {
        "own": [result.pdq.value],
        "dihedral": [dihedral[n] for n in DIHEDRAL_NAMES if n in dihedral],
        "views": [v for k, v in result.views.items() if not k.startswith("tile-")],
        "variants": [v for k, v in result.variants.items() if not k.startswith("tile-")],
    }
    for n in range(1, 5):
        found[f"tile-{n}"] = [result.views[f"tile-{n}"]] if f"tile-{n}" in result.views else []
        tile = result.variants.get(f"tile-{n}")
        found[f"enrolled-tile-{n}"] = [tile] if tile else []
    return found


def _encoded(image: Image.Image, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _hash_photo(job: tuple[str, bool]) -> dict:
    path, held_out = job
    with open(path, "rb") as handle:
        data = handle.read()
    found = {"original": _hashed(data, ENROL), "query original": _hashed(data, QUERY)}
    if held_out:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
        for name, (edit, quality) in EDITS.items():
            found[name] = _hashed(_encoded(edit(image), quality), QUERY)
    return found


# -- comparing ---------------------------------------------------------------------


def _nearest(queries: list[list[bytes]], entries: list[list[bytes]]) -> np.ndarray:
    """(len(queries), len(entries)): the least distance between any hash of query i and
    any hash of entry j; FAR where either has none."""
    q_sizes = np.array([len(g) for g in queries])
    e_sizes = np.array([len(g) for g in entries])
    filler = bytes(32)
    e_codes = np.frombuffer(b"".join(b"".join(g) or filler for g in entries), np.uint64)
    e_codes = e_codes.reshape(-1, 4)
    e_starts = np.concatenate(([0], np.cumsum(np.maximum(e_sizes, 1))[:-1]))
    out = np.full((len(queries), len(entries)), FAR, np.int32)
    for i, group in enumerate(queries):
        if not group:
            continue
        q = np.frombuffer(b"".join(group), np.uint64).reshape(-1, 4)
        d = np.bitwise_count(q[:, None, :] ^ e_codes[None, :, :]).sum(axis=2, dtype=np.int32)
        out[i] = np.minimum.reduceat(d.min(axis=0), e_starts)
    out[:, e_sizes == 0] = FAR
    del q_sizes
    return out


def _tiers(queries: list[dict], entries: list[dict]) -> dict[str, np.ndarray]:
    """The distance the matcher reports between each query and each entry, per tier: the
    rules of safeguard.matching (a quadrant of the query against the entry's own picture
    or, in a vote of two aligned, against its enrolled quadrants)."""

    def near(query_roles, entry_roles):
        return _nearest(
            [[v for role in query_roles for v in q[role]] for q in queries],
            [[v for role in entry_roles for v in e[role]] for e in entries],
        )

    tiles = [f"tile-{n}" for n in range(1, 5)]
    plain = near(["own"], ["own"])
    dihedral = near(["dihedral"], ["own"])
    viewed = np.minimum(dihedral, near(["views", *tiles], ["own"]))
    enrolled = near(["dihedral", "views"], ["variants"])
    aligned = np.sort(np.stack([near([tile], [f"enrolled-{tile}"]) for tile in tiles]), axis=0)[
        1
    ]  # the second nearest of four aligned quadrants: a vote of two
    both = np.minimum.reduce([viewed, enrolled, aligned])
    return {"plain": plain, "+dihedral": dihedral, "+query": viewed, "+enrolled": both}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N held-out photos")
    args = parser.parse_args()
    tuned = sorted(p for p in corpus_photos() if "val2017" in p.parts)[:TUNED_ON]
    held_out = [p for p in corpus_photos() if p not in set(tuned)]
    if args.limit:
        held_out = held_out[: args.limit]
    for filler in tuned[:3]:
        with Image.open(filler) as opened:
            FILLERS.append(opened.convert("RGB"))
    jobs = [(str(p), True) for p in held_out] + [(str(p), False) for p in tuned]
    started = time.perf_counter()
    rows = list(
        ordered_map(_hash_photo, jobs, workers=default_workers(), on_crash=lambda j, r: None)
    )
    lost = [job[0] for job, row in zip(jobs, rows, strict=True) if row is None]
    rows = [row for row in rows if row is not None]
    n = sum(1 for job, row in zip(jobs, rows, strict=False) if job[1])
    held, everyone = rows[:n], rows
    print(f"{len(rows)} corpus photos hashed in {time.perf_counter() - started:.0f} s "
          f"({len(lost)} unreadable); recall on the {n} held out from tuning; "
          f"match = distance <= {THRESHOLD}")  # fmt: skip
    entries = [row["original"] for row in held]
    per_entry = np.mean([len(e["variants"]) + sum(len(e[f"enrolled-tile-{k}"]) for k in range(1, 5))
                         for e in entries])  # fmt: skip
    print(f"enrolled: 1 + {per_entry:.1f} variants an entry on average\n")
    header = (f"{'edit':22} {'plain':>6} {'+dih':>6} {'+query':>7} {'+enrol':>7} "
              f"{'false':>6} {'lowest unrelated':>16}")  # fmt: skip
    print(header)
    print("-" * len(header))
    unrelated_pairs = false = 0
    lowest = FAR
    off_diagonal = ~np.eye(n, dtype=bool)
    for name in EDITS:
        tiers = _tiers([row[name] for row in held], entries)
        recall = {tier: np.mean(np.diag(d) <= THRESHOLD) for tier, d in tiers.items()}
        unrelated = tiers["+enrolled"][off_diagonal]
        unrelated_pairs += unrelated.size
        false += int((unrelated <= THRESHOLD).sum())
        lowest = min(lowest, int(unrelated.min()))
        print(f"{name:22} {recall['plain']:6.1%} {recall['+dihedral']:6.1%} "
              f"{recall['+query']:7.1%} {recall['+enrolled']:7.1%} "
              f"{int((unrelated <= THRESHOLD).sum()):6d} {int(unrelated.min()):16d}")  # fmt: skip
    print(f"\nedited copies against other photos' entries, every tier on: {false} false "
          f"matches in {unrelated_pairs:,} pairs, lowest distance {lowest}")  # fmt: skip
    both_sides = _tiers([row["query original"] for row in everyone],
                        [row["original"] for row in everyone])["+enrolled"]  # fmt: skip
    m = len(everyone)
    np.fill_diagonal(both_sides, FAR)
    print(f"corpus photos against each other ({m} x {m - 1} = {m * (m - 1):,} pairs), every "
          f"variant and view on both sides: {int((both_sides <= THRESHOLD).sum())} false "
          f"matches, lowest distance {int(both_sides.min())}")  # fmt: skip
    print(f"all unrelated pairs: {unrelated_pairs + m * (m - 1):,}")
    _cost(held_out[:40])


def _cost(photos) -> None:
    """Time to hash and match a photo with each tier (as ``match --variants`` does, against
    a store holding the photos enrolled with their variants), as a ratio to without; and
    the time to enrol one. Medians of 3 rounds."""
    import tempfile

    from safeguard.matching import Matcher
    from safeguard.media.options import Variants
    from safeguard.store import ListSpec, NewEntry, Store

    store = Store.open(f"{tempfile.mkdtemp(prefix='robustness-')}/store.db")
    enrol = HashOptions(pdq_mode=PdqMode.EXACT, enrolment_variants=True)
    started = time.perf_counter()
    enrolled = [hash_file(str(photo), enrol) for photo in photos]
    enrol_ms = (time.perf_counter() - started) / len(photos) * 1000
    rows = [
        NewEntry(k, v, "A", record=i) for i, h in enumerate(enrolled) for k, v in h.values.items()
    ]
    store.import_entries("graded", rows, spec=ListSpec(), collapse_duplicates=True)
    store.enrol_variants("graded", {h.pdq.value: h.variants for h in enrolled})
    tiers = {
        tier: (HashOptions(dihedral=True, query_views=tier.query_views),
               Matcher(store, enrolled_variants=tier.enrolled))
        for tier in Variants
    }  # fmt: skip
    times: dict[Variants, list[float]] = {tier: [] for tier in tiers}
    for _ in range(3):
        for tier, (options, matcher) in tiers.items():
            begun = time.perf_counter()
            for photo in photos:
                matcher.match_file(hash_file(str(photo), options), dihedral=True)
            times[tier].append(time.perf_counter() - begun)
    each = {tier: statistics.median(t) / len(photos) * 1000 for tier, t in times.items()}
    none = each[Variants.NONE]
    print(f"\ncost to hash and match a photo ({len(photos)} photos, fast mode, dihedral): "
          f"{none:.1f} ms without variants; query tier {each[Variants.QUERY]:.1f} ms = "
          f"{each[Variants.QUERY] / none:.2f}x (target <= 2x); both tiers "
          f"{each[Variants.ALL]:.1f} ms = {each[Variants.ALL] / none:.2f}x; enrolling a photo "
          f"with its variants (exact mode) {enrol_ms:.0f} ms")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
