"""MD5/SHA-1/SHA-256 in one streaming pass: right digests, flat memory for any size."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

SIZE = (1 << 30) + 12_345  # just over 1 GiB, and not a multiple of the chunk size

# Runs in a fresh interpreter so its peak RSS is the hashing's alone.
_MEASURE = """
import json, resource, sys
from safeguard.signals.extract import HashOptions, hash_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = hash_file(sys.argv[1], HashOptions())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"digests": {k: v.hex() for k, v in result.values.items()},
                  "size": result.size, "error": result.error,
                  "grew_kib": after - before}))
"""


@pytest.mark.slow
def test_one_gib_sparse_file_hashes_in_flat_memory(tmp_path):
    sparse = tmp_path / "disk.img"
    with sparse.open("wb") as handle:
        handle.truncate(SIZE)
        handle.seek(SIZE // 2)
        handle.write(b"a marker in the middle")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(sparse)], capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout)

    expected = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
    with sparse.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            for digest in expected:
                digest.update(chunk)
    assert measured["digests"] == {d.name: d.hexdigest() for d in expected}
    assert measured["size"] == SIZE
    assert measured["error"] is None
    assert measured["grew_kib"] < 32 * 1024, f"peak memory grew {measured['grew_kib']} KiB"
