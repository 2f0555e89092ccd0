"""covering indexes for the school reviewers' scope

A school's list and count ask "which applications list this school, or are allocated to it?"
for every page: with (school_id, application_id) on the choices and the allocated school in the
reviewers' list index, both answers come from the indexes alone, without reading the rows. The
new choice index also serves every lookup the single-column one served.

Revision ID: a3c9e1f0b7d2
Revises: eb6eacb7e7ed
Create Date: 2026-12-07 03:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3c9e1f0b7d2'
down_revision = 'eb6eacb7e7ed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application_choice', schema=None) as batch_op:
        batch_op.create_index('ix_application_choice_school_app', ['school_id', 'application_id'], unique=False)
        batch_op.drop_index('ix_application_choice_school_id')
    _reviewable(['submitted_at', 'id', 'allocated_school_id'])


def _reviewable(columns):
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_reviewable')
        batch_op.create_index('ix_application_reviewable', columns, unique=False,
                              sqlite_where=sa.text("status <> 'draft'"), postgresql_where=sa.text("status <> 'draft'"))


def downgrade():
    _reviewable(['submitted_at', 'id'])
    with op.batch_alter_table('application_choice', schema=None) as batch_op:
        batch_op.create_index('ix_application_choice_school_id', ['school_id'], unique=False)
        batch_op.drop_index('ix_application_choice_school_app')
