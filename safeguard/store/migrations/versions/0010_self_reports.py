"""Self-reports: the reports sent from the self-report page and the hashes each holds.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("receipt_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("age_band", sa.String(16), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
    )
    op.create_table(
        "self_report_hashes",
        sa.Column(
            "report_id",
            sa.Integer,
            sa.ForeignKey("self_reports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signal", sa.String(16), primary_key=True),
        sa.Column("value", sa.LargeBinary, primary_key=True),
    )
    op.create_index("ix_self_report_hashes_value", "self_report_hashes", ["signal", "value"])


def downgrade() -> None:
    op.drop_index("ix_self_report_hashes_value", "self_report_hashes")
    op.drop_table("self_report_hashes")
    op.drop_table("self_reports")
