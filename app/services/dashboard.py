"""Figures for the bureau dashboard: per school, per channel, per day."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Application, ApplicationChoice, Channel, School


@dataclass(frozen=True)
class SchoolInfo:
    """What the dashboard shows of a school (plain data: the figures are kept in a shared cache)."""

    id: int
    code: str
    name: str
    seats: int


@dataclass
class SchoolRow:
    school: SchoolInfo
    by_status: Counter = field(default_factory=Counter)
    first_choice: int = 0

    @property
    def demand_ratio(self) -> float:
        return self.first_choice / self.school.seats if self.school.seats else float(self.first_choice > 0)


@dataclass
class Figures:
    schools: list[SchoolRow]
    channels: dict[str, Counter]
    per_day: list[tuple[dt.date, int]]
    statuses: Counter
    counted_at: dt.datetime | None = None


def figures(session: Session, period_id: int | None = None) -> Figures:
    """Every figure by GROUP BY in the database: four statements at any number of applications,
    each table read once (the choices once for both the statuses and the first choices)."""
    def where(query):
        query = query.where(Application.status != "draft")
        return query.where(Application.period_id == period_id) if period_id else query

    rows = {s.id: SchoolRow(SchoolInfo(s.id, s.code, s.name, s.seats or 0)) for s in session.execute(
        select(School.id, School.code, School.name, School.seats).order_by(School.code))}
    first = case((ApplicationChoice.rank == 1, Application.status.in_(ACTIVE_STATUSES)), else_=False)
    by_school = session.execute(where(
        select(ApplicationChoice.school_id, Application.status, first, func.count())
        .join(Application, Application.id == ApplicationChoice.application_id)
        .group_by(ApplicationChoice.school_id, Application.status, first)))
    for school_id, status, is_first, n in by_school:
        if school_id in rows:
            rows[school_id].by_status[status] += n
            rows[school_id].first_choice += n if is_first else 0
    channels: dict[str, Counter] = defaultdict(Counter)
    statuses: Counter = Counter()
    for name, status, n in session.execute(where(
            select(Channel.name, Application.status, func.count()).outerjoin(Channel, Channel.id == Application.channel_id)
            .group_by(Channel.name, Application.status))):
        channels[name or "—"][status] += n
        statuses[status] += n
    day = func.date(Application.submitted_at)
    days = [(d if isinstance(d, dt.date) else dt.date.fromisoformat(d), n) for d, n in session.execute(where(
        select(day, func.count()).where(Application.submitted_at.is_not(None)).group_by(day).order_by(day)))]
    return Figures(list(rows.values()), dict(channels), days, statuses)


def cached_figures(session: Session, period_id: int | None, now: dt.datetime, seconds: int) -> Figures:
    """The figures counted at most once per ``seconds`` per period, in the app's cache (shared by
    every worker and node when it is Redis): a bureau's dashboard over 200,000 applications is
    four scans, and ten people watching it on opening morning need not make it forty."""
    from app.extensions import cache

    if seconds <= 0:
        return _stamped(figures(session, period_id), now)
    key = f"dashboard:{period_id or 'all'}"
    try:
        found = cache.get(key)
    except Exception:  # the cache is an optimisation: a Redis outage costs a count, not the page
        found = None
    if isinstance(found, Figures):
        return found
    found = _stamped(figures(session, period_id), now)
    try:
        cache.set(key, found, timeout=seconds)
    except Exception:
        pass
    return found


def _stamped(found: Figures, now: dt.datetime) -> Figures:
    found.counted_at = now
    return found
