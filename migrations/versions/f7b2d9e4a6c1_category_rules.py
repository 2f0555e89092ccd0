"""生源类别: a period's category rules, and the category an application was given

Revision ID: f7b2d9e4a6c1
Revises: e4a8c1d7f2b3
Create Date: 2026-12-07 16:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "f7b2d9e4a6c1"
down_revision = "e4a8c1d7f2b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "category_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_id", sa.Integer(), sa.ForeignKey("enrollment_period.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name_zh", sa.String(64), nullable=False),
        sa.Column("name_en", sa.String(128), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.UniqueConstraint("period_id", "code", name="uq_category_rule_period_code"),
        sa.CheckConstraint("rank >= 1", name="ck_category_rule_rank"),
    )
    op.create_index("ix_category_rule_period_id", "category_rule", ["period_id"])
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("category_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_application_category_id_category_rule", "category_rule", ["category_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("application") as batch:
        batch.drop_constraint("fk_application_category_id_category_rule", type_="foreignkey")
        batch.drop_column("category_id")
    op.drop_index("ix_category_rule_period_id", table_name="category_rule")
    op.drop_table("category_rule")
