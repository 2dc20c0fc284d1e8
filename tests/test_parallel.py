"""The process pool keeps order and survives a worker that dies mid-item."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import psutil
import pytest

from safeguard.parallel import ordered_map


def _square_or_die(value: int) -> int:
    if value == 13:
        os._exit(3)  # what a segfaulting decoder looks like from the parent
    return value * value


def test_order_is_kept_and_a_dying_worker_costs_only_its_item():
    results = list(
        ordered_map(
            _square_or_die,
            range(40),
            workers=2,
            on_crash=lambda item, reason: f"{item}: {reason}",
        )
    )
    assert results[:13] == [v * v for v in range(13)]
    assert results[13] == "13: worker process died while processing this item"
    assert results[14:] == [v * v for v in range(14, 40)]


def test_single_worker_runs_inline():
    assert list(ordered_map(abs, [-1, -2], workers=1, on_crash=lambda i, r: None)) == [1, 2]


def _slow_square(value: int) -> int:
    time.sleep(0.01)
    return value * value


@pytest.mark.slow
def test_workers_killed_from_outside_at_random_never_end_the_run():
    """SIGKILL hits workers at random moments, also while work is being handed out."""
    stop = threading.Event()

    def killer() -> None:
        chances = random.Random(7)
        kills = 0
        while not stop.is_set() and kills < 8:
            time.sleep(chances.uniform(0.05, 0.25))
            children = psutil.Process().children()
            if children:
                os.kill(chances.choice(children).pid, signal.SIGKILL)
                kills += 1

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        results = list(
            ordered_map(_slow_square, range(300), workers=2, on_crash=lambda i, r: ("lost", i))
        )
    finally:
        stop.set()
        thread.join()
    assert len(results) == 300
    for value, result in enumerate(results):  # in order; an item is lost only if blamed twice
        assert result in (value * value, ("lost", value))
    assert sum(isinstance(result, tuple) for result in results) <= 2
