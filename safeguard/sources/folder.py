"""An exhibit that is a folder tree (a mounted or copied device, an export)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from safeguard.sources.base import Item, Locator
from safeguard.sources.files import describe_mode, expand_paths, open_evidence, readable_name


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class FolderSource:
    """Every file under a folder, in name order; links never lead out of the tree."""

    def __init__(self, root: Path, exhibit: str | None = None) -> None:
        self.root = Path(root)
        self.origin = Locator.root("folder", exhibit or self.root.name)

    def items(self) -> Iterator[Item]:
        for found in expand_paths([str(self.root)], recursive=True, confine_to_tree=True):
            relative = readable_name(Path(found.path).relative_to(self.root).as_posix())
            locator = self.origin.child("file", relative)
            if found.error is not None:
                yield Item(locator, None, errors=[str(found.error)])
                continue
            try:
                info = os.stat(found.path)
            except OSError as error:
                yield Item(locator, None, errors=[f"cannot open: {error.strerror}"])
                continue
            if not stat.S_ISREG(info.st_mode):
                # A FIFO or device node could block forever or never end: listed, never opened.
                kind = describe_mode(info.st_mode)
                yield Item(locator, None, errors=[f"not a regular file ({kind}): not read"])
                continue
            yield Item(
                locator,
                partial(open_evidence, found.path),
                size=info.st_size,
                modified=_stamp(info.st_mtime),
                accessed=_stamp(info.st_atime),
                changed=_stamp(info.st_ctime),
                local_path=found.path,
            )
