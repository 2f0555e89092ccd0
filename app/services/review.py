"""Reviewers acting on applications: scope, review window, locking, all-or-nothing batches."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import Application
from app.services import scope, workflow

STAFF_ACTIONS = ("start_review", "approve", "return", "reject")


class ReviewError(UserError):
    """A review action was refused; nothing changed."""


@dataclass(frozen=True)
class Reviewer:
    user_id: int
    all_schools: bool


def reviewer(session: Session, user_id: int, all_schools: bool) -> Reviewer:
    return Reviewer(user_id, all_schools)


def window_problem(application: Application, now: dt.datetime):
    period = application.period
    if period.review_starts_at and now < period.review_starts_at:
        return _l("Review of this period starts at %(t)s.", t=period.review_starts_at.strftime("%Y-%m-%d %H:%M"))
    if period.review_ends_at and now > period.review_ends_at:
        return _l("Review of this period ended at %(t)s.", t=period.review_ends_at.strftime("%Y-%m-%d %H:%M"))
    return None


def approve_verified(session: Session, application_ids: list[int], who: Reviewer, now: dt.datetime) -> tuple[int, int]:
    """免证明: approve, of the selected, those in review whose every checked section matches the
    records; the others are left for a reviewer to read. (approved, left) — one page at most."""
    chosen = set(application_ids)
    ready = list(session.scalars(select(Application.id).where(
        Application.id.in_(chosen), Application.status == "in_review", Application.checks_outcome == "verified",
        Application.checks_stale.is_(False))))
    done = act(session, ready, "approve", who, "", now) if ready else 0
    return done, len(chosen) - done


def act(session: Session, application_ids: list[int], action: str, who: Reviewer, reason: str, now: dt.datetime) -> int:
    """Apply one staff action to every listed application, or to none: any refusal rolls back."""
    if action not in STAFF_ACTIONS:
        raise ReviewError(_l("Unknown action."))
    try:
        # Row locks (PostgreSQL) make a second reviewer wait, then see the status the first left.
        rows = session.scalars(
            select(Application).where(Application.id.in_(application_ids)).order_by(Application.id).with_for_update()
        ).all()
        if len(rows) != len(set(application_ids)):
            raise ReviewError(_l("Some selected applications no longer exist."))
        visible = None if who.all_schools else set(session.scalars(
            scope.visible_application_ids(who.user_id).where(Application.id.in_(application_ids))))
        for application in rows:
            session.refresh(application)
            if visible is not None and application.id not in visible:
                raise ReviewError(_l("Application %(number)s is outside your schools.", number=application.number))
            problem = window_problem(application, now)
            if problem is not None:
                raise ReviewError(problem)
            workflow.transition(session, application, action, user_id=who.user_id, reason=reason, now=now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return len(rows)
