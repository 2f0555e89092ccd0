"""Committing a request's work without throwing away what the request already read."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session


def commit_keeping_loaded(session: Session) -> None:
    """Commit without expiring the objects loaded so far: the redirect that follows a parent's
    save reads the same application, channel and choices, and would otherwise load them again."""
    real = session() if isinstance(session, scoped_session) else session
    expire = real.expire_on_commit
    real.expire_on_commit = False
    try:
        real.commit()
    finally:
        real.expire_on_commit = expire


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def upsert(session: Session, model, values: dict, unique: list[str], changes: dict):
    """INSERT … ON CONFLICT DO UPDATE … RETURNING the row as an object, in one statement: the
    row is created once however many requests race to create it."""
    statement = _insert(session)(model).values(**values).on_conflict_do_update(index_elements=unique, set_=changes)
    return session.scalars(statement.returning(model), execution_options={"populate_existing": True}).one()


def insert_unless_exists(session: Session, model, values: dict, unique: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True if this call created the row. Two requests creating
    the same row at once (a double click, two tabs) get one row and no error."""
    insert = _insert(session)
    key = list(model.__table__.primary_key.columns)
    # RETURNING, not rowcount: PostgreSQL's driver reports -1 for an INSERT that returns rows
    return session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(*key)).first() is not None
