"""Publishing a run: only the one run the round's commitment allows, only on final inputs, all
results in one transaction under a period lock, parents' messages into the outbox."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.models import AllocationRound, AllocationRun, Application, ApplicationEvent, Child, EnrollmentPeriod, Message
from app.services import allocation, allocation_rounds, notifications
from app.services.allocation_runs import RunError, _pending, digest, inputs, keys_of, school_of

BATCH = 5000  # rows per executemany: bounded memory per statement at a city's size


def problem(session: Session, run: AllocationRun, now: dt.datetime):
    """Why this run cannot be published now (a sentence), or None."""
    round_ = run.round
    period = run.period
    if round_ is None:
        return _l("This run was made before allocation rounds existed; simulate again.")
    if round_.state == "published":
        return _l("Round %(n)d of this period is already published.", n=round_.number)
    if run.state == "published":
        return _l("This run has already been published.")
    commitment = allocation_rounds.current_commitment(session, round_)
    if commitment is None or run.commitment_id is None:
        return _l("Only a run under a published seed hash can be published: publish the hash first, then simulate with that seed.")
    if run.commitment_id != commitment.id or allocation.seed_hash(run.seed) != commitment.seed_hash:
        return _l("This run used another seed than the one whose hash is published now; it cannot be published.")
    if now <= period.closes_at:
        return _l("The period closes at %(t)s; publish after it closes, when no more applications can come in.",
                  t=period.closes_at.strftime("%Y-%m-%d %H:%M"))
    pending = _pending(session, period)
    if pending and not run.excluded_reason:
        return _l("%(n)d applications are still pending review: finish them, or simulate again leaving them out with a written reason.", n=pending)
    return None


def publish(session: Session, run: AllocationRun, user_id: int | None, now: dt.datetime) -> int:
    """Write every result and move the applications, in one transaction, or nothing at all."""
    try:
        _lock_period(session, run.period_id)
        session.refresh(run)
        if run.round is not None:
            session.refresh(run.round)
        found = problem(session, run, now)
        if found is not None:
            raise RunError(found)
        period = run.period
        applicants, pools = inputs(session, period)
        if digest(applicants, pools, keys_of(period)) != run.inputs_digest:
            raise RunError(_l("The approved applications or the seats changed since this run was simulated; simulate again."))
        moved = _write_results(session, run, user_id, now)
        round_ = run.round
        round_.state, round_.published_run_id, round_.published_at, round_.seed = "published", run.id, now, run.seed
        run.state, run.published_at = "published", now
        session.commit()
        return moved
    except Exception:
        session.rollback()
        raise


def _write_results(session: Session, run: AllocationRun, user_id: int | None, now: dt.datetime) -> int:
    """Bulk statements, a few per 5,000 applications: results, events, messages."""
    table = Application.__table__
    people = {application_id: (account_id, number, name) for application_id, account_id, number, name in session.execute(
        select(Application.id, Child.account_id, Application.number, Child.name).join(Child, Child.id == Application.child_id)
        .where(Application.period_id == run.period_id, Application.status == "approved"))}
    rows, events, outbox = [], [], {"admit": [], "reassign": []}
    for key, why in run.results.items():
        if why["result"] == "unplaced":
            continue
        application_id = int(key)
        status, step = ("admitted", "admit") if why["result"] == "choice" else ("reassigned", "reassign")
        rows.append({"b_id": application_id, "b_status": status, "b_school": school_of(why["school"]),
                     "b_note": {**why, "run": run.id, "seed_hash": run.seed_hash}})
        events.append({"application_id": application_id, "at": now, "actor_user_id": user_id, "actor_account_id": None,
                       "from_status": "approved", "to_status": status, "reason": ""})
        account_id, number, name = people[application_id]
        outbox[step].append((application_id, account_id, number, name))
    statement = (
        update(table).where(table.c.id == bindparam("b_id"), table.c.status == "approved")
        .values(status=bindparam("b_status"), allocated_school_id=bindparam("b_school"),
                allocation_note=bindparam("b_note", type_=JSON), version=table.c.version + 1, updated_at=now)
    )
    for start in range(0, len(rows), BATCH):
        session.connection().execute(statement, rows[start:start + BATCH])
    moved = session.execute(select(func.count()).select_from(table).where(
        table.c.period_id == run.period_id, table.c.allocation_note["run"].as_integer() == run.id)).scalar()
    if moved != len(rows):  # someone moved an application under us: nothing is written
        raise RunError(_l("Some applications changed while publishing; nothing was published. Simulate again."))
    messages = [m for step, items in outbox.items() for m in notifications.outbox_rows(session, step, items, now)]
    for batch, target in ((events, ApplicationEvent.__table__), (messages, Message.__table__)):
        for start in range(0, len(batch), BATCH):
            session.connection().execute(insert(target), batch[start:start + BATCH])
    return len(rows)


def _lock_period(session: Session, period_id: int) -> None:
    """Two publishers of one period wait for each other (PostgreSQL); SQLite serialises writers itself."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 52_000_000 + period_id})
    else:
        session.execute(select(EnrollmentPeriod.id).where(EnrollmentPeriod.id == period_id).with_for_update())


def open_next_round(session: Session, period: EnrollmentPeriod, now: dt.datetime) -> AllocationRound:
    """A later round (补录) for what is approved and not placed, against the seats that remain."""
    rounds = allocation_rounds.rounds(session, period)
    if not rounds or rounds[-1].state != "published":
        raise RunError(_l("Publish the current round before opening another."))
    round_ = allocation_rounds.start_round(session, period, now, later=True)
    session.commit()
    return round_
