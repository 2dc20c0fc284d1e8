"""List change feeds: removed entries kept as tombstones, followed lists' positions, the
Ed25519 keys exports and feed pages are signed with, operator console sessions, and the
view of a picture an item's match was found through, and whether a list takes matches
through such views.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_removals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("hash_lists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("signal", sa.String(16), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_entry_removals_list_revision", "entry_removals", ["list_id", "revision"])
    op.create_table(
        "list_follows",
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("hash_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("cursor", sa.String(100), nullable=False),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("private_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "console_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.add_column("item_matches", sa.Column("via", sa.String(32), nullable=True))
    op.add_column("hash_lists", sa.Column("variants", sa.String(16), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE hash_lists DROP COLUMN variants")
    op.execute("ALTER TABLE item_matches DROP COLUMN via")
    op.drop_table("console_sessions")
    op.drop_table("signing_keys")
    op.drop_table("list_follows")
    op.drop_index("ix_entry_removals_list_revision", "entry_removals")
    op.drop_table("entry_removals")
