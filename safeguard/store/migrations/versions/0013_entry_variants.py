"""The geometric variants of an entry's picture, enrolled with it (crops, cuts, small
rotations), and room in an item's match for the names of both the query's view and the
enrolled variant it was found through.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_variants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "entry_id",
            sa.BigInteger,
            sa.ForeignKey("entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(24), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_entry_variants_entry", "entry_variants", ["entry_id"])
    # On SQLite the table is copied (it has no ALTER COLUMN); PostgreSQL alters in place.
    with op.batch_alter_table("item_matches") as batch:
        batch.alter_column("via", type_=sa.String(80), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("item_matches") as batch:
        batch.alter_column("via", type_=sa.String(32), existing_nullable=True)
    op.drop_index("ix_entry_variants_entry", "entry_variants")
    op.drop_table("entry_variants")
