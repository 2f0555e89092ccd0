"""A county's real server: settings refused with one line, safe cookies, the proxy's addresses,
limits sized for carrier NAT, health, the first administrator's role, backups that restore."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Application, Attachment, OtpCode
from config import Config, TestConfig
from tests.conftest import csrf_token, new_phone

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 64


def _start(env_changes: dict) -> subprocess.CompletedProcess:
    """`flask --app run routes` the way a county's server starts: only the environment differs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUXUE_", "SECRET_KEY", "SMS_", "DB_", "STORAGE_"))}
    env.update({"RUXUE_ENV": "production", "SECRET_KEY": GOOD_KEY, "RUXUE_ALLOW_LOG_SMS": "1",
                "DATABASE_URL": "sqlite:////tmp/ruxue-production-test.db", "PYTHONPATH": str(ROOT)})
    env.update(env_changes)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "run", "routes"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("changes,says", [
    ({"SECRET_KEY": None}, "SECRET_KEY must be set in production"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is too short"),
    ({"RUXUE_ALLOW_LOG_SMS": None}, "which sends no SMS"),
    ({"SMS_SENDER": "nowhere.Sender"}, "SMS_SENDER='nowhere.Sender' cannot be imported"),
    ({"DB_POOL_SIZE": "many", "DATABASE_URL": "postgresql://x@127.0.0.1:1/y"}, "DB_POOL_SIZE must be a whole number"),
    ({"PROXY_FIX_HOPS": "x"}, "PROXY_FIX_HOPS must be a whole number"),
    ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be local or s3"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": ""}, "STORAGE_BACKEND=s3 needs S3_BUCKET"),
    ({"RUXUE_ENV": "prod"}, "RUXUE_ENV must be one of"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis:// address"),
])
@pytest.mark.slow
def test_a_wrong_setting_stops_the_start_with_one_line(changes, says):
    done = _start(changes)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ruxue: ") and says in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_right_settings_start():
    done = _start({})
    assert done.returncode == 0 and "/healthz" in done.stdout, done.stderr[-500:]


def _production_app(tmp_path, **settings):
    from app import create_app

    class Production(TestConfig):
        RUXUE_ENV = "production"
        SECRET_KEY = GOOD_KEY
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'prod.db'}"
        ALLOW_LOG_SMS = True
        WTF_CSRF_ENABLED = True
        OTP_LIMIT_PER_ADDRESS = Config.OTP_LIMIT_PER_ADDRESS

    for key, value in settings.items():
        setattr(Production, key, value)
    application = create_app(Production)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    return application


def test_production_cookies_are_secure_httponly_and_lax(tmp_path):
    application = _production_app(tmp_path)
    response = application.test_client().get("/signin", base_url="https://enroll.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert application.config["REMEMBER_COOKIE_SECURE"] and application.config["SHOW_OTP_ON_PAGE"] is False


def _ask_code(client, phone, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = csrf_token(client, "/signin")
    return client.post("/signin", data={"phone": phone, "csrf_token": token}, headers=headers,
                       environ_base={"REMOTE_ADDR": "10.0.0.2"})  # the proxy's own address


def test_the_parents_address_comes_through_a_trusted_proxy_only(tmp_path):
    from app.extensions import db

    trusted = _production_app(tmp_path, PROXY_FIX_HOPS=1)
    phone = new_phone()
    assert _ask_code(trusted.test_client(), phone, "203.0.113.7").status_code == 200
    with trusted.app_context():
        assert db.session.scalar(select(OtpCode.ip).where(OtpCode.phone == phone)) == "203.0.113.7"
    (tmp_path / "b").mkdir()
    untrusted = _production_app(tmp_path / "b", PROXY_FIX_HOPS=0)
    phone = new_phone()
    assert _ask_code(untrusted.test_client(), phone, "203.0.113.7").status_code == 200
    with untrusted.app_context():
        assert db.session.scalar(select(OtpCode.ip).where(OtpCode.phone == phone)) == "10.0.0.2"


def test_a_hundred_parents_behind_one_carrier_address_all_get_codes(tmp_path):
    application = _production_app(tmp_path, PROXY_FIX_HOPS=1)
    answers = [_ask_code(application.test_client(), new_phone(), "198.51.100.9").status_code for _ in range(100)]
    assert answers == [200] * 100
    assert Config.OTP_LIMIT_PER_ADDRESS == "300 per hour"


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_log_only_sender_never_writes_a_login_code(tmp_path):
    application = _production_app(tmp_path, SMS_SENDER="app.services.sms.LogSender")
    kept = _Kept()  # our own handler: Alembic's logging set-up replaces pytest's on the root logger
    logging.getLogger("ruxue.sms").addHandler(kept)
    try:
        assert _ask_code(application.test_client(), new_phone()).status_code == 200
    finally:
        logging.getLogger("ruxue.sms").removeHandler(kept)
    logged = " ".join(kept.lines)
    assert "******" in logged and not re.search(r"(?<!\d)\d{6}(?!\d)", logged)


def test_health_answers_for_the_database(app, tmp_path):
    from app import create_app

    ok = app.test_client().get("/healthz")
    assert ok.status_code == 200 and ok.get_json() == {"status": "ok", "database": True}

    class Down(TestConfig):
        SQLALCHEMY_DATABASE_URI = "postgresql://postgres@127.0.0.1:1/nowhere"

    down = create_app(Down).test_client().get("/healthz")
    assert down.status_code == 503 and down.get_json()["database"] is False
    assert "application" not in down.get_data(as_text=True)


def test_first_administrator_gets_admin_after_db_upgrade(fresh_app):
    from flask_appbuilder.cli import fab  # `flask fab …` comes from FAB's entry point, not app.cli

    runner = fresh_app.test_cli_runner()
    result = runner.invoke(fab, ["create-admin", "--username", "chief", "--firstname", "县", "--lastname", "管理员",
                                 "--email", "chief@example.gov.cn", "--password", "Pass-word-2026"])
    assert result.exit_code == 0, result.output
    from app.extensions import appbuilder

    user = appbuilder.sm.find_user(username="chief")
    assert [r.name for r in user.roles] == ["Admin"]
    assert "users without a role" not in runner.invoke(args=["sync-roles"]).output


def test_sync_roles_names_users_left_without_a_role(fresh_app):
    from app.extensions import appbuilder, db

    appbuilder.sm.add_user("lost", "失", "联", "lost@example.gov.cn", [], password="Pass-word-2026")
    db.session.commit()
    result = fresh_app.test_cli_runner().invoke(args=["sync-roles"])
    assert "users without a role" in result.output and "lost" in result.output


def test_backup_and_restore_bring_back_data_files_and_key(fresh_app, tmp_path):
    """Back up a county with applications and scans, lose it all, restore, and find it again."""
    from app.extensions import db
    from app.services import demo

    demo.load_county(db.session, "shimen")
    demo.make_applications(db.session, 25, None, seed=3, storage=fresh_app.extensions["ruxue_storage"])
    before = (db.session.scalar(select(func.count()).select_from(Application)),
              db.session.scalar(select(func.count()).select_from(Attachment)))
    sample = db.session.scalar(select(Attachment).limit(1))
    key, data = sample.storage_key, fresh_app.extensions["ruxue_storage"].read(sample.storage_key)
    assert before[1] > 0
    runner = fresh_app.test_cli_runner()
    made = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    folder = Path(made.output.strip().splitlines()[-1])
    assert {"manifest.json", "secret_key", "uploads.tar.gz"} <= {p.name for p in folder.iterdir()}
    assert oct(folder.joinpath("secret_key").stat().st_mode)[-3:] == "600"

    # the disaster: every application and every file gone
    db.session.query(Attachment).delete()
    db.session.execute(Application.__table__.delete())
    db.session.commit()
    fresh_app.extensions["ruxue_storage"].delete(key)

    restored = runner.invoke(args=["restore", str(folder), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert f"{before[0]} applications" in restored.output
    db.session.remove()
    after = (db.session.scalar(select(func.count()).select_from(Application)),
             db.session.scalar(select(func.count()).select_from(Attachment)))
    assert after == before
    assert fresh_app.extensions["ruxue_storage"].read(key) == data


def test_restore_refuses_a_folder_that_is_not_a_backup(fresh_app, tmp_path):
    result = fresh_app.test_cli_runner().invoke(args=["restore", str(tmp_path), "--yes"])
    assert result.exit_code == 1 and "not a Ruxue backup" in result.output
