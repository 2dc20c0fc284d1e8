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

import numpy as np
from _edits import EDITS, FILLERS
from PIL import Image

from safeguard.media.images import PdqMode
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import DIHEDRAL_NAMES, PDQ
from safeguard.signals.extract import HashOptions, hash_content, hash_file

from _common import corpus_photos

QUERY = HashOptions(dihedral=True, query_views=True)
ENROL = HashOptions(pdq_mode=PdqMode.EXACT, enrolment_variants=True, query_views=True)
TUNED_ON = 120  # the first COCO val2017 photos by name: the rules were tuned on them
THRESHOLD = PDQ.default_threshold
FAR = 255


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
