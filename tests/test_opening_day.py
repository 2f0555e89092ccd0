"""Opening day: races end in one result and a clear message, never a 500 or a duplicate."""
from __future__ import annotations

import datetime as dt
import re
import threading

from sqlalchemy import func, select

from app.models import Application, ApplicationChoice, ApplicationEvent, Catchment, Community, School
from app.services import applications as apps
from app.services import submission
from app.services import flags, review
from tests.conftest import at_once, parent_login
from tests.public_helpers import add_child, consent, fill, next_id, post, submit
from tests.test_public_apply import _child, _community, _period, _school, _started


def _now():
    from app.services.clock import local_now

    return local_now()


def _children(db_session, client, n):
    """n children bound to the client's account, as the form binds them."""
    made = []
    for i in range(n):
        _, number = add_child(client, dt.date(2020, 3, 1) + dt.timedelta(days=i))
        made.append(_child(db_session, number).id)
    return made


def _same_session(app, client, n):
    """n test clients carrying the client's session cookie: one parent in n tabs."""
    cookie = client.get_cookie("session")
    clients = []
    for _ in range(n):
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        other.csrf = client.csrf
        clients.append(other)
    return clients


def _together(calls):
    """Run the calls in threads released by one barrier; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as error:  # reported in the assertion, not lost in the thread
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_starts_get_distinct_numbers(app, engine, db_session, parent):
    from app.models import Child, EnrollmentPeriod

    consent(parent)
    ids = _children(db_session, parent, 8)
    period_id = _period(db_session).id

    def starter(child_id):
        return lambda session: apps.start(session, session.get(Child, child_id), session.get(EnrollmentPeriod, period_id), _now())

    outcomes = at_once(app, engine, *[starter(i) for i in ids])
    assert outcomes == ["ok"] * len(ids)
    numbers = db_session.scalars(select(Application.number).where(Application.child_id.in_(ids))).all()
    assert len(numbers) == len(ids) == len(set(numbers))


def test_racing_starts_for_one_child_converge_on_one_draft(app, db_session, parent):
    consent(parent)
    (child_id,) = _children(db_session, parent, 1)
    period_id = _period(db_session).id
    tabs = _same_session(app, parent, 12)
    responses = _together([lambda c=c: post(c, "/my/apply", {"child_id": child_id, "period_id": period_id}) for c in tabs])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * len(tabs)
    drafts = db_session.scalars(select(Application).where(Application.child_id == child_id)).all()
    assert len(drafts) == 1 and drafts[0].status == "draft"
    # every tab lands on that one draft's form
    assert {r.headers["Location"] for r in responses} == {f"/my/a/{drafts[0].id}/channel"}


def test_database_refuses_a_second_holding_application(db_session):
    import pytest
    from sqlalchemy.exc import IntegrityError

    holder = db_session.scalar(select(Application).where(Application.status == "submitted").limit(1))
    db_session.add(Application(number="DUP-1", child_id=holder.child_id, period_id=holder.period_id, status="draft", section_data={}))
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()
    # a rejected application no longer holds the place
    rejected = db_session.scalar(select(Application).where(Application.status == "rejected").limit(1))
    if rejected is not None:
        db_session.add(Application(number="DUP-2", child_id=rejected.child_id, period_id=rejected.period_id,
                                   status="draft", section_data={}))
        db_session.flush()
        db_session.rollback()


def test_racing_submits_make_one_submission_and_no_500(app, db_session, parent):
    application = _started(parent, db_session)
    token = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    tabs = _same_session(app, parent, 12)
    responses = _together([lambda c=c: submit(c, application, token) for c in tabs])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * len(tabs)
    # the winner gets the receipt, the others the application's page
    assert sum("receipt=1" in r.headers["Location"] for r in responses) == 1
    events = db_session.scalar(select(func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == application.id, ApplicationEvent.to_status == "submitted"))
    assert events == 1
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "已提交" in page


def test_second_submit_is_told_it_is_already_in(parent, db_session):
    application = _started(parent, db_session)
    token = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    assert "receipt=1" in submit(parent, application, token).headers["Location"]
    again = submit(parent, application, token)
    assert again.status_code == 302 and again.headers["Location"] == f"/my/a/{application.id}"
    assert "该报名已经提交" in parent.get(again.headers["Location"]).get_data(as_text=True)


def test_withdraw_against_review_start_gives_one_result(app, engine, db_session, parent):
    application = _started(parent, db_session)
    token = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    submit(parent, application, token)
    with app.app_context():
        from app.extensions import appbuilder

        reviewer = appbuilder.sm.find_user(username="bureau_reviewer").id
    account_id = application.child.account_id

    def withdraw(session):
        submission.withdraw(session, session.get(Application, application.id), account_id, _now())

    def start_review(session):
        review.act(session, [application.id], "start_review", review.Reviewer(reviewer, True), "", _now())

    outcomes = at_once(app, engine, withdraw, start_review)
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"ok", "ApplicationError", "TransitionError"}, outcomes
    db_session.expire_all()
    final = db_session.get(Application, application.id)
    moves = db_session.scalars(select(ApplicationEvent.to_status).where(ApplicationEvent.application_id == application.id)
                               .order_by(ApplicationEvent.id)).all()
    assert moves == ["submitted", final.status] and final.status in ("draft", "in_review")


def test_resaving_the_choice_step_replaces_the_choice(parent, db_session):
    application = _started(parent, db_session)
    base = f"/my/a/{application.id}"
    community = _community(db_session)
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    post(parent, f"{base}/community", {"community_id": community.id})
    school = _school(db_session, "SM-X5")
    for _ in range(2):  # the same school twice: saved, not a 500
        assert post(parent, f"{base}/choices", {"choice_1": school.id}).status_code == 302
    db_session.expire_all()
    assert [c.school_id for c in db_session.get(Application, application.id).choices] == [school.id]


def test_shared_zone_parent_can_change_school(parent, db_session):
    """A family in a shared zone (多校划片) changes its mind: the second school replaces the first."""
    street_id = _community(db_session).street_id
    zone = Community(street_id=street_id, code="TEST-SHARED", name="测试共享片区")
    db_session.add(zone)
    db_session.flush()
    a, b = _school(db_session, "SM-X5"), _school(db_session, "SM-X1")
    db_session.add_all([Catchment(school_id=a.id, community_id=zone.id, kind="shared"),
                        Catchment(school_id=b.id, community_id=zone.id, kind="shared")])
    db_session.commit()
    try:
        application = _started(parent, db_session)
        base = f"/my/a/{application.id}"
        post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
        post(parent, f"{base}/community", {"community_id": zone.id})
        assert post(parent, f"{base}/choices", {"choice_1": a.id}).status_code == 302
        assert post(parent, f"{base}/choices", {"choice_1": b.id}).status_code == 302
        db_session.expire_all()
        assert [c.school_id for c in db_session.get(Application, application.id).choices] == [b.id]
    finally:
        db_session.rollback()
        db_session.query(ApplicationChoice).filter(ApplicationChoice.application_id == application.id).delete()
        db_session.query(Application).filter(Application.community_id == zone.id).update({"community_id": None})
        db_session.query(Catchment).filter(Catchment.community_id == zone.id).delete()
        db_session.query(Community).filter(Community.id == zone.id).delete()
        db_session.commit()


def test_submit_rechecks_the_catchment_after_the_community_changed(parent, db_session):
    application = _started(parent, db_session)
    school = _school(db_session, "SM-X5")
    token = fill(parent, application, [school.id], _community(db_session).id)
    outside = db_session.scalar(
        select(Community).where(~Community.id.in_(select(Catchment.community_id).where(Catchment.school_id == school.id))).limit(1))
    base = f"/my/a/{application.id}"
    assert post(parent, f"{base}/community", {"community_id": outside.id}).status_code == 302
    preview = parent.get(f"{base}/preview").get_data(as_text=True)
    assert f"{school.name}不接收所选社区的报名" in preview
    response = submit(parent, application, token)
    assert response.headers["Location"].endswith("/preview")
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "draft"


def test_two_tabs_saving_sections_never_lose_one_silently(app, engine, db_session, parent):
    """Two tabs read the same version; the second save is refused with a message, not merged away."""
    application = _started(parent, db_session)
    fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    db_session.expire_all()
    channel = db_session.get(Application, application.id).channel
    sections = [s.section for s in channel.sections if s.section != "guardians"][:2]
    if len(sections) < 2:
        sections = sections * 2
    from tests.public_helpers import section_values

    def saver(section):
        def save(session):
            row = session.get(Application, application.id)
            apps.save_section(session, row, section, section_values(section), today=_now().date())
        return save

    outcomes = at_once(app, engine, saver(sections[0]), saver(sections[1]))
    assert outcomes.count("ok") >= 1 and set(outcomes) <= {"ok", "ApplicationError", "OperationalError"}, outcomes


def test_submit_marks_flags_for_the_worker_and_the_worker_refreshes_them(app, db_session, parent):
    from app.services import worker

    application = _started(parent, db_session)
    token = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    submit(parent, application, token)
    db_session.expire_all()
    assert db_session.get(Application, application.id).flags_stale
    with app.app_context():
        from app.extensions import db

        done = worker.run_once(db.session, worker.Schedule(), clock=0.0)
        db.session.remove()
    assert done["flags"] >= 1
    db_session.expire_all()
    assert not db_session.get(Application, application.id).flags_stale


def test_no_500_when_a_step_is_posted_after_submission(parent, db_session):
    """A tab left open on a step after the application was submitted elsewhere."""
    application = _started(parent, db_session)
    token = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    submit(parent, application, token)
    db_session.expire_all()
    base = f"/my/a/{application.id}"
    material = db_session.get(Application, application.id).channel.materials[0].material_type_id
    from tests.public_helpers import upload

    for response in (post(parent, f"{base}/channel", {"channel_id": application.channel_id}), upload(parent, application, material),
                     post(parent, "/my/apply", {"child_id": application.child_id, "period_id": application.period_id})):
        assert response.status_code in (302, 303), response.status_code


def _signin_tabs(app, n, phone):
    """n fresh browsers that asked for a code for the same phone; returns (clients, code)."""
    import re

    from tests.conftest import csrf_token

    first = app.test_client()
    post(first, "/signin", {"phone": phone})
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    tabs = []
    for _ in range(n):
        tab = app.test_client()
        csrf_token(tab, "/signin")
        tabs.append(tab)
    return tabs, code


def test_first_login_in_two_tabs_makes_one_account(app, db_session):
    from app.models import ParentAccount
    from tests.conftest import new_phone

    phone = new_phone()
    tabs, code = _signin_tabs(app, 4, phone)  # each try, right or wrong, takes one of the code's 5
    responses = _together([lambda t=t: post(t, "/signin/code", {"phone": phone, "code": code}) for t in tabs])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * len(tabs), [
        re.findall(r"(?s)<main>(.*?)<form", r.get_data(as_text=True)) for r in responses if r.status_code != 302]
    assert db_session.scalar(select(func.count()).select_from(ParentAccount).where(ParentAccount.phone == phone)) == 1


def test_simultaneous_wrong_codes_use_up_the_five_tries(app, db_session):
    from app.models import OtpCode
    from tests.conftest import new_phone

    phone = new_phone()
    tabs, code = _signin_tabs(app, 12, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    responses = _together([lambda t=t: post(t, "/signin/code", {"phone": phone, "code": wrong}) for t in tabs])
    assert [getattr(r, "status_code", r) for r in responses] == [400] * len(tabs)
    row = db_session.scalar(select(OtpCode).where(OtpCode.phone == phone).order_by(OtpCode.id.desc()).limit(1))
    assert row.attempts == 5
    # the right code no longer opens the account: the tries are gone
    response = post(tabs[0], "/signin/code", {"phone": phone, "code": code})
    assert response.status_code == 400 and "错误次数过多" in response.get_data(as_text=True)


def test_two_families_binding_one_child_at_once(app, db_session):
    number = next_id(dt.date(2020, 5, 5))
    families = [parent_login(app) for _ in range(4)]
    responses = _together([lambda f=f: add_child(f, number=number)[0] for f in families])
    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [302, 400, 400, 400], codes
    assert all("已被手机号" in r.get_data(as_text=True) for r in responses if r.status_code == 400)
    child = _child(db_session, number)
    winner = next(f for f, r in zip(families, responses) if r.status_code == 302)
    assert "430726********" in winner.get("/my").get_data(as_text=True) and child.account_id is not None
