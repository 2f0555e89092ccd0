"""A family's application at and after submission: what may still change, the submit itself
(what goes in is what the preview showed), withdrawal and deletion."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.models import Application
from app.services import categories, eligibility, workflow
from app.services.applications import ApplicationError, attachments_by_material, missing
from app.services.persist import commit_keeping_loaded


def can_edit(application: Application, now: dt.datetime) -> bool:
    """A draft always; a submitted one until close where the period allows; after that only when returned."""
    if application.status in ("draft", "returned"):
        return True
    period = application.period
    return application.status == "submitted" and period.edit_until_close and now <= period.closes_at


def can_withdraw(application: Application, now: dt.datetime) -> bool:
    """Only before review starts, at most the period's limit, while the period is open."""
    return withdraw_problem(application, now) is None


def withdraw_problem(application: Application, now: dt.datetime):
    """Why a submitted application cannot be withdrawn now, in the parent's words, or None."""
    period = application.period
    if application.status in ("draft", "returned"):
        return _l("The application is not submitted; there is nothing to withdraw.")
    if application.status != "submitted":
        return _l("Review has started; the application can no longer be withdrawn.")
    if period.withdrawal_limit == 0:
        return _l("This period does not allow withdrawing a submitted application.")
    if application.withdrawal_count >= period.withdrawal_limit:
        return _l("No withdrawals are left for this application (%(m)d allowed).", m=period.withdrawal_limit)
    if now > period.closes_at:
        return _l("Registration has closed; the application can no longer be withdrawn.")
    return None


def fingerprint(application: Application, uploaded: dict) -> str:
    """What the preview shows, as a short hash: the submit carries it, so what goes in is what the
    parent read (a change made since in another tab is refused, not submitted unseen)."""
    shown = [application.child.name, application.channel_id, application.community_id, application.grade,
             [(c.rank, c.school_id) for c in application.choices], application.section_data or {},
             sorted(a.id for files in uploaded.values() for a in files)]
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:24]


CHANGED_SINCE_PREVIEW = _l("The application was changed after this preview was shown (in another tab or window). "
                           "Please read the preview again and submit from it.")


def submit(session: Session, application: Application, account_id: int, now: dt.datetime,
           previewed_at: dt.datetime | None = None, previewed: str | None = None) -> None:
    """Check everything again, as each step checked it, and submit (or resubmit after a return).
    One submission wins a double click or a second tab; the other is told it is already in.
    ``previewed`` is the fingerprint of the preview the parent submitted from, where there was one."""
    period = application.period
    if application.status not in ("draft", "returned"):
        raise ApplicationError(ALREADY_SUBMITTED)
    uploaded = attachments_by_material(session, application)
    if previewed is not None and previewed != fingerprint(application, uploaded):
        raise ApplicationError(CHANGED_SINCE_PREVIEW)
    wait = dt.timedelta(seconds=period.submit_wait_seconds)
    if wait and (previewed_at is None or now - previewed_at < wait):
        raise ApplicationError(_l("Please read the preview for %(s)d seconds before submitting.", s=period.submit_wait_seconds))
    found = [] if application.status == "returned" else eligibility.period_problems(period, now)
    found += eligibility.age_problems(period, application.child)
    # a second holding application in the period cannot exist: a unique index forbids it
    found += missing(session, application, uploaded)
    if found:
        raise ApplicationError(found[0])
    name = "resubmit" if application.status == "returned" else "submit"
    categories.store(session, application)
    # 系统可查验: the worker compares the sections with the departments' records after the submit
    application.checks_stale = bool(application.channel and application.channel.verifiable)
    application.checks_outcome = ""  # until the worker has checked what was submitted
    application.flags_stale = True  # the worker recomputes this family's conflict flags
    _move(session, application, name, account_id, now)


ALREADY_SUBMITTED = _l("This application has already been submitted.")


def _move(session: Session, application: Application, name: str, account_id: int, now: dt.datetime) -> None:
    try:
        workflow.transition(session, application, name, account_id=account_id, now=now)
        commit_keeping_loaded(session)
    except workflow.TransitionError as error:
        session.rollback()
        if name in ("submit", "resubmit") and application.status == "submitted":
            raise ApplicationError(ALREADY_SUBMITTED) from None  # a double click or a second tab won
        raise ApplicationError(error.message) from None


def can_delete(application: Application, now: dt.datetime) -> bool:
    """删除 (Dengfeng): a draft always; a submitted or returned one while the family may still change it."""
    return delete_problem(application, now) is None


def delete_problem(application: Application, now: dt.datetime):
    """Why the application cannot be deleted now, in the parent's words (going back to the question
    after deleting gets the first line, not the reviewers'), or None."""
    if application.status == "draft":
        return None
    if application.status == "withdrawn":
        return _l("This application was already deleted or withdrawn.")
    if application.status in ("submitted", "returned") and can_edit(application, now):
        return None
    if application.status == "submitted" and application.period.edit_until_close:
        return _l("Registration has closed; the application can no longer be deleted.")
    if application.status == "submitted":
        return _l("This period does not allow deleting a submitted application.")
    return _l("The reviewers have this application; it can no longer be deleted.")


def delete(session: Session, application: Application, account_id: int, now: dt.datetime) -> None:
    """The family takes the application back for good: it stops holding the child's place."""
    problem = delete_problem(application, now)
    if problem is not None:
        raise ApplicationError(problem)
    _move(session, application, "delete", account_id, now)


def withdraw(session: Session, application: Application, account_id: int, now: dt.datetime) -> None:
    problem = withdraw_problem(application, now)
    if problem is not None:
        raise ApplicationError(problem)
    _move(session, application, "withdraw", account_id, now)
