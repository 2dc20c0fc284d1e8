"""Ordered, bounded, crash-tolerant parallel map over processes.

Results come back in input order, with at most ``window`` items in flight, so
memory stays bounded however many items there are. Items travel in small
batches to amortise inter-process overhead. If a worker process dies (a decoder
crashing on a hostile file, the kernel's OOM killer), the pool is rebuilt and
the batches that were in flight are retried one item at a time, so the item that
kills a worker on its own (twice, on fresh workers) is the only one lost, and
``on_crash`` turns it into a result (an error record) instead of an exception. A
pool found broken while work is being handed to it is treated the same way.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ordered_map(
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    on_crash: Callable[[T, str], R],
    batch_size: int = 4,
) -> Iterator[R]:
    if workers <= 1:
        yield from map(function, items)
        return
    window = workers * 4
    iterator = iter(items)
    pool = _Pool(workers)
    pending: deque[tuple[list[T], Future[list[R]] | None]] = deque()
    try:
        while True:
            while len(pending) < window and (batch := list(islice(iterator, batch_size))):
                pending.append((batch, pool.submit(_run_batch, function, batch)))
            if not pending:
                return
            batch, future = pending.popleft()
            try:
                if future is None:  # the pool had already broken when this batch was sent
                    raise BrokenProcessPool("worker process died")
                results = future.result()
            except BrokenProcessPool:
                # A worker died (a hostile file, the OOM killer, a kill from outside):
                # every batch in flight is redone one item at a time on a new pool.
                retry = [batch] + [queued for queued, _ in pending]
                pending.clear()
                pool.renew()
                for item in (item for retry_batch in retry for item in retry_batch):
                    yield pool.run_alone(function, item, on_crash)
                continue
            yield from results
    finally:
        pool.shutdown()


class _Pool:
    """A process pool that can be replaced when one of its workers dies."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor = _pool(workers)

    def submit(self, function, *args) -> Future | None:
        """The future of a call, or None when the pool broke before it could be sent."""
        try:
            return self.executor.submit(function, *args)
        except BrokenProcessPool:
            return None

    def renew(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = _pool(self.workers)

    def run_alone(self, function: Callable[[T], R], item: T, on_crash: Callable[[T, str], R]) -> R:
        """One item on its own; it is blamed only if it kills a fresh worker twice."""
        for _attempt in range(2):
            future = self.submit(function, item)
            try:
                if future is None:
                    raise BrokenProcessPool("worker process died")
                return future.result()
            except BrokenProcessPool:
                self.renew()
        return on_crash(item, "worker process died while processing this item")

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, initializer=_leave_interrupts_to_the_parent)


def _leave_interrupts_to_the_parent() -> None:
    # Ctrl-C reaches the whole process group; the parent saves what is done and says
    # how to resume, and the workers must not each print a traceback meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_batch(function: Callable[[T], R], batch: list[T]) -> list[R]:
    return [function(item) for item in batch]
