"""Video entries (vPDQ): the frames of each, one row a frame; and items' values of
signals without a column of their own (a video's vPDQ), one row per item and signal;
and each list's vPDQ match percentages.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_frames",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "entry_id",
            sa.BigInteger,
            sa.ForeignKey("entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("quality", sa.Integer, nullable=False),
        sa.Column("pdq", sa.LargeBinary, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    op.create_index("ix_entry_frames_entry", "entry_frames", ["entry_id"])
    op.create_table(
        "item_values",
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signal", sa.String(16), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )

    with op.batch_alter_table("hash_lists") as table:
        table.add_column(sa.Column("vpdq_query_percent", sa.Float, nullable=True))
        table.add_column(sa.Column("vpdq_compared_percent", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hash_lists") as table:
        table.drop_column("vpdq_compared_percent")
        table.drop_column("vpdq_query_percent")
    op.drop_table("item_values")
    op.drop_index("ix_entry_frames_entry", "entry_frames")
    op.drop_table("entry_frames")
