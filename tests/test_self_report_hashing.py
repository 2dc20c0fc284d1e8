"""The self-report page's hashes, computed in real browsers, against the server's.

Chromium (driven by Selenium) and Firefox ESR (not driven: the harness page POSTs its
results back) hash the 45 shipped PDQ reference pictures and corpus photos (ICC
tagged, 12 MP, EXIF-rotated in all seven ways) with the page's own modules. MD5 and
SHA-256 must be equal always; PDQ and quality equal to ``safeguard hash --pdq-mode
exact`` and marked ``exact`` for every opaque JPEG, PNG and WebP; a translucent PNG is
marked ``approximate``.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from browser_harness import Harness, run_firefox
from PIL import Image

from safeguard.media.images import PdqMode
from safeguard.signals.extract import HashOptions, hash_file

from conftest import IN_CI, require_shared

CORPUS_PHOTOS = (
    "coco2017/val2017/000000013004.jpg",
    "coco2017/val2017/000000009400.jpg",
    "coco2017/val2017/000000007888.jpg",
    "highres/012mp-bus.jpg",
    "bsds500/test/41029.jpg",
)


def _reference_pictures() -> dict:
    reference = require_shared("pdq-reference")
    with (reference / "expected" / "pdq-cpp-reference.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["image_in_this_folder"] == "yes"]
    return {
        f"ref-{n:02d}-{Path(r['path']).name}": reference / "upstream" / r["path"]
        for n, r in enumerate(rows)
    }


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, corpus) -> tuple[dict, set]:
    """Name -> file, and the names whose hash may only be approximate."""
    made = tmp_path_factory.mktemp("pictures")
    found = _reference_pictures()
    for name in CORPUS_PHOTOS:
        found[f"corpus-{Path(name).name}"] = require_shared("corpus", name)
    with Image.open(require_shared("corpus", CORPUS_PHOTOS[0])) as photo:
        photo = photo.convert("RGB")
        for orientation in range(2, 9):
            exif = Image.Exif()
            exif[0x0112] = orientation
            path = made / f"exif-{orientation}.jpg"
            photo.save(path, quality=90, exif=exif.tobytes())
            found[path.name] = path
        rgba = photo.convert("RGBA")
        alpha = np.tile(np.linspace(0, 255, rgba.width, dtype=np.uint8), (rgba.height, 1))
        rgba.putalpha(Image.fromarray(alpha))
        rgba.save(made / "translucent.png")
        found["translucent.png"] = made / "translucent.png"
        photo.save(made / "other.gif")  # formats the page hashes, not to the bit
        photo.save(made / "other.bmp")
        found.update({"other.gif": made / "other.gif", "other.bmp": made / "other.bmp"})
    found["video.mp4"] = require_shared(  # MD5 and SHA-256 only
        "pdq-reference", "upstream", "tmk", "sample-videos", "chair-22-sd-grey-bar.mp4"
    )
    return found, {"translucent.png", "other.gif", "other.bmp"}


def _expected(path) -> dict:
    hashed = hash_file(str(path), HashOptions(pdq_mode=PdqMode.EXACT))
    return {
        "md5": hashed.values["md5"].hex(),
        "sha256": hashed.values["sha256"].hex(),
        "pdq": hashed.pdq.value.hex() if hashed.pdq else None,
        "quality": hashed.pdq.quality if hashed.pdq else None,
    }


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _check(results: dict, pictures: dict, approximate: set, *, webgl: bool) -> None:
    """``webgl``: the browser reads transparent pixels back through WebGL (within 6 bits)."""
    assert "error" not in results, results.get("error")
    assert results["calibration"]["faithful"] and results["calibration"]["orientationKnown"]
    got = {r["name"]: r for r in results["results"]}
    assert set(got) == set(pictures)
    for name, path in pictures.items():
        want, have = _expected(path), got[name]
        assert (have["md5"], have["sha256"]) == (want["md5"], want["sha256"]), name
        if want["pdq"] is None:  # a video: no picture hash, in the browser either
            assert have["pdq"] is None, name
            continue
        if name in approximate:
            assert have["path"] == "approximate", name
            if webgl or "transparent" not in have["why"]:
                assert _bits(have["pdq"], want["pdq"]) <= 6, (name, have["why"])
            continue
        assert have["path"] == "exact", (name, have["why"])
        assert (have["pdq"], have["quality"]) == (want["pdq"], want["quality"]), name


def _need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        if IN_CI:
            pytest.fail(f"needs {', '.join(missing)} (CI=true: missing tools fail)")
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.mark.slow
def test_chromium_hashes_pictures_as_the_server_does(pictures):
    from test_self_report_page import chromium

    found, approximate = pictures
    with Harness(found) as harness, chromium() as browser:
        browser.get(f"{harness.base}/harness.html")
        results = harness.results.get(timeout=300)
    _check(results, found, approximate, webgl=True)


@pytest.mark.slow
def test_firefox_hashes_pictures_as_the_server_does(pictures, tmp_path):
    _need("firefox-esr")
    found, approximate = pictures
    with Harness(found) as harness:
        firefox = run_firefox(f"{harness.base}/harness.html", tmp_path / "profile")
        try:
            results = harness.results.get(timeout=300)
        finally:
            firefox.terminate()
            firefox.wait(timeout=30)
        started = time.monotonic()
        while firefox.poll() is None and time.monotonic() - started < 5:
            time.sleep(0.1)
        # Zero picture bytes left the browser: one POST, of hashes, and nothing else.
        posts = [(path, body) for method, path, body in harness.requests if method == "POST"]
        assert [path for path, _ in posts] == ["/results"]
        for path in found.values():
            assert path.read_bytes()[:4096] not in posts[0][1]
    _check(results, found, approximate, webgl=False)  # headless Firefox has no WebGL


@pytest.mark.slow
def test_a_browser_that_adds_noise_to_pictures_sends_no_hash(tmp_path, pictures):
    """Firefox with fingerprinting resistance on gives back noise from a canvas: the
    self-test catches it and the page computes nothing from such pixels."""
    _need("firefox-esr")
    found, _ = pictures
    with Harness({"one.jpg": next(iter(found.values()))}) as harness:
        firefox = run_firefox(f"{harness.base}/harness.html", tmp_path / "profile",
                              privacy__resistFingerprinting=True)  # fmt: skip
        try:
            results = harness.results.get(timeout=300)
        finally:
            firefox.terminate()
            firefox.wait(timeout=30)
    assert results["calibration"]["faithful"] is False
    assert "alters pictures" in results["error"] and results["results"] == []
