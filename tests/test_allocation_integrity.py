"""Allocation nobody can bend: each attack of the issue, now failing; later rounds; the notary's file."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.models import AllocationRun, Application, EnrollmentPeriod, Message, School
from app.services import allocation_publish, allocation_rounds, allocation_runs, notifications, workflow
from tests.test_allocation_runs import AFTER_CLOSE, SEED, committed, county, publish  # noqa: F401 (fixture)

BEFORE = dt.datetime(2026, 7, 21, 9, 0)


def _submit_one_more(session, period, status="submitted"):
    """Take a rejected application of the period back into review (an application still pending)."""
    a = session.scalar(select(Application).where(Application.period_id == period.id, Application.status == "draft",
                                                 Application.channel_id.is_not(None)).limit(1))
    workflow.transition(session, a, "submit")
    if status in ("in_review", "approved"):
        workflow.transition(session, a, "start_review")
    if status == "approved":
        workflow.transition(session, a, "approve")
    session.commit()
    return a


def test_a_used_commitment_cannot_be_replaced(county):
    """Attack: commit S1, simulate, commit S2, publish the S1 run."""
    _, session, period = county
    allocation_rounds.commit_seed(session, period, "S1", BEFORE)
    run = allocation_runs.simulate(session, period, "S1")
    with pytest.raises(allocation_rounds.RoundError, match="can no longer be replaced|不能再更换"):
        allocation_rounds.commit_seed(session, period, "S2", BEFORE, reason="换一个")
    assert run.commitment_id == allocation_rounds.current_commitment(session, run.round).id
    assert publish(session, run) > 0  # the run under the one binding hash


def test_a_replaced_hash_needs_a_reason_and_stays_public(county):
    app, session, period = county
    first = allocation_rounds.commit_seed(session, period, "S1", BEFORE).seed_hash
    with pytest.raises(allocation_rounds.RoundError):
        allocation_rounds.commit_seed(session, period, "S2", BEFORE)  # no reason
    second = allocation_rounds.commit_seed(session, period, "S2", BEFORE + dt.timedelta(hours=1), reason="公证员要求重新生成种子").seed_hash
    html = app.test_client().get(f"/period/{period.id}").get_data(as_text=True)
    assert first in html and second in html and "公证员要求重新生成种子" in html
    with pytest.raises(allocation_runs.RunError):
        allocation_runs.simulate(session, period, "S1")  # the replaced seed no longer runs


def test_runs_without_a_commitment_are_never_publishable(county):
    """Attack: no hash published, seeds A and B simulated, the better one published."""
    _, session, period = county
    a = allocation_runs.simulate(session, period, "A")
    b = allocation_runs.simulate(session, period, "B")
    for run in (a, b):
        assert run.commitment_id is None
        with pytest.raises(allocation_runs.RunError, match="published seed hash|公布"):
            publish(session, run)
    allocation_rounds.commit_seed(session, period, "A", BEFORE)  # committing afterwards does not bless run A
    with pytest.raises(allocation_runs.RunError):
        publish(session, a)


def test_no_publish_while_the_period_is_open(county):
    _, session, period = county
    run = committed(session, period)
    with pytest.raises(allocation_runs.RunError, match="closes|截止"):
        publish(session, run, now=period.closes_at - dt.timedelta(minutes=5))
    assert publish(session, run) > 0


def test_pending_applications_block_the_publish_unless_left_out_with_a_reason(county):
    _, session, period = county
    _submit_one_more(session, period, "in_review")
    run = committed(session, period)
    with pytest.raises(allocation_runs.RunError, match="pending|待审"):
        publish(session, run)
    left_out = allocation_runs.simulate(session, period, SEED, exclude_reason="3 户材料待公安核实，转入补录")
    assert left_out.pending_count == 1 and left_out.excluded_reason
    assert publish(session, left_out) > 0


def test_inputs_changed_since_the_simulation_are_refused(county):
    _, session, period = county
    run = committed(session, period)
    _submit_one_more(session, period, "approved")  # a late approval changes what would be allocated
    with pytest.raises(allocation_runs.RunError, match="changed|变化"):
        publish(session, run)


def test_a_later_round_allocates_the_rest_and_never_changes_round_one(county):
    app, session, period = county
    first = committed(session, period)
    publish(session, first)
    session.expire_all()
    round_one = {a.id: (a.status, a.allocated_school_id) for a in session.scalars(
        select(Application).where(Application.period_id == period.id, Application.status.in_(("admitted", "reassigned"))))}
    late = _submit_one_more(session, period, "approved")
    with pytest.raises(allocation_runs.RunError):  # no new runs in a published round
        allocation_runs.simulate(session, period, SEED)
    allocation_publish.open_next_round(session, period, AFTER_CLOSE)
    allocation_rounds.commit_seed(session, period, "补录种子", AFTER_CLOSE)
    second = allocation_runs.simulate(session, period, "补录种子")
    assert str(late.id) in second.results and not set(second.results) & {str(i) for i in round_one}
    publish(session, second, AFTER_CLOSE + dt.timedelta(hours=1))
    session.expire_all()
    for application_id, before in round_one.items():
        a = session.get(Application, application_id)
        assert (a.status, a.allocated_school_id) == before
    seats = {s.id: s.seats for s in session.scalars(select(School))}
    taken = dict(session.execute(select(Application.allocated_school_id, func.count()).where(
        Application.status.in_(("admitted", "reassigned"))).group_by(Application.allocated_school_id)).all())
    assert all(n <= seats[school] for school, n in taken.items())
    runner = app.test_cli_runner()  # round one still replays from the database alone
    replay = runner.invoke(args=["allocate", "SM-P1", "--replay", SEED])
    assert replay.exit_code == 0 and "inputs identical, results identical" in replay.output, replay.output


def test_replay_notices_inputs_changed_after_the_publish(county):
    app, session, period = county
    allocation_rounds.commit_seed(session, period, SEED, BEFORE)
    run = allocation_runs.simulate(session, period, SEED)
    publish(session, run)
    session.expire_all()
    moved = session.scalar(select(Application).where(Application.status == "admitted").limit(1))
    moved.child.birth_date = moved.child.birth_date - dt.timedelta(days=400)  # someone edits the data afterwards
    session.commit()
    replay = app.test_cli_runner().invoke(args=["allocate", "SM-P1", "--replay", SEED])
    assert replay.exit_code == 1 and "inputs DIFFERENT" in replay.output


def test_publishing_writes_messages_and_sends_none_until_the_outbox_runs(county):
    app, session, period = county
    sender = app.extensions["ruxue_sms"]
    before = len(sender.sent)
    moved = publish(session, committed(session, period))
    assert len(sender.sent) == before  # nothing went out inside the publish
    pending = session.scalar(select(func.count()).select_from(Message).where(Message.sms_status == "pending"))
    assert pending >= moved
    pauses = []
    sent, failed = notifications.send_pending(session, limit=10_000, pause=lambda: pauses.append(1))
    assert sent >= moved and failed == 0 and len(pauses) == sent  # paced: one pause per SMS
    assert session.scalar(select(func.count()).select_from(Message).where(Message.sms_status == "pending")) == 0


def test_a_failing_gateway_is_retried_later_and_gives_up_after_five(county):
    app, session, period = county
    publish(session, committed(session, period))

    class Down:
        def send(self, phone, text):
            raise ConnectionError("gateway down")

    real = app.extensions["ruxue_sms"]
    app.extensions["ruxue_sms"] = Down()
    try:
        now = AFTER_CLOSE
        for attempt in range(1, 6):
            sent, failed = notifications.send_pending(session, limit=3, now=now)
            assert (sent, failed) == (0, 3)
            assert notifications.send_pending(session, limit=3, now=now)[1] in (0, 3)  # not due again at once
            now += dt.timedelta(hours=2)
    finally:
        app.extensions["ruxue_sms"] = real
    assert session.scalar(select(func.count()).select_from(Message).where(Message.sms_status == "failed")) >= 3


def test_the_notary_file_and_the_public_cut_offs(county):
    from app.extensions import appbuilder
    from app.services import demo
    from tests.conftest import login

    app, session, period = county
    run = committed(session, period)
    publish(session, run)
    demo.create_staff(appbuilder.sm, session, "pw-123456")
    bureau = login(app.test_client(), "bureau_reviewer", "pw-123456")
    text = bureau.get(f"/allocation/run/{run.id}/results.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    flat = {r[0]: r[1] for r in rows if len(r) == 2}
    assert run.seed_hash in flat.values() and run.inputs_digest in flat.values() and SEED in flat.values()
    school = session.scalar(select(School).order_by(School.code).limit(1))
    assert any(r and r[0] == school.name for r in rows)
    xlsx = bureau.get(f"/allocation/run/{run.id}/results.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    public = app.test_client().get(f"/period/{period.id}/results").get_data(as_text=True)
    assert run.inputs_digest in public and SEED in public and school.name in public
    someone = session.scalar(select(Application).where(Application.status == "admitted").limit(1))
    assert someone.number not in public and someone.child.name not in public and someone.child.id_number not in public


def test_unpublished_results_file_keeps_the_seed_secret(county):
    from app.services.allocation_report import csv_bytes

    _, session, period = county
    run = committed(session, period)
    assert SEED not in csv_bytes(session, run).decode("utf-8-sig")


def test_a_bogus_mechanism_at_the_simulation_is_a_message(county):
    from app.extensions import appbuilder
    from app.services import demo
    from tests.conftest import csrf_token, login

    app, session, period = county
    demo.create_staff(appbuilder.sm, session, "pw-123456")
    bureau = login(app.test_client(), "bureau_reviewer", "pw-123456")
    response = bureau.post("/allocation/simulate", data={"period": period.id, "seed": SEED, "mechanism": "bogus",
                                                         "csrf_token": csrf_token(bureau)}, follow_redirects=True)
    assert response.status_code == 200 and "未知的分配方式" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AllocationRun)) == 0


def test_bad_priority_keys_are_refused_by_the_admin_form_and_the_api(county_it_client, admin_client, db_session):
    from tests.conftest import csrf_token

    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-J7"))
    data = {"code": period.code, "name": period.name, "year": period.year, "stage": period.stage, "grade": period.grade,
            "entry_kind": period.entry_kind, "ownership": period.ownership,
            "opens_at": period.opens_at.strftime("%Y-%m-%d %H:%M:%S"), "closes_at": period.closes_at.strftime("%Y-%m-%d %H:%M:%S"),
            "choice_count": period.choice_count, "withdrawal_limit": period.withdrawal_limit, "submit_wait_seconds": 0,
            "allocation_mechanism": period.allocation_mechanism, "priority_keys": "bogus,channel",
            "csrf_token": csrf_token(county_it_client)}
    page = county_it_client.post(f"/enrollmentperiodmodelview/edit/{period.id}", data=data)
    assert page.status_code == 200 and "未知的排序条件：bogus" in page.get_data(as_text=True)
    api = admin_client.put(f"/api/v1/periods/{period.id}", json={"priority_keys": "channel,channel"},
                           headers={"X-CSRFToken": csrf_token(admin_client)})
    assert api.status_code == 422 and "priority_keys" in api.get_json()["message"]  # FAB's answer to invalid fields
    api = admin_client.put(f"/api/v1/periods/{period.id}", json={"allocation_mechanism": "bogus"},
                           headers={"X-CSRFToken": csrf_token(admin_client)})
    assert api.status_code == 422 and "allocation_mechanism" in api.get_json()["message"]
    db_session.expire_all()
    assert db_session.get(EnrollmentPeriod, period.id).priority_keys == "channel,birth,lottery"


def test_bad_priority_keys_in_a_county_file_are_named_by_row_and_column(fresh_app, tmp_path):
    import json

    from app.extensions import db
    from app.services import county_io

    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parent.parent / "examples" / "shimen.json").read_text())
    data["periods"][0]["priority_keys"] = "channel,luck"
    path = tmp_path / "county.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(county_io.CountyImportError) as caught:
        county_io.import_file(db.session, str(path))
    assert any("luck" in str(line) for line in caught.value.errors)
