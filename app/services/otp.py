"""One-time login codes: issue, send, check. Limits live here; request rate limits in the view."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import OtpCode, ParentAccount
from app.services.persist import commit_keeping_loaded

PHONE = re.compile(r"1[3-9]\d{9}")
CODE_TTL = dt.timedelta(minutes=5)
RESEND_AFTER = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 5


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
    row = session.scalar(
        select(OtpCode).where(OtpCode.phone == phone, OtpCode.used_at.is_(None)).order_by(OtpCode.id.desc()).limit(1)
    )
    if row is None:
        raise OtpError(_l("Ask for a code first."))
    if now > row.expires_at:
        raise OtpError(_l("The code has expired; ask for a new one."))
    if row.attempts >= MAX_ATTEMPTS:
        raise OtpError(_l("Too many wrong codes; ask for a new one."))
    if not hmac.compare_digest(row.code_hash, _hash(secret, phone, (code or "").strip())):
        row.attempts += 1
        session.commit()
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise OtpError(_l("Too many wrong codes; ask for a new one."))
        raise OtpError(_l("Wrong code; %(n)d tries left.", n=left))
    row.used_at = now
    account = session.scalar(select(ParentAccount).where(ParentAccount.phone == phone))
    if account is None:
        account = ParentAccount(phone=phone, created_at=now)
        session.add(account)
    account.last_login_at = now
    commit_keeping_loaded(session)
    return account
