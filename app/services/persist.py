"""Committing a request's work without throwing away what the request already read."""
from __future__ import annotations

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
