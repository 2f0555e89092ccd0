"""Migrations build the schema from nothing and agree with the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from sqlalchemy import inspect

import app.models  # noqa: F401


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Model.metadata)
    assert diff == []


def test_every_table_exists(engine):
    names = set(inspect(engine).get_table_names())
    expected = {
        "district", "street", "community", "school", "school_neighbour", "catchment", "material_type",
        "enrollment_period", "channel", "channel_material", "channel_section", "notice", "parent_account",
        "child", "guardian", "application", "application_choice", "attachment", "application_event",
        "message", "reviewer_school", "ab_user", "ab_role", "alembic_version",
    }
    assert expected <= names


def test_child_id_is_unique_per_type(db_session):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app.models import Child

    existing = db_session.query(Child).first()
    db_session.add(Child(name="重复", id_type=existing.id_type, id_number=existing.id_number))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_catchment_pair_is_unique(db_session):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app.models import Catchment

    existing = db_session.query(Catchment).first()
    db_session.add(Catchment(school_id=existing.school_id, community_id=existing.community_id, kind="shared"))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_check_constraints_refuse_unknown_status(db_session):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE application SET status = 'lost' WHERE id = (SELECT MIN(id) FROM application)"))
        db_session.flush()
