"""Exhibit-level problems: volumes or containers that could not be read, integrity checks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exhibits") as batch:
        batch.add_column(sa.Column("problems", sa.Text, nullable=True))
