"""Allocation over the database: simulate, publish all-or-nothing, replay from the seed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.models import AllocationRun, Application, ApplicationEvent, EnrollmentPeriod, Message, School
from app.services import allocation_publish, allocation_rounds, allocation_runs, notifications, workflow

SEED = "石门-2026-派位"
AFTER_CLOSE = dt.datetime(2026, 8, 10, 9, 0)  # SM-P1 closes 2026-07-20


def committed(session, period, seed=SEED, **kwargs):
    """Publish the seed's hash (once per round), then simulate with it: a publishable run."""
    if allocation_rounds.current_commitment(session, allocation_rounds.open_round(session, period)) is None:
        allocation_rounds.commit_seed(session, period, seed, dt.datetime(2026, 7, 21, 9, 0))
    return allocation_runs.simulate(session, period, seed, **kwargs)


def publish(session, run, now=AFTER_CLOSE):
    return allocation_publish.publish(session, run, None, now)


@pytest.fixture
def county(fresh_app):
    """A fresh Shimen with approved applications in the grade-1 period."""
    from app.extensions import db
    from app.services import demo

    demo.load_county(db.session, "shimen")
    demo.make_applications(db.session, 150, None, seed=11)
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    for a in db.session.scalars(select(Application).where(Application.period_id == period.id)):
        if a.status == "submitted":
            workflow.transition(db.session, a, "start_review")
        if a.status == "in_review":
            workflow.transition(db.session, a, "approve")
        if a.status == "returned":  # review is over: nothing of this period is pending any more
            workflow.transition(db.session, a, "resubmit")
            workflow.transition(db.session, a, "start_review")
            workflow.transition(db.session, a, "reject", reason="材料不全")
    db.session.commit()
    return fresh_app, db.session, period


def _approved(session, period):
    return session.scalars(select(Application).where(Application.period_id == period.id, Application.status == "approved")).all()


def test_simulation_changes_no_application(county):
    app, session, period = county
    before = {a.id: a.status for a in _approved(session, period)}
    assert len(before) > 10
    run = allocation_runs.simulate(session, period, SEED)
    assert run.state == "simulated" and set(run.results) == {str(i) for i in before}
    session.expire_all()
    assert {a.id: a.status for a in _approved(session, period)} == before
    placed = sum(v["placed"] for k, v in run.summary.items() if k != "unplaced")
    assert placed + len(run.summary["unplaced"]) == len(before)


def test_runs_compare_by_mechanism(county):
    app, session, period = county
    fcf = allocation_runs.simulate(session, period, SEED, mechanism="first_choice_first")
    da = allocation_runs.simulate(session, period, SEED, mechanism="deferred_acceptance")
    for run in (fcf, da):
        for school_id, row in run.summary.items():
            if school_id != "unplaced":
                assert row["placed"] <= row["seats"]
    assert session.query(AllocationRun).filter_by(period_id=period.id).count() == 2


def test_publish_moves_everyone_with_messages_and_explanations(county):
    app, session, period = county
    run = committed(session, period)
    moved = publish(session, run)
    session.expire_all()
    results = {a.id: a for a in session.scalars(select(Application).where(Application.period_id == period.id))}
    admitted = [a for a in results.values() if a.status in ("admitted", "reassigned")]
    assert len(admitted) == moved > 0
    for a in admitted:
        assert a.allocated_school_id == run.results[str(a.id)]["school"]
        assert a.allocation_note["seed_hash"] == run.seed_hash
        assert session.scalar(select(Message).where(Message.application_id == a.id, Message.title.in_(("Admitted", "已录取", "Reassigned", "已调剂")))) is not None
    with pytest.raises(allocation_runs.RunError):
        publish(session, run)
    with pytest.raises(allocation_runs.RunError):  # the round is published: nothing more runs in it
        allocation_runs.simulate(session, period, SEED)


def test_publish_is_all_or_nothing_when_interrupted(county, monkeypatch):
    app, session, period = county
    run = committed(session, period)

    def failing(*args, **kwargs):  # the results are written, then the messages fail
        raise RuntimeError("power cut")

    monkeypatch.setattr(notifications, "outbox_rows", failing)
    with pytest.raises(RuntimeError):
        publish(session, run)
    session.expire_all()
    rows = session.scalars(select(Application).where(Application.period_id == period.id)).all()
    assert not [a for a in rows if a.status in ("admitted", "reassigned") or a.allocated_school_id]
    assert session.get(AllocationRun, run.id).state == "simulated"


def test_cli_runs_publishes_and_replays_identically(county):
    app, session, period = county
    runner = app.test_cli_runner()
    allocation_rounds.commit_seed(session, period, SEED, dt.datetime(2026, 7, 21, 9, 0))
    result = runner.invoke(args=["allocate", "SM-P1", "--seed", SEED, "--publish"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    replay = runner.invoke(args=["allocate", "SM-P1", "--replay", SEED])
    assert replay.exit_code == 0 and "inputs identical, results identical" in replay.output, replay.output
    assert runner.invoke(args=["allocate", "SM-P1", "--replay", "wrong seed"]).exit_code == 1


def test_seats_taken_in_earlier_rounds_are_not_given_again(county):
    app, session, period = county
    applicants, schools = allocation_runs.inputs(session, period)
    full = {s.id: s.seats for s in schools}
    underage = session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1U"))
    someone = session.scalar(select(Application).where(Application.period_id == underage.id).limit(1))
    school_id = next(iter(full))
    someone.status, someone.allocated_school_id = "admitted", school_id
    session.commit()
    _, schools = allocation_runs.inputs(session, period)
    assert {s.id: s.seats for s in schools}[school_id] == full[school_id] - 1


def test_parents_and_reviewers_read_the_result_in_words(county):
    from app.services.allocation_words import explain

    app, session, period = county
    publish(session, committed(session, period))
    session.expire_all()
    admitted = session.scalar(select(Application).where(Application.status == "admitted").limit(1))
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("zh"):
            lines = [str(x) for x in explain(session, admitted.allocation_note, period.id)]
    school = session.get(School, admitted.allocated_school_id)
    assert lines[0].startswith(f"按第 {admitted.allocation_note['choice_rank']} 志愿录取到{school.name}")
    assert f"（{admitted.channel.name}" in lines[0] and "第 " not in lines[0].split("（")[1]  # the category by its name
    assert any("最后录取者排第" in line for line in lines[1:])


def test_seed_commitment_is_checked_and_shown_to_parents(county):
    app, session, period = county
    digest = allocation_rounds.commit_seed(session, period, SEED, dt.datetime(2026, 8, 1, 9, 0)).seed_hash
    with pytest.raises(allocation_runs.RunError):
        allocation_runs.simulate(session, period, "a different seed")
    assert allocation_runs.simulate(session, period, SEED).seed_hash == digest
    html = app.test_client().get(f"/period/{period.id}").get_data(as_text=True)
    assert digest in html and SEED not in html


def test_publish_through_the_allocation_page(county):
    from app.extensions import appbuilder
    from tests.conftest import csrf_token, login

    app, session, period = county
    from app.services import demo

    demo.create_staff(appbuilder.sm, session, "pw-123456")
    bureau = login(app.test_client(), "bureau_reviewer", "pw-123456")
    bureau.post("/allocation/commit", data={"period": period.id, "seed": SEED, "csrf_token": csrf_token(bureau)})
    response = bureau.post("/allocation/simulate", data={"period": period.id, "seed": SEED, "csrf_token": csrf_token(bureau)})
    assert response.status_code == 302
    run = session.scalar(select(AllocationRun).order_by(AllocationRun.id.desc()))
    page = bureau.get(f"/allocation/?period={period.id}").get_data(as_text=True)
    assert "模拟" in page and "录取线" in page and "未分配，由教育局安排" in page
    unplaced = run.summary["unplaced"]
    for application_id in unplaced[:3]:
        assert session.get(Application, application_id).number in page
    assert run.seed_hash[:12] in page  # every run shows the hash it ran under
    bureau.post("/allocation/simulate", data={"period": period.id, "seed": SEED, "mechanism": "deferred_acceptance",
                                              "csrf_token": csrf_token(bureau)})
    other = session.scalar(select(AllocationRun).order_by(AllocationRun.id.desc()))
    assert other.id != run.id
    assert f"/allocation/publish/{other.id}" in bureau.get(f"/allocation/?period={period.id}").get_data(as_text=True)
    bureau.post(f"/allocation/publish/{run.id}", data={"csrf_token": csrf_token(bureau)})
    session.expire_all()
    assert session.get(AllocationRun, run.id).state == "published"
    # once a run of the round is published, no other run of it offers a publish button
    page = bureau.get(f"/allocation/?period={period.id}").get_data(as_text=True)
    assert "/allocation/publish/" not in page and SEED in page


def test_transfers_fill_no_class_beyond_its_seats(fresh_app):
    from collections import Counter

    from app.extensions import db
    from app.models import SchoolGradeSeats
    from app.services import demo

    demo.load_county(db.session, "shimen")
    demo.make_applications(db.session, 200, None, seed=3)
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-PT"))
    assert (period.grade, period.grade_to) == (2, 6)
    for a in db.session.scalars(select(Application).where(Application.period_id == period.id)):
        for step in ("submit", "start_review", "approve"):
            if a.status in workflow.TRANSITIONS[step].sources:
                workflow.transition(db.session, a, step)
    db.session.commit()
    applicants, pools = allocation_runs.inputs(db.session, period)
    assert applicants and all(":" in str(c) for a in applicants for c in a.choices)
    run = committed(db.session, period, exclude_reason="演示数据：未审完的插班申请下一轮处理")
    publish(db.session, run, dt.datetime(2026, 9, 11, 9, 0))
    db.session.expire_all()
    placed = Counter(
        (a.allocated_school_id, a.grade)
        for a in db.session.scalars(select(Application).where(Application.period_id == period.id, Application.status.in_(("admitted", "reassigned"))))
    )
    seats = {(g.school_id, g.grade): g.seats for g in db.session.scalars(select(SchoolGradeSeats))}
    assert placed and all(n <= seats[key] for key, n in placed.items())
    # ranked by channel (category 1 to 6) first: nobody of a later category beats an earlier one at a full class
    for key, row in run.summary.items():
        if key != "unplaced" and row["cutoff"]:
            assert row["placed"] <= row["seats"]


def test_transfer_parent_chooses_the_grade(app, db_session):
    from app.models import Child
    from tests.conftest import parent_login
    from tests.public_helpers import add_child, consent, post, start

    parent = parent_login(app)
    _, number = add_child(parent, dt.date(2017, 3, 1))
    consent(parent)
    child = db_session.scalar(select(Child).where(Child.id_number == number))
    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-PT"))
    saved = period.opens_at, period.closes_at
    period.opens_at, period.closes_at = dt.datetime.now() - dt.timedelta(days=1), dt.datetime.now() + dt.timedelta(days=10)
    db_session.commit()
    try:
        location = start(parent, child.id, period.id).headers["Location"]
        page = parent.get(location).get_data(as_text=True)
        assert "插班年级" in page and "6 年级" in page
        application_id = location.split("/")[3]
        response = post(parent, f"/my/a/{application_id}/channel", {"channel_id": period.channels[0].id, "grade": 7})
        assert response.status_code == 400 and "请选择插班年级（2 至 6 年级）" in response.get_data(as_text=True)
        assert post(parent, f"/my/a/{application_id}/channel", {"channel_id": period.channels[0].id, "grade": 4}).status_code == 302
        db_session.expire_all()
        assert db_session.get(Application, int(application_id)).grade == 4
    finally:
        period.opens_at, period.closes_at = saved
        db_session.commit()


def test_two_publishers_at_once_publish_one_run(county):
    from tests.conftest import at_once

    app, session, period = county
    first = committed(session, period)
    second = committed(session, period, mechanism="deferred_acceptance")

    def publisher(run_id):
        return lambda own: allocation_publish.publish(own, own.get(AllocationRun, run_id), None, AFTER_CLOSE)

    outcomes = at_once(app, session.get_bind(), publisher(first.id), publisher(second.id))
    assert outcomes.count("ok") == 1, outcomes
    session.expire_all()
    assert session.query(AllocationRun).filter_by(period_id=period.id, state="published").count() == 1
    admitted = session.query(Application).filter(Application.period_id == period.id, Application.status.in_(("admitted", "reassigned"))).count()
    events = session.query(ApplicationEvent).filter(ApplicationEvent.to_status.in_(("admitted", "reassigned"))).count()
    assert admitted == events
