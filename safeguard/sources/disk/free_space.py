"""Pictures carved from the space no live file uses, inside a file system or a bare volume."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from dfvfs.resolver import resolver

from safeguard.sources.base import Allocation, Item, Locator
from safeguard.sources.carving import carve


class Space:
    """Which bytes of a volume live files use, and where deleted files' data lay."""

    def __init__(self, block_size: int, size: int) -> None:
        self.block_size = block_size
        self.size = size
        self.allocated: list[tuple[int, int]] = []
        self.deleted_starts: set[int] = set()  # where each listed deleted file's data begins

    @classmethod
    def of_file_system(cls, info) -> Space:
        return cls(info.info.block_size, info.info.block_count * info.info.block_size)

    def claim(self, tsk_file, *, deleted: bool) -> None:
        """Record the runs of a file's attributes (resident data has none)."""
        try:
            runs = [
                (run.addr * self.block_size, (run.addr + run.len) * self.block_size)
                for attribute in tsk_file
                for run in attribute
                if run.len > 0
            ]
        except OSError:
            return  # unreadable metadata: nothing to record
        if not deleted:
            self.allocated.extend(runs)
        elif runs:
            self.deleted_starts.add(runs[0][0])

    def unallocated(self) -> list[tuple[int, int]]:
        """The complement of live files' runs: where carving looks."""
        regions, cursor = [], 0
        for start, end in sorted(self.allocated):
            if start > cursor:
                regions.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < self.size:
            regions.append((cursor, self.size))
        return regions

    def starts_deleted_file(self, offset: int) -> bool:
        """A picture carved here is the data of a deleted file already listed.

        Only where that file's data begins: a deleted file's clusters may since have
        been reused, and a picture found further in is another file's.
        """
        return offset in self.deleted_starts


@dataclass(slots=True)
class Carving:
    """A volume's unallocated space, still to be carved.

    A walk yields this where the volume's carved pictures belong (after its files);
    :meth:`items` carves it there and then, or, given some of :meth:`regions`, only
    those: a cluster worker carves its own range of a large volume.
    """

    volume_spec: object
    locator: Locator
    space: Space | None  # None: a volume with no readable file system, searched whole
    context: object

    def regions(self) -> list[tuple[int, int]]:
        return self._space(self._volume()).unallocated()

    def items(self, regions: list[tuple[int, int]] | None = None) -> Iterator[Item]:
        """JPEG and PNG pictures found by structure where no live file is."""
        volume = self._volume()
        space = self._space(volume)
        # dfVFS hands TSK the partition (or the whole image) with the file system at byte 0.
        start_in_image = getattr(self.volume_spec, "start_offset", None) or 0

        def read(offset: int, length: int) -> bytes:
            volume.seek(offset)
            return volume.read(length)

        for found in carve(read, space.unallocated() if regions is None else regions):
            if space.starts_deleted_file(found.offset):
                continue  # the deleted file listed above is this same physical copy
            where = start_in_image + found.offset
            data = read(found.offset, found.length)
            problems = [] if found.complete else [f"fragment: {found.problem}"]
            yield Item(
                self.locator.child(
                    "carved", f"{found.kind} at byte {where:,} (sector {where // 512})"
                ),
                lambda data=data: io.BytesIO(data),
                size=found.length,
                allocation=Allocation.CARVED,
                errors=problems,
                span=(found.offset, found.offset + found.length),
            )

    def _volume(self):
        return resolver.Resolver.OpenFileObject(self.volume_spec, resolver_context=self.context)

    def _space(self, volume) -> Space:
        return self.space if self.space is not None else Space(512, volume.get_size())
