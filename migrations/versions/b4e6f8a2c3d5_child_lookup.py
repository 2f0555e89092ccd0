"""免证明: the child looked up in the household extract before applying (安义's three outcomes)

Revision ID: b4e6f8a2c3d5
Revises: a9d3e5f1b2c4
Create Date: 2026-12-07 18:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b4e6f8a2c3d5"
down_revision = "a9d3e5f1b2c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrollment_period") as batch:
        batch.add_column(sa.Column("child_lookup", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_table(
        "child_lookup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("child_id", sa.Integer(), sa.ForeignKey("child.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period_id", sa.Integer(), sa.ForeignKey("enrollment_period.id", ondelete="CASCADE"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.String(16), nullable=False),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("looked_up_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("child_id", "period_id", name="uq_child_lookup_child_period"),
        sa.CheckConstraint("outcome IN ('matched', 'not_found')", name="ck_child_lookup_outcome"),
        sa.CheckConstraint("status IN ('looked_up', 'confirmed', 'pending', 'approved', 'returned')", name="ck_child_lookup_status"),
        sa.CheckConstraint("request IN ('', 'appeal', 'registration')", name="ck_child_lookup_request"),
    )
    op.create_index("ix_child_lookup_status", "child_lookup", ["status"])
    op.create_table(
        "child_lookup_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lookup_id", sa.Integer(), sa.ForeignKey("child_lookup.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("storage_key", sa.String(128), nullable=False, unique=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("size > 0", name="ck_child_lookup_file_size"),
    )
    op.create_index("ix_child_lookup_file_lookup_id", "child_lookup_file", ["lookup_id"])


def downgrade():
    op.drop_table("child_lookup_file")
    op.drop_index("ix_child_lookup_status", "child_lookup")
    op.drop_table("child_lookup")
    with op.batch_alter_table("enrollment_period") as batch:
        batch.drop_column("child_lookup")
