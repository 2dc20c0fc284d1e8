"""Reveals: a picture shown unblurred is a view of its own kind with its time on screen;
and each case's grading rule (single or dual).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_views") as table:
        table.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="thumbnail")
        )
        table.add_column(sa.Column("seconds", sa.Float, nullable=True))
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("grading", sa.String(8), nullable=False, server_default="dual"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("grading")
    with op.batch_alter_table("review_views") as table:
        table.drop_column("seconds")
        table.drop_column("kind")
