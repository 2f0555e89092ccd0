"""Anyi's seat forecast (学位预分配) at the same cost for 100 or 100,000 applicants.

A forecast run allocates the period's approved applications off the parents' path (the worker or
`flask forecast`) and keeps, per seat pool, its cut-off: the choice round in which it filled and
the priority key of the last applicant it took. The preview then compares the family's own key
with the cut-offs of the schools they chose, in their order, as the allocation itself would.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from app.model_base import county_now
from app.models import AllocationForecast, Application, Catchment, EnrollmentPeriod, SchoolNeighbour
from app.services import allocation, allocation_runs, categories

FORECAST_SEED = "forecast"


@dataclass(frozen=True)
class Forecast:
    school: str | None  # None: the chosen schools and their neighbours are forecast full
    how: str  # "choice", "lottery" (the family ties the cut-off up to the lottery), "reassigned", "none", "pending"
    choice_rank: int | None
    computed_at: dt.datetime | None


def refresh(session: Session, period: EnrollmentPeriod, now: dt.datetime | None = None) -> int:
    """Allocate the period's approved applications once and store each pool's cut-off."""
    keys = allocation_runs.keys_of(period)
    applicants, schools = allocation_runs.inputs(session, period)
    result = allocation.allocate(applicants, schools, FORECAST_SEED, period.allocation_mechanism, keys)
    lottery = {a.id: allocation.lottery_number(FORECAST_SEED, a.number) for a in applicants}
    deferred = period.allocation_mechanism == allocation.DEFERRED_ACCEPTANCE
    placed: dict = {}
    for a in applicants:
        p = result.placements[a.id]
        if p.via == "choice":
            placed.setdefault(p.school_id, []).append((p.choice_rank, allocation.priority_key(a, p.school_id, keys, lottery[a.id])))
    now = now or county_now()
    session.execute(delete(AllocationForecast).where(AllocationForecast.period_id == period.id))
    for school in schools:
        taken = placed.get(school.id, [])
        full_round, cutoff = None, None
        if school.seats <= 0:
            full_round = 0 if deferred else 1  # full before anyone asked: no cut-off to clear
        elif len(taken) >= school.seats:
            full_round = 0 if deferred else max(rank for rank, _ in taken)
            cutoff = list(max(key for rank, key in taken if deferred or rank == full_round)[:-1])
        left = school.seats - sum(1 for p in result.placements.values() if p.school_id == school.id)
        session.add(AllocationForecast(period_id=period.id, pool=str(school.id), full_round=full_round, cutoff=cutoff,
                                       seats_left=max(left, 0), keys=",".join(keys), computed_at=now))
    session.commit()
    return len(applicants)


def refresh_all(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Every period that shows a forecast and is still open to applications or review."""
    now = now or county_now()
    periods = session.scalars(select(EnrollmentPeriod).where(EnrollmentPeriod.preview_allocation.is_(True))).all()
    done = {}
    for period in periods:
        if (period.review_ends_at or period.closes_at) >= now - dt.timedelta(days=1):
            done[period.code] = refresh(session, period, now)
    return done


def forecast(session: Session, application: Application) -> Forecast | None:
    """Where the family's data would be placed against the latest forecast's cut-offs (three
    small queries, whatever the number of applicants)."""
    period = application.period
    if not period.preview_allocation or not application.choices or application.child.birth_date is None:
        return None
    transfer = period.entry_kind == "transfer"
    grade = (application.grade or period.grade) if transfer else None
    pools = [str(allocation_runs.pool(c.school_id, grade)) for c in application.choices]
    first = application.choices[0].school_id
    neighbours = session.scalars(
        select(SchoolNeighbour).where(SchoolNeighbour.school_id == first).order_by(SchoolNeighbour.rank)
        .options(joinedload(SchoolNeighbour.neighbour))
    ).all()
    wanted = pools + [str(allocation_runs.pool(n.neighbour_id, grade)) for n in neighbours]
    rows = {r.pool: r for r in session.scalars(
        select(AllocationForecast).where(AllocationForecast.period_id == period.id, AllocationForecast.pool.in_(wanted)))}
    if not rows:
        return Forecast(None, "pending", None, None)
    computed_at = max(r.computed_at for r in rows.values())
    keys = tuple(next(iter(rows.values())).keys.split(","))
    me = _applicant(session, application, keys, grade)
    for k, choice in enumerate(application.choices, start=1):
        row = rows.get(pools[k - 1])
        if row is None:
            continue
        verdict = _clears(row, k, allocation.priority_key(me, pools[k - 1], keys, 0), keys)
        if verdict:
            return Forecast(choice.school.name, verdict, k, computed_at)
    for n in neighbours:
        row = rows.get(str(allocation_runs.pool(n.neighbour_id, grade)))
        if row is not None and row.seats_left > 0 and n.neighbour_id not in {c.school_id for c in application.choices}:
            return Forecast(n.neighbour.name, "reassigned", None, computed_at)
    return Forecast(None, "none", None, computed_at)


def _applicant(session: Session, application: Application, keys: tuple[str, ...], grade) -> allocation.Applicant:
    standing = {}
    if "catchment" in keys and application.community_id is not None:
        standing = {str(allocation_runs.pool(school_id, grade)): kind for school_id, kind in session.execute(
            select(Catchment.school_id, Catchment.kind).where(Catchment.community_id == application.community_id))}
    sibling = ((application.section_data or {}).get("sibling") or {}).get("school")
    siblings = frozenset(str(allocation_runs.pool(c.school_id, grade)) for c in application.choices if sibling and c.school.name == sibling)
    category = categories.derive(session, application) if "category" in keys else None
    return allocation.Applicant(
        id=application.id, number=application.number, choices=(),
        channel_priority=application.channel.priority if application.channel else 99,
        birth_date=application.child.birth_date, standing=standing, sibling_schools=siblings,
        category_rank=category.rank if category is not None else 99,
    )


def _clears(row: AllocationForecast, choice_round: int, key: tuple, keys: tuple[str, ...]) -> str | None:
    """"choice" if the family would take a seat at this pool, "lottery" if only the lottery decides."""
    if row.full_round is None:
        return "choice"
    if row.full_round and choice_round != row.full_round:
        # first choice first: earlier rounds still had seats, later rounds found none
        return "choice" if choice_round < row.full_round else None
    if row.cutoff is None:
        return None
    mine, cut = list(key[:-1]), list(row.cutoff)
    if mine == cut:
        return "lottery"  # equal on every published key: the tie-break decides
    if "lottery" in keys:
        at = keys.index("lottery")
        if mine[:at] == cut[:at]:
            return "lottery"
        mine, cut = mine[:at], cut[:at]
    return "choice" if mine < cut else None
