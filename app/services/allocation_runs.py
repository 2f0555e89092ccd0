"""Allocation runs over the database: gather a round's inputs, simulate, publish, replay.

Inputs are read with plain column queries (a city's 100,000 applications in a few statements),
and their SHA-256 is stored with each run: publishing recomputes it (nothing changed since the
simulation) and a replay proves the published result came from those inputs and that seed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import (
    AllocationRun,
    Application,
    ApplicationChoice,
    CategoryRule,
    Catchment,
    Channel,
    Child,
    EnrollmentPeriod,
    School,
    SchoolGradeSeats,
    SchoolNeighbour,
)
from app.services import allocation, allocation_rounds, allocation_settings

PENDING = ("submitted", "in_review", "returned")
MAX_REASON = 500


class RunError(UserError):
    """An allocation run was refused; nothing changed."""


def keys_of(period: EnrollmentPeriod) -> tuple[str, ...]:
    try:
        return allocation_settings.priority_keys(period.priority_keys)
    except allocation_settings.SettingError as error:
        raise RunError(error.message) from None


def pool(school_id: int, grade: int | None) -> str | int:
    """A seat pool: a school, or for transfers one grade of a school ("12:3")."""
    return school_id if grade is None else f"{school_id}:{grade}"


def school_of(pool_id) -> int:
    return int(str(pool_id).split(":")[0])


def _taken(session: Session, period: EnrollmentPeriod) -> dict:
    """Seats already given: in this period's published rounds and in other periods of the same
    year, stage and grade (transfers: per school and grade, in this period)."""
    if period.entry_kind == "transfer":
        rows = session.execute(
            select(Application.allocated_school_id, Application.grade, func.count())
            .where(Application.period_id == period.id, Application.status.in_(("admitted", "reassigned")))
            .group_by(Application.allocated_school_id, Application.grade)
        ).all()
        taken: dict = {}
        for school_id, grade, n in rows:
            key = pool(school_id, grade or period.grade)
            taken[key] = taken.get(key, 0) + n
        return taken
    rows = session.execute(
        select(Application.allocated_school_id, func.count())
        .join(EnrollmentPeriod)
        .where(Application.status.in_(("admitted", "reassigned")), EnrollmentPeriod.year == period.year,
               EnrollmentPeriod.stage == period.stage, EnrollmentPeriod.grade == period.grade)
        .group_by(Application.allocated_school_id)
    ).all()
    return {school_id: n for school_id, n in rows}


def pools(session: Session, period: EnrollmentPeriod) -> list[allocation.School]:
    neighbours: dict[int, list[int]] = {}
    for school_id, neighbour_id in session.execute(
            select(SchoolNeighbour.school_id, SchoolNeighbour.neighbour_id).order_by(SchoolNeighbour.school_id, SchoolNeighbour.rank)):
        neighbours.setdefault(school_id, []).append(neighbour_id)
    taken = _taken(session, period)
    if period.entry_kind != "transfer":
        return [allocation.School(s_id, max(seats - taken.get(s_id, 0), 0), tuple(neighbours.get(s_id, ())))
                for s_id, seats in session.execute(select(School.id, School.seats).order_by(School.id))]
    # transfers: each grade of each school is its own pool; reassignment stays in the same grade
    return [
        allocation.School(pool(s_id, grade), max(seats - taken.get(pool(s_id, grade), 0), 0),
                          tuple(pool(n, grade) for n in neighbours.get(s_id, ())))
        for s_id, grade, seats in session.execute(
            select(SchoolGradeSeats.school_id, SchoolGradeSeats.grade, SchoolGradeSeats.seats)
            .order_by(SchoolGradeSeats.school_id, SchoolGradeSeats.grade))
    ]


def applicants(session: Session, period: EnrollmentPeriod, keys: tuple[str, ...], where) -> list[allocation.Applicant]:
    """The applications matching ``where`` as plain data for the engine: three statements."""
    transfer = period.entry_kind == "transfer"
    zones: dict[int, dict[int, str]] = {}
    if "catchment" in keys:
        for community_id, school_id, kind in session.execute(select(Catchment.community_id, Catchment.school_id, Catchment.kind)):
            zones.setdefault(community_id, {})[school_id] = kind
    by_name = {name: s_id for s_id, name in session.execute(select(School.id, School.name))} if "sibling" in keys else {}
    sibling_school = Application.section_data["sibling"]["school"].as_string() if "sibling" in keys else None
    columns = [Application.id, Application.number, Application.grade, Application.community_id, Channel.priority,
               Child.birth_date, CategoryRule.rank]
    rows = session.execute(
        select(*columns, *([sibling_school] if sibling_school is not None else []))
        .join(Child, Child.id == Application.child_id).outerjoin(Channel, Channel.id == Application.channel_id)
        .outerjoin(CategoryRule, CategoryRule.id == Application.category_id)
        .where(Application.period_id == period.id, where).order_by(Application.number)
    ).all()
    choices: dict[int, list[int]] = {}
    for application_id, school_id in session.execute(
            select(ApplicationChoice.application_id, ApplicationChoice.school_id)
            .join(Application, Application.id == ApplicationChoice.application_id)
            .where(Application.period_id == period.id, where).order_by(ApplicationChoice.application_id, ApplicationChoice.rank)):
        choices.setdefault(application_id, []).append(school_id)
    found = []
    for row in rows:
        application_id, number, grade, community_id, priority, birth, category_rank = row[:7]
        chosen = choices.get(application_id)
        if birth is None or not chosen:
            continue
        grade = (grade or period.grade) if transfer else None
        sibling = row[7] if sibling_school is not None else None
        found.append(allocation.Applicant(
            id=application_id, number=number, choices=tuple(pool(s, grade) for s in chosen),
            channel_priority=priority if priority is not None else 99, birth_date=birth,
            standing={pool(k, grade): v for k, v in zones.get(community_id, {}).items()},
            sibling_schools=frozenset({pool(by_name[sibling], grade)} if sibling in by_name else ()),
            category_rank=category_rank if category_rank is not None else 99,
        ))
    return found


def inputs(session: Session, period: EnrollmentPeriod, statuses=("approved",)):
    """The round's applicants (approved, not yet placed) and seat pools."""
    keys = keys_of(period)
    return applicants(session, period, keys, Application.status.in_(statuses)), pools(session, period)


def digest(applicants_: list[allocation.Applicant], pools_: list[allocation.School], keys: tuple[str, ...]) -> str:
    """SHA-256 of exactly what the engine ranks and fills, in a fixed order."""
    h = hashlib.sha256(("keys:" + ",".join(keys) + "\n").encode())
    for a in sorted(applicants_, key=lambda a: a.number):
        standing = ";".join(f"{k}={v}" for k, v in sorted(a.standing.items(), key=lambda kv: str(kv[0])))
        siblings = ";".join(sorted(str(s) for s in a.sibling_schools))
        category = f"|c{a.category_rank}" if "category" in keys else ""  # digests of runs without it stay as they were
        h.update(f"a:{a.number}|{','.join(map(str, a.choices))}|{a.channel_priority}|{a.birth_date.isoformat()}|{standing}|{siblings}{category}\n".encode())
    for p in sorted(pools_, key=lambda p: str(p.id)):
        h.update(f"p:{p.id}|{p.seats}|{','.join(map(str, p.neighbours))}\n".encode())
    return h.hexdigest()


def _pending(session: Session, period: EnrollmentPeriod) -> int:
    return session.scalar(select(func.count()).select_from(Application)
                          .where(Application.period_id == period.id, Application.status.in_(PENDING)))


def simulate(session: Session, period: EnrollmentPeriod, seed: str, user_id: int | None = None,
             mechanism: str | None = None, exclude_reason: str = "", now: dt.datetime | None = None) -> AllocationRun:
    """A dry run of the open round, stored so it can be inspected, compared and later published."""
    seed = (seed or "").strip()
    if not seed:
        raise RunError(_l("A lottery seed is required."))
    try:
        mechanism = allocation_settings.mechanism(mechanism or period.allocation_mechanism)
    except allocation_settings.SettingError as error:
        raise RunError(error.message) from None
    keys = keys_of(period)
    from app.model_base import county_now

    try:
        round_ = allocation_rounds.start_round(session, period, now or county_now())
        commitment = allocation_rounds.checked_seed(session, round_, seed)
    except allocation_rounds.RoundError as error:
        session.rollback()
        raise RunError(error.message) from None
    applicants_, pools_ = inputs(session, period)
    result = allocation.allocate(applicants_, pools_, seed, mechanism, keys)
    run = AllocationRun(
        period=period, round_id=round_.id, commitment_id=commitment.id if commitment else None,
        created_by_id=user_id, mechanism=mechanism, keys=",".join(keys), seed=seed, seed_hash=result.seed_hash,
        inputs_digest=digest(applicants_, pools_, keys), pools=[[str(p.id), p.seats, [str(n) for n in p.neighbours]] for p in pools_],
        pending_count=_pending(session, period), excluded_reason=(exclude_reason or "").strip()[:MAX_REASON],
        summary=summarize(result, pools_, applicants_), results={str(a.id): result.explain(a) for a in applicants_},
    )
    session.add(run)
    session.commit()
    return run


def summarize(result: allocation.Result, schools, applicants_) -> dict:
    by_id = {s.id: s for s in schools}
    first_choices: dict = {}
    for a in applicants_:
        first_choices[a.choices[0]] = first_choices.get(a.choices[0], 0) + 1
    placed: dict = {}
    reassigned_in: dict = {}
    for p in result.placements.values():
        if p.school_id is not None:
            placed[p.school_id] = placed.get(p.school_id, 0) + 1
            if p.via == "reassigned":
                reassigned_in[p.school_id] = reassigned_in.get(p.school_id, 0) + 1
    summary = {
        str(s.id): {"seats": by_id[s.id].seats, "placed": placed.get(s.id, 0), "reassigned_in": reassigned_in.get(s.id, 0),
                    "first_choices": first_choices.get(s.id, 0), "cutoff": result.cutoffs.get(s.id)}
        for s in schools
    }
    summary["unplaced"] = sorted(a for a, p in result.placements.items() if p.via == "unplaced")
    return summary


def replay(session: Session, run: AllocationRun) -> tuple[bool, bool]:
    """(inputs identical, results identical): the run's applications read again from the
    database, with the seat pools it recorded, allocated again with its seed."""
    period = run.period
    keys = tuple(run.keys.split(","))
    pools_ = [allocation.School(_pool_id(p[0]), p[1], tuple(_pool_id(n) for n in p[2])) for p in run.pools or []]
    with _run_members(session, run) as members:
        applicants_ = applicants(session, period, keys, Application.id.in_(select(members.c.id)))
    same_inputs = digest(applicants_, pools_, keys) == run.inputs_digest
    result = allocation.allocate(applicants_, pools_, run.seed, run.mechanism, keys)
    again = json.loads(json.dumps({str(a.id): result.explain(a) for a in applicants_}))
    return same_inputs, again == run.results


def _pool_id(value: str):
    return int(value) if ":" not in value else value


class _run_members:
    """The run's application ids in a temporary table, to join instead of a 100,000-id IN list."""

    def __init__(self, session: Session, run: AllocationRun):
        self.session, self.run = session, run

    def __enter__(self):
        from sqlalchemy import Column, Integer, MetaData, Table

        self.session.execute(text("DROP TABLE IF EXISTS ruxue_run_members"))
        self.session.execute(text("CREATE TEMPORARY TABLE ruxue_run_members (id INTEGER PRIMARY KEY)"))
        table = Table("ruxue_run_members", MetaData(), Column("id", Integer, primary_key=True))
        ids = [{"id": int(k)} for k in self.run.results]
        if ids:
            self.session.execute(table.insert(), ids)
        return table

    def __exit__(self, *exc):
        self.session.execute(text("DROP TABLE IF EXISTS ruxue_run_members"))
        return False
