"""The staff's second factor (TOTP, RFC 6238): who needs one, enrolment, checking a code.

Callable without a request: the caller passes the database session, the time (timezone-aware:
codes are computed from real time, whatever the county's zone) and the key (``key(SECRET_KEY)``). The secret is stored encrypted (Fernet, with a key derived from
SECRET_KEY) and never logged. A code is accepted for the current 30-second step or one step
either side (a phone's clock a little off); each accepted step is written, and a code of that
step or an older one is refused (replay), also when two requests race (conditional update).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from enum import Enum

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from app.model_base import county_now
from app.models import StaffTotp

ISSUER = "Ruxue"
DRIFT_STEPS = 1  # codes of the step before and after the current one are accepted too


class Check(str, Enum):
    OK = "ok"
    WRONG = "wrong"  # not the code of any step around now (counts toward the lockout)
    REPLAYED = "replayed"  # a right code, but of a step already used (or older)
    MISSING = "missing"  # no second factor enrolled


def required(role_names, marked) -> bool:
    """True when any of the user's roles is one the county marks (STAFF_TOTP_ROLES)."""
    return bool(set(role_names) & set(marked))


def key(secret_key: str) -> bytes:
    """The encryption key of the secrets, derived from the app's SECRET_KEY (its own purpose)."""
    digest = hmac.new(secret_key.encode(), b"ruxue staff totp secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


def _encrypt(secret: str, key_: bytes) -> str:
    return Fernet(key_).encrypt(secret.encode()).decode()


def _decrypt(token: str, key_: bytes) -> str | None:
    try:
        return Fernet(key_).decrypt(token.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed: the secret is lost, an Admin resets the factor
        return None


def _row(session: Session, user_id: int) -> StaffTotp | None:
    return session.get(StaffTotp, user_id, populate_existing=True)


def enrolled(session: Session, user_id: int) -> bool:
    row = _row(session, user_id)
    return row is not None and row.confirmed_at is not None


def begin_enrolment(session: Session, user_id: int, key_: bytes) -> str:
    """The secret to show at enrolment: the pending one (a reload shows the same QR code), or a
    new one. Refused (ValueError) once enrolled: only a reset starts over."""
    row = _row(session, user_id)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("already enrolled")
    secret = _decrypt(row.secret_encrypted, key_) if row is not None else None
    if secret is None:
        secret = pyotp.random_base32()
        if row is None:
            row = StaffTotp(user_id=user_id, created_at=county_now())
            session.add(row)
        row.secret_encrypted = _encrypt(secret, key_)
        session.commit()
    return secret


def matched_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code this is (current one or one either side), or None."""
    if now.tzinfo is None:
        raise ValueError("a timezone-aware time is needed")
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        at = now + dt.timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


def _use_step(session: Session, user_id: int, step: int, confirming: bool) -> bool:
    """Record the step as used, unless it (or a later one) was used already: one winner."""
    values = {"last_step": step, **({"confirmed_at": county_now()} if confirming else {})}
    done = session.execute(update(StaffTotp).where(StaffTotp.user_id == user_id,
                                                   or_(StaffTotp.last_step.is_(None), StaffTotp.last_step < step))
                           .values(**values)).rowcount
    session.commit()
    return done == 1


def _check(session: Session, user_id: int, code: str, key_: bytes, now: dt.datetime, confirming: bool) -> Check:
    row = _row(session, user_id)
    if row is None or (row.confirmed_at is not None) == confirming:
        return Check.MISSING
    secret = _decrypt(row.secret_encrypted, key_)
    step = matched_step(secret, code, now) if secret else None
    if step is None:
        return Check.WRONG
    if row.last_step is not None and step <= row.last_step:
        return Check.REPLAYED
    return Check.OK if _use_step(session, user_id, step, confirming) else Check.REPLAYED


def confirm_enrolment(session: Session, user_id: int, code: str, key_: bytes, now: dt.datetime) -> Check:
    """The first code from the new authenticator: right, and the second factor is on."""
    return _check(session, user_id, code, key_, now, confirming=True)


def verify(session: Session, user_id: int, code: str, key_: bytes, now: dt.datetime) -> Check:
    """A sign-in's code against the enrolled secret."""
    return _check(session, user_id, code, key_, now, confirming=False)


def reset(session: Session, user_id: int) -> bool:
    """Remove the second factor (an Admin's action): the user enrols again at the next sign-in.
    The caller commits (with its audit row)."""
    return session.execute(delete(StaffTotp).where(StaffTotp.user_id == user_id)).rowcount > 0


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG markup (no image request, nothing leaves the page)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The manual key in groups of four, easier to type into an authenticator."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))

