"""The county's agreement a parent accepts before the first application."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notice, ParentAccount


def agreement(session: Session) -> Notice | None:
    return session.scalar(
        select(Notice).where(Notice.kind == "agreement", Notice.published.is_(True)).order_by(Notice.position).limit(1)
    )


def needs_consent(session: Session, account: ParentAccount) -> bool:
    """True until the account accepted the current agreement in its current version."""
    notice = agreement(session)
    if notice is None:
        return False
    return account.consent_at is None or account.consent_notice_id != notice.id or account.consent_version != notice.version


def give(session: Session, account: ParentAccount, now: dt.datetime, notice: Notice | None = None) -> None:
    """Record the account's agreement to ``notice`` (the current agreement when not given)."""
    notice = notice or agreement(session)
    account.consent_at = now
    account.consent_notice_id = notice.id if notice else None
    account.consent_version = notice.version if notice else None
    session.commit()
