"""Figures for the bureau dashboard: per school, per channel, per day."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Application, ApplicationChoice, School


@dataclass
class SchoolRow:
    school: School
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


def figures(session: Session, period_id: int | None = None) -> Figures:
    query = select(Application).where(Application.status != "draft")
    if period_id:
        query = query.where(Application.period_id == period_id)
    applications = session.scalars(query).all()
    ids = [a.id for a in applications]
    rows = {s.id: SchoolRow(s) for s in session.scalars(select(School).order_by(School.code))}
    choices = session.scalars(select(ApplicationChoice).where(ApplicationChoice.application_id.in_(ids))).all() if ids else []
    status_of = {a.id: a.status for a in applications}
    for choice in choices:
        row = rows[choice.school_id]
        row.by_status[status_of[choice.application_id]] += 1
        if choice.rank == 1 and status_of[choice.application_id] in ACTIVE_STATUSES:
            row.first_choice += 1
    channels: dict[str, Counter] = defaultdict(Counter)
    days: Counter = Counter()
    for a in applications:
        channels[a.channel.name if a.channel else "—"][a.status] += 1
        if a.submitted_at:
            days[a.submitted_at.date()] += 1
    return Figures(list(rows.values()), dict(channels), sorted(days.items()), Counter(status_of.values()))
