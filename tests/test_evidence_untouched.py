"""Hashing never writes to evidence: bytes, size, mtime and even atime stay as they were."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from conftest import run_cli


def _read_without_touching(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)  # so the check itself moves no atime
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _snapshot(folder: Path) -> dict[str, tuple]:
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(_read_without_touching(path)).hexdigest()
        state[str(path)] = (digest, info.st_size, info.st_mtime_ns, info.st_atime_ns, info.st_mode)
    return state


def test_hashing_leaves_files_untouched(tmp_path, corpus):
    folder = tmp_path / "evidence"
    folder.mkdir()
    for source in sorted((corpus / "bsds500" / "val").glob("*.jpg"))[:5]:
        shutil.copyfile(source, folder / source.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    # An access time older than the modification time: a relatime mount would
    # update it on the next read, unless the read is done with O_NOATIME.
    for path in folder.iterdir():
        info = path.stat()
        os.utime(path, ns=(info.st_mtime_ns - 10**12, info.st_mtime_ns))
    folder.chmod(0o555)
    before = _snapshot(folder)
    run_cli("hash", "-r", "--workers", "2", str(folder))
    run_cli("hash", "-r", "--pdq-mode", "exact", "--dihedral", str(folder))
    assert _snapshot(folder) == before
