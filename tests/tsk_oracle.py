"""The Sleuth Kit's own tools as the oracle: what ``fls -r -p`` lists and ``icat`` reads.

For a file system, :func:`tsk_files` gives every regular file and stream as
(path, deleted, size, MD5): ``fls`` for the names (deleted and orphan files,
NTFS alternate data streams included), ``istat`` for the named attributes fls
does not list (HFS+ resource forks and extended attributes), ``icat`` for the
bytes. File-system structures are left out by the rule Safeguard documents:
NTFS MFT entries below 24 and ``$Extend``, HFS+ catalog IDs below 16, exFAT's bitmap and
up-case table, FAT volume labels.

:func:`scanned_files` gives Safeguard's items of the same file system in the
same shape, so a test compares the two as multisets.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from safeguard.sources.base import Item

_LINE = re.compile(
    r"^(?P<name>\S)/(?P<meta>\S)\s+(?P<star>\*\s+)?(?P<addr>[\d-]+)(?P<realloc>\(realloc\))?"
    r":\t(?P<path>.*)$"
)
_ATTRIBUTE = re.compile(r"^Type: (?P<type>\S+) \((?P<id>\d+-\d+)\)\s+Name: (?P<name>.+?)\s{2,}")
_STREAM_TYPES = {"RSRC", "ExATTR"}  # named HFS+ attributes that fls does not list
_FIRST_USER_ADDRESS = {"ntfs": 24, "hfs": 16}
_EXFAT_STRUCTURES = {"$ALLOC_BITMAP", "$UPCASE_TABLE"}


@dataclass(frozen=True, order=True)
class Listed:
    path: str
    deleted: bool
    size: int | None  # None where TSK cannot read the content (metadata gone or reused)
    md5: str | None


def tsk_files(image: Path, *options: str, fs: str) -> Counter[Listed]:
    """What the Sleuth Kit lists in the file system at ``image`` (``options``: -o, -i...)."""
    found: Counter[Listed] = Counter()
    listing = _run("fls", "-r", "-p", *options, image).decode("utf-8", "replace")
    for line in listing.splitlines():
        match = _LINE.match(line)
        if match is None or "r" not in (match["name"], match["meta"]):
            continue
        if match["meta"] not in ("r", "-") or match["name"] not in ("r", "-"):
            continue
        path, address = match["path"], match["addr"]
        entry = int(address.split("-")[0])
        if entry < _FIRST_USER_ADDRESS.get(fs, 0) or path.endswith("(Volume Label Entry)"):
            continue
        if (fs == "exfat" and path in _EXFAT_STRUCTURES) or (
            fs == "ntfs" and path.startswith("$Extend/")
        ):
            continue
        deleted = bool(match["star"])
        if match["realloc"] or match["meta"] == "-":
            found[Listed(path, True, None, None)] += 1
            continue
        found[_read(image, options, path, deleted, address)] += 1
        if fs in ("hfs", "apfs"):
            for kind, number, name in _named_attributes(image, options, entry):
                found[_read(image, options, f"{path}:{name}", deleted, f"{entry}-{number}")] += 1
                assert kind in _STREAM_TYPES
    return found


def scanned_files(items: list[Item], prefix: str) -> Counter[Listed]:
    """Safeguard's items under one file system, as (path, deleted, size, MD5)."""
    found: Counter[Listed] = Counter()
    for item in items:
        locator = str(item.locator)
        if not locator.startswith(prefix) or item.locator.steps[-1].kind != "file":
            continue
        # A name made unique ("x [inode 517]") is the same TSK path.
        path = re.sub(r" \[inode \d+\]", "", locator.removeprefix(prefix)).rstrip("/")
        deleted = item.allocation.value != "allocated"
        if item.open is None:
            found[Listed(path, deleted, None, None)] += 1
            continue
        with item.open() as stream:
            data = stream.read()
        found[Listed(path, deleted, len(data), hashlib.md5(data).hexdigest())] += 1
    return found


def differences(expected: Counter[Listed], actual: Counter[Listed]) -> list[str]:
    missing = [f"missing: {listed}" for listed in sorted((expected - actual).elements())]
    extra = [f"extra: {listed}" for listed in sorted((actual - expected).elements())]
    return missing + extra


def _read(image: Path, options, path: str, deleted: bool, address: str) -> Listed:
    try:
        data = _run("icat", *options, image, address)
    except subprocess.CalledProcessError as error:
        # An APFS file holding only a resource fork has no data attribute at all.
        if b"Attribute" not in error.stderr or b"not found" not in error.stderr:
            raise
        data = b""
    return Listed(path, deleted, len(data), hashlib.md5(data).hexdigest())


def _named_attributes(image: Path, options, entry: int):
    text = _run("istat", *options, image, str(entry)).decode("utf-8", "replace")
    for line in text.splitlines():
        match = _ATTRIBUTE.match(line)
        if match and match["type"] in _STREAM_TYPES and match["name"] != "N/A":
            yield match["type"], match["id"], match["name"]


def _run(*command) -> bytes:
    return subprocess.run([str(part) for part in command], check=True, capture_output=True).stdout
