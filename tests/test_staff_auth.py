"""Staff sign-in (issue #12 point 1): the lockout per account and per address, the password policy,
server-side sessions that logout, a password change, the idle timeout and the absolute lifetime
end (a copied cookie with them), and a logout that only POST performs."""
from __future__ import annotations

import datetime as dt
import itertools
import secrets

from sqlalchemy import update

from app.models_ops import StaffSession
from tests.conftest import PASSWORD, csrf_token
from tests.test_totp import _password, _signed_in, _user

_addresses = itertools.count(1)


def _client(app):
    """A client from an address of its own (a range no other module uses): the address lockout
    this module provokes reaches no other test."""
    client = app.test_client()
    n = next(_addresses)
    client.environ_base["REMOTE_ADDR"] = f"10.91.{n // 250}.{n % 250 + 1}"
    return client


def _failures(app, key: str) -> int:
    return int(app.config[key].split()[0])


def _copy_of(client, app):
    """Another browser holding the same session cookie (as a thief would)."""
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = client.environ_base["REMOTE_ADDR"]
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    return other


def _signed_in_client(app, role="CountyIT"):
    username = _user(app, role)
    client = _client(app)
    assert _password(client, username).status_code == 302
    assert _signed_in(client)
    return client, username


def test_wrong_passwords_lock_the_account_even_for_the_right_one(app, db_session):
    from app.models import AuditLog

    username = _user(app, "CountyIT")
    allowed = _failures(app, "STAFF_LOGIN_FAILURES_PER_ACCOUNT")
    for _ in range(allowed):
        _password(_client(app), username, "wrong-password-1")  # from several addresses: the account counts
    client = _client(app)
    answer = _password(client, username)
    assert answer.status_code == 302 and "/login/" in answer.headers["Location"] and not _signed_in(client)
    assert "失败次数过多" in client.get("/login/").get_data(as_text=True)
    assert db_session.query(AuditLog).filter(AuditLog.actor == username, AuditLog.detail.contains("locked")).count() == 1


def test_wrong_passwords_from_one_address_lock_that_address(app):
    client = _client(app)
    for _ in range(_failures(app, "STAFF_LOGIN_FAILURES_PER_ADDRESS")):
        _password(client, f"nobody_{secrets.token_hex(4)}", "wrong-password-1")  # a new name each time
    username = _user(app, "CountyIT")
    answer = _password(client, username)
    assert "/login/" in answer.headers["Location"] and not _signed_in(client)
    elsewhere = _client(app)
    assert _password(elsewhere, username).status_code == 302 and _signed_in(elsewhere)


def test_the_password_policy_refuses_a_weak_password_with_a_message(app, admin_client, db_session):
    from app.extensions import appbuilder

    with app.app_context():
        role = appbuilder.sm.find_role("CountyIT")
    response = admin_client.post("/users/add", data={
        "first_name": "弱", "last_name": "口令", "username": "weak_password_user", "email": "weak@example.cn",
        "active": "y", "roles": str(role.id), "password": "abc123", "conf_password": "abc123",
        "csrf_token": csrf_token(admin_client)}, follow_redirects=True)
    assert response.status_code == 200
    assert "密码至少 10 位" in response.get_data(as_text=True)
    with app.app_context():
        assert appbuilder.sm.find_user(username="weak_password_user") is None


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app):
    client, _ = _signed_in_client(app)
    thief = _copy_of(client, app)
    assert _signed_in(thief)
    assert client.post("/logout/", data={"csrf_token": csrf_token(client, "/logout/")}).status_code == 302
    assert not _signed_in(client)
    answer = thief.get("/applicationmodelview/list/")
    assert answer.status_code == 302 and "/login/" in answer.headers["Location"]


def test_get_logout_asks_and_signs_nobody_out(app):
    client, _ = _signed_in_client(app)
    page = client.get("/logout/")
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True).lower()
    assert _signed_in(client)


def test_a_password_change_ends_every_sign_in_of_the_account(app):
    from app.extensions import appbuilder

    client, username = _signed_in_client(app)
    with app.app_context():
        user = appbuilder.sm.find_user(username=username)
        appbuilder.sm.reset_password(user.id, PASSWORD)
    assert not _signed_in(client)


def _age_sessions(app, engine, username_client, **ages):
    """The account's open sessions as if created and last used ``ages`` ago (the county's clock)."""
    from app.services.clock import local_now

    client, username = username_client
    with engine.begin() as connection:
        now = local_now(app.config["BABEL_DEFAULT_TIMEZONE"])
        values = {column: now - age for column, age in ages.items()}
        connection.execute(update(StaffSession).where(StaffSession.revoked_at.is_(None)).where(
            StaffSession.user_id == _user_id(connection, username)).values(**values))
    return client


def _user_id(connection, username):
    from sqlalchemy import text

    return connection.execute(text("SELECT id FROM ab_user WHERE username = :u"), {"u": username}).scalar_one()


def test_an_idle_session_ends_after_the_idle_minutes(app, engine):
    idle = dt.timedelta(minutes=app.config["STAFF_IDLE_MINUTES"] + 1)
    client = _age_sessions(app, engine, _signed_in_client(app), last_seen_at=idle)
    answer = client.get("/applicationmodelview/list/")
    assert answer.status_code == 302 and "/login/" in answer.headers["Location"]
    assert "登录已失效" in client.get("/login/").get_data(as_text=True)


def test_a_busy_session_still_ends_after_its_lifetime(app, engine):
    lifetime = dt.timedelta(hours=app.config["STAFF_SESSION_HOURS"], minutes=1)
    client = _age_sessions(app, engine, _signed_in_client(app), created_at=lifetime, last_seen_at=dt.timedelta(minutes=1))
    answer = client.get("/applicationmodelview/list/")
    assert answer.status_code == 302 and "/login/" in answer.headers["Location"]


def test_a_session_within_both_limits_goes_on(app, engine):
    client = _age_sessions(app, engine, _signed_in_client(app), created_at=dt.timedelta(hours=1),
                           last_seen_at=dt.timedelta(minutes=5))
    assert _signed_in(client)


def test_sign_in_works_when_the_county_switched_rate_limits_off(app, monkeypatch):
    """RATELIMIT_ENABLED = False leaves Flask-Limiter without storage: the sign-in must not ask it
    (it answered 500) and simply has no lockout."""
    from app.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)
    username = _user(app, "CountyIT")
    for _ in range(_failures(app, "STAFF_LOGIN_FAILURES_PER_ACCOUNT") + 1):
        assert _password(_client(app), username, "wrong-password-1").status_code == 302
    client = _client(app)
    assert _password(client, username).status_code == 302 and _signed_in(client)
