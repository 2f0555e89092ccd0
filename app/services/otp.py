"""One-time login codes: issue, send, check. Limits live here; request rate limits in the view."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import OtpCode, ParentAccount
from app.services.persist import commit_keeping_loaded, upsert

PHONE = re.compile(r"1[3-9]\d{9}")
CODE_TTL = dt.timedelta(minutes=5)
RESEND_AFTER = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 5
REUSE_WINDOW = dt.timedelta(seconds=10)


class OtpError(UserError):
    """A rule refused the input; ``message`` says why."""


@dataclass(frozen=True)
class Issued:
    code: str
    expires_at: dt.datetime


def normalize_phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not PHONE.fullmatch(phone):
        raise OtpError(_l("Enter an 11-digit mainland mobile number."))
    return phone


def _hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(session: Session, secret: str, phone: str, ip: str, now: dt.datetime) -> Issued:
    """Create a code for the phone (6 digits, valid 5 minutes); refuse within 60 s of the last."""
    last = session.scalar(select(OtpCode).where(OtpCode.phone == phone).order_by(OtpCode.id.desc()).limit(1))
    if last is not None and now - last.created_at < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - last.created_at)).total_seconds()) + 1
        raise OtpError(_l("A code was just sent; you can ask for another in %(s)d seconds.", s=wait))
    code = f"{secrets.randbelow(10**6):06d}"
    row = OtpCode(phone=phone, code_hash=_hash(secret, phone, code), created_at=now, expires_at=now + CODE_TTL, ip=ip[:45])
    session.add(row)
    commit_keeping_loaded(session)
    return Issued(code=code, expires_at=row.expires_at)


def verify(session: Session, secret: str, phone: str, code: str, now: dt.datetime) -> ParentAccount:
    """Check the newest code of the phone; log in, creating the account on first login."""
    # A code just used still works for a few seconds: a double click or a second tab sending the
    # same code at once logs in too, instead of being told to ask for a code.
    row = session.scalar(
        select(OtpCode).where(OtpCode.phone == phone, or_(OtpCode.used_at.is_(None), OtpCode.used_at >= now - REUSE_WINDOW))
        .order_by(OtpCode.id.desc()).limit(1)
    )
    if row is None:
        raise OtpError(_l("Ask for a code first."))
    if now > row.expires_at:
        raise OtpError(_l("The code has expired; ask for a new one."))
    # Each try takes one of the code's attempts in a single conditional UPDATE, so a burst of
    # simultaneous guesses cannot get more than MAX_ATTEMPTS tries between them.
    attempts = session.execute(
        update(OtpCode).where(OtpCode.id == row.id, OtpCode.attempts < MAX_ATTEMPTS)
        .values(attempts=OtpCode.attempts + 1).returning(OtpCode.attempts)
    ).scalar()
    if attempts is None:
        session.commit()
        raise OtpError(_l("Too many wrong codes; ask for a new one."))
    if not hmac.compare_digest(row.code_hash, _hash(secret, phone, (code or "").strip())):
        session.commit()
        left = MAX_ATTEMPTS - attempts
        if left <= 0:
            raise OtpError(_l("Too many wrong codes; ask for a new one."))
        raise OtpError(_l("Wrong code; %(n)d tries left.", n=left))
    session.execute(update(OtpCode).where(OtpCode.id == row.id, OtpCode.used_at.is_(None)).values(used_at=now))
    # first login creates the account; a second tab logging in at the same moment finds it
    account = upsert(session, ParentAccount, {"phone": phone, "created_at": now, "last_login_at": now}, ["phone"],
                     {"last_login_at": now})
    commit_keeping_loaded(session)
    return account
