"""免证明: an index for district staff's list of lookup requests (the longest waiting first)

Revision ID: c6a1d3e5f7b9
Revises: b4e6f8a2c3d5
Create Date: 2026-12-08 03:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c6a1d3e5f7b9"
down_revision = "b4e6f8a2c3d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("child_lookup") as batch:
        batch.create_index("ix_child_lookup_requests", ["updated_at"], unique=False,
                           sqlite_where=sa.text("request <> ''"), postgresql_where=sa.text("request <> ''"))


def downgrade():
    with op.batch_alter_table("child_lookup") as batch:
        batch.drop_index("ix_child_lookup_requests", sqlite_where=sa.text("request <> ''"),
                         postgresql_where=sa.text("request <> ''"))
