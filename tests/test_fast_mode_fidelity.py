"""Fast mode's scaled JPEG decode stays within the fidelity budget of exact mode."""

from __future__ import annotations

import numpy as np
import pytest

from safeguard.media.images import PdqMode
from safeguard.parallel import ordered_map
from safeguard.signals import PDQ
from safeguard.signals.extract import HashOptions, hash_file


def _fast_vs_exact(path: str) -> int:
    fast = hash_file(path, HashOptions(pdq_mode=PdqMode.FAST))
    exact = hash_file(path, HashOptions(pdq_mode=PdqMode.EXACT))
    assert fast.error is None and exact.error is None, (path, fast.error, exact.error)
    assert fast.values["sha256"] == exact.values["sha256"]
    assert (fast.width, fast.height) == (exact.width, exact.height)
    return PDQ.distance(fast.pdq.value, exact.pdq.value)


def test_large_photo_is_close_in_fast_mode(big_photo):
    assert 0 < _fast_vs_exact(str(big_photo)) <= 8


@pytest.mark.slow
def test_fast_vs_exact_over_the_whole_corpus(corpus):
    photos = sorted(str(p) for p in corpus.rglob("*.jpg"))
    assert len(photos) >= 750
    distances = np.array(
        list(ordered_map(_fast_vs_exact, photos, workers=2, on_crash=lambda p, r: 999))
    )
    assert np.percentile(distances, 99) <= 6
    assert distances.max() <= 16
