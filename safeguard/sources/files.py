"""Files on the examiner's own file system: read-only opening and path expansion.

Evidence is opened with ``O_RDONLY`` and, where the kernel allows it,
``O_NOATIME`` so that reading a file does not even move its access time.
Only regular files are read: opening a FIFO or a device node could block forever
or read an unbounded stream.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from safeguard.errors import SourceError, SymlinkLoopError

_BASE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NOATIME = getattr(os, "O_NOATIME", 0)


def readable_name(name: str) -> str:
    """A name as it can be written anywhere: bytes that are not UTF-8 as ``\\xNN``.

    Names come from evidence: a file system or tar holds whatever bytes it was given,
    and Python hands undecodable ones over as surrogates, which no database or UTF-8
    stream accepts. The escape keeps every byte visible and the record intact.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def open_evidence(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading only, without touching its access time."""
    try:
        fd = _open_readonly(os.fspath(path))
    except OSError as error:
        raise SourceError(f"cannot open: {error.strerror or error}") from error
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SourceError(f"not a regular file ({describe_mode(mode)})")
        return EvidenceFile(fd)
    except BaseException:
        os.close(fd)
        raise


class EvidenceFile(io.FileIO):
    """A file opened read-only that can tell whether it changed while it was read."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd, "rb", closefd=True)
        opened = os.fstat(fd)
        self._opened = (opened.st_size, opened.st_mtime_ns)

    def change(self) -> str | None:
        """Why what was read may be no version of the file that ever existed, or None."""
        now = os.fstat(self.fileno())
        if (now.st_size, now.st_mtime_ns) == self._opened:
            return None
        size = (
            f"size {self._opened[0]:,} -> {now.st_size:,}, "
            if now.st_size != self._opened[0]
            else ""
        )
        return (
            f"changed while being read ({size}modified again): "
            "its hashes may match no version of it"
        )


def change_while_read(stream) -> str | None:
    """For a stream from :func:`open_evidence`, whether the file changed under it."""
    return stream.change() if isinstance(stream, EvidenceFile) else None


def _open_readonly(path: str) -> int:
    if _NOATIME:
        try:
            return os.open(path, _BASE_FLAGS | _NOATIME)
        except PermissionError:
            pass  # O_NOATIME needs ownership of the file (or CAP_FOWNER)
        except OSError as error:
            if error.errno != errno.EPERM:
                raise
    return os.open(path, _BASE_FLAGS)


def describe_mode(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


@dataclass(frozen=True, slots=True)
class FoundPath:
    """A path to hash, or a path that could not be walked and why."""

    path: str
    error: SourceError | None = None


def expand_paths(
    paths: Iterable[str], *, recursive: bool, confine_to_tree: bool = False
) -> Iterator[FoundPath]:
    """Yield the files named, descending into directories when ``recursive``.

    Directory links are followed, but a link back to a directory already being
    walked is reported as a loop instead of being walked again; every directory
    is walked at most once. With ``confine_to_tree`` (an exhibit), a link that
    leads outside the directory given is reported, not followed. Entries come in
    name order, so output is stable.
    """
    walked: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as error:
            yield FoundPath(path, SourceError(f"cannot open: {error.strerror or error}"))
            continue
        if not stat.S_ISDIR(info.st_mode):
            yield FoundPath(path)
        elif recursive:
            yield from _walk(
                path, info, walked, os.path.realpath(path) if confine_to_tree else None
            )
        else:
            yield FoundPath(path, SourceError("is a directory (use --recursive to descend)"))


def _walk(
    top: str, top_info: os.stat_result, walked: dict[tuple[int, int], str], confine: str | None
) -> Iterator[FoundPath]:
    # Explicit stack of (directory, its identity, identities of its ancestors).
    stack: list[tuple[str, tuple[int, int], frozenset[tuple[int, int]]]] = [
        (top, (top_info.st_dev, top_info.st_ino), frozenset())
    ]
    while stack:
        directory, identity, ancestors = stack.pop()
        if identity in ancestors:
            yield FoundPath(
                directory,
                SymlinkLoopError(f"directory link loop: leads back to {walked[identity]}"),
            )
            continue
        if identity in walked:
            yield FoundPath(
                directory, SourceError(f"directory already walked as {walked[identity]}")
            )
            continue
        walked[identity] = directory
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as error:
            yield FoundPath(directory, SourceError(f"cannot list directory: {error.strerror}"))
            continue
        below = ancestors | {identity}
        subdirectories = []
        for entry in entries:
            if confine is not None and entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.commonpath([confine, target]) != confine:
                    yield FoundPath(
                        entry.path,
                        SourceError(
                            f"symbolic link leads outside the exhibit, not followed: {target}"
                        ),
                    )
                    continue
            try:
                is_directory = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_directory = False
            if not is_directory:
                yield FoundPath(entry.path)
                continue
            try:
                info = entry.stat(follow_symlinks=True)
            except OSError as error:
                yield FoundPath(entry.path, SourceError(f"cannot open: {error.strerror}"))
                continue
            subdirectories.append((entry.path, (info.st_dev, info.st_ino), below))
        # Files of a directory first, then its subdirectories in name order.
        stack.extend(reversed(subdirectories))
