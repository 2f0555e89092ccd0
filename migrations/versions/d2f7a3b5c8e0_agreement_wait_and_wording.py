"""The agreement's reading time and button wording are county data

Revision ID: d2f7a3b5c8e0
Revises: c8d4e6f2a9b1
Create Date: 2026-12-07 13:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d2f7a3b5c8e0"
down_revision = "c8d4e6f2a9b1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("wait_seconds", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("button_label", sa.String(length=32), nullable=False, server_default=""))
        batch.create_check_constraint("ck_notice_wait", "wait_seconds >= 0 AND wait_seconds <= 600")


def downgrade():
    with op.batch_alter_table("notice") as batch:
        batch.drop_constraint("ck_notice_wait", type_="check")
        batch.drop_column("button_label")
        batch.drop_column("wait_seconds")
