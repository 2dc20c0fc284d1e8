"""Hashing never writes to evidence: bytes, size, mtime and even atime stay as they were."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import evidence_snapshot, run_cli


@pytest.mark.slow
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
    before = evidence_snapshot(folder)
    run_cli("hash", "-r", "--workers", "2", str(folder))
    run_cli("hash", "-r", "--pdq-mode", "exact", "--dihedral", str(folder))
    assert evidence_snapshot(folder) == before
