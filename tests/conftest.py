"""Shared test helpers.

Tests read benign photos from ``../shared/data``. Where that folder (or a file in
it) is missing, a test skips with the reason on a laptop but fails under
``CI=true``, so a CI run can never pass by quietly skipping its evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
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
    """``safeguard lists import`` into a test store (created by the first import)."""
    run_cli("lists", "import", str(path), "--list", name, *options, "--create", "--db", db)


def file_counts(categories: dict) -> dict:
    """A report's categories as {key: {files, unique}} (the rest is checked elsewhere)."""
    return {key: {"files": v["files"], "unique": v["unique"]} for key, v in categories.items()}


def init_store(db: str) -> str:
    """``safeguard init``: a new, empty store, as a user makes one."""
    run_cli("init", "--db", db)
    return db


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header declares a huge image (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def wait_for(condition, timeout: float = 30):
    """The first true value ``condition()`` returns within ``timeout`` seconds (a page or a
    server getting somewhere); an AssertionError if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError("did not get there in time")


def default_sigint() -> None:
    """For ``preexec_fn``: a shell without job control starts background commands with
    SIGINT ignored, and CI may run us so; an examiner's Ctrl-C reaches a scan with the
    default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    """A loopback port nothing listens on (for a server, or a receiver that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
    return request.getfixturevalue("postgres_store_url")


@pytest.fixture
def postgres_store_url(postgres_url, tmp_path, monkeypatch):
    """An empty store on the PostgreSQL server only (what a cluster scan needs)."""
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:  # an empty database for every test
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_url


@pytest.fixture
def store(store_url):
    from safeguard.store import Store

    opened = Store.open(store_url)
    yield opened
    opened.close()


# -- the match service -----------------------------------------------------------


class ServiceClient:
    """A TestClient on a real app over a real store, with a key for every scope."""

    def __init__(self, client, store_url: str, tokens: dict[str, str]) -> None:
        self.client = client
        self.store_url = store_url
        self.tokens = tokens

    def call(self, method: str, path: str, key: str | None = "admin", **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {self.tokens[key]}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def app(self):
        return self.client.app


SERVICE_KEYS = {
    "admin": (["admin"], None, None),
    "match": (["match"], None, None),
    "reader": (["lists:read"], None, None),
    "writer": (["lists:write"], None, None),
    "metrics": (["metrics"], None, None),
    "action-only": (["match"], (), None),
    "no-category": (["match"], ("list", "signal", "distance"), None),
    "slow": (["match"], None, 2.0),
}


@pytest.fixture
def service(store_url):
    """The match service on each backend, in-process (uvicorn-free) for speed."""
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app
    from safeguard.store import Store
    from safeguard.store.keys import MATCH_FIELDS, KeyStore, Scope

    store = Store.open(store_url)
    keys = KeyStore(store.engine)
    tokens = {}
    for name, (scopes, fields, rate) in SERVICE_KEYS.items():
        _, tokens[name] = keys.create(
            name,
            [Scope(s) for s in scopes],
            fields=MATCH_FIELDS if fields is None else fields,
            rate_limit=rate,
        )
    store.close()
    with TestClient(create_app(service_settings(store_url))) as client:
        yield ServiceClient(client, store_url, tokens)


def service_settings(store_url: str):
    """Settings for tests: small limits, short intervals."""
    from safeguard.service.settings import ServiceSettings

    return ServiceSettings(
        db=store_url,
        max_body_bytes=4 << 20,
        audit_flush=0.05,
        webhook_poll=0.05,
        webhook_retry_base=0.1,
        webhook_retry_max=0.5,
        webhook_timeout=2.0,
        allow_private_webhooks=True,  # the test receivers listen on loopback
    )


def _read_without_touching(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)  # so the check itself moves no atime
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def evidence_snapshot(folder: Path) -> dict[str, tuple]:
    """Every file's digest, size, mtime, atime and mode, read without moving its atime."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = None if path.is_dir() else hashlib.sha256(_read_without_touching(path)).hexdigest()
        state[str(path)] = (digest, info.st_size, info.st_mtime_ns, info.st_atime_ns, info.st_mode)
    return state


REDIS_TEST_URL = os.environ.get("SAFEGUARD_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The loopback Redis server (its database 15), for limits shared across instances."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as error:
        reason = f"Redis not reachable at {REDIS_TEST_URL}: {error}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: a missing server fails instead of skipping)")
        pytest.skip(reason)
    return REDIS_TEST_URL
