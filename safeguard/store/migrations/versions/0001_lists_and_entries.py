"""Hash lists, their entries and the store's revision counter.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_info",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("store_id", sa.String(32), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "hash_lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("pdq_threshold", sa.Integer, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("source_file", sa.Text, nullable=True),
        sa.Column("importer", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("hash_lists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("signal", sa.String(16), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("series", sa.Text, nullable=True),
        sa.Column("victim_identified", sa.Boolean, nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("source_line", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("signal", "value", "list_id", name="uq_entries_signal_value_list"),
    )
    op.create_index("ix_entries_revision", "entries", ["revision"])


def downgrade() -> None:
    op.drop_table("entries")
    op.drop_table("hash_lists")
    op.drop_table("store_info")
