"""Case records a report can be signed on: who, for which agency, against which lists.

Cases gain their examiner, agency, reference and notes; exhibits who scanned them,
when and against which list revisions they were last matched, and the rotated and
flipped PDQ variants of each item (so an exhibit can be matched again without
reading the evidence); lists gain the SHA-256 of the file last imported and who
imported it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("examiner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("agency", sa.String(200), nullable=True))
        batch.add_column(sa.Column("reference", sa.String(200), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text, nullable=True))
    with op.batch_alter_table("exhibits") as batch:
        batch.add_column(sa.Column("examiner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lists_used", sa.Text, nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("pdq_dihedral", sa.LargeBinary, nullable=True))
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(sa.Column("source_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("imported_by", sa.String(200), nullable=True))
