"""The family's own pages as the counties' manuals describe them (issue #14): unbinding and
renaming a child, withdrawing with a confirmation, seeing what was submitted, a preview that is
what goes in, the age check when a child is added, the school step's catchment areas."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.models import Application, Child, EnrollmentPeriod
from tests.conftest import parent_login
from tests.public_helpers import add_child, consent, fill, next_id, post, section_values, start, submit
from tests.test_public_apply import _child, _community, _school, _started, _submitted


def _token(client, application):
    html = client.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_a_child_with_an_application_in_progress_stays_bound_until_it_is_withdrawn(app, db_session):
    parent = parent_login(app)
    application = _submitted(parent, db_session)
    child_id = application.child_id
    page = parent.get(f"/my/children/{child_id}/unbind").get_data(as_text=True)
    assert f"报名（{application.number}）正在进行中" in page and 'name="confirm"' not in page
    refused = post(parent, f"/my/children/{child_id}/unbind", {"confirm": "1"})
    assert refused.status_code == 409
    db_session.expire_all()
    assert db_session.get(Child, child_id).account_id is not None
    # someone else cannot bind the child meanwhile, and sees nothing of the application
    other = parent_login(app)
    answer, _ = add_child(other, number=db_session.get(Child, child_id).id_number)
    assert answer.status_code == 400 and application.number not in other.get("/my").get_data(as_text=True)

    assert post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"}).status_code == 302
    assert 'name="confirm"' in parent.get(f"/my/children/{child_id}/unbind").get_data(as_text=True)
    assert post(parent, f"/my/children/{child_id}/unbind", {"confirm": "1"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Child, child_id).account_id is None


def test_a_child_s_name_is_corrected_in_my_children_until_the_reviewers_have_it(app, db_session):
    parent = parent_login(app)
    application = _started(parent, db_session)
    url = f"/my/children/{application.child_id}/edit"
    assert "修改姓名" in parent.get("/my").get_data(as_text=True)
    refused = post(parent, url, {"name": "张小花1"})
    assert refused.status_code == 400 and 'value="张小花1"' in refused.get_data(as_text=True)
    assert post(parent, url, {"name": "张晓花"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Child, application.child_id).name == "张晓花"
    assert "学生姓名已修改" in parent.get("/my").get_data(as_text=True)

    token = fill(parent, db_session.get(Application, application.id), [_school(db_session, "SM-X5").id], _community(db_session).id)
    assert submit(parent, application, token).status_code == 302
    page = parent.get(url).get_data(as_text=True)
    assert "已在审核中，姓名不能在此修改" in page and "disabled" in page
    assert post(parent, url, {"name": "张大花"}).status_code == 409
    db_session.expire_all()
    assert db_session.get(Child, application.child_id).name == "张晓花"


def test_a_withdrawal_is_asked_first_and_its_absence_is_explained(app, db_session):
    parent = parent_login(app)
    application = _submitted(parent, db_session)
    detail = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "如需修改，请点击撤回（还可撤回1次，共1次）" in detail
    asked = parent.get(f"/my/a/{application.id}/withdraw").get_data(as_text=True)
    assert "撤回后报名变为草稿" in asked and "本次撤回后，还剩0次撤回机会（共1次）" in asked
    post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"})
    submit(parent, application, _token(parent, application))
    # the second time: no withdrawal left, the page says so, and a direct post changes nothing
    assert "撤回次数已用完" in parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "撤回次数已用完" in parent.get(parent.get(f"/my/a/{application.id}/withdraw").headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "submitted"


def test_the_progress_page_shows_everything_that_was_submitted(app, db_session):
    parent = parent_login(app)
    application = _submitted(parent, db_session)
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "已提交的报名信息" in page and application.channel.name in page and "宝塔社区" in page
    assert "户籍信息" in page and "proof.png" in page and application.child.id_number not in page


def test_a_submit_from_a_preview_older_than_a_change_made_in_another_tab_is_refused(app, db_session):
    parent = parent_login(app)
    application = _started(parent, db_session)
    old_preview = fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    # tab B changes the household address after tab A showed the preview
    changed = {**section_values("household"), "address": "另一个地址8号"}
    assert post(parent, f"/my/a/{application.id}/household", changed).status_code == 302
    answer = submit(parent, application, old_preview)
    assert "预览之后报名信息有改动" in parent.get(answer.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "draft"
    assert submit(parent, application, "not-a-token").status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "draft"
    # read again, then it goes in, with what was read
    assert submit(parent, application, _token(parent, application)).status_code == 302
    db_session.expire_all()
    stored = db_session.get(Application, application.id)
    assert stored.status == "submitted" and stored.section_data["household"]["address"] == "另一个地址8号"


def test_family_pages_are_not_kept_by_the_browser_so_back_after_submit_fetches_them_again(app, db_session):
    parent = parent_login(app)
    application = _submitted(parent, db_session)
    for url in ("/my", f"/my/a/{application.id}", f"/my/a/{application.id}/preview"):
        answer = parent.get(url)
        assert "no-store" in answer.headers["Cache-Control"], url
    assert "提交申请" not in parent.get(f"/my/a/{application.id}/preview", follow_redirects=True).get_data(as_text=True)


def test_a_child_no_period_can_take_is_refused_when_added_with_the_manual_s_words(app, db_session):
    parent = parent_login(app)
    young, number = add_child(parent, dt.date(2023, 5, 1))
    assert young.status_code == 400 and "学生年龄不足，无须采集" in young.get_data(as_text=True)
    old, _ = add_child(parent, dt.date(2006, 5, 1))
    assert old.status_code == 400 and "学生年龄超过上学年龄，请确认是否填写有误" in old.get_data(as_text=True)
    assert _child(db_session, number) is None
    # a six-year-old is offered grade 1, not a transfer into grade 8
    ok, number = add_child(parent, dt.date(2020, 3, 1))
    assert ok.status_code == 302
    page = parent.get("/my").get_data(as_text=True)
    transfer = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-JT"))
    assert f'<option value="{transfer.id}"' not in page and "请选择报名入口" in page


def test_the_school_step_shows_each_school_s_catchment_and_the_home_page_its_phones(app, db_session):
    parent = parent_login(app)
    application = _started(parent, db_session)
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    post(parent, f"{base}/community", {"community_id": _community(db_session).id})
    page = parent.get(f"{base}/choices").get_data(as_text=True)
    assert "招生范围" in page and "宝塔社区" in page.split("招生范围")[1]
    home = app.test_client().get("/").get_data(as_text=True)
    school = _school(db_session, "SM-X5")
    assert "各校招生咨询电话" in home and school.name in home and school.phones.split(",")[0] in home


@pytest.fixture
def taojiang(fresh_app):
    from app.extensions import db
    from app.services import demo
    from app.services.clock import local_now

    demo.load_county(db.session, "taojiang")
    demo.open_periods_now(db.session, local_now())
    return fresh_app


def _taojiang_start(app, period_code, birth):
    from app.extensions import db

    parent = parent_login(app)
    _, number = add_child(parent, birth, number=next_id(birth, "430922"))
    consent(parent)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == period_code))
    assert start(parent, child.id, period.id).status_code == 302
    return parent, db.session.scalar(select(Application).where(Application.child_id == child.id)), period


def test_taojiang_names_two_different_schools_of_its_zone(taojiang):
    from app.extensions import db
    from app.models import Community, School

    parent, application, period = _taojiang_start(taojiang, "TJ-P1", dt.date(2020, 3, 1))
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": period.channels[0].id})
    community = db.session.scalar(select(Community).where(Community.name == "株木潭社区"))
    assert post(parent, f"{base}/community", {"community_id": community.id}).status_code == 302
    page = parent.get(f"{base}/choices").get_data(as_text=True)
    first, second = (db.session.scalar(select(School).where(School.code == code)) for code in ("TJ-X2", "TJ-X1"))
    assert first.name in page and second.name in page and page.count("required") >= 2
    one = post(parent, f"{base}/choices", {"choice_1": first.id})
    assert one.status_code == 400 and "请选择2所不同的学校" in one.get_data(as_text=True)
    twice = post(parent, f"{base}/choices", {"choice_1": first.id, "choice_2": first.id})
    assert twice.status_code == 400
    assert post(parent, f"{base}/choices", {"choice_1": first.id, "choice_2": second.id}).status_code == 302
    # the second time, the other way round
    assert post(parent, f"{base}/choices", {"choice_1": second.id, "choice_2": first.id}).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Application, application.id)
    assert [(c.rank, c.school_id) for c in stored.choices] == [(1, second.id), (2, first.id)]


def test_taojiang_grade_7_splits_county_town_graduates_from_the_others(taojiang):
    parent, application, _ = _taojiang_start(taojiang, "TJ-J7", dt.date(2014, 3, 1))
    page = parent.get(f"/my/a/{application.id}/channel").get_data(as_text=True)
    assert "县城小学毕业生：城区公办小学六年级应届毕业生" in page and "非县城小学毕业生：父母在城区有房产的子女" in page
    assert "县城小学毕业生：其他情况" in page


@pytest.fixture
def dengfeng(fresh_app):
    from app.extensions import db
    from app.services import demo
    from app.services.clock import local_now

    demo.load_county(db.session, "dengfeng")
    demo.open_periods_now(db.session, local_now())
    return fresh_app


def test_dengfeng_s_agreement_comes_at_the_first_login_is_read_for_30_seconds_and_returns_where_the_parent_was_going(dengfeng):
    from app.extensions import db
    from app.models import ParentAccount
    from app.services import consent as consent_service

    client = dengfeng.test_client()
    phone = "13800138123"
    post(client, "/signin?next=/my/children/add", {"phone": phone})
    code = re.search(r"(\d{6})", dengfeng.extensions["ruxue_sms"].last_to(phone)).group(1)
    wrong = post(client, "/signin/code", {"phone": phone, "code": "000000", "next": "/my/children/add"})
    assert 'value="/my/children/add"' in wrong.get_data(as_text=True)  # a wrong code keeps the place
    answer = post(client, "/signin/code", {"phone": phone, "code": code, "next": "/my/children/add"})
    assert "/my/consent" in answer.headers["Location"]
    client.csrf = None  # a login starts a new session
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "我已阅读并继续" in page and "家长承诺所填报" in page and "请认真阅读30秒后再点击按钮" in page
    shown = re.search(r'name="shown" value="([^"]+)"', page).group(1)
    early = post(client, "/my/consent", {"agree": "1", "shown": shown, "next": "/my/children/add"})
    assert early.status_code == 400 and "请认真阅读协议满30秒后再继续" in early.get_data(as_text=True)
    assert f'value="{shown}"' in early.get_data(as_text=True)  # the time counts from the first showing
    account = db.session.scalar(select(ParentAccount).where(ParentAccount.phone == phone))
    assert account.consent_at is None
    # the service itself: 29 seconds are not enough, 30 are
    shown_at = dt.datetime(2026, 8, 1, 9, 0, 0)
    with pytest.raises(consent_service.ConsentError):
        consent_service.give(db.session, account, shown_at + dt.timedelta(seconds=29), shown_at=shown_at)
    consent_service.give(db.session, account, shown_at + dt.timedelta(seconds=30), shown_at=shown_at)
    assert account.consent_at is not None


def test_after_the_agreement_the_parent_goes_on_where_they_were_going(app):
    client = app.test_client()
    phone = "13800138456"
    post(client, "/signin?next=/my/children/add", {"phone": phone})
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    answer = post(client, "/signin/code", {"phone": phone, "code": code, "next": "/my/children/add"})
    client.csrf = None  # a login starts a new session
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    shown = re.search(r'name="shown" value="([^"]+)"', page).group(1)
    assert post(client, "/my/consent", {"shown": shown, "next": "/my/children/add"}).status_code == 400  # not ticked
    agreed = post(client, "/my/consent", {"agree": "1", "shown": shown, "next": "/my/children/add"})
    assert agreed.status_code == 302 and agreed.headers["Location"].endswith("/my/children/add")
    # the second login goes straight on
    post(client, "/signout")
    client.csrf = None
    post(client, "/signin", {"phone": phone})
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    again = post(client, "/signin/code", {"phone": phone, "code": code, "next": "/my/children/add"})
    assert again.status_code == 302
    assert again.headers["Location"].endswith("/my/children/add")


def _dengfeng_submitted(app):
    from app.extensions import db
    from app.models import Catchment, Community, Notice, School

    for notice in db.session.scalars(select(Notice).where(Notice.kind == "agreement")):
        notice.wait_seconds = 0  # the reading time is tested above
    db.session.commit()
    parent = parent_login(app)
    _, number = add_child(parent, dt.date(2020, 3, 1), number=next_id(dt.date(2020, 3, 1), "410185"))
    consent(parent)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "DF-P1"))
    assert start(parent, child.id, period.id).status_code == 302
    application = db.session.scalar(select(Application).where(Application.child_id == child.id))
    community = db.session.scalar(select(Community).where(Community.name == "玉溪社区"))
    school_id = db.session.scalar(select(Catchment.school_id).join(School, School.id == Catchment.school_id)
                                  .where(Catchment.community_id == community.id, School.stage == "primary"))
    token = fill(parent, application, [school_id], community.id)
    assert submit(parent, application, token).status_code == 302
    db.session.expire_all()
    return parent, db.session.get(Application, application.id)


def test_dengfeng_s_list_reads_its_own_states_and_an_edit_after_submission_is_on_the_timeline(dengfeng):
    from app.extensions import db
    from app.models import ApplicationEvent
    from app.services import flags, workflow

    parent, application = _dengfeng_submitted(dengfeng)
    listing = parent.get("/my").get_data(as_text=True)
    assert '<span class="badge submitted">审核中</span>' in listing and "修改信息" in listing and "删除" in listing
    changed = {**section_values("household"), "address": "嵩阳街道中岳大街72号"}
    assert post(parent, f"/my/a/{application.id}/household", changed).status_code == 302
    db.session.expire_all()
    events = db.session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == application.id)
                                .order_by(ApplicationEvent.id)).all()
    assert events[-1].reason == "提交后修改：户籍信息" and events[-1].to_status == "submitted"
    assert "提交后修改：户籍信息" in parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    stored = db.session.get(Application, application.id)
    assert stored.flags_stale and "amended" in [f.code for f in flags.compute(db.session, stored)]
    # saving the same answers again is no change
    assert post(parent, f"/my/a/{application.id}/household", changed).status_code == 302
    db.session.expire_all()
    assert db.session.query(ApplicationEvent).filter_by(application_id=application.id).count() == len(events)
    # once the school has it: 已提交, neither 修改 nor 删除
    workflow.transition(db.session, stored, "start_review")
    db.session.commit()
    listing = parent.get("/my").get_data(as_text=True)
    assert '<span class="badge in_review">已提交</span>' in listing and "删除" not in listing
    assert "不能再删除" in parent.get(parent.get(f"/my/a/{application.id}/delete").headers["Location"]).get_data(as_text=True)


def test_dengfeng_s_delete_is_asked_first_and_frees_the_child_to_apply_again(dengfeng):
    from app.extensions import db

    parent, application = _dengfeng_submitted(dengfeng)
    asked = parent.get(f"/my/a/{application.id}/delete").get_data(as_text=True)
    assert "确定删除报名" in asked and "重新为" in asked
    assert post(parent, f"/my/a/{application.id}/delete").status_code == 200  # only asks
    assert post(parent, f"/my/a/{application.id}/delete", {"confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "withdrawn"
    again = post(parent, f"/my/a/{application.id}/delete", {"confirm": "1"})  # the second time: a message
    assert again.status_code == 302
    assert start(parent, application.child_id, application.period_id).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Application).where(Application.child_id == application.child_id,
                                                       Application.status == "draft")) is not None


def test_a_period_s_status_words_name_only_statuses(app):
    import pytest as _pytest

    from app.errors import UserError
    from app.services import workflow

    assert workflow.status_words("submitted|正在审核中|Being reviewed")["submitted"] == ("正在审核中", "Being reviewed")
    with _pytest.raises(UserError) as refused:
        workflow.checked_status_words("submited|正在审核中")
    assert "submited" in str(refused.value.message)


def test_a_half_filled_section_is_kept_unfinished_and_checked_only_when_saved(app, db_session):
    parent = parent_login(app)
    application = _started(parent, db_session)
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    post(parent, f"{base}/community", {"community_id": _community(db_session).id})
    post(parent, f"{base}/choices", {"choice_1": _school(db_session, "SM-X5").id})
    kept = post(parent, f"{base}/household", {"keep": "1", "address": "宝塔街道\x00某路3号", "householder": ""})
    assert kept.status_code == 302 and kept.headers["Location"].endswith("/household")
    page = parent.get(f"{base}/household").get_data(as_text=True)
    assert "已暂存" in page and "以下为暂存内容，尚未保存" in page and 'value="宝塔街道某路3号"' in page
    db_session.expire_all()
    stored = db_session.get(Application, application.id)
    assert "household" not in stored.section_data and stored.draft_answers["household"] == {"address": "宝塔街道某路3号"}
    assert "请填写“户籍信息”" in parent.get(f"{base}/preview").get_data(as_text=True)
    # the second time: saved whole, checked, and the kept copy goes
    refused = post(parent, f"{base}/household", {"address": "宝塔街道某路3号"})
    assert refused.status_code == 400
    assert post(parent, f"{base}/household", {**section_values("household"), "address": "宝塔街道某路3号"}).status_code == 302
    db_session.expire_all()
    stored = db_session.get(Application, application.id)
    assert stored.section_data["household"]["address"] == "宝塔街道某路3号" and "household" not in stored.draft_answers
    assert "以下为暂存内容" not in parent.get(f"{base}/household").get_data(as_text=True)
    # submitted (Shimen lets a family change it until the close): sections are saved whole, not kept
    fill(parent, stored, [_school(db_session, "SM-X5").id], _community(db_session).id)
    assert submit(parent, stored, _token(parent, stored)).status_code == 302
    assert stored.period.edit_until_close
    assert 'name="keep"' not in parent.get(f"{base}/household").get_data(as_text=True)
    answer = post(parent, f"{base}/household", {"keep": "1", "address": "x"})
    assert answer.status_code == 400 and "已提交的报名请逐项保存修改" in answer.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Application, application.id).section_data["household"]["address"] != "x"


def test_dengfeng_picks_the_previous_school_from_its_list_and_addresses_down_to_the_village(dengfeng):
    from app.extensions import db
    from app.models import Notice

    for notice in db.session.scalars(select(Notice).where(Notice.kind == "agreement")):
        notice.wait_seconds = 0
    db.session.commit()
    parent = parent_login(dengfeng)
    _, number = add_child(parent, dt.date(2020, 3, 1), number=next_id(dt.date(2020, 3, 1), "410185"))
    consent(parent)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "DF-P1"))
    start(parent, child.id, period.id)
    application = db.session.scalar(select(Application).where(Application.child_id == child.id))
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": period.channels[0].id})
    page = parent.get(f"{base}/basic").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"', page.split('id="previous_school"')[1].split("</select>")[0])
    assert options[-2:] == ["社会零星幼儿园", "社会零星小学"] and "登封市实验幼儿园" in options
    assert "零班" in page.split('id="previous_class"')[1].split("</select>")[0]
    typed = post(parent, f"{base}/basic", {"previous_school": "某外地幼儿园", "previous_class": "零班"})
    assert typed.status_code == 400 and "请从选项中选择" in typed.get_data(as_text=True)
    assert post(parent, f"{base}/basic", {"previous_school": "社会零星幼儿园", "previous_class": "零班"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Child, child.id).previous_school == "社会零星幼儿园"
    # 户籍地址 without its village or community is refused with the manual's words
    household = {**section_values("household"), "address_community": ""}
    refused = post(parent, f"{base}/household", household)
    assert refused.status_code == 400 and "请选择村或社区" in refused.get_data(as_text=True)


def test_a_county_file_s_section_is_the_whole_section(fresh_app, tmp_path):
    import json
    from pathlib import Path

    from app.extensions import db
    from app.models import FormField, FormSection
    from app.services import county_io

    examples = Path(__file__).resolve().parent.parent / "examples"
    county_io.import_file(db.session, examples / "dengfeng.json")
    basic = db.session.scalar(select(FormSection).where(FormSection.code == "basic"))
    assert "previous_school" in {f.key for f in basic.fields}
    county_io.import_file(db.session, examples / "anyi.json")  # Anyi asks no previous school
    db.session.expire_all()
    basic = db.session.scalar(select(FormSection).where(FormSection.code == "basic"))
    assert {"previous_school", "previous_class"}.isdisjoint({f.key for f in basic.fields})
    # a field other parts of Ruxue read cannot be left out: the whole file is refused
    doc = json.loads((examples / "anyi.json").read_text(encoding="utf-8"))
    doc["form_fields"] = [f for f in doc["form_fields"] if not (f["section"] == "property" and f["key"] == "certificate_no")]
    doc["field_rules"] = [r for r in doc["field_rules"] if not (r["section"] == "property" and r["field"] == "certificate_no")]
    path = tmp_path / "anyi.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(county_io.CountyImportError) as refused:
        county_io.import_file(db.session, path)
    assert "certificate_no" in "\n".join(map(str, refused.value.errors))
    assert db.session.scalar(select(FormField).join(FormSection).where(FormSection.code == "property",
                                                                      FormField.key == "certificate_no")) is not None


def test_a_second_child_is_offered_the_parents_already_given_and_the_receipt_offers_more_children(app, db_session):
    parent = parent_login(app)
    first = _submitted(parent, db_session)
    receipt = parent.get(f"/my/a/{first.id}?receipt=1").get_data(as_text=True)
    assert "添加多个学生/多胞胎" in receipt and 'href="/my/children/add"' in receipt
    second = _started(parent, db_session, birth=dt.date(2020, 4, 2))
    base = f"/my/a/{second.id}"
    post(parent, f"{base}/channel", {"channel_id": second.period.channels[0].id})
    page = parent.get(f"{base}/guardians").get_data(as_text=True)
    given = first.section_data["guardians"]["guardians"][0]
    assert "已填入您为本账号其他孩子填写的父母信息" in page and f'value="{given["name"]}"' in page
    # another family sees none of them
    other = parent_login(app)
    stranger = _started(other, db_session, birth=dt.date(2020, 4, 3))
    post(other, f"/my/a/{stranger.id}/channel", {"channel_id": stranger.period.channels[0].id})
    page = other.get(f"/my/a/{stranger.id}/guardians").get_data(as_text=True)
    assert 'id="g0_name"' in page and given["name"] not in page


def test_in_english_the_messages_after_actions_are_english_and_labels_have_no_full_width_colon(app, db_session):
    parent = parent_login(app)
    application = _submitted(parent, db_session)
    parent.get("/language/en")
    post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"})
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "The application was withdrawn to a draft" in page and "撤回" not in page.split("<main>")[1].split("<h2>")[0]
    assert "：" not in page.split("Parents / guardians")[-1].split("</section>")[0]


def test_a_wrong_code_and_a_new_code_keep_the_place_and_the_notices_say_their_dates_moved(app):
    client = app.test_client()
    page = post(client, "/signin?next=/my/children/add", {"phone": "13800138789"}).get_data(as_text=True)
    assert page.count("next=/my/children/add") + page.count("next=%2Fmy%2Fchildren%2Fadd") >= 1
    resend = re.findall(r'<form method="post" action="([^"]+)">', page)[-1]
    assert "children" in resend
    notice = app.test_client().get("/notice/1").get_data(as_text=True)
    assert "以首页各报名入口显示的时间为准" in notice


@pytest.fixture
def underage_open(db_session):
    """Shimen's underage window opens after the main one: open it for the test, then put it back."""
    from app.services.clock import local_now

    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1U"))
    before = period.opens_at
    period.opens_at = local_now() - dt.timedelta(hours=1)
    db_session.commit()
    yield period
    period = db_session.get(EnrollmentPeriod, period.id)
    period.opens_at = before
    db_session.commit()


def test_an_underage_child_whose_zone_school_takes_none_is_offered_the_bureau_s_placement(app, db_session, underage_open):
    parent = parent_login(app)
    application = _started(parent, db_session, birth=dt.date(2020, 10, 15), period="SM-P1U")
    base = f"/my/a/{application.id}"
    post(parent, f"{base}/channel", {"channel_id": application.period.channels[0].id})
    assert post(parent, f"{base}/community", {"community_id": _community(db_session, "澧阳社区").id}).status_code == 302
    page = parent.get(f"{base}/choices").get_data(as_text=True)
    near = _school(db_session, "SM-X2")
    assert "可申请调剂到次近或再次近有学位的公办学校" in page and f"{near.name} (教育局调剂)" in page
    assert _school(db_session, "SM-X1").name not in page.split("<select")[1].split("</select>")[0]
    assert post(parent, f"{base}/choices", {"choice_1": near.id}).status_code == 302
    preview = parent.get(f"{base}/preview").get_data(as_text=True)
    assert "不接收所选社区的报名" not in preview and near.name in preview


def test_materials_show_an_example_picture_that_opens(app, db_session):
    parent = parent_login(app)
    application = _started(parent, db_session)
    fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
    page = parent.get(f"/my/a/{application.id}/materials").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" target="_blank" rel="noopener">查看示例图片</a>', page)
    assert "/static/examples/birth_cert.svg" in links
    picture = app.test_client().get(links[0])
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml" and "示例" in picture.get_data(as_text=True)
