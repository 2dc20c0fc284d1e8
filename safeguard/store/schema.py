"""The tables of the list store (SQLAlchemy Core: bulk work never goes through an ORM).

Every change to lists or entries takes a new number from the ``revision``
counter and stamps the rows it touches, so an index or a worker that has seen
revision N can ask for exactly what changed after it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# One row: which store this is (an index built from another store is never reused)
# and the revision counter.
store_info = Table(
    "store_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", String(32), nullable=False),
    Column("revision", BigInteger, nullable=False),
)

hash_lists = Table(
    "hash_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("pdq_threshold", Integer, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("source_file", Text, nullable=True),
    Column("importer", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revision", BigInteger, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("signal", String(16), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("category", String(16), nullable=True),
    Column("series", Text, nullable=True),
    Column("victim_identified", Boolean, nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("notes", Text, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False, server_default=false()),
    Column("disabled_until", DateTime(timezone=True), nullable=True),
    Column("revision", BigInteger, nullable=False),
    Column("source_line", BigInteger, nullable=True),  # line or record in the imported file
    # One index serves both uniqueness within a list and exact lookups across lists.
    UniqueConstraint("signal", "value", "list_id", name="uq_entries_signal_value_list"),
    # Two indexes only: every extra one costs bulk imports about a microsecond a row.
    # Per-list work (export, counts, deletion) scans; matching never does.
    Index("ix_entries_revision", "revision"),
)
