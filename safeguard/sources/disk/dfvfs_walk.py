"""A file system the Sleuth Kit cannot read (APFS, XFS...), walked through dfVFS.

dfVFS's back ends list the live tree only, so the volume carries a warning that
deleted files and free space were not examined. Named data streams (resource
forks, extended-attribute streams) are items of their own, as in the TSK walk.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

from dfvfs.resolver import resolver

from safeguard.sources.base import Item, Locator, UniqueNames


class DfvfsWalk:
    def __init__(self, fs_spec, locator: Locator, context) -> None:
        self.fs_spec = fs_spec
        self.locator = locator
        self.context = context
        self.names = UniqueNames()

    def items(self) -> Iterator[Item]:
        file_system = resolver.Resolver.OpenFileSystem(self.fs_spec, resolver_context=self.context)
        stack: list[tuple[str, object]] = [("", file_system.GetRootFileEntry())]
        while stack:
            prefix, directory = stack.pop()
            try:
                entries = sorted(directory.sub_file_entries, key=lambda entry: entry.name)
            except Exception as error:  # one unlistable directory must not end the walk
                where = self.locator.child("file", self.names.claim(prefix or "/"))
                yield Item(where, None, errors=[f"directory cannot be listed: {error}"])
                continue
            subdirectories = []
            for entry in entries:
                path = f"{prefix}{entry.name}"
                if entry.IsDirectory():
                    subdirectories.append((f"{self.names.claim(path)}/", entry))
                elif entry.IsFile():
                    yield from self._file(entry, path)
            stack.extend(reversed(subdirectories))

    def _file(self, entry, path: str) -> Iterator[Item]:
        stamps = {
            field: _stamp(getattr(entry, f"{attribute}_time", None))
            for field, attribute in (
                ("modified", "modification"),
                ("accessed", "access"),
                ("changed", "change"),
                ("created", "creation"),
            )
        }
        for stream in sorted(entry.data_streams, key=lambda stream: stream.name):
            name = self.names.claim(f"{path}:{stream.name}" if stream.name else path)

            def opener(entry=entry, stream=stream.name):
                return _Reader(entry.GetFileObject(data_stream_name=stream))

            size = entry.size if not stream.name else _size(opener)
            yield Item(
                self.locator.child("file", name),
                opener,
                size=size,
                path_spec=entry.path_spec if not stream.name else None,
                **stamps,
            )
        # Extended attributes (a resource fork is one) can hold a whole picture.
        for attribute in getattr(entry, "attributes", ()):
            if not hasattr(attribute, "read"):
                continue

            def reopen(attribute=attribute):
                attribute.seek(0)
                return _Reader(attribute)

            yield Item(
                self.locator.child("file", self.names.claim(f"{path}:{attribute.name}")),
                reopen,
                size=attribute.get_size(),
                **stamps,
            )


def _size(opener) -> int | None:
    try:
        with opener() as stream:
            return stream.seek(0, io.SEEK_END)
    except Exception:  # the item's own read reports what is wrong
        return None


class _Reader(io.RawIOBase):
    """A dfVFS file object as a read-only Python stream."""

    def __init__(self, file_object) -> None:
        self._file = file_object

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._file.seek(offset, whence)
        return self._file.get_offset()

    def tell(self) -> int:
        return self._file.get_offset()

    def readinto(self, buffer) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _stamp(value) -> datetime | None:
    if value is None:
        return None
    try:
        seconds = value.CopyToPosixTimestamp()
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (AttributeError, OverflowError, OSError, ValueError):
        return None
