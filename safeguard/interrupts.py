"""Ctrl-C during a long run, taken between items rather than in the middle of one.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. In a
Numba function that returns a tuple of arrays it surfaces instead as a ``SystemError``
("returned a result with an exception set") chained to the interrupt, and a
per-item fault barrier would record that as the item's own error and carry on:
measured, a scan interrupted that way ran to the end, reported itself complete and
blamed a sound photo for an "internal error". So during a run the first Ctrl-C
only asks to stop; the run stops at its next safe point (:func:`stop_if_asked`,
between groups of items) and saves what is whole. A second Ctrl-C stops at once,
and fault barriers hand an interrupt they catch in disguise back up
(:func:`reraise_if_interrupt`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_asked = threading.Event()


@contextmanager
def stop_between_items() -> Iterator[None]:
    """Take Ctrl-C as a request to stop at the next safe point, while the block runs.

    Only the main thread can set signal handlers, and only a default handler is
    replaced (a caller with its own keeps it); elsewhere this changes nothing.
    """
    installed = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if installed:
        _asked.clear()
        signal.signal(signal.SIGINT, _ask_to_stop)
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _asked.clear()


def stop_if_asked() -> None:
    """Raise ``KeyboardInterrupt`` here if Ctrl-C was pressed since the run began."""
    if _asked.is_set():
        raise KeyboardInterrupt


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is a Ctrl-C, perhaps in disguise (see above)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def reraise_if_interrupt(error: BaseException) -> None:
    """For fault barriers: raise ``KeyboardInterrupt`` if ``error`` is a Ctrl-C in disguise."""
    if is_interrupt(error):
        raise KeyboardInterrupt from error


def _ask_to_stop(signum, frame) -> None:
    if _asked.is_set():  # a second Ctrl-C: now, wherever the run is
        raise KeyboardInterrupt
    _asked.set()
    sys.stderr.write(
        "\nsafeguard: stopping after the items in hand (Ctrl-C again to stop at once)\n"
    )
