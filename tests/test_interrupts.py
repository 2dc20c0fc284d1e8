"""Ctrl-C during a run is taken between items, and never becomes an item's error."""

from __future__ import annotations

import io
import os
import signal
import threading

import numpy as np
import pytest
from numba import njit

from safeguard.cli.failures import explain
from safeguard.interrupts import reraise_if_interrupt, stop_between_items, stop_if_asked
from safeguard.signals.extract import HashOptions, hash_content


def test_the_first_ctrl_c_asks_to_stop_and_the_second_stops_at_once(capsys):
    with stop_between_items():
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next line
        with pytest.raises(KeyboardInterrupt):
            stop_if_asked()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 0)  # a point where the pending handler certainly ran
    assert "stopping after the items in hand" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    stop_if_asked()  # the request ended with the run that it stopped


def test_outside_the_main_thread_nothing_changes():
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_handler_inside(stop_between_items())))
    worker.start()
    worker.join()
    assert seen == [signal.default_int_handler]


def _handler_inside(block):
    with block:
        return signal.getsignal(signal.SIGINT)


@njit(cache=False)
def _long_kernel(rounds):
    totals = np.zeros(8)
    for step in range(rounds):
        totals[step % 8] += np.sqrt(step)
    return totals.astype(np.uint32), totals  # as the index's table builder returns


def _interrupt_in_numba() -> BaseException:
    """A real Ctrl-C landing in a Numba function that returns a tuple of arrays."""
    _long_kernel(8)  # compiled before the clock starts
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        _long_kernel(400_000_000)
    except BaseException as raised:
        return raised
    finally:
        timer.cancel()
    raise AssertionError("the kernel ran to the end")


def test_an_interrupt_inside_numba_is_disguised_and_is_recognised():
    disguised = _interrupt_in_numba()
    assert isinstance(disguised, SystemError)  # what a fault barrier would have kept
    with pytest.raises(KeyboardInterrupt):
        reraise_if_interrupt(disguised)
    reraise_if_interrupt(ValueError("an ordinary failure"))  # not an interrupt: nothing
    # Reaching the command line (a rematch, a report), it is said as an interrupt, not as
    # an "unexpected error ... please report it".
    assert explain(disguised) == (130, "interrupted")


def test_an_items_fault_barrier_passes_a_disguised_interrupt_up():
    disguised = _interrupt_in_numba()

    def opener():
        raise disguised

    with pytest.raises(KeyboardInterrupt):
        hash_content("photo.jpg", opener, HashOptions())
    failing = hash_content("photo.jpg", lambda: io.BytesIO(b"\xff\xd8 not a jpeg"), HashOptions())
    assert failing.error  # an ordinary bad item is still the item's error
