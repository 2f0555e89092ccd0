"""Allocation runs over the database: gather a period's inputs, simulate, compare, publish."""
from __future__ import annotations

import datetime as dt
import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import (
    AllocationRun,
    Application,
    Catchment,
    EnrollmentPeriod,
    School,
    SchoolGradeSeats,
    SchoolNeighbour,
)
from app.services import allocation, workflow


class RunError(UserError):
    """An allocation run was refused; nothing changed."""


def keys_of(period: EnrollmentPeriod) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in (period.priority_keys or "").split(",") if k.strip())
    unknown = [k for k in keys if k not in allocation.KEYS]
    if unknown or not keys:
        raise RunError(_l("Unknown priority keys: %(keys)s.", keys=", ".join(unknown) or "—"))
    return keys


def _taken(session: Session, period: EnrollmentPeriod) -> dict[int, int]:
    """Seats already given in other periods of the same year, stage and grade (earlier rounds)."""
    rows = session.execute(
        select(Application.allocated_school_id, func.count())
        .join(EnrollmentPeriod)
        .where(
            Application.status.in_(("admitted", "reassigned")),
            Application.period_id != period.id,
            EnrollmentPeriod.year == period.year,
            EnrollmentPeriod.stage == period.stage,
            EnrollmentPeriod.grade == period.grade,
        )
        .group_by(Application.allocated_school_id)
    ).all()
    return {school_id: n for school_id, n in rows}


def pool(school_id: int, grade: int | None) -> str | int:
    """A seat pool: a school, or for transfers one grade of a school ("12:3")."""
    return school_id if grade is None else f"{school_id}:{grade}"


def school_of(pool_id) -> int:
    return int(str(pool_id).split(":")[0])


def _pools(session: Session, period: EnrollmentPeriod, neighbours: dict[int, list[int]]) -> list[allocation.School]:
    if period.entry_kind != "transfer":
        taken = _taken(session, period)
        return [
            allocation.School(s.id, max(s.seats - taken.get(s.id, 0), 0), tuple(neighbours.get(s.id, ())))
            for s in session.scalars(select(School).order_by(School.id))
        ]
    # transfers: each grade of each school is its own pool; reassignment stays in the same grade
    return [
        allocation.School(pool(g.school_id, g.grade), g.seats, tuple(pool(n, g.grade) for n in neighbours.get(g.school_id, ())))
        for g in session.scalars(select(SchoolGradeSeats).order_by(SchoolGradeSeats.school_id, SchoolGradeSeats.grade))
    ]


def inputs(session: Session, period: EnrollmentPeriod, statuses=("approved",)):
    """The period's applicants and seat pools as plain data for the engine."""
    neighbours: dict[int, list[int]] = {}
    for row in session.scalars(select(SchoolNeighbour).order_by(SchoolNeighbour.school_id, SchoolNeighbour.rank)):
        neighbours.setdefault(row.school_id, []).append(row.neighbour_id)
    schools = _pools(session, period, neighbours)
    transfer = period.entry_kind == "transfer"
    by_name = {s.name: s.id for s in session.scalars(select(School))}
    zones: dict[int, dict[int, str]] = {}
    for c in session.scalars(select(Catchment)):
        zones.setdefault(c.community_id, {})[c.school_id] = c.kind
    applicants = []
    for a in session.scalars(select(Application).where(Application.period_id == period.id, Application.status.in_(statuses))):
        if a.child.birth_date is None or not a.choices:
            continue
        sibling = (a.section_data or {}).get("sibling") or {}
        siblings = frozenset({by_name[sibling["school"]]} if sibling.get("school") in by_name else ())
        applicants.append(
            allocation.Applicant(
                id=a.id,
                number=a.number,
                choices=tuple(pool(c.school_id, (a.grade or period.grade) if transfer else None) for c in a.choices),
                channel_priority=a.channel.priority if a.channel else 99,
                birth_date=a.child.birth_date,
                standing={pool(k, (a.grade or period.grade) if transfer else None): v for k, v in zones.get(a.community_id, {}).items()},
                sibling_schools=siblings,
            )
        )
    return applicants, schools


def commit_seed(session: Session, period: EnrollmentPeriod, seed: str, now: dt.datetime) -> str:
    """Publish the seed's hash before allocating; only the hash is stored."""
    if not seed.strip():
        raise RunError(_l("A lottery seed is required."))
    if session.scalar(select(AllocationRun.id).where(AllocationRun.period_id == period.id, AllocationRun.state == "published")):
        raise RunError(_l("Another run of this period has already been published."))
    period.lottery_seed_hash = allocation.seed_hash(seed)
    period.lottery_committed_at = now
    session.commit()
    return period.lottery_seed_hash


def simulate(session: Session, period: EnrollmentPeriod, seed: str, user_id: int | None = None,
             mechanism: str | None = None) -> AllocationRun:
    """A dry run, stored so it can be inspected, compared and later published."""
    if not seed.strip():
        raise RunError(_l("A lottery seed is required."))
    if period.lottery_seed_hash and allocation.seed_hash(seed) != period.lottery_seed_hash:
        raise RunError(_l("This seed does not match the hash published on %(t)s.",
                          t=period.lottery_committed_at.strftime("%Y-%m-%d %H:%M") if period.lottery_committed_at else ""))
    mechanism = mechanism or period.allocation_mechanism
    keys = keys_of(period)
    applicants, schools = inputs(session, period)
    result = allocation.allocate(applicants, schools, seed, mechanism, keys)
    run = AllocationRun(
        period=period, created_by_id=user_id, mechanism=mechanism, keys=",".join(keys), seed=seed,
        seed_hash=result.seed_hash, summary=summarize(result, schools, applicants),
        results={str(a.id): result.explain(a) for a in applicants},
    )
    session.add(run)
    session.commit()
    return run


def summarize(result: allocation.Result, schools, applicants) -> dict:
    by_id = {s.id: s for s in schools}
    first_choices: dict[int, int] = {}
    for a in applicants:
        first_choices[a.choices[0]] = first_choices.get(a.choices[0], 0) + 1
    summary = {}
    for school in schools:
        placed = result.placed_at(school.id)
        summary[str(school.id)] = {
            "seats": by_id[school.id].seats,
            "placed": len(placed),
            "reassigned_in": sum(1 for a in placed if result.placements[a].via == "reassigned"),
            "first_choices": first_choices.get(school.id, 0),
            "cutoff": result.cutoffs.get(school.id),
        }
    summary["unplaced"] = sorted(a for a, p in result.placements.items() if p.via == "unplaced")
    return summary


def publish(session: Session, run: AllocationRun, user_id: int | None, now: dt.datetime) -> int:
    """Write every result and move the applications, in one transaction, or nothing at all."""
    try:
        _lock_period(session, run.period_id)
        session.refresh(run)
        if run.state == "published":
            raise RunError(_l("This run has already been published."))
        other = session.scalar(select(AllocationRun.id).where(AllocationRun.period_id == run.period_id,
                                                              AllocationRun.state == "published"))
        if other is not None:
            raise RunError(_l("Another run of this period has already been published."))
        moved = 0
        for key, why in run.results.items():
            if why["result"] == "unplaced":
                continue
            application = session.get(Application, int(key))
            application.allocated_school_id = school_of(why["school"])
            application.allocation_note = {**why, "run": run.id, "seed_hash": run.seed_hash}
            step = "admit" if why["result"] == "choice" else "reassign"
            workflow.transition(session, application, step, user_id=user_id, now=now)
            moved += 1
        run.state = "published"
        run.published_at = now
        session.commit()
        return moved
    except Exception:
        session.rollback()
        raise


def _lock_period(session: Session, period_id: int) -> None:
    """Two publishers of one period wait for each other (PostgreSQL); SQLite serialises writers itself."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 52_000_000 + period_id})
    else:
        session.execute(select(EnrollmentPeriod.id).where(EnrollmentPeriod.id == period_id).with_for_update())


def replay(session: Session, period: EnrollmentPeriod, seed: str) -> dict:
    """Run again from the same data and seed without storing anything; equal to the stored run."""
    applicants, schools = inputs(session, period, statuses=("approved", "admitted", "reassigned"))
    result = allocation.allocate(applicants, schools, seed, period.allocation_mechanism, keys_of(period))
    # through JSON, as the stored run was: school ids become string keys
    return json.loads(json.dumps({str(a.id): result.explain(a) for a in applicants}))
