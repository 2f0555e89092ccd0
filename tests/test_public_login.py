"""Phone-code login: expiry, limited tries, rate limits, account on first login; before-login pages."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_babel import force_locale

from app.models import ParentAccount
from app.services import otp
from tests.conftest import csrf_token, new_phone, parent_login

SECRET = "test-secret"
T0 = dt.datetime(2026, 7, 15, 9, 0)


def test_first_login_creates_the_account_over_http(app, db_session):
    phone = new_phone()
    parent_login(app, phone)
    account = db_session.query(ParentAccount).filter_by(phone=phone).one()
    assert account.last_login_at is not None


def test_second_login_reuses_the_account(db_session):
    phone = new_phone()
    first = otp.verify(db_session, SECRET, phone, otp.issue(db_session, SECRET, phone, "", T0).code, T0)
    later = T0 + dt.timedelta(days=1)
    second = otp.verify(db_session, SECRET, phone, otp.issue(db_session, SECRET, phone, "", later).code, later)
    assert first.id == second.id
    assert db_session.query(ParentAccount).filter_by(phone=phone).count() == 1


def test_code_text_goes_through_the_sender_not_the_page(app):
    client = app.test_client()
    phone = new_phone()
    html = client.post("/signin", data={"phone": phone, "csrf_token": csrf_token(client)}).get_data(as_text=True)
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    assert code not in html  # SHOW_OTP_ON_PAGE is for development only


def test_development_shows_the_code_on_the_page(app):
    client = app.test_client()
    phone = new_phone()
    app.config["SHOW_OTP_ON_PAGE"] = True
    try:
        html = client.post("/signin", data={"phone": phone, "csrf_token": csrf_token(client)}).get_data(as_text=True)
    finally:
        app.config["SHOW_OTP_ON_PAGE"] = False
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    assert code in html


def test_expired_code_is_refused(db_session, app):
    phone = new_phone()
    issued = otp.issue(db_session, SECRET, phone, "1.2.3.4", T0)
    with app.app_context(), force_locale("zh"):
        with pytest.raises(otp.OtpError) as caught:
            otp.verify(db_session, SECRET, phone, issued.code, T0 + dt.timedelta(minutes=5, seconds=1))
        assert str(caught.value.message) == "验证码已过期，请重新获取。"


def test_wrong_codes_are_counted_then_the_code_is_dead(db_session, app):
    phone = new_phone()
    issued = otp.issue(db_session, SECRET, phone, "1.2.3.4", T0)
    wrong = "000000" if issued.code != "000000" else "111111"
    with app.app_context(), force_locale("zh"):
        for left in (4, 3, 2, 1):
            with pytest.raises(otp.OtpError) as caught:
                otp.verify(db_session, SECRET, phone, wrong, T0)
            assert str(caught.value.message) == f"验证码错误，还可以尝试 {left} 次。"
        with pytest.raises(otp.OtpError):
            otp.verify(db_session, SECRET, phone, wrong, T0)
        with pytest.raises(otp.OtpError) as caught:
            otp.verify(db_session, SECRET, phone, issued.code, T0)  # the right code, too late
        assert "次数过多" in str(caught.value.message)


def test_a_second_code_within_a_minute_is_refused(db_session):
    phone = new_phone()
    otp.issue(db_session, SECRET, phone, "1.2.3.4", T0)
    with pytest.raises(otp.OtpError):
        otp.issue(db_session, SECRET, phone, "1.2.3.4", T0 + dt.timedelta(seconds=30))
    otp.issue(db_session, SECRET, phone, "1.2.3.4", T0 + dt.timedelta(seconds=61))


def test_codes_are_stored_hashed(db_session):
    from app.models import OtpCode

    phone = new_phone()
    issued = otp.issue(db_session, SECRET, phone, "1.2.3.4", T0)
    row = db_session.query(OtpCode).filter_by(phone=phone).one()
    assert issued.code not in row.code_hash and len(row.code_hash) == 64


@pytest.mark.parametrize("raw", ["12345", "23800138000", "1380013800a", ""])
def test_bad_phone_numbers_get_a_message(app, raw):
    client = app.test_client()
    client.get("/language/zh")
    response = client.post("/signin", data={"phone": raw, "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "请输入11位手机号码。" in response.get_data(as_text=True)


def test_requests_are_rate_limited_per_phone(app):
    phone = new_phone()
    client = app.test_client()
    token = csrf_token(client)
    statuses = [client.post("/signin", data={"phone": phone, "csrf_token": token}).status_code for _ in range(6)]
    assert statuses[-1] == 429  # 5 per hour per phone; the rest were 200 or "wait a minute" 400
    assert 429 not in statuses[:5]


def test_requests_are_rate_limited_per_address(app):
    from app.extensions import limiter

    app.config["OTP_LIMIT_PER_ADDRESS"] = "3 per hour"
    limiter.reset()
    try:
        client = app.test_client()
        token = csrf_token(client)
        statuses = [client.post("/signin", data={"phone": new_phone(), "csrf_token": token}).status_code for _ in range(4)]
    finally:
        app.config["OTP_LIMIT_PER_ADDRESS"] = "10000 per hour"
        limiter.reset()
    assert statuses == [200, 200, 200, 429]


def test_login_form_needs_csrf(app):
    assert app.test_client().post("/signin", data={"phone": new_phone()}).status_code == 400


def test_before_login_pages(anon_client, db_session):
    from app.models import Community, School

    home = anon_client.get("/").get_data(as_text=True)
    assert "石门县2026年城区义务教育学校招生报名须知" in home
    assert "2026年城区小学一年级新生入学" in home
    private = home.index("民办学校报名入口")  # private schools have their own entrance
    assert "澧澜学校" in home[private:] and "澧澜学校" not in home[:private]
    period = anon_client.get("/period/1").get_data(as_text=True)
    assert "有户有房" in period and "户籍和法定监护人房产均在招生片区内" in period
    community = db_session.query(Community).filter_by(name="宝塔社区").one()
    html = anon_client.get(f"/lookup?district=1&street={community.street_id}&community={community.id}").get_data(as_text=True)
    school = db_session.query(School).filter_by(code="SM-X5").one()
    assert school.name in html
    assert school.phones.split(",")[0] in html


def test_language_switch(anon_client):
    anon_client.get("/language/en")
    assert "Catchment lookup" in anon_client.get("/lookup").get_data(as_text=True)
    anon_client.get("/language/zh")
    assert "招生范围查询" in anon_client.get("/lookup").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(anon_client):
    response = anon_client.get("/language/zh", headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/phish"


def test_default_sender_logs_messages_with_the_phone_and_code_masked(caplog):
    import logging

    from app.services.sms import LogSender

    with caplog.at_level(logging.INFO, logger="ruxue.sms"):
        LogSender().send("13812345678", "您的入学报名登录验证码为 123456")
        LogSender().send("13812345678", "报名 2026001000012 已提交")
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
    assert "123456" not in caplog.text and "验证码为 ******" in caplog.text
    assert "2026001000012" in caplog.text  # application numbers are longer than a code and stay
