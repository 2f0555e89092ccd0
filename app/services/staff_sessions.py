"""Server-side staff sessions: created at sign-in, checked on every staff request, revoked at
logout and on a password change, ended by idleness and by an absolute lifetime."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import StaffSession

TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int, address: str, now: dt.datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now, address=address[:45]))
    session.commit()
    return token


def check(session: Session, token: str | None, user_id: int, now: dt.datetime, idle: dt.timedelta, lifetime: dt.timedelta) -> bool:
    """True while the sign-in is valid; an expired one is revoked on the spot."""
    if not token:
        return False
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        row.revoked_at = now
        session.commit()
        return False
    if now - row.last_seen_at > TOUCH_EVERY:
        session.execute(update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now))
        session.commit()
    return True


def revoke(session: Session, token: str | None, now: dt.datetime) -> None:
    if token:
        session.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token), StaffSession.revoked_at.is_(None))
                        .values(revoked_at=now))
        session.commit()


def revoke_all(session: Session, user_id: int, now: dt.datetime) -> int:
    """Every sign-in of the user (a password change, an account switched off)."""
    done = session.execute(update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
                           .values(revoked_at=now)).rowcount
    session.commit()
    return done
