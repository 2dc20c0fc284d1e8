"""The code base stays ruff-clean and its layers stay in order (run as part of the test
suite so CI enforces both)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import IN_CI, REPO


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is not installed (it is in the [test] extra)")
        pytest.skip(f"{name} is not installed")
    return found


def test_ruff_is_clean():
    done = subprocess.run([_tool("ruff"), "check", str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_layer_imports_only_from_the_layers_below_it():
    """The contract in pyproject.toml: sources, media, signals, formats, store, index,
    matching, then the front doors; the shared vocabulary below them all."""
    done = subprocess.run([_tool("lint-imports")], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr


def test_the_store_loads_without_numba_or_the_image_decoders():
    """A list tool or the review workspace opens the store without compiling hash kernels."""
    probe = (
        "import sys, safeguard.store, safeguard.store.cases, safeguard.store.grades; "
        "print(sorted(m for m in ('numba', 'PIL', 'safeguard.media.images') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=REPO)  # fmt: skip
    assert done.stdout.strip() == "[]"
