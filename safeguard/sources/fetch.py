"""Reading one item back from the evidence by the locator a scan recorded for it.

A scan keeps hashes and a small blurred thumbnail, never the evidence itself; an
examiner who must see a picture in full has it read again from where it lies.
The exhibit is walked as the scan walked it (the same names for the same
entries, in the same order), but only the containers on the item's path are
opened and nothing else is read, and carving runs only for a carved item. The
bytes are checked against the SHA-256 the scan recorded, so what is shown is
exactly what was hashed, or nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from safeguard.sources.archives import ArchiveLimits
from safeguard.sources.base import Locator
from safeguard.sources.exhibit import open_exhibit
from safeguard.sources.nested import expand_containers

MAX_READ_BACK = 256 << 20  # bytes: more than any picture a person would be shown


class ReadBackError(Exception):
    """The item could not be read back as it was scanned; the message says why."""


def read_back(
    source: Path,
    exhibit: str,
    steps: list[dict],
    sha256: bytes | None,
    limits: ArchiveLimits | None = None,
) -> bytes:
    """The bytes of the item at ``steps`` (a locator's JSON) in the exhibit at ``source``."""
    target = tuple((step["kind"], step["name"]) for step in steps)

    def on_path(locator: Locator) -> bool:
        key = _key(locator)
        return target[: len(key)] == key

    if not source.exists():
        raise ReadBackError(f"the evidence is not at {source} any more")
    carve = any(kind == "carved" for kind, _ in target)
    opened = open_exhibit(source, exhibit, carve=carve)
    walk = (item for item in opened.items if on_path(item.locator))
    for item in expand_containers(walk, limits, carve=carve, within=on_path):
        if _key(item.locator) != target:
            continue
        if item.open is None or (item.size or 0) > MAX_READ_BACK:
            raise ReadBackError("the item cannot be read back (not a readable file, or too large)")
        with item.open() as stream:
            data = stream.read(MAX_READ_BACK + 1)
        if sha256 is not None and hashlib.sha256(data).digest() != sha256:
            raise ReadBackError(
                "the evidence no longer holds what was scanned here (SHA-256 differs): not shown"
            )
        return data
    raise ReadBackError("the item was not found in the evidence again")


def _key(locator: Locator) -> tuple[tuple[str, str], ...]:
    return tuple((step.kind, step.name) for step in locator.steps)
