"""One progress bar for every long command: on stderr when a person watches, else nothing.

The same labelled columns everywhere (files, bytes, rate, elapsed, remaining).
The bar never captures standard output: records always go to stdout, whatever
is a terminal, so ``safeguard match DIR -r > out.jsonl`` fills the file even
while a bar is drawn on the terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class Tracker:
    """Counts files and bytes done; draws them when a bar is shown."""

    def __init__(self, progress: Progress | None, task: TaskID | None, files: int) -> None:
        self._progress = progress
        self._task = task
        self.files = files
        self.started = time.monotonic()

    def advance(self, nbytes: int, *, files: int = 1) -> None:
        self.files += files
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=nbytes, files=self.files)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@contextmanager
def progress_bar(
    description: str,
    *,
    total_bytes: int,
    total_files: int,
    done_files: int = 0,
    done_bytes: int = 0,
) -> Iterator[Tracker]:
    """A bar measured in bytes (so the time left holds for any mix of sizes).

    ``done_files`` and ``done_bytes`` start it where a resumed job already is.
    """
    if not stderr_is_terminal():
        yield Tracker(None, None, done_files)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]:,} of " + f"{total_files:,} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        redirect_stdout=False,  # records must reach stdout, never the bar's console
        redirect_stderr=False,
    )
    with progress:
        task = progress.add_task(
            description, total=max(total_bytes, 1), completed=done_bytes, files=done_files
        )
        yield Tracker(progress, task, done_files)
