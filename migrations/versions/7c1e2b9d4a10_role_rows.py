"""role rows exist after db upgrade, so the first administrator always gets Admin

Revision ID: 7c1e2b9d4a10
Revises: 549dcca888a2
Create Date: 2026-11-25 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c1e2b9d4a10'
down_revision = '549dcca888a2'
branch_labels = None
depends_on = None

# The names of app/security.py's ROLES plus FAB's Public role, as they are at this revision
# (permissions stay in config: FAB_ROLES). `flask fab create-admin` looks the Admin row up by name.
ROLE_NAMES = ("Admin", "CountyIT", "BureauReviewer", "SchoolReviewer", "Public")


def upgrade():
    bind = op.get_bind()
    existing = {name for (name,) in bind.execute(sa.text("SELECT name FROM ab_role"))}
    for name in ROLE_NAMES:
        if name not in existing:
            bind.execute(sa.text("INSERT INTO ab_role (name) VALUES (:name)"), {"name": name})


def downgrade():
    pass  # the rows may hold users by now; an older version simply does not use them
