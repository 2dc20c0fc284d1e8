"""The review workspace: reviewer accounts (roles, per-case access, sessions), grades, and
the pictures shown to each reviewer.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reviewer_cases",
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )

    op.create_table(
        "grades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "item_id",
            sa.BigInteger,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "exhibit_id",
            sa.Integer,
            sa.ForeignKey("exhibits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("graded_by", sa.String(200), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via_item_id", sa.BigInteger, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("confirmed_by", sa.String(200), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disputed_category", sa.String(16), nullable=True),
    )
    op.create_index("ix_grades_exhibit", "grades", ["exhibit_id"])
    op.create_table(
        "grade_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("action_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
    )
    op.create_index("ix_grade_history_action", "grade_history", ["action_id"])
    op.create_table(
        "review_views",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column(
            "exhibit_id",
            sa.Integer,
            sa.ForeignKey("exhibits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_views_reviewer_at", "review_views", ["reviewer", "at"])
    op.create_index("ix_review_views_exhibit", "review_views", ["exhibit_id"])


def downgrade() -> None:
    op.drop_table("review_views")
    op.drop_table("grade_history")
    op.drop_table("grades")
    op.drop_table("review_sessions")
    op.drop_table("reviewer_cases")
    op.drop_table("reviewers")
