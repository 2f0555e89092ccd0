"""免证明: registry extracts (batches and records) and each application's check outcomes

Revision ID: a9d3e5f1b2c4
Revises: f7b2d9e4a6c1
Create Date: 2026-12-07 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a9d3e5f1b2c4"
down_revision = "f7b2d9e4a6c1"
branch_labels = None
depends_on = None

SOURCES = "source IN ('household', 'property', 'social_insurance', 'business_licence', 'residence_permit', 'student_registry')"


def upgrade():
    with op.batch_alter_table("channel_material") as batch:
        batch.add_column(sa.Column("waived_if_verified", sa.String(32), server_default="", nullable=False))
    op.create_table(
        "registry_batch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(SOURCES, name="ck_registry_batch_source"),
    )
    op.create_table(
        "registry_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("registry_batch.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_registry_record_batch_id", "registry_record", ["batch_id"])
    op.create_index("ix_registry_record_person", "registry_record", ["source", "person_id"])
    op.create_index("ix_registry_record_number", "registry_record", ["source", "number"])
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("checks", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("checks_stale", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.add_column(sa.Column("checks_outcome", sa.String(16), server_default="", nullable=False))
        batch.create_index("ix_application_checks_outcome", ["checks_outcome"], unique=False)
        batch.create_index("ix_application_checks_stale", ["checks_stale"], unique=False,
                           sqlite_where=sa.text("checks_stale"), postgresql_where=sa.text("checks_stale"))


def downgrade():
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_checks_stale", sqlite_where=sa.text("checks_stale"), postgresql_where=sa.text("checks_stale"))
        batch.drop_index("ix_application_checks_outcome")
        batch.drop_column("checks_outcome")
        batch.drop_column("checks_stale")
        batch.drop_column("checks")
    op.drop_table("registry_record")
    op.drop_table("registry_batch")
    with op.batch_alter_table("channel_material") as batch:
        batch.drop_column("waived_if_verified")
