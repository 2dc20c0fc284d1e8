"""How far vPDQ matching survives the edits copies of a video go through, and that it
never matches an unrelated video.

    python bench/video_robustness.py [--films 8] [--seconds 10 60] [--out DIR]

Originals: ``--films`` pans and zooms over the shared photos (lengths spread over
``--seconds``, heights 480, 720 and 1080 in turn, H.264), plus Meta's benign sample
videos. Each original is edited (see ``_videos.EDITS``), every video is hashed as a
scan hashes it (one frame a second), and each edit is matched against its original
with the matcher's rule (80 % of the query's frames with a partner within 31 bits).

Printed: recall per edit, against originals banked at one frame a second (as a scan
banks them) and at every frame (as upstream's sample hashes are: a denser bank finds
clips and trims whose sampled frames fall between the bank's); false matches among
every pair of unrelated videos (originals and edits against every other original),
which must be 0.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from safeguard.signals import VPDQ
from safeguard.signals.extract import HashOptions, hash_file

from _common import SHARED_DATA, corpus_photos
from _videos import EDITS, film, frames_of

HEIGHTS = (480, 720, 1080)


def originals(work: Path, count: int, seconds: tuple[float, float]) -> list[Path]:
    photos = corpus_photos()
    made = []
    for number in range(count):
        length = seconds[0] + (seconds[1] - seconds[0]) * number / max(1, count - 1)
        photo = photos[(number * 37) % len(photos)]
        height = HEIGHTS[number % len(HEIGHTS)]
        made.append(film(photo, work / f"film-{number}.mp4", seconds=length, height=height))
    samples = SHARED_DATA / "pdq-reference" / "upstream" / "tmk" / "sample-videos"
    return made + sorted(samples.glob("*.mp4"))


def vpdq_of(video: Path, seconds_per_hash: float = 1.0):
    hashed = hash_file(str(video), HashOptions(seconds_per_hash=seconds_per_hash))
    if hashed.error and not hashed.error.startswith("truncated"):
        raise SystemExit(f"{video}: {hashed.error}")
    return VPDQ.decode(hashed.values[VPDQ.name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--films", type=int, default=8)
    parser.add_argument("--seconds", type=float, nargs=2, default=(10.0, 60.0))
    parser.add_argument("--out", type=Path, default=None, help="keep the videos here")
    arguments = parser.parse_args()
    work = arguments.out or Path(tempfile.mkdtemp(prefix="video-robustness-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sources = originals(work, arguments.films, tuple(arguments.seconds))
    hashes = {video: vpdq_of(video) for video in sources}
    dense = {video: vpdq_of(video, 0) for video in sources}
    edited: dict[str, dict[Path, list]] = {name: {} for name in EDITS}
    for video in sources:
        frames, rate = frames_of(video)
        for number, (name, edit) in enumerate(EDITS.items()):
            copy = edit(frames, rate, work / f"{video.stem}-edit{number}.mp4")
            edited[name][video] = vpdq_of(copy)
        del frames
    print(f"{len(sources)} originals ({arguments.films} filmed from photos, "
          f"{len(sources) - arguments.films} upstream samples), {len(EDITS)} edits each; "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(f"{'edit':28s} {'bank at 1 s':>18s} {'bank every frame':>18s}")
    for name, copies in edited.items():
        cells = []
        for bank in (hashes, dense):
            found = sum(VPDQ.compare(q, bank[v]).is_match() for v, q in copies.items())
            cells.append(f"{100 * found / len(copies):5.1f} % ({found:2d}/{len(copies)})")
        print(f"{name:28s} {cells[0]:>18s} {cells[1]:>18s}")
    queries = [(v, h) for v, h in hashes.items()] + [
        (v, h) for copies in edited.values() for v, h in copies.items()
    ]
    pairs = false = 0
    for origin, query in queries:
        for other in hashes:
            if other == origin or _same_scene(origin, other):
                continue
            pairs += 2
            false += VPDQ.compare(query, hashes[other]).is_match()
            false += VPDQ.compare(query, dense[other]).is_match()
    print(f"false matches: {false} of {pairs:,} unrelated pairs")


def _same_scene(a: Path, b: Path) -> bool:
    """Upstream's samples film the same chair (or pattern) several times: not unrelated."""
    return a.stem.split("-")[0] == b.stem.split("-")[0] and not a.stem.startswith("film")


if __name__ == "__main__":
    main()
