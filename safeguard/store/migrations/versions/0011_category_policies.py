"""A list's action and PDQ review threshold per category.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_category_policies",
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("hash_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("review_threshold", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("list_category_policies")
