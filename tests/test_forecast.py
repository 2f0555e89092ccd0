"""Anyi's seat forecast: cut-offs from a background run, compared with the family's own key."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AllocationForecast, Application, EnrollmentPeriod, School
from app.services import allocation, allocation_runs, categories, forecast, workflow


@pytest.fixture
def anyi(fresh_app):
    """Anyi with approved applications and few seats, so that cut-offs bite."""
    from app.extensions import db
    from app.services import demo

    demo.load_county(db.session, "anyi")
    demo.make_applications(db.session, 220, None, seed=5)
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.preview_allocation.is_(True)).order_by(EnrollmentPeriod.id))
    for a in db.session.scalars(select(Application).where(Application.period_id == period.id)):
        if a.status == "submitted":
            workflow.transition(db.session, a, "start_review")
        if a.status == "in_review":
            workflow.transition(db.session, a, "approve")
    from app.services.clock import local_now

    demo.open_periods_now(db.session, local_now())
    approved = db.session.query(Application).filter_by(period_id=period.id, status="approved").count()
    schools = db.session.scalars(select(School)).all()
    for school in schools:  # seats for about 60% of the approved: some schools fill, at different cut-offs
        school.seats = approved * 6 // 10 // len(schools)
    db.session.commit()
    return db.session, period


def _drafts(session, period):
    return [a for a in session.scalars(select(Application).where(Application.period_id == period.id, Application.status == "draft"))
            if a.choices and a.channel is not None]


def test_forecast_names_the_school_the_allocation_gives(anyi):
    session, period = anyi
    forecast.refresh(session, period)
    assert session.query(AllocationForecast).filter_by(period_id=period.id).count() > 0
    keys = allocation_runs.keys_of(period)
    seen = set()
    drafts = _drafts(session, period)
    assert len(drafts) >= 3
    for draft in drafts:
        told = forecast.forecast(session, draft)
        categories.store(session, draft)  # what its submission would store
        draft.status = "approved"
        session.flush()
        applicants, schools = allocation_runs.inputs(session, period)
        result = allocation.allocate(applicants, schools, forecast.FORECAST_SEED, period.allocation_mechanism, keys)
        placed = result.placements[draft.id]
        got = session.get(School, placed.school_id).name if placed.school_id else None
        session.rollback()
        seen.add(told.how)
        if told.how == "choice":
            assert placed.via == "choice" and got == told.school, (told, placed)
        elif told.how == "lottery":
            assert told.school in {c.school.name for c in draft.choices}
        else:  # forecast full: the allocation does not place the family at a school it chose
            assert placed.via in ("reassigned", "unplaced"), (told, placed)
    assert "choice" in seen and len(seen) >= 2, seen  # the data exercises more than one outcome


def test_forecast_waits_for_its_first_run_and_is_off_where_the_county_says(anyi):
    session, period = anyi
    session.query(AllocationForecast).delete()
    session.commit()
    draft = _drafts(session, period)[0]
    assert forecast.forecast(session, draft).how == "pending"
    period.preview_allocation = False
    assert forecast.forecast(session, draft) is None
    session.rollback()


def test_worker_refreshes_forecasts_on_its_schedule(anyi, fresh_app):
    from app.services import worker

    session, period = anyi
    session.query(AllocationForecast).delete()
    session.commit()
    schedule = worker.Schedule(forecast_every=300)
    assert worker.run_once(session, schedule, clock=1000.0)["forecast"] > 0
    assert session.query(AllocationForecast).filter_by(period_id=period.id).count() > 0
    assert "forecast" not in worker.run_once(session, schedule, clock=1100.0)  # not due yet
    assert "forecast" in worker.run_once(session, schedule, clock=1301.0)


def test_forecast_command(fresh_app, anyi):
    session, period = anyi
    result = fresh_app.test_cli_runner().invoke(args=["forecast", period.code])
    assert result.exit_code == 0 and period.code in result.output
    assert fresh_app.test_cli_runner().invoke(args=["forecast", "NO-SUCH"]).exit_code == 1
