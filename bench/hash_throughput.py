"""Images/s per core: Safeguard fast and exact PDQ against the pipelines the field uses.

    python bench/hash_throughput.py [--rounds 5] [--corpus-rounds 2]

Everything runs in this one process (one core), interleaved, in the same run:
* safeguard fast / exact: ``hash_file`` (read + MD5 + SHA-1 + SHA-256 + decode + PDQ);
* pdqhash full-res: Pillow decode to RGB at full size, then ``pdqhash.compute``
  (what HMA and python-threatexchange do);
* imagehash.phash: the common Python perceptual hash;
* floor: read + the three cryptographic hashes + Pillow decode in draft mode at the
  scale fast mode decodes at; what fast mode costs above it is our own overhead.
It also prints the fast-vs-exact Hamming distance distribution over the corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from safeguard.media.images import PDQ_SQUASH_SIDE, PdqMode
from safeguard.parallel import default_workers, ordered_map
from safeguard.signals import PDQ
from safeguard.signals.extract import HashOptions, hash_file

from _common import CORPUS, corpus_photos, interleaved_seconds

FAST = HashOptions(pdq_mode=PdqMode.FAST)
EXACT = HashOptions(pdq_mode=PdqMode.EXACT)


def safeguard_fast(path):
    return hash_file(str(path), FAST)


def safeguard_exact(path):
    return hash_file(str(path), EXACT)


def pdqhash_fullres(path):
    with Image.open(path) as image:
        return pdqhash.compute(np.asarray(image.convert("RGB")))


def imagehash_phash(path):
    with Image.open(path) as image:
        return imagehash.phash(image)


def _floor(path, draft_mode):
    data = path.read_bytes()
    for name in ("md5", "sha1", "sha256"):
        hashlib.new(name, data).digest()
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG" and min(image.size) >= 2 * PDQ_SQUASH_SIDE:
            image.draft(draft_mode or image.mode, (PDQ_SQUASH_SIDE, PDQ_SQUASH_SIDE))
        image.load()


def floor(path):
    """The decode fast mode does (luma-only at the same DCT scale) plus the three hashes."""
    _floor(path, "L")


def floor_rgb(path):
    """The same at the same scale but decoding to RGB, as a plain draft-mode pipeline would."""
    _floor(path, None)


METHODS = {
    "safeguard fast": safeguard_fast,
    "safeguard exact": safeguard_exact,
    "pdqhash full-res": pdqhash_fullres,
    "imagehash.phash": imagehash_phash,
    "floor (draft decode + 3 hashes)": floor,
    "floor, RGB draft decode": floor_rgb,
}


def _report(title: str, files: list, rounds: int) -> dict[str, float]:
    seconds = interleaved_seconds(METHODS, files, rounds)
    rate = {name: len(files) / s for name, s in seconds.items()}
    print(f"\n{title}: {len(files)} files, median of {rounds} interleaved rounds, 1 core")
    print(f"  {'method':34} {'images/s':>9} {'ms/image':>9}")
    for name in METHODS:
        print(f"  {name:34} {rate[name]:9.1f} {1000 / rate[name]:9.2f}")
    fast, exact = seconds["safeguard fast"], seconds["safeguard exact"]
    peer = seconds["pdqhash full-res"]
    print(
        f"  fast / floor time            = {fast / seconds['floor (draft decode + 3 hashes)']:.2f}x"
        "  (target <= 1.25x)"
    )
    print(f"  fast speed-up vs pdqhash     = {peer / fast:.1f}x  (target >= 10x on 12 MP)")
    print(f"  exact speed-up vs pdqhash    = {peer / exact:.1f}x  (target >= 3x)")
    print(f"  fast speed-up vs imagehash   = {seconds['imagehash.phash'] / fast:.1f}x")
    print(f"  fast / RGB-draft floor time  = {fast / seconds['floor, RGB draft decode']:.2f}x")
    return seconds


def _distance_pair(path: str) -> tuple[str, int | None]:
    fast, exact = hash_file(path, FAST), hash_file(path, EXACT)
    if fast.pdq is None or exact.pdq is None:
        return path, None
    return path, PDQ.distance(fast.pdq.value, exact.pdq.value)


def _fidelity(files: list) -> None:
    pairs = list(
        ordered_map(
            _distance_pair,
            [str(p) for p in files],
            workers=default_workers(),
            on_crash=lambda p, r: (p, None),
        )
    )
    distances = np.array([d for _, d in pairs if d is not None])
    reduced = [(p, d) for p, d in pairs if d is not None and d > 0]
    print(f"\nfast vs exact PDQ over the corpus ({len(distances)} photos)")
    print(
        f"  p50 {np.percentile(distances, 50):.0f}  p90 {np.percentile(distances, 90):.0f}  "
        f"p99 {np.percentile(distances, 99):.0f}  max {distances.max()}  "
        "(requirement: p99 <= 6, max <= 16)"
    )
    histogram = np.bincount(distances)
    print(
        "  histogram (bits: photos): "
        + ", ".join(f"{bits}: {n}" for bits, n in enumerate(histogram) if n)
    )
    print(f"  photos decoded at reduced scale (distance > 0): {len(reduced)}")
    for path, distance in reduced:
        print(f"    {distance:3d} bits  {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds for the large photos")
    parser.add_argument("--corpus-rounds", type=int, default=2, help="rounds for the corpus")
    parser.add_argument("--skip-corpus", action="store_true")
    args = parser.parse_args()
    photos = corpus_photos()
    large = [CORPUS / "highres" / "012mp-bus.jpg"]
    print(
        f"Python {sys.version.split()[0]}, Pillow {Image.__version__}, "
        f"pdqhash {pdqhash.__version__}"
    )
    _report("12 MP phone photo (4032x3024, 3.4 MB)", large, args.rounds)
    _report(
        "6 MP phone photo (2000x3008)", [CORPUS / "highres" / "006mp-cathedral.jpg"], args.rounds
    )
    if not args.skip_corpus:
        _report("whole corpus", photos, args.corpus_rounds)
    _fidelity(photos)


if __name__ == "__main__":
    main()
