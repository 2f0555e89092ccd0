"""The staff's second factor (TOTP) for the roles STAFF_TOTP_ROLES marks: enrolment, the code
step, wrong and replayed codes, the lockout, unmarked roles, the Admin's reset, the REST API's
sign-in, and a session whose password is done but whose code is not. Codes are real (pyotp)."""
from __future__ import annotations

import itertools
import re
import time

import pyotp
import pytest

from config import ConfigError, TestConfig, load_config, totp_roles
from tests.conftest import PASSWORD, csrf_token

MARKED = ("Admin", "BureauReviewer")
_numbers = itertools.count(1)


@pytest.fixture
def marked(app, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_TOTP_ROLES", MARKED)
    return app


def _user(app, role: str = "BureauReviewer") -> str:
    from app.extensions import appbuilder
    from app.services.staff import create_staff_user

    name = f"totp_{role.lower()}_{next(_numbers)}_{int(time.time() * 1000) % 100000}"
    with app.app_context():
        create_staff_user(appbuilder.sm, name, role, PASSWORD, "二步", "测试")
    return name


def _client(app):
    """A client from an address of its own: its failures count toward no other test's lockout."""
    client = app.test_client()
    n = next(_numbers)
    client.environ_base["REMOTE_ADDR"] = f"10.77.{n // 250}.{n % 250 + 1}"
    return client


def _password(client, username: str, password: str = PASSWORD):
    return client.post("/login/", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def _code(client, code: str, page: str = "code"):
    return client.post(f"/login/{page}/", data={"code": code, "csrf_token": csrf_token(client)})


def _step() -> int:
    return int(time.time()) // 30


def _at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * 30)


def _wrong(secret: str, n: int = 0) -> str:
    """A 6-digit code that is none of the codes the window around now accepts."""
    window = {_at(secret, _step() + d) for d in range(-2, 3)}
    return next(c for c in (f"{(n * 7919 + i) % 10**6:06d}" for i in itertools.count()) if c not in window)


def _signed_in(client) -> bool:
    return client.get("/applicationmodelview/list/").status_code == 200


def _enrol(app, username: str):
    """Password, the enrolment page's key, one code: the client is signed in; (client, secret, step)."""
    client = _client(app)
    answer = _password(client, username)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/enrol/")
    html = client.get("/login/enrol/").get_data(as_text=True)
    secret = re.search(r'<code class="ruxue-key">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    step = _step()
    done = _code(client, _at(secret, step), "enrol")
    assert done.status_code == 302 and "/login" not in done.headers["Location"], done.get_data(as_text=True)[:300]
    assert _signed_in(client)
    return client, secret, step


def test_the_setting_defaults_by_environment_and_refuses_unknown_roles(app):
    from app.security import ROLES

    assert totp_roles(None, "production", ROLES) == ("Admin", "BureauReviewer")
    assert totp_roles(None, "development", ROLES) == () and totp_roles(None, "test", ROLES) == ()
    assert totp_roles(" CountyIT , Admin,", "production", ROLES) == ("CountyIT", "Admin")
    assert totp_roles("", "production", ROLES) == ()
    with pytest.raises(ConfigError, match="Admn"):
        totp_roles("Admn", "production", ROLES)
    assert TestConfig.STAFF_TOTP_ROLES == "" and app.config["STAFF_TOTP_ROLES"] == ()

    class Production(TestConfig):
        RUXUE_ENV, SECRET_KEY, ALLOW_LOG_SMS, STAFF_TOTP_ROLES = "production", "k" * 40, True, None  # unset

    assert load_config(Production)["STAFF_TOTP_ROLES"] == MARKED


def test_enrolment_shows_a_qr_code_and_a_key_then_one_code_signs_in(marked, db_session):
    from app.models import AuditLog, StaffTotp

    username = _user(marked)
    client = _client(marked)
    assert _password(client, username).headers["Location"].endswith("/login/enrol/")
    page = client.get("/login/enrol/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "设置两步验证" in html
    assert "no-store" in page.headers.get("Cache-Control", "") or "no-cache" in page.headers.get("Cache-Control", "")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert all(f'nonce="{nonce}"' in attrs for attrs in re.findall(r"<script([^>]*)>", html))
    assert not re.search(r'<img[^>]+src="(https?:)?//', html)  # the QR code is drawn in the page
    secret = re.search(r'<code class="ruxue-key">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    again = client.get("/login/enrol/").get_data(as_text=True)
    assert secret == re.search(r'<code class="ruxue-key">([A-Z2-7 ]+)</code>', again).group(1).replace(" ", "")
    assert not _signed_in(client)
    done = _code(client, _at(secret, _step()), "enrol")
    assert done.status_code == 302 and _signed_in(client)
    from app.extensions import appbuilder

    with marked.app_context():
        user_id = appbuilder.sm.find_user(username=username).id
    row = db_session.get(StaffTotp, user_id)
    assert row.confirmed_at is not None and row.last_step is not None
    assert secret not in row.secret_encrypted
    rows = db_session.query(AuditLog).filter(AuditLog.actor == username).all()
    assert {r.action for r in rows} >= {"totp:enrol", "login"}
    assert all(secret not in f"{r.object} {r.detail}" for r in rows)


def test_sign_in_with_a_code_and_a_wrong_code_is_refused_with_a_message(marked):
    username = _user(marked)
    _, secret, _ = _enrol(marked, username)
    client = _client(marked)
    assert _password(client, username).headers["Location"].endswith("/login/code/")
    assert "两步验证" in client.get("/login/code/").get_data(as_text=True)
    wrong = _code(client, _wrong(secret))
    assert wrong.status_code == 200 and "验证码不正确" in wrong.get_data(as_text=True)
    assert not _signed_in(client)
    assert _code(client, _at(secret, _step() + 1)).status_code == 302 and _signed_in(client)


def test_the_code_page_signs_in_in_english_too(marked):
    username = _user(marked)
    _, secret, step = _enrol(marked, username)
    client = _client(marked)
    client.get("/lang/en")
    _password(client, username)
    page = client.get("/login/code/").get_data(as_text=True)
    assert "authenticator app" in page
    wrong = _code(client, "12345x").get_data(as_text=True)
    assert "The code is not right" in wrong
    assert _code(client, _at(secret, _step() + 1)).status_code == 302 and _signed_in(client)
    client.get("/lang/zh")


def test_a_replayed_code_is_refused(marked):
    username = _user(marked)
    first, secret, enrolled_step = _enrol(marked, username)
    client = _client(marked)
    _password(client, username)
    # the enrolment's own code, and then a code once used for a sign-in, are spent
    replay = _code(client, _at(secret, enrolled_step))
    assert replay.status_code == 200 and "已经用过" in replay.get_data(as_text=True) and not _signed_in(client)
    step = _step() + 1
    assert _code(client, _at(secret, step)).status_code == 302 and _signed_in(client)
    thief = _client(marked)
    _password(thief, username)
    again = _code(thief, _at(secret, step))
    assert again.status_code == 200 and "已经用过" in again.get_data(as_text=True) and not _signed_in(thief)
    older = _code(thief, _at(secret, step - 1))
    assert older.status_code == 200 and not _signed_in(thief)


def test_repeated_wrong_codes_lock_the_account(marked, db_session):
    from app.models import AuditLog

    username = _user(marked)
    _, secret, _ = _enrol(marked, username)
    client = _client(marked)
    _password(client, username)
    allowed = int(marked.config["STAFF_LOGIN_FAILURES_PER_ACCOUNT"].split()[0])
    answers = [_code(client, _wrong(secret, i)) for i in range(allowed)]
    assert all(a.status_code == 200 for a in answers[:-1])
    assert answers[-1].status_code == 302 and "/login/" in answers[-1].headers["Location"]
    # the session's password step is gone, and a right password from elsewhere is refused too
    assert _code(client, _at(secret, _step() + 1)).headers["Location"].endswith("/login/")
    other = _client(marked)
    locked = _password(other, username)
    assert "/login/" in locked.headers["Location"] and not _signed_in(other)
    assert "失败次数过多" in other.get("/login/").get_data(as_text=True)
    refused = db_session.query(AuditLog).filter(AuditLog.actor == username, AuditLog.result == "refused").all()
    assert sum("second factor: wrong" in r.detail for r in refused) == allowed


@pytest.mark.parametrize("role", ["CountyIT", "SchoolReviewer"])
def test_unmarked_roles_are_not_asked(marked, role):
    client = _client(marked)
    answer = _password(client, _user(marked, role))
    assert answer.status_code == 302 and "/login/" not in answer.headers["Location"]
    assert client.get("/users/userinfo/").status_code == 200


def test_password_done_code_not_opens_nothing(marked):
    username = _user(marked)
    _enrol(marked, username)
    client = _client(marked)
    _password(client, username)
    listing = client.get("/applicationmodelview/list/")
    assert listing.status_code == 302 and "/login/" in listing.headers["Location"]
    assert client.get("/api/v1/applications/").status_code == 401
    assert client.get("/api/v1/districts/").status_code == 401
    assert client.get("/users/userinfo/").status_code == 302
    stranger = _client(marked)
    assert _code(stranger, "123456").headers["Location"].endswith("/login/")
    assert stranger.get("/login/enrol/").headers["Location"].endswith("/login/")


def test_admin_resets_the_second_factor_and_the_user_enrols_again(app, monkeypatch, db_session):
    from app.extensions import appbuilder
    from app.models import AuditLog, StaffSession, StaffTotp

    monkeypatch.setitem(app.config, "STAFF_TOTP_ROLES", ("BureauReviewer",))
    username = _user(app)
    signed_in, old_secret, _ = _enrol(app, username)
    with app.app_context():
        user_id = appbuilder.sm.find_user(username=username).id
    reviewer = _client(app)
    _password(reviewer, _user(app, "CountyIT"))
    refused = reviewer.post("/users/action_post", data={"action": "reset_totp", "rowid": user_id,
                                                        "csrf_token": csrf_token(reviewer)})
    assert refused.status_code in (302, 403) and db_session.get(StaffTotp, user_id) is not None
    admin = _client(app)
    admin_name = _user(app, "Admin")
    assert "/login/" not in _password(admin, admin_name).headers["Location"]
    assert "重置两步验证" in admin.get("/users/list/").get_data(as_text=True)
    done = admin.post("/users/action_post", data={"action": "reset_totp", "rowid": user_id, "csrf_token": csrf_token(admin)},
                      follow_redirects=True)
    assert done.status_code == 200 and "已重置" in done.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(StaffTotp, user_id) is None
    assert not _signed_in(signed_in)  # the reset ended the user's sign-ins
    assert db_session.query(StaffSession).filter_by(user_id=user_id, revoked_at=None).count() == 0
    row = db_session.query(AuditLog).filter(AuditLog.action == "totp:reset", AuditLog.object == f"user {user_id}").one()
    assert row.actor == admin_name and row.result == "ok"
    _, new_secret, _ = _enrol(app, username)
    assert new_secret != old_secret


def test_the_command_line_resets_when_no_admin_can_sign_in(marked, db_session):
    from app.models import AuditLog

    username = _user(marked, "Admin")
    _enrol(marked, username)
    result = marked.test_cli_runner().invoke(args=["totp-reset", username])
    assert result.exit_code == 0 and "reset" in result.output
    assert marked.test_cli_runner().invoke(args=["totp-reset", username]).output.strip().endswith("was not set up")
    assert marked.test_cli_runner().invoke(args=["totp-reset", "nobody-here"]).exit_code == 1
    rows = db_session.query(AuditLog).filter(AuditLog.action == "totp:reset", AuditLog.actor == "system").order_by(AuditLog.id).all()
    assert [r.result for r in rows[-2:]] == ["ok", "refused"]
    client = _client(marked)
    assert _password(client, username).headers["Location"].endswith("/login/enrol/")


def test_the_api_sign_in_asks_the_code_of_marked_roles(marked):
    username = _user(marked)
    api = _client(marked)

    def token(**extra):
        return api.post("/api/v1/security/login", json={"username": username, "password": PASSWORD, "provider": "db", **extra})

    assert token().status_code == 401  # not set up yet: on the web first
    _, secret, _ = _enrol(marked, username)
    assert token().status_code == 401
    assert token(totp=_wrong(secret)).status_code == 401
    answer = token(totp=_at(secret, _step() + 1))
    assert answer.status_code == 200 and answer.get_json()["access_token"]
    headers = {"Authorization": "Bearer " + answer.get_json()["access_token"]}
    assert api.get("/api/v1/districts/", headers=headers).status_code == 200
    unmarked = _user(marked, "CountyIT")
    assert api.post("/api/v1/security/login", json={"username": unmarked, "password": PASSWORD,
                                                    "provider": "db"}).status_code == 200


def test_the_service_works_without_a_request(app, db_session):
    import datetime as dt

    from app.extensions import appbuilder
    from app.services import totp

    assert totp.required(["BureauReviewer"], MARKED) and not totp.required(["CountyIT"], MARKED)
    with app.app_context():
        user_id = appbuilder.sm.find_user(username=_user(app)).id
    key = totp.key("a" * 40)
    secret = totp.begin_enrolment(db_session, user_id, key)
    assert totp.begin_enrolment(db_session, user_id, key) == secret and not totp.enrolled(db_session, user_id)
    now = dt.datetime.now(dt.timezone.utc)
    assert totp.verify(db_session, user_id, pyotp.TOTP(secret).at(now), key, now) is totp.Check.MISSING
    assert totp.confirm_enrolment(db_session, user_id, "12 34 5", key, now) is totp.Check.WRONG
    assert totp.confirm_enrolment(db_session, user_id, pyotp.TOTP(secret).at(now), key, now) is totp.Check.OK
    later = now + dt.timedelta(seconds=30)
    code = pyotp.TOTP(secret).at(later)
    assert totp.verify(db_session, user_id, code, key, later) is totp.Check.OK
    assert totp.verify(db_session, user_id, code, key, later) is totp.Check.REPLAYED
    assert totp.verify(db_session, user_id, pyotp.TOTP(secret).at(now), key, later) is totp.Check.REPLAYED
    assert totp.verify(db_session, user_id, code, totp.key("b" * 40), later) is totp.Check.WRONG  # another SECRET_KEY
    with pytest.raises(ValueError):
        totp.matched_step(secret, code, later.replace(tzinfo=None))
    assert totp.reset(db_session, user_id) and not totp.enrolled(db_session, user_id)
    db_session.commit()
