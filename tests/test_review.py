"""Review: transitions per role and window, concurrency, batches, flags, exports, audit, notices."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import (
    ACTIVE_STATUSES,
    Application,
    ApplicationChoice,
    ApplicationEvent,
    Child,
    Guardian,
    Message,
    MessageTemplate,
    ReasonTemplate,
    School,
    AuditLog,
)
from app.services import flags, review, workflow
from tests.conftest import at_once, csrf_token

def _now():
    from app.services.clock import local_now

    return local_now()


def _school_id(session, code="SM-X5"):
    return session.scalar(select(School.id).where(School.code == code))


def _app_in(session, status, school="SM-X5", inside=True):
    school_id = _school_id(session, school)
    for a in session.scalars(select(Application).where(Application.status == status).order_by(Application.id)):
        if any(c.school_id == school_id for c in a.choices) == inside:
            return a
    raise AssertionError(f"no {status} application {'in' if inside else 'outside'} {school}")


def _who(session, username, app):
    from app.extensions import appbuilder

    with app.app_context():
        user = appbuilder.sm.find_user(username=username)
    return review.reviewer(session, user.id, username != "reviewer_SM-X5")


ZONES = {"SM-X5": "宝塔社区", "SM-X1": "澧阳社区"}


def _new_submitted(app, session, school="SM-X5"):
    """A submitted application made through the parents' form, choosing the school."""
    from app.models import Community
    from tests.conftest import parent_login
    from tests.public_helpers import fill, submit
    from tests.test_public_apply import _started

    client = parent_login(app)
    application = _started(client, session)
    community = session.scalar(select(Community.id).where(Community.name == ZONES[school]))
    token = fill(client, application, [_school_id(session, school)], community)
    assert submit(client, application, token).status_code == 302
    session.expire_all()
    return session.get(Application, application.id)


def _fresh_in_review(session, app, school="SM-X5"):
    application = _new_submitted(app, session, school)
    with app.app_context():
        review.act(session, [application.id], "start_review", _who(session, "bureau_reviewer", app), "", _now())
    return application


def test_school_reviewer_approves_own_application_with_event_and_message(app, db_session):
    application = _fresh_in_review(db_session, app)
    who = _who(db_session, "reviewer_SM-X5", app)
    with app.app_context():
        review.act(db_session, [application.id], "approve", who, "", _now())
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert application.status == "approved" and application.reviewed_by_id == who.user_id
    event = db_session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == application.id).order_by(ApplicationEvent.id.desc())).first()
    assert (event.from_status, event.to_status, event.actor_user_id) == ("in_review", "approved", who.user_id)
    if application.child.account_id:
        message = db_session.scalars(select(Message).where(Message.application_id == application.id).order_by(Message.id.desc())).first()
        assert message.title == "审核通过"


def test_outside_scope_is_refused_and_nothing_changes(app, db_session):
    application = _fresh_in_review(db_session, app, school="SM-X1")
    with app.app_context(), pytest.raises(review.ReviewError):
        review.act(db_session, [application.id], "approve", _who(db_session, "reviewer_SM-X5", app), "", _now())
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "in_review"


@pytest.mark.parametrize("action", ["return", "reject"])
def test_reason_is_required(app, db_session, action):
    application = _fresh_in_review(db_session, app)
    with app.app_context(), pytest.raises(workflow.TransitionError):
        review.act(db_session, [application.id], action, _who(db_session, "bureau_reviewer", app), "  ", _now())
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "in_review"


def test_review_window(app, db_session):
    from flask_babel import force_locale

    application = _new_submitted(app, db_session)
    period = application.period
    saved = period.review_starts_at, period.review_ends_at
    try:
        period.review_starts_at = _now() + dt.timedelta(days=2)
        db_session.commit()
        with app.app_context(), force_locale("zh"):
            with pytest.raises(review.ReviewError) as caught:
                review.act(db_session, [application.id], "start_review", _who(db_session, "bureau_reviewer", app), "", _now())
            assert "本批次审核于" in str(caught.value.message)
        period.review_starts_at, period.review_ends_at = _now() - dt.timedelta(days=5), _now() - dt.timedelta(days=1)
        db_session.commit()
        with app.app_context(), pytest.raises(review.ReviewError):
            review.act(db_session, [application.id], "start_review", _who(db_session, "bureau_reviewer", app), "", _now())
    finally:
        period.review_starts_at, period.review_ends_at = saved
        db_session.commit()
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "submitted"


def test_parent_steps_are_not_review_actions(app, db_session):
    application = db_session.scalar(select(Application).where(Application.status == "draft").limit(1))
    with app.app_context(), pytest.raises(review.ReviewError):
        review.act(db_session, [application.id], "submit", _who(db_session, "bureau_reviewer", app), "", _now())


def test_batch_is_all_or_nothing(app, db_session):
    ready = _new_submitted(app, db_session)
    wrong = _fresh_in_review(db_session, app)  # already in review: cannot start again
    events = db_session.query(ApplicationEvent).count()
    with app.app_context(), pytest.raises(workflow.TransitionError):
        review.act(db_session, [ready.id, wrong.id], "start_review", _who(db_session, "bureau_reviewer", app), "", _now())
    db_session.expire_all()
    assert db_session.get(Application, ready.id).status == "submitted"
    assert db_session.query(ApplicationEvent).count() == events


def test_county_it_cannot_review(app, db_session, county_it_client):
    application = _new_submitted(app, db_session)
    county_it_client.post("/applicationmodelview/action_post",
                          data={"action": "start_review", "rowid": [str(application.id)], "csrf_token": csrf_token(county_it_client)})
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "submitted"
    assert county_it_client.get(f"/applicationmodelview/reason/return?ids={application.id}").status_code == 403


def test_concurrent_reviewers_give_one_result_and_one_event(app, db_session, engine):
    application = _fresh_in_review(db_session, app)
    who = _who(db_session, "bureau_reviewer", app)

    def approve(session):
        review.act(session, [application.id], "approve", who, "", _now())

    outcomes = at_once(app, engine, approve, approve)
    assert outcomes.count("ok") == 1, outcomes
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "approved"
    approvals = db_session.query(ApplicationEvent).filter_by(application_id=application.id, to_status="approved").count()
    assert approvals == 1


def test_return_through_the_admin_with_a_template(app, db_session, school_client):
    application = _fresh_in_review(db_session, app)
    template = ReasonTemplate(kind="return", text="户口簿照片不清晰，请重新上传。", position=1)
    db_session.add(template)
    db_session.commit()
    page = school_client.get(f"/applicationmodelview/reason/return?ids={application.id}").get_data(as_text=True)
    assert template.text in page
    response = school_client.post(f"/applicationmodelview/reason/return?ids={application.id}",
                                  data={"template": template.text, "csrf_token": csrf_token(school_client)})
    assert response.status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert application.status == "returned" and application.return_reason == template.text


def test_detail_page_shows_sections_attachments_and_timeline(app, db_session, school_client):
    from tests.test_storage import PDF
    from app.services import uploads

    application = _fresh_in_review(db_session, app)
    material = application.channel.materials[0]
    uploads.add_attachment(db_session, app.extensions["ruxue_storage"], application, material.material_type_id, "scan.pdf", PDF)
    html = school_client.get(f"/applicationmodelview/show/{application.id}").get_data(as_text=True)
    assert application.channel.sections[0].form_section.title_zh in html
    assert 'type="application/pdf"' in html and "/attachmentmodelview/file/" in html
    assert "开始审核" in html or "审核中" in html
    assert "退回（填写原因）" in html


def _child(session, number_suffix, birth=dt.date(2020, 1, 1)):
    from app.services.ids import make_resident_id

    return Child(name="标记测试", id_type="resident_id", id_number=make_resident_id("430726", birth, number_suffix), birth_date=birth, sex="M")


def test_flags_fire_on_data_built_to_trigger_them_and_not_on_clean_data(app, db_session):
    from app.models import EnrollmentPeriod, ParentAccount

    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-J7"))
    channel = period.channels[0]
    fam1, fam2 = ParentAccount(phone="13500000001"), ParentAccount(phone="13500000002")
    c1, c2 = _child(db_session, 951), _child(db_session, 953)
    c1.account, c2.account = fam1, fam2
    c2.birth_date = dt.date(2019, 12, 31)  # not what the ID says
    a1 = Application(number="FLAG-1", child=c1, period=period, channel=channel, status="submitted", property_cert_no="湘(2024)不动产权第0000001号")
    a2 = Application(number="FLAG-2", child=c2, period=period, channel=channel, status="submitted", property_cert_no="湘(2024)不动产权第0000001号")
    a3 = Application(number="FLAG-3", child=c1, period=db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1")), channel=channel, status="in_review")
    db_session.add_all([a1, a2, a3])
    db_session.flush()
    guardian_id = "430726198801010011"
    for i in range(4):
        kid = _child(db_session, 960 + i * 2)
        db_session.add(kid)
        db_session.add(Guardian(child=kid, relation="父亲", name="多子", id_number=guardian_id))
    db_session.add(Guardian(child=c1, relation="父亲", name="多子", id_number=guardian_id))
    db_session.flush()
    with app.app_context():
        codes1 = {f.code for f in flags.compute(db_session, a1)}
        codes2 = {f.code for f in flags.compute(db_session, a2)}
        why = {f.code: str(f.why) for f in flags.compute(db_session, a1)}
    assert codes1 == {"shared_property", "guardian_children", "duplicate_child", "missing_material"}
    assert "FLAG-2" in why["shared_property"]
    assert {"shared_property", "birth_mismatch"} <= codes2 and "duplicate_child" not in codes2
    # clean: its own family's second child with another certificate, materials uploaded
    db_session.rollback()


def test_clean_application_has_no_flags(app, db_session):
    from tests.conftest import parent_login
    from tests.test_public_apply import _submitted

    application = _submitted(parent_login(app), db_session)
    assert application.flags == ""
    with app.app_context():
        assert flags.compute(db_session, application) == []


def test_flag_filter_and_column(app, db_session, bureau_client):
    with app.app_context():
        flags.refresh_all(db_session)
    from app.extensions import appbuilder
    from app.views.filters import FilterFlagged
    from app.views.review import ApplicationModelView

    view = next(v for v in appbuilder.baseviews if isinstance(v, ApplicationModelView))
    index = [type(f) for f in view._filters.get_search_filters()["flags"]].index(FilterFlagged)
    flagged = db_session.query(Application).filter(Application.flags != "").count()
    html = bureau_client.get(f"/applicationmodelview/list/?_flt_{index}_flags=1&psize_ApplicationModelView=100").get_data(as_text=True)
    import re

    count = re.search(r"</strong>\s*(\d+)\s*</div>", html)
    assert int(count.group(1)) == flagged if count else flagged == 0


def test_exports_match_the_list_and_mask_ids(app, db_session, school_client, bureau_client):
    import re

    args = "_flt_0_status=submitted"
    html = school_client.get(f"/applicationmodelview/list/?{args}&psize_ApplicationModelView=100").get_data(as_text=True)
    listed = sorted(re.findall(r"<td>\s*(\d{13})\s*</td>", html))
    data = school_client.get(f"/applicationmodelview/export.xlsx?{args}").data
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]][:3] == ["报名号", "学生", "学生证件号码"]
    exported = sorted(str(r[0].value) for r in sheet.iter_rows(min_row=2))
    assert exported == listed and exported
    assert all("********" in str(r[2].value) for r in sheet.iter_rows(min_row=2))
    csv_text = bureau_client.get(f"/applicationmodelview/export.csv?{args}").get_data(as_text=True)
    rows = csv_text.strip().splitlines()[1:]
    assert len(rows) == db_session.query(Application).filter_by(status="submitted").count()
    assert not any("********" in r.split(",")[2] for r in rows)  # the bureau may see full numbers


def test_full_id_and_attachment_reads_are_recorded_for_admin(app, db_session, bureau_client, school_client, admin_client, county_it_client):
    from tests.test_storage import _attachment_for

    application = _new_submitted(app, db_session)
    reads = select(AuditLog).where(AuditLog.action.like("read:%"))
    before = len(db_session.scalars(reads).all())
    page = bureau_client.get(f"/applicationmodelview/full_id/{application.id}").get_data(as_text=True)
    assert application.child.id_number in page
    assert school_client.get(f"/applicationmodelview/full_id/{application.id}").status_code == 403
    attachment = _attachment_for(app, db_session, "SM-X5", inside=True)
    school_client.get(f"/attachmentmodelview/file/{attachment.id}")
    rows = db_session.scalars(reads.order_by(AuditLog.id.desc()).limit(2)).all()
    assert len(db_session.scalars(reads).all()) == before + 2
    assert {r.action for r in rows} == {"read:full_id", "read:attachment"}
    assert {r.actor for r in rows} == {"bureau_reviewer", "reviewer_SM-X5"} and all(r.address for r in rows)
    listing = admin_client.get("/auditlogmodelview/list/").get_data(as_text=True)
    assert "查看（完整身份证号）" in listing and "查看（附件）" in listing
    assert f"报名 {application.number}" in listing  # the object in the reader's language
    assert county_it_client.get("/auditlogmodelview/list/").status_code == 403
    assert bureau_client.get("/auditlogmodelview/list/").status_code == 403


def test_message_templates_from_the_county_and_failed_sms_retried(app, db_session):
    from app.services import notifications

    db_session.add(MessageTemplate(step="approve", locale="zh", title="好消息", body="{child}的报名{number}审核通过。"))
    db_session.commit()
    application = _fresh_in_review(db_session, app)
    assert application.child.account is not None  # demo families always have an account
    sender = app.extensions["ruxue_sms"]

    class Broken:
        def send(self, phone, text):
            raise ConnectionError("gateway down")

    app.extensions["ruxue_sms"] = Broken()
    try:
        with app.app_context():
            review.act(db_session, [application.id], "approve", _who(db_session, "bureau_reviewer", app), "", _now())
            notifications.send_pending(db_session, limit=10_000)  # the outbox tries, the gateway is down
    finally:
        app.extensions["ruxue_sms"] = sender
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "approved"  # the send failure undid nothing
    message = db_session.scalars(select(Message).where(Message.application_id == application.id).order_by(Message.id.desc())).first()
    assert (message.title, message.body) == ("好消息", f"{application.child.name}的报名{application.number}审核通过。")
    assert message.sms_status == "pending" and message.sms_attempts == 1 and message.sms_next_at is not None  # tried again later
    with app.app_context():
        sent, failing = notifications.retry_failed(db_session)
    db_session.expire_all()
    message = db_session.get(Message, message.id)
    assert message.sms_status == "sent" and sent >= 1
    assert sender.last_to(application.child.account.phone).startswith("好消息")
    db_session.query(MessageTemplate).delete()
    db_session.commit()


def test_dashboard_figures_and_access(app, db_session, role_clients):
    from app.services.dashboard import figures

    with app.app_context():
        data = figures(db_session)
    x5 = next(r for r in data.schools if r.school.code == "SM-X5")
    expected = db_session.scalar(
        select(func.count()).select_from(ApplicationChoice).join(Application)
        .where(Application.status.in_(ACTIVE_STATUSES), ApplicationChoice.rank == 1, ApplicationChoice.school_id == x5.school.id)
    )
    assert x5.first_choice == expected
    html = role_clients["BureauReviewer"].get("/dashboard/").get_data(as_text=True)
    assert "<svg" in html and "石门县第五完全小学" in html and "第一志愿报名数与学位数" in html
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace('xmlns="http://www.w3.org/2000/svg"', "")
    for role, status in (("CountyIT", 200), ("Admin", 200), ("SchoolReviewer", 403)):
        assert role_clients[role].get("/dashboard/").status_code == status
    assert "/dashboard/" not in role_clients["SchoolReviewer"].get("/admin/").get_data(as_text=True)
