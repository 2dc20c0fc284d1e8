"""vPDQ hashing speed against Meta's ``vpdq`` package, on one core, in the same run.

    pip install vpdq   # builds against FFmpeg's development files (Debian: libav*-dev)
    python bench/video_throughput.py [--seconds 10] [--rounds 3]

Videos: pans and zooms over a shared photo (``_videos.film``), H.264 at 480, 720 and
1080 lines, ``--seconds`` long. For each, at one hash a second and at every frame:
frames hashed per second and seconds of video per second, ours and ``vpdq``'s
(``thread_count=1``), the process pinned to one core, the two interleaved round by
round (medians); the ratio is ours / vpdq's speed. Then our peak memory hashing a
short and a six-times-longer video (each in a fresh process): flat means the frames
are streamed, never held.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from safeguard.media.options import DecodeLimits
from safeguard.media.video import VideoDecoder
from safeguard.signals import VPDQ

from _common import corpus_photos, interleaved_seconds, peak_kib
from _videos import film


def ours(video: Path, seconds_per_hash: float) -> int:
    with video.open("rb") as stream:
        decoder = VideoDecoder(stream, DecodeLimits(), seconds_per_hash=seconds_per_hash)
        return len(VPDQ.hash_frames(decoder.frames()))


def theirs(video: Path, seconds_per_hash: float) -> int:
    import vpdq

    return len(vpdq.computeHash(str(video), seconds_per_hash=seconds_per_hash, thread_count=1))


def memory(video: Path) -> int:
    """Peak KiB of a fresh process hashing ``video`` at one frame a second."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); from video_throughput import ours;"
        "from _common import peak_kib; from pathlib import Path;"
        f"ours(Path({str(video)!r}), 1.0); print(peak_kib())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    try:
        import vpdq  # noqa: F401
    except ImportError:
        raise SystemExit(
            "needs the vpdq package: pip install vpdq (and FFmpeg's -dev files)"
        ) from None
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, for both
    work = Path(tempfile.mkdtemp(prefix="video-throughput-"))
    photo = corpus_photos()[0]
    print(f"{'video':>6s} {'mode':>11s} {'ours f/s':>9s} {'vpdq f/s':>9s} "
          f"{'ours vs/s':>9s} {'vpdq vs/s':>9s} {'ratio':>6s}")  # fmt: skip
    for height in (480, 720, 1080):
        video = film(photo, work / f"{height}p.mp4", seconds=arguments.seconds, height=height)
        for mode, seconds_per_hash in (("1 hash/s", 1.0), ("every frame", 0.0)):
            frames = ours(video, seconds_per_hash)
            methods = {
                "ours": lambda v, s=seconds_per_hash: ours(v, s),
                "vpdq": lambda v, s=seconds_per_hash: theirs(v, s),
            }
            taken = interleaved_seconds(methods, [video], arguments.rounds)
            speed = {name: arguments.seconds / t for name, t in taken.items()}
            print(f"{height:5d}p {mode:>11s} {frames / taken['ours']:9.1f} "
                  f"{frames / taken['vpdq']:9.1f} {speed['ours']:9.2f} {speed['vpdq']:9.2f} "
                  f"{speed['ours'] / speed['vpdq']:6.2f}")  # fmt: skip
    short = film(photo, work / "short.mp4", seconds=arguments.seconds, height=480)
    long = film(photo, work / "long.mp4", seconds=arguments.seconds * 6, height=480)
    print(f"peak memory, 480p at 1 hash/s: {memory(short) / 1024:.0f} MiB for "
          f"{arguments.seconds:.0f} s, {memory(long) / 1024:.0f} MiB for "
          f"{arguments.seconds * 6:.0f} s (this process: {peak_kib() / 1024:.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
