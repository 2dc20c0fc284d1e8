"""Cases, exhibits, the items found in them and what each item matched.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "exhibits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verification", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("case_id", "name", name="uq_exhibits_case_name"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "exhibit_id",
            sa.Integer,
            sa.ForeignKey("exhibits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("locator", sa.Text, nullable=False),
        sa.Column("locator_steps", sa.Text, nullable=False),
        sa.Column("allocation", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("type", sa.String(100), nullable=True),
        sa.Column("md5", sa.LargeBinary, nullable=True),
        sa.Column("sha1", sa.LargeBinary, nullable=True),
        sa.Column("sha256", sa.LargeBinary, nullable=True),
        sa.Column("pdq", sa.LargeBinary, nullable=True),
        sa.Column("pdq_quality", sa.Integer, nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accessed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errors", sa.Text, nullable=True),
        sa.Column("thumbnail", sa.LargeBinary, nullable=True),
        sa.UniqueConstraint("exhibit_id", "locator", name="uq_items_exhibit_locator"),
    )
    op.create_index("ix_items_sha256", "items", ["sha256"])
    op.create_table(
        "item_matches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "item_id", sa.BigInteger, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("list_name", sa.String(200), nullable=False),
        sa.Column("list_kind", sa.String(32), nullable=False),
        sa.Column("signal", sa.String(16), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("scheme", sa.String(16), nullable=False),
    )
    op.create_index("ix_item_matches_item", "item_matches", ["item_id"])


def downgrade() -> None:
    op.drop_table("item_matches")
    op.drop_table("items")
    op.drop_table("exhibits")
    op.drop_table("cases")
