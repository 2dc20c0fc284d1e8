"""Match distances keyed by signal: a list's thresholds move from two PDQ columns of
``hash_lists`` to one row per (list, signal) of ``list_thresholds``; and an item's
value of a perceptual signal without a column of its own keeps its quality.

A list's PDQ threshold was also the frame distance of its vPDQ videos; the upgrade
keeps that by writing it for both signals, so no list matches differently after it.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_thresholds",
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("hash_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signal", sa.String(16), primary_key=True),
        sa.Column("threshold", sa.Integer, nullable=True),
        sa.Column("review_threshold", sa.Integer, nullable=True),
    )
    for signal, review in (("pdq", "review_threshold"), ("vpdq", "NULL")):
        op.execute(
            "INSERT INTO list_thresholds (list_id, signal, threshold, review_threshold) "
            f"SELECT id, '{signal}', pdq_threshold, {review} FROM hash_lists "
            "WHERE pdq_threshold IS NOT NULL OR review_threshold IS NOT NULL"
        )
    op.add_column("item_values", sa.Column("quality", sa.Integer, nullable=True))
    # Plain ALTER TABLE, not Alembic's batch copy: on SQLite the copy drops and recreates
    # hash_lists, and with foreign keys enforced that would cascade into every entry.
    for column in ("pdq_threshold", "review_threshold"):
        op.execute(f"ALTER TABLE hash_lists DROP COLUMN {column}")


def downgrade() -> None:
    op.execute("ALTER TABLE item_values DROP COLUMN quality")
    for column in ("pdq_threshold", "review_threshold"):
        op.execute(f"ALTER TABLE hash_lists ADD COLUMN {column} INTEGER")
    op.execute(
        "UPDATE hash_lists SET pdq_threshold = (SELECT threshold FROM list_thresholds t "
        "WHERE t.list_id = hash_lists.id AND t.signal = 'pdq'), review_threshold = "
        "(SELECT review_threshold FROM list_thresholds t "
        "WHERE t.list_id = hash_lists.id AND t.signal = 'pdq')"
    )
    op.drop_table("list_thresholds")
