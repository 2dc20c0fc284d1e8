"""The process pool keeps order and survives a worker that dies mid-item."""

from __future__ import annotations

import os

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
