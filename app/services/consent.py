"""The county's agreement a parent accepts before the first application."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import Notice, ParentAccount
from app.services.layouts import cached


def agreement(session: Session) -> Notice | None:
    return session.scalar(
        select(Notice).where(Notice.kind == "agreement", Notice.published.is_(True)).order_by(Notice.position).limit(1)
    )


def current_version(session: Session) -> tuple[int, int] | None:
    """The current agreement's id and version, from this worker's copy of the set-up (asked at
    every sign-in and every start: on opening day that is one statement per request saved)."""
    def load():
        notice = agreement(session)
        return None if notice is None else (notice.id, notice.version)

    return cached(("agreement",), load)


def needs_consent(session: Session, account: ParentAccount) -> bool:
    """True until the account accepted the current agreement in its current version."""
    current = current_version(session)
    if current is None:
        return False
    return account.consent_at is None or (account.consent_notice_id, account.consent_version) != current


class ConsentError(UserError):
    """The agreement was not read for its time."""


def give(session: Session, account: ParentAccount, now: dt.datetime, notice: Notice | None = None,
         shown_at: dt.datetime | None = None) -> None:
    """Record the account's agreement to ``notice`` (the current agreement when not given), once
    it was shown (``shown_at``) at least its reading time ago."""
    notice = notice or agreement(session)
    if notice is not None and notice.wait_seconds and (shown_at is None or now - shown_at < dt.timedelta(seconds=notice.wait_seconds)):
        raise ConsentError(_l("Please read the agreement for %(s)d seconds before you continue.", s=notice.wait_seconds))
    account.consent_at = now
    account.consent_notice_id = notice.id if notice else None
    account.consent_version = notice.version if notice else None
    session.commit()
