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


def insert_unless_exists(session: Session, model, values: dict, unique: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True if this call created the row. Two requests creating
    the same row at once (a double click, two tabs) get one row and no error."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    key = list(model.__table__.primary_key.columns)
    # RETURNING, not rowcount: PostgreSQL's driver reports -1 for an INSERT that returns rows
    return session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(*key)).first() is not None
