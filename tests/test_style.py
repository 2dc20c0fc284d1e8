"""The code base stays ruff-clean (run as part of the test suite so CI enforces it)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import IN_CI, REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        if IN_CI:
            pytest.fail("ruff is not installed (it is in the [test] extra)")
        pytest.skip("ruff is not installed")
    done = subprocess.run([ruff, "check", str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
