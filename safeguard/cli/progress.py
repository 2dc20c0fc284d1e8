"""A Rich progress bar on stderr when a person is watching, nothing when piped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class FileRateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.1f} files/s", style="progress.data.speed")


class FileProgress:
    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self.bytes_done = 0

    def advance(self, nbytes: int) -> None:
        self.bytes_done += nbytes
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, megabytes=self.bytes_done / 1e6)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def file_progress(description: str, total: int) -> Iterator[FileProgress]:
    if not stderr_is_terminal():
        yield FileProgress(None, None)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files  {task.fields[megabytes]:,.1f} MB"),
        FileRateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total, megabytes=0.0)
        yield FileProgress(progress, task)
