"""vPDQ: frames as the reference selects and numbers them, hashes close to upstream's,
the bag-of-frames comparison, and every damaged or odd video a recorded error.

The reference check uses Meta's 14 benign sample videos with upstream's per-frame
hashes (every frame; ``-128x128``: frames downscaled first). vPDQ depends on the
decoder build, so frame counts and timestamps must be identical while hashes need
only be close: of frames with quality >= 50, at least 95 % within 8 bits of
upstream's, none beyond 31.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from safeguard.errors import DecodeError, UnsupportedMediaError
from safeguard.media.options import DecodeLimits
from safeguard.media.video import VideoDecoder, frame_step
from safeguard.signals import VPDQ
from safeguard.signals.extract import HashOptions, hash_content
from safeguard.signals.vpdq import reference_text

from conftest import require_shared, run_cli
from video_builders import audio_only, encode_video, moving_picture, panning_photo

CLIP = "chair-20-sd-bar"


def _samples():
    hashes = require_shared("pdq-reference", "upstream", "vpdq", "sample-hashes")
    videos = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    for expected in sorted(hashes.glob("*.txt")):
        video = videos / f"{expected.stem.removesuffix('-128x128')}.mp4"
        if expected.name != "README.md" and video.exists():
            yield expected, video


def _hash_sample(expected, video):
    size = (128, 128) if expected.stem.endswith("-128x128") else None
    with video.open("rb") as stream:
        decoder = VideoDecoder(stream, DecodeLimits(), seconds_per_hash=0, size=size)
        ours = VPDQ.hash_frames(decoder.frames())
    theirs = VPDQ.decode(VPDQ.parse(expected.read_text()))
    assert [f.number for f in ours] == [f.number for f in theirs], expected.name
    assert [f"{f.timestamp:.3f}" for f in ours] == [f"{f.timestamp:.3f}" for f in theirs]
    return np.array(
        [
            (int.from_bytes(a.pdq, "big") ^ int.from_bytes(b.pdq, "big")).bit_count()
            for a, b in zip(ours, theirs, strict=True)
            if b.quality >= 50
        ]
    )


def test_one_sample_matches_upstream_frame_for_frame():
    expected, video = next((e, v) for e, v in _samples() if e.stem == f"{CLIP}-128x128")
    bits = _hash_sample(expected, video)
    assert len(bits) == 614 and np.mean(bits <= 8) >= 0.95 and bits.max() <= 31


@pytest.mark.slow
def test_every_sample_matches_upstream_frame_for_frame(capsys):
    spread = []
    for expected, video in _samples():
        bits = _hash_sample(expected, video)
        assert bits.max() <= 31, expected.name
        assert np.mean(bits <= 8) >= 0.8, expected.name  # the HD doorknob clip is the farthest
        spread.append(bits)
    bits = np.concatenate(spread)
    assert len(spread) >= 25 and np.mean(bits <= 8) >= 0.95
    with capsys.disabled():
        counts = np.bincount(bits)
        print(f"\nvPDQ against upstream: {len(bits):,} frames of quality >= 50; bits differing "
              f"{dict(enumerate(counts.tolist()))}")  # fmt: skip


def test_frames_are_sampled_as_the_reference_samples_them():
    assert frame_step(1, 30) == 30 and frame_step(0.5, 29.97) == 14
    assert frame_step(0, 30) == 1 and frame_step(1, 0.5) == 1  # never below every frame
    clip = encode_video(moving_picture(95), rate=30)
    decoder = VideoDecoder(io.BytesIO(clip), DecodeLimits(), seconds_per_hash=1)
    frames = list(decoder.frames())
    assert [f.number for f in frames] == [0, 30, 60, 90]
    assert [round(f.timestamp, 3) for f in frames] == [0.0, 1.0, 2.0, 3.0]
    assert decoder.info.frames_decoded == 95 and decoder.info.frame_rate == 30


def test_odd_sizes_and_variable_frame_rates_are_hashed():
    odd = encode_video(moving_picture(12, 33, 17), container="matroska", codec="ffv1",
                       pixel_format="bgr0")  # fmt: skip
    hashed = hash_content("odd.mkv", lambda: io.BytesIO(odd), HashOptions(seconds_per_hash=0))
    assert hashed.error is None and (hashed.width, hashed.height) == (33, 17)
    assert len(VPDQ.decode(hashed.values["vpdq"])) == 12
    irregular = [0, 1, 2, 5, 6, 12, 13, 14, 30, 31]  # a phone's variable frame rate
    vfr = encode_video(moving_picture(len(irregular)), timestamps=irregular)
    hashed = hash_content("vfr.mp4", lambda: io.BytesIO(vfr), HashOptions(seconds_per_hash=0))
    assert hashed.error is None
    assert [f.number for f in VPDQ.decode(hashed.values["vpdq"])] == list(range(10))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (audio_only(), "no video stream in it (audio only)"),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(40), "cannot read the video container"),
    ],
    ids=["audio only", "a header and nothing else"],
)
def test_a_video_that_cannot_be_hashed_is_a_recorded_error(data, expected):
    hashed = hash_content("x.mp4", lambda: io.BytesIO(data), HashOptions(seconds_per_hash=1))
    assert hashed.error is not None and expected in hashed.error
    assert "vpdq" not in hashed.values and hashed.values["sha256"]  # the exact hashes still stand
    with pytest.raises((DecodeError, UnsupportedMediaError)):
        list(VideoDecoder(io.BytesIO(data), DecodeLimits()).frames())


def test_a_video_cut_short_is_hashed_as_far_as_it_goes_and_flagged():
    whole = encode_video(moving_picture(120), container="matroska")
    cut = whole[: len(whole) * 2 // 3]
    hashed = hash_content("cut.mkv", lambda: io.BytesIO(cut), HashOptions(seconds_per_hash=0))
    frames = VPDQ.decode(hashed.values["vpdq"])
    assert 0 < len(frames) < 120 and hashed.video.frames_decoded == len(frames)
    assert hashed.error.startswith(f"truncated: hashed the {len(frames)} decodable frames")
    assert "of the 4.00 s it declares" in hashed.error
    complete = hash_content("whole.mkv", lambda: io.BytesIO(whole), HashOptions(seconds_per_hash=0))
    assert complete.error is None and len(VPDQ.decode(complete.values["vpdq"])) == 120
    mp4 = encode_video(moving_picture(120))  # its index is written last: cut, nothing opens
    cut_mp4 = hash_content("cut.mp4", lambda: io.BytesIO(mp4[: len(mp4) // 2]),
                           HashOptions(seconds_per_hash=0))  # fmt: skip
    assert cut_mp4.error.startswith("cannot read the video container")


def test_a_lossy_re_encode_matches_and_another_video_does_not(corpus):
    photos = sorted(corpus.glob("coco2017/val2017/*.jpg"))
    original = panning_photo(photos[0], 90)
    copy = encode_video(original, crf=35)  # re-encoded, much more lossy
    other = encode_video(panning_photo(photos[1], 90), rate=30)
    hash_of = {
        name: VPDQ.decode(
            hash_content(name, lambda d=data: io.BytesIO(d), HashOptions(seconds_per_hash=0.2))
            .values["vpdq"]
        )
        for name, data in {"original": encode_video(original), "copy": copy, "other": other}.items()
    }  # fmt: skip
    same = VPDQ.compare(hash_of["copy"], hash_of["original"])
    assert same.is_match() and same.query_percent == 100.0
    assert VPDQ.compare(hash_of["original"], hash_of["original"]).compared_percent == 100.0
    unrelated = VPDQ.compare(hash_of["other"], hash_of["original"])
    assert not unrelated.is_match() and unrelated.query_percent == 0.0


@pytest.mark.slow
def test_hash_writes_vpdq_frames_that_convert_to_the_reference_text(tmp_path):
    expected, video = next((e, v) for e, v in _samples() if e.stem == CLIP)
    line = json.loads(run_cli("hash", "--vpdq", "--seconds-per-hash", "0", str(video)).stdout)
    frames = line["vpdq"]
    assert line["type"] == "video/mp4" and (line["width"], line["height"]) == (480, 720)
    assert len(frames) == 614 and frames[1][:2] == [1, 100] and frames[1][3] == 0.033
    text = "".join(f"{n},{q},{h},{t:.3f}\n" for n, q, h, t in frames)
    assert reference_text(VPDQ.parse(text)) == text
    assert len(VPDQ.parse(expected.read_text())) == len(VPDQ.parse(text))
    csv_out = run_cli("hash", "--vpdq", "--format", "csv", str(video)).stdout.splitlines()
    assert csv_out[0].endswith(",error,vpdq")
    assert csv_out[1].count(";") == 20  # 614 frames at 30 fps: one hash a second, 21 frames
    plain = json.loads(run_cli("hash", str(video)).stdout)
    assert "vpdq" not in plain and plain["width"] is None  # without --vpdq: as before


@pytest.mark.parametrize(
    ("container", "codec", "mime"),
    [
        ("mp4", "libx264", "video/mp4"),
        ("mov", "libx265", "video/quicktime"),
        ("3gp", "mpeg4", "video/3gpp"),
        ("matroska", "libx264", "video/x-matroska"),
        ("webm", "libvpx", "video/webm"),
        ("webm", "libvpx-vp9", "video/webm"),
        ("mp4", "libsvtav1", "video/mp4"),
        ("avi", "mpeg4", "video/x-msvideo"),
    ],
)
def test_the_containers_and_codecs_of_the_field_are_hashed(container, codec, mime, corpus):
    """Each written by the PyAV wheel's own encoders, then sniffed, decoded and hashed."""
    photo = sorted(corpus.glob("coco2017/val2017/*.jpg"))[2]
    clip = encode_video(panning_photo(photo, 45, 176, 144), container=container, codec=codec,
                        rate=15)  # fmt: skip
    hashed = hash_content(f"clip.{container}", lambda: io.BytesIO(clip),
                          HashOptions(seconds_per_hash=1))  # fmt: skip
    assert hashed.media_type.mime == mime and hashed.error is None, hashed.error
    frames = VPDQ.decode(hashed.values["vpdq"])
    assert [f.number for f in frames] == [0, 15, 30] and frames[0].quality >= 50
