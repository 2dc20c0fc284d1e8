"""Shared test helpers.

Tests read benign photos from ``../shared/data``. Where that folder (or a file in
it) is missing, a test skips with the reason on a laptop but fails under
``CI=true``, so a CI run can never pass by quietly skipping its evidence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SAFEGUARD_SHARED_DATA", REPO.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"shared test data missing: {path}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: missing inputs fail instead of skipping)")
        pytest.skip(reason)
    return path


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real ``safeguard`` command in a subprocess."""
    completed = subprocess.run(
        [sys.executable, "-m", "safeguard", *args],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"safeguard {' '.join(args)} exited {completed.returncode}\n{completed.stderr}"
        )
    return completed


def import_list(db: str, path, name: str, *options: str) -> None:
    """``safeguard lists import`` into a test store."""
    run_cli("lists", "import", str(path), "--list", name, *options, "--db", db)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def corpus() -> Path:
    return require_shared("corpus")


@pytest.fixture(scope="session")
def photo(corpus: Path) -> Path:
    """An ordinary 640x426 colour photo."""
    return require_shared("corpus", "coco2017", "val2017", "000000000139.jpg")


@pytest.fixture(scope="session")
def big_photo(corpus: Path) -> Path:
    """The 12 MP phone photo (4032x3024)."""
    return require_shared("corpus", "highres", "012mp-bus.jpg")


# -- stores: every store test runs on a real SQLite file and the real PostgreSQL server --

POSTGRES_ADMIN_URL = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1/postgres"
)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the loopback PostgreSQL server for this test session."""
    import psycopg

    name = f"safeguard_test_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: a missing server fails instead of skipping)")
        pytest.skip(reason)
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch):
    """A store URL, empty, on each backend; its PDQ index lives in the test's tmp dir."""
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:  # an empty database for every test
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url):
    from safeguard.store import Store

    opened = Store.open(store_url)
    yield opened
    opened.close()
