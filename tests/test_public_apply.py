"""The parents' rules over HTTP: children, consent, eligibility, choices, sections, submit, edit, withdraw."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.models import Application, ApplicationEvent, Child, Community, EnrollmentPeriod, Message, School
from tests.conftest import parent_login
from tests.public_helpers import add_child, consent, fill, next_id, post, start, submit, upload


def _period(db_session, code="SM-P1"):
    return db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == code))


def _school(db_session, code):
    return db_session.scalar(select(School).where(School.code == code))


def _community(db_session, name="宝塔社区"):
    return db_session.scalar(select(Community).where(Community.name == name))


def _child(db_session, number):
    return db_session.scalar(select(Child).where(Child.id_number == number))


def _started(client, db_session, birth=dt.date(2020, 3, 1), period="SM-P1"):
    _, number = add_child(client, birth)
    consent(client)
    child = _child(db_session, number)
    response = start(client, child.id, _period(db_session, period).id)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    db_session.expire_all()
    return db_session.scalar(select(Application).where(Application.child_id == child.id))


def _submitted(client, db_session, **kwargs):
    application = _started(client, db_session, **kwargs)
    token = fill(client, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    response = submit(client, application, token)
    assert response.status_code == 302 and "receipt=1" in response.headers["Location"]
    db_session.expire_all()
    return db_session.get(Application, application.id)


def test_resident_id_gives_birth_date_and_sex(parent, db_session):
    response, number = add_child(parent, dt.date(2020, 2, 29))
    assert response.status_code == 302
    child = _child(db_session, number)
    assert child.birth_date == dt.date(2020, 2, 29) and child.sex in ("M", "F")


def test_wrong_id_says_what_is_wrong(parent, db_session):
    number = next_id(dt.date(2020, 2, 2))
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    response, _ = add_child(parent, number=wrong)
    assert response.status_code == 400
    assert "最后一位校验码不符" in response.get_data(as_text=True)
    assert _child(db_session, wrong) is None


def test_child_binds_to_one_account_until_unbound(app, db_session):
    first, second = parent_login(app), parent_login(app)
    _, number = add_child(first)
    response, _ = add_child(second, number=number)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    masked = first.phone[:3] + "****" + first.phone[-4:]
    assert masked in html and first.phone not in html
    child = _child(db_session, number)
    assert post(second, f"/my/children/{child.id}/unbind", {"confirm": "1"}).status_code == 404  # not theirs
    asked = post(first, f"/my/children/{child.id}/unbind")  # a post without the confirmation only asks
    assert asked.status_code == 200 and "确定解除" in asked.get_data(as_text=True)
    db_session.expire_all()
    assert _child(db_session, number).account.phone == first.phone
    assert post(first, f"/my/children/{child.id}/unbind", {"confirm": "1"}).status_code == 302
    response, _ = add_child(second, number=number)
    assert response.status_code == 302
    db_session.expire_all()
    assert _child(db_session, number).account.phone == second.phone


def test_one_account_binds_several_children(parent, db_session):
    add_child(parent, dt.date(2020, 1, 1))
    add_child(parent, dt.date(2019, 10, 1))
    html = parent.get("/my").get_data(as_text=True)
    assert html.count("为此孩子报名") == 2


def test_consent_comes_before_the_first_application(parent, db_session):
    _, number = add_child(parent)
    child = _child(db_session, number)
    response = start(parent, child.id, _period(db_session).id)
    assert "/my/consent" in response.headers["Location"]
    assert post(parent, "/my/consent", {}).status_code == 400  # not ticked
    consent(parent)
    db_session.expire_all()
    account = db_session.get(Child, child.id).account
    assert account.consent_at is not None and account.consent_version == 1
    assert "/my/a/" in start(parent, child.id, _period(db_session).id).headers["Location"]


def test_a_new_version_of_the_agreement_is_asked_again(parent, db_session):
    """The agreement's version is kept by the worker; a new one published is asked for at once."""
    from app.models import Notice

    _, number = add_child(parent)
    child = _child(db_session, number)
    consent(parent)
    assert "/my/a/" in start(parent, child.id, _period(db_session).id).headers["Location"]
    notice = db_session.query(Notice).filter_by(kind="agreement", published=True).order_by(Notice.position).first()
    notice.version += 1
    db_session.commit()
    try:
        assert "/my/consent" in start(parent, child.id, _period(db_session).id).headers["Location"]
        consent(parent)
        assert "/my/a/" in start(parent, child.id, _period(db_session).id).headers["Location"]
    finally:
        notice.version -= 1
        db_session.commit()


@pytest.mark.parametrize(
    "birth,message",
    [(dt.date(2020, 9, 1), "学生年龄不足，无须采集"), (dt.date(2019, 8, 31), "学生年龄超过上学年龄")],
)
def test_age_window(parent, db_session, birth, message):
    _, number = add_child(parent, birth)
    consent(parent)
    response = start(parent, _child(db_session, number).id, _period(db_session).id)
    html = parent.get(response.headers["Location"]).get_data(as_text=True)
    assert message in html
    assert db_session.query(Application).filter_by(child_id=_child(db_session, number).id).count() == 0


def test_closed_period_refuses(parent, db_session):
    period = _period(db_session, "SM-J7")
    saved = period.closes_at, period.opens_at
    period.opens_at, period.closes_at = dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1)
    db_session.commit()
    try:
        _, number = add_child(parent, dt.date(2014, 1, 1))
        consent(parent)
        response = start(parent, _child(db_session, number).id, period.id)
        assert "本批次已于 2020-02-01 00:00 截止" in parent.get(response.headers["Location"]).get_data(as_text=True)
    finally:
        period.closes_at, period.opens_at = saved
        db_session.commit()


def test_underage_school_cut_off(app, db_session):
    from flask_babel import force_locale

    from app.services import eligibility

    period, school = _period(db_session, "SM-P1U"), _school(db_session, "SM-X2")
    child = Child(name="小", id_type="resident_id", id_number="x", birth_date=dt.date(2020, 12, 15))
    school.underage_birth_cutoff = dt.date(2020, 11, 30)
    try:
        with app.app_context(), force_locale("en"):
            problems = [str(p) for p in eligibility.age_problems(period, child, school)]
        assert problems == ["Too young for 石门县第二完全小学: it takes underage children born on or before 2020-11-30."]
        assert eligibility.age_problems(period, child, _school(db_session, "SM-X1"))  # takes no underage at all
    finally:
        db_session.rollback()


def test_full_application_submits_with_event_message_and_sms(app, parent, db_session):
    application = _submitted(parent, db_session)
    assert application.status == "submitted" and application.submitted_at is not None
    event = db_session.scalar(select(ApplicationEvent).where(ApplicationEvent.application_id == application.id))
    assert (event.from_status, event.to_status, event.actor_account_id) == ("draft", "submitted", application.child.account_id)
    message = db_session.scalar(select(Message).where(Message.application_id == application.id))
    assert application.number in message.body and message.sms_status == "pending"  # in the outbox
    with app.app_context():
        from app.services import notifications

        notifications.send_pending(db_session, limit=100_000)
    assert application.number in app.extensions["ruxue_sms"].last_to(parent.phone)
    page = parent.get(f"/my/a/{application.id}?receipt=1").get_data(as_text=True)
    assert f"报名号为 {application.number}" in page


def test_already_registered(parent, db_session):
    application = _submitted(parent, db_session)
    response = start(parent, application.child_id, application.period_id)
    assert "此学生信息已经登记" in parent.get(response.headers["Location"]).get_data(as_text=True)


def test_choices_must_be_offered_and_within_the_count(parent, db_session):
    application = _started(parent, db_session)
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    post(parent, f"{base}/community", {"community_id": _community(db_session).id})
    outside = _school(db_session, "SM-X1")  # its zone does not include 宝塔社区
    response = post(parent, f"{base}/choices", {"choice_1": outside.id})
    assert response.status_code == 400 and "该学校不接收本报名" in response.get_data(as_text=True)
    html = parent.get(f"{base}/choices").get_data(as_text=True)
    assert "石门县第五完全小学" in html and "石门县第一完全小学" not in html


def test_section_skipping_only_where_configured(parent, db_session):
    application = _started(parent, db_session)
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    response = post(parent, f"{base}/household", {"skip": "1"})
    assert response.status_code == 400 and "必须填写此部分" in response.get_data(as_text=True)
    response = post(parent, f"{base}/household", {"householder": ""})
    assert response.status_code == 400 and "必填。" in response.get_data(as_text=True)


def test_submit_refused_while_something_is_missing(parent, db_session):
    application = _started(parent, db_session)
    html = parent.get(f"/my/a/{application.id}/preview")
    assert html.status_code == 302  # no channel yet: the preview is not a step
    post(parent, f"/my/a/{application.id}/channel", {"channel_id": application.period.channels[0].id})
    page = parent.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    assert "尚缺少" in page and "请上传“户口簿”。" in page
    response = submit(parent, application, "bad-token")
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "draft"


def test_withdraw_limit_and_review_lock(app, parent, db_session, bureau_client):
    from tests.conftest import csrf_token

    application = _submitted(parent, db_session)
    assert application.period.withdrawal_limit == 1
    asked = parent.get(f"/my/a/{application.id}/withdraw").get_data(as_text=True)
    assert "确定撤回" in asked and "本次撤回后，还剩0次撤回机会（共1次）" in asked
    assert post(parent, f"/my/a/{application.id}/withdraw").status_code == 200  # only asks
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "submitted"
    assert post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"}).status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert (application.status, application.withdrawal_count) == ("draft", 1)
    token = parent.get(f"/my/a/{application.id}/preview").get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    submit(parent, application, token)
    post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"})
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "submitted"  # no withdrawal left
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "请点击撤回" not in page and "撤回次数已用完（每个学生仅1次）" in page
    # once review starts, never
    family = parent_login(app)
    other = _submitted(family, db_session)
    bureau_client.post("/applicationmodelview/action_post",
                       data={"action": "start_review", "rowid": [str(other.id)], "csrf_token": csrf_token(bureau_client)})
    assert "请点击撤回" not in family.get(f"/my/a/{other.id}").get_data(as_text=True)
    post(family, f"/my/a/{other.id}/withdraw", {"confirm": "1"})
    assert "已进入学校审核阶段，不能再撤回。" in family.get(f"/my/a/{other.id}").get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Application, other.id).status == "in_review"


def test_edit_rules(parent, db_session):
    from app.services.submission import can_edit

    application = _submitted(parent, db_session)
    period = application.period
    assert can_edit(application, period.closes_at - dt.timedelta(minutes=1))
    assert not can_edit(application, period.closes_at + dt.timedelta(minutes=1))
    application.status = "returned"
    assert can_edit(application, period.closes_at + dt.timedelta(days=3))
    application.status = "submitted"
    period.edit_until_close = False
    assert not can_edit(application, period.closes_at - dt.timedelta(minutes=1))
    db_session.rollback()


def test_submit_waits_where_the_county_says(db_session, app):
    from app.services import applications as apps
    from app.services import submission

    application = db_session.scalar(select(Application).where(Application.status == "draft").limit(1))
    application.period.submit_wait_seconds = 15
    now = application.period.opens_at + dt.timedelta(hours=1)
    with app.app_context():
        with pytest.raises(apps.ApplicationError) as caught:
            submission.submit(db_session, application, application.child.account_id, now, previewed_at=now - dt.timedelta(seconds=10))
        assert "15" in str(caught.value.message)
    db_session.rollback()


def test_other_accounts_ids_are_not_found(app, parent, db_session):
    application = _submitted(parent, db_session)
    intruder = parent_login(app)
    for url in (f"/my/a/{application.id}", f"/my/a/{application.id}/preview", f"/my/a/{application.id}/channel"):
        assert intruder.get(url).status_code == 404, url
    assert post(intruder, f"/my/a/{application.id}/withdraw").status_code == 404
    assert post(intruder, f"/my/a/{application.id}/upload", {"material_type_id": 1}).status_code == 404
    assert post(intruder, "/my/apply", {"child_id": application.child_id, "period_id": application.period_id}).status_code == 302
    assert application.number not in intruder.get("/my").get_data(as_text=True)


def test_messages_unread_count_then_read(parent, db_session):
    application = _submitted(parent, db_session)
    assert 'aria-label="未读">1<' in parent.get("/my").get_data(as_text=True)
    page = parent.get("/my/messages").get_data(as_text=True)
    assert "报名已提交" in page and application.number in page
    assert 'aria-label="未读"' not in parent.get("/my").get_data(as_text=True)


def test_returned_application_is_edited_and_resubmitted(parent, db_session):
    from app.services import workflow

    application = _submitted(parent, db_session)
    workflow.transition(db_session, application, "start_review", user_id=None)
    workflow.transition(db_session, application, "return", user_id=None, reason="户口簿照片不清晰。")
    db_session.commit()
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "户口簿照片不清晰。" in page and "已退回" in page
    base = f"/my/a/{application.id}"
    assert post(parent, f"{base}/basic", {"former_name": "张花花"}).status_code == 302
    token = parent.get(f"{base}/preview").get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    assert submit(parent, application, token).status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert application.status == "submitted" and application.child.former_name == "张花花"


@pytest.mark.parametrize(
    "data,name,message",
    [
        (b"GIF89a fake", "photo.gif", "只接受以下文件类型"),
        (b"", "empty.png", "文件是空的"),
        (None, "../../etc/passwd.png", "不能包含文件夹路径"),
        (b"%PDF-" + b"0" * (5121 * 1024), "big.pdf", "文件超过 5120 KB"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(app, parent, db_session, data, name, message):
    from app.models import Attachment

    application = _started(parent, db_session)
    post(parent, f"/my/a/{application.id}/channel", {"channel_id": application.period.channels[0].id})
    db_session.expire_all()
    material = db_session.get(Application, application.id).channel.materials[0]
    store = app.extensions["ruxue_storage"]
    before = sorted(p.name for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []
    response = upload(parent, application, material.material_type_id, data=data, name=name)
    assert response.status_code == 303
    html = parent.get(response.headers["Location"]).get_data(as_text=True)
    assert message in html
    assert db_session.query(Attachment).filter_by(application_id=application.id).count() == 0
    after = sorted(p.name for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []
    assert after == before


def test_leaving_and_coming_back_resumes_the_draft(parent, db_session):
    application = _started(parent, db_session)
    post(parent, f"/my/a/{application.id}/channel", {"channel_id": application.period.channels[1].id})
    post(parent, f"/my/a/{application.id}/community", {"community_id": _community(db_session).id})
    again = start(parent, application.child_id, application.period_id)
    assert again.headers["Location"].endswith(f"/my/a/{application.id}/preview")
    db_session.expire_all()
    resumed = db_session.get(Application, application.id)
    assert resumed.channel_id == application.period.channels[1].id and resumed.community.name == "宝塔社区"
    assert db_session.query(Application).filter_by(child_id=application.child_id).count() == 1
    page = parent.get(f"/my/a/{application.id}/community").get_data(as_text=True)
    assert f'value="{resumed.community_id}" selected' in page
