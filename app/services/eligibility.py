"""Who may apply to which period and school: one place for the admin, the form and the API."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Application, Child, EnrollmentPeriod, School

# Statuses that hold the child's place in a period (a withdrawn application is back to draft).
HOLDING = ("draft", "submitted", "in_review", "returned", "approved", "admitted", "reassigned")


def period_state(period: EnrollmentPeriod, now: dt.datetime) -> str:
    if now < period.opens_at:
        return "upcoming"
    if now > period.closes_at:
        return "closed"
    return "open"


def _when(value: dt.datetime) -> str:
    # Period times are the county's wall-clock time; flask-babel would shift naive times as UTC.
    return value.strftime("%Y-%m-%d %H:%M")


def period_problems(period: EnrollmentPeriod, now: dt.datetime) -> list:
    state = period_state(period, now)
    if state == "upcoming":
        return [_l("This period opens at %(t)s.", t=_when(period.opens_at))]
    if state == "closed":
        return [_l("This period closed at %(t)s.", t=_when(period.closes_at))]
    return []


def age_problems(period: EnrollmentPeriod, child: Child, school: School | None = None) -> list:
    """The period's birth-date window; for an underage entry, the school's own cut-off."""
    birth = child.birth_date
    if birth is None:
        return [_l("The child's birth date is missing.")]
    problems = []
    if period.birth_to and birth > period.birth_to:
        problems.append(_l("Too young: children born on or before %(d)s may apply in this period.", d=period.birth_to.isoformat()))
    if period.birth_from and birth < period.birth_from:
        problems.append(_l("Too old: children born on or after %(d)s may apply in this period; check the ID number.", d=period.birth_from.isoformat()))
    if school is not None and period.entry_kind == "underage":
        if not school.accepts_underage:
            problems.append(_l("%(school)s does not take underage children.", school=school.name))
        elif school.underage_birth_cutoff and birth > school.underage_birth_cutoff:
            problems.append(_l("Too young for %(school)s: it takes underage children born on or before %(d)s.", school=school.name, d=school.underage_birth_cutoff.isoformat()))
    return problems


def registered_elsewhere(session: Session, child: Child, period: EnrollmentPeriod, current_id: int | None = None) -> Application | None:
    query = select(Application).where(
        Application.child_id == child.id,
        Application.period_id == period.id,
        Application.status.in_(HOLDING),
    )
    if current_id is not None:
        query = query.where(Application.id != current_id)
    return session.scalar(query.limit(1))


def problems(session: Session, period: EnrollmentPeriod, child: Child, now: dt.datetime, current_id: int | None = None) -> list:
    """Everything that stops this child applying in this period now, as messages."""
    found = period_problems(period, now) + age_problems(period, child)
    if registered_elsewhere(session, child, period, current_id) is not None:
        found.append(_l("Already registered: this child already has an application in this period."))
    return found
