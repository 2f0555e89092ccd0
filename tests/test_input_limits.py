"""Input limits (issue #12 point 4): the same refusal, in Chinese and naming the field and the
limit, through the parents' form, the admin, the REST API and the county file; nothing stored."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from app.models import Application, Child, EnrollmentPeriod, MaterialType, Message, School
from tests.conftest import csrf_token
from tests.public_helpers import add_child, consent, next_id, post, section_values, start
from tests.test_api import _token
from tests.test_county_io import post_import

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _child(db_session, number):
    db_session.expire_all()
    return db_session.scalar(select(Child).where(Child.id_number == number))


# --- the parents' form --------------------------------------------------------------------


def test_control_character_in_a_childs_name_is_refused(parent, db_session):
    response, number = add_child(parent, name="张\x00小花")
    assert response.status_code == 400
    assert "“儿童姓名”含有不可见的控制字符" in response.get_data(as_text=True)
    assert _child(db_session, number) is None


def test_overlong_childs_name_is_refused_with_the_limit(parent, db_session):
    response, number = add_child(parent, name="张" * 31)
    assert response.status_code == 400
    assert "“儿童姓名”不能超过 30 个字" in response.get_data(as_text=True)
    assert _child(db_session, number) is None


def test_full_width_id_digits_are_the_digits_meant(parent, db_session):
    number = next_id(dt.date(2020, 3, 1))
    response, _ = add_child(parent, number=number.translate(FULL_WIDTH))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert _child(db_session, number) is not None  # stored as ASCII


def test_full_width_wrong_check_digit_names_the_check_digit_not_the_area(parent, db_session):
    number = next_id(dt.date(2020, 3, 1))
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response, _ = add_child(parent, number=wrong.translate(FULL_WIDTH))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "校验码" in html and "地区码" not in html


def test_other_document_birth_date_out_of_bounds(parent, db_session):
    response = post(parent, "/my/children/add", {"name": "李小明", "id_type": "passport", "id_number": "E12345678",
                                                 "birth_date": "1800-01-01", "sex": "M"})
    assert response.status_code == 400 and "“出生日期”须在" in response.get_data(as_text=True)
    assert _child(db_session, "E12345678") is None


def _draft(client, db_session):
    _, number = add_child(client, dt.date(2020, 3, 1))
    consent(client)
    child = _child(db_session, number)
    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    assert start(client, child.id, period.id).status_code == 302
    db_session.expire_all()
    application = db_session.scalar(select(Application).where(Application.child_id == child.id))
    assert post(client, f"/my/a/{application.id}/channel", {"channel_id": period.channels[0].id}).status_code == 302
    return application


@pytest.mark.parametrize("day", ["1800-01-01", "2099-01-01"])
def test_section_dates_out_of_bounds_are_refused(parent, db_session, day):
    application = _draft(parent, db_session)
    response = post(parent, f"/my/a/{application.id}/household", {**section_values("household"), "registered_on": day})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "须在" in html and "之间" in html
    db_session.expire_all()
    assert "household" not in (db_session.get(Application, application.id).section_data or {})


def test_section_text_too_long_or_with_controls_is_refused(parent, db_session):
    application = _draft(parent, db_session)
    base = f"/my/a/{application.id}"
    response = post(parent, f"{base}/household", {**section_values("household"), "address": "长" * 201})
    assert response.status_code == 400 and "不能超过 200 个字" in response.get_data(as_text=True)
    response = post(parent, f"{base}/household", {**section_values("household"), "householder": "王\x1b[31m"})
    assert response.status_code == 400 and "含有不可见的控制字符" in response.get_data(as_text=True)
    db_session.expire_all()
    assert "household" not in (db_session.get(Application, application.id).section_data or {})


# --- review reasons and the parent's SMS ---------------------------------------------------


def _in_review(db_session):
    return db_session.scalar(select(Application).where(Application.status == "in_review").order_by(Application.id))


def test_a_10000_character_return_reason_is_refused(bureau_client, db_session):
    application = _in_review(db_session)
    response = bureau_client.post("/applicationmodelview/reason/return",
                                  data={"ids": str(application.id), "reason": "很" * 10_000,
                                        "csrf_token": csrf_token(bureau_client)}, follow_redirects=True)
    assert response.status_code == 200
    assert "“原因”不能超过 500 个字" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "in_review"


def test_a_long_reason_reaches_the_parent_as_a_cut_sms(app, db_session):
    from app.services import notifications, workflow

    application = _in_review(db_session)
    with app.app_context():
        workflow.transition(db_session, application, "return", user_id=None, reason="材料" * 250)
        db_session.commit()
        notifications.send_pending(db_session, limit=10_000)
        text = app.extensions["ruxue_sms"].last_to(application.child.account.phone)
    assert len(text) <= 300 and text.endswith("…")
    message = db_session.scalar(select(Message).where(Message.application_id == application.id).order_by(Message.id.desc()))
    assert "材料" * 250 in message.body  # the message centre keeps it whole


# --- the admin and the REST API --------------------------------------------------------------


def test_admin_refuses_control_characters_and_overlong_text(county_it_client, db_session):
    """Length is also checked by the form beside the field (WTForms); controls by the shared rule."""
    school = db_session.scalar(select(School).order_by(School.id))
    for name, words in (("测试\x00小学", "“名称”含有不可见的控制字符"), ("长" * 129, "字段长度不能超过 128 个字符")):
        response = county_it_client.post("/schoolmodelview/add", follow_redirects=True, data={
            "district": str(school.district_id), "code": "LIMIT-1", "name": name, "stage": "primary",
            "ownership": "public", "seats": "45", "csrf_token": csrf_token(county_it_client)})
        assert response.status_code == 200 and words in response.get_data(as_text=True)
        assert 'value="LIMIT-1"' in response.get_data(as_text=True)  # refused beside the field, the form kept
    assert db_session.query(School).filter_by(code="LIMIT-1").count() == 0


def test_api_refuses_with_the_same_messages_and_stores_nothing(app, db_session):
    client, headers = app.test_client(), _token(app, "county_it")
    response = client.post("/api/v1/material_types/", json={"code": "API-M", "name": "证\x00明"}, headers=headers)
    assert response.status_code == 422 and "控制字符" in json.dumps(response.get_json(), ensure_ascii=False)
    assert db_session.query(MaterialType).filter_by(code="API-M").count() == 0
    existing = db_session.scalar(select(MaterialType).order_by(MaterialType.id))
    response = client.post("/api/v1/material_types/", json={"code": existing.code, "name": "重复"}, headers=headers)
    assert response.status_code == 422 and "已有相同" in json.dumps(response.get_json(), ensure_ascii=False)
    period = {"code": "API-P", "name": "接口批次", "year": 2027, "stage": "nine_year", "grade": 1, "entry_kind": "new",
              "opens_at": "2027-06-01T08:00:00", "closes_at": "2027-06-10T08:00:00"}
    response = client.post("/api/v1/periods/", json=period, headers=headers)
    assert response.status_code == 422 and "“学段”只能是" in json.dumps(response.get_json(), ensure_ascii=False)
    response = client.post("/api/v1/periods/", json={**period, "stage": "primary", "closes_at": "2027-05-01T08:00:00"},
                           headers=headers)
    assert response.status_code == 422 and "必须晚于" in json.dumps(response.get_json(), ensure_ascii=False)
    assert db_session.query(EnrollmentPeriod).filter_by(code="API-P").count() == 0


# --- the county file -----------------------------------------------------------------------------


def test_county_file_refuses_controls_long_text_and_old_dates(county_it_client, db_session):
    doc = county_it_client.get("/county/export.json").get_json()
    doc["schools"][0]["name"] = "石门\x07小学"
    doc["schools"][1]["address"] = "路" * 256
    doc["periods"][0]["opens_at"] = "1800-06-01 08:00"
    response = post_import(county_it_client, doc)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "含有不可见的控制字符" in html and "不能超过 255 个字" in html and "“开放时间”须在" in html
    assert db_session.query(School).filter(School.name.contains("\x07")).count() == 0


def test_unit_rules():
    from app.services import input_limits

    assert input_limits.sms_text("标题", "短") == "标题：短"
    assert len(input_limits.sms_text("标题", "长" * 1000)) == 300
    assert input_limits.check_text("第一行\n第二行", "说明", 20, multiline=True)
    with pytest.raises(input_limits.LimitError):
        input_limits.check_text("第一行\n第二行", "名称", 20)
