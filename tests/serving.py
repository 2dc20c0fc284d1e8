"""A real ``safeguard serve`` in a subprocess: uvicorn, its protocol and its worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from conftest import free_port


@contextmanager
def serving(
    store_url: str, *, workers: int = 1, env: dict | None = None, options: tuple[str, ...] = ()
) -> Iterator[str]:
    """Serve ``store_url`` on a free loopback port until the block ends; yields the base URL."""
    port = free_port()
    command = ["serve", "--workers", str(workers), "--port", str(port), "--db", store_url]
    command += options
    process = subprocess.Popen(
        [sys.executable, "-m", "safeguard", *command],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/v1/health/ready").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"server did not start: {process.stderr.read().decode()}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
