"""Opening a store: SQLite file by default, PostgreSQL by URL; schema kept current by Alembic."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text, update
from sqlalchemy.engine import make_url

from safeguard.errors import UsageError
from safeguard.store.schema import audit_head, store_info

DEFAULT_DB = "safeguard.db"
AUDIT_GENESIS = "0" * 64  # the "previous hash" of the first audit record
_MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. A store already there opens without importing Alembic;
# tests/test_store.py checks this against the migration scripts.
HEAD_REVISION = "0013"


def database_url(db: str | None) -> str:
    """``--db`` / ``$SAFEGUARD_DB`` / ``./safeguard.db``: a file path or a SQLAlchemy URL."""
    db = db or os.environ.get("SAFEGUARD_DB") or DEFAULT_DB
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    url = make_url(db)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3: COPY for bulk imports
    return url.render_as_string(hide_password=False)


class StoreMissing(UsageError):
    """There is no store where ``--db`` points."""

    def __init__(self, location: str) -> None:
        super().__init__(
            f"no Safeguard store at {location}: check --db (or $SAFEGUARD_DB), "
            f"or create one with `safeguard init --db {location}`"
        )


def describe_location(url: str) -> str:
    """A SQLite store as its file path, any other as its URL (password hidden)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    return parsed.set(drivername=parsed.drivername.split("+")[0]).render_as_string(
        hide_password=True
    )


def store_exists(engine: Engine) -> bool:
    """A SQLite file that exists, or a database that holds Safeguard's schema."""
    if engine.dialect.name == "sqlite":
        return engine.url.database is not None and Path(engine.url.database).is_file()
    with engine.connect() as connection:
        return inspect(connection).has_table("alembic_version")


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Pooled: opening a connection and setting its pragmas costs more than most
        # queries. Forked workers drop the pool (see Store), so no handle is shared.
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise UsageError(f"unsupported database URL {url!r}: use a file path or postgresql://")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB, a fixed cap: index pages stay hot
    cursor.close()


def migrate(engine: Engine) -> None:
    with engine.begin() as connection:
        if _schema_version(connection) == HEAD_REVISION:
            return  # the common case: no Alembic to import, start-up stays quick
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        _initialise_state(connection)


def _schema_version(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _initialise_state(connection: Connection) -> None:
    if connection.execute(select(store_info.c.id)).first() is None:
        connection.execute(store_info.insert().values(id=1, store_id=uuid.uuid4().hex, revision=0))
    if connection.execute(select(audit_head.c.id)).first() is None:
        connection.execute(audit_head.insert().values(id=1, seq=0, hash=AUDIT_GENESIS))


def next_revision(connection: Connection) -> int:
    """Take the next revision number inside the caller's transaction.

    The row lock this takes serialises writers, so revisions become visible in
    commit order and a reader's high-water mark never skips a change.
    """
    return connection.execute(
        update(store_info)
        .where(store_info.c.id == 1)
        .values(revision=store_info.c.revision + 1)
        .returning(store_info.c.revision)
    ).scalar_one()


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def store_identity(connection: Connection) -> tuple[str, int]:
    """(store id, current revision)."""
    row = connection.execute(select(store_info.c.store_id, store_info.c.revision)).one()
    return row.store_id, row.revision
