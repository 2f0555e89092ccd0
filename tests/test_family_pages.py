"""The family's own pages as the counties' manuals describe them (issue #14): unbinding and
renaming a child, withdrawing with a confirmation, seeing what was submitted, a preview that is
what goes in, the age check when a child is added, the school step's catchment areas."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.models import Application, Child, EnrollmentPeriod
from tests.conftest import parent_login
from tests.public_helpers import add_child, fill, post, section_values, submit
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
