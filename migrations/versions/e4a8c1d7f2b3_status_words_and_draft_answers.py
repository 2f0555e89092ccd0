"""A period's own words for the statuses; a section's unfinished answers kept as typed (暂存)

Revision ID: e4a8c1d7f2b3
Revises: d2f7a3b5c8e0
Create Date: 2026-12-07 13:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e4a8c1d7f2b3"
down_revision = "d2f7a3b5c8e0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrollment_period") as batch:
        batch.add_column(sa.Column("status_words", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("draft_answers", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("application") as batch:
        batch.drop_column("draft_answers")
    with op.batch_alter_table("enrollment_period") as batch:
        batch.drop_column("status_words")
