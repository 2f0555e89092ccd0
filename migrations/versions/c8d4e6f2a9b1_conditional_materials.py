"""A channel's material asked only for some answers (show_if / show_values)

Revision ID: c8d4e6f2a9b1
Revises: b7e2f9a1c3d4
Create Date: 2026-12-07 12:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c8d4e6f2a9b1"
down_revision = "b7e2f9a1c3d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channel_material") as batch:
        batch.add_column(sa.Column("show_if", sa.String(length=70), nullable=False, server_default=""))
        batch.add_column(sa.Column("show_values", sa.String(length=255), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("channel_material") as batch:
        batch.drop_column("show_values")
        batch.drop_column("show_if")
