"""Graceful overload: a database that is full or unreachable gives a light 503 page with
Retry-After, never a stack trace, and every step saved before stays saved.

Nothing is patched: one app points at a port where nothing listens, another has a pool of one
connection that a second thread really holds.
"""
from __future__ import annotations

import contextlib
import os
import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.pool import QueuePool

from app.models import Application, Child, Community, EnrollmentPeriod
from config import TestConfig
from tests.conftest import login, parent_login
from tests.public_helpers import add_child, consent, next_id, post, start

REFUSED = "postgresql://postgres@127.0.0.1:1/nowhere"  # port 1: nothing listens, connect is refused
LEAKS = ("traceback", "sqlalchemy", "psycopg", "sqlite", "select ", "operationalerror", "timeouterror")


def assert_busy(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"] == "30"
    body = response.get_data(as_text=True)
    assert "系统繁忙" in body
    assert not [word for word in LEAKS if word in body.lower()], body
    return body


def _copy_session(source, target):
    """The browser's cookie, now arriving at an app whose database is gone (same SECRET_KEY)."""
    target.set_cookie("session", source.get_cookie("session").value)
    target.csrf = source.csrf  # the token lives in that session
    return target


@pytest.fixture(scope="module")
def down_app(app):
    from app import create_app

    class Down(TestConfig):
        SQLALCHEMY_DATABASE_URI = REFUSED

    return create_app(Down)


@pytest.fixture(scope="module")
def narrow_app(app):
    """The suite's database (SQLite file or PostgreSQL) behind a pool of exactly one connection."""
    from app import create_app
    from app.extensions import db

    class Narrow(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        # whole seconds: Flask-SQLAlchemy's engine_from_config() would turn 0.5 into 0
        SQLALCHEMY_ENGINE_OPTIONS = {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 1}
        STORAGE_LOCAL_DIR = app.config["STORAGE_LOCAL_DIR"]
        WTF_CSRF_ENABLED = True

    application = create_app(Narrow)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def narrow_engine(narrow_app):
    from app.extensions import db

    with narrow_app.app_context():
        engine = db.engine
    assert isinstance(engine.pool, QueuePool) and (engine.pool.size(), engine.pool.timeout()) == (1, 1)
    return engine


@contextlib.contextmanager
def pool_held(engine):
    """Another thread takes the pool's only connection and keeps it until the block ends."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        with engine.connect():
            taken.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10)
        assert engine.pool.checkedout() == 1
        yield
    finally:
        release.set()
        thread.join()


# --- pool settings -------------------------------------------------------------------------


POOL_ENV = ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_TIMEOUT", "DB_CONNECT_TIMEOUT", "DB_POOL_PRE_PING")


def test_server_database_gets_a_pool_that_fails_fast(monkeypatch):
    from config import engine_options

    for name in POOL_ENV:
        monkeypatch.delenv(name, raising=False)
    assert engine_options("postgresql+psycopg://h/d") == {
        "pool_pre_ping": False, "pool_recycle": 1800, "pool_size": 5, "max_overflow": 5, "pool_timeout": 5,
        "connect_args": {"connect_timeout": 3, "options": "-c jit=off"}}
    assert engine_options("sqlite:////tmp/x.db") == {}  # SQLite's pools take no size


def test_pool_settings_come_from_the_environment(monkeypatch):
    from app import create_app
    from app.extensions import db

    for name, value in zip(POOL_ENV, ("3", "2", "4", "2", "1")):
        monkeypatch.setenv(name, value)

    class Down(TestConfig):
        SQLALCHEMY_DATABASE_URI = REFUSED

    application = create_app(Down)
    with application.app_context():
        pool = db.engine.pool
    assert (pool.size(), pool._max_overflow, pool.timeout(), pool._pre_ping) == (3, 2, 4, True)
    assert application.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 2, "options": "-c jit=off"}


# --- a database that refuses connections ---------------------------------------------------


def test_public_pages_answer_busy_when_the_database_refuses(down_app):
    client = down_app.test_client()
    assert '<html lang="zh-CN">' in assert_busy(client.get("/"))
    body = assert_busy(client.get("/lookup?district=1"))
    assert 'href="/lookup?district=1"' in body  # back to the page asked for


def test_a_parents_post_answers_busy_and_logs_no_form_value(down_app, parent, caplog):
    client = _copy_session(parent, down_app.test_client())
    number = next_id(dt.date(2020, 3, 1))
    with caplog.at_level(logging.WARNING, logger="ruxue"):
        assert_busy(post(client, "/my/children/add", {"name": "张小花", "id_type": "resident_id", "id_number": number}))
        body = assert_busy(post(client, "/my/a/1/community", {"community_id": "1"}))  # refused before any check
    assert 'href="/my/a/1/community"' in body
    lines = [r for r in caplog.records if r.name == "ruxue.db"]
    assert len(lines) == 2 and all(r.levelno == logging.WARNING for r in lines)
    assert number not in caplog.text and "张小花" not in caplog.text


def test_busy_page_speaks_the_parents_language(down_app):
    response = down_app.test_client().get("/?_l_=en")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert '<html lang="en">' in body and "The system is busy; please try again later." in body


def test_staff_side_answers_busy_when_the_database_refuses(down_app, admin_client):
    assert_busy(down_app.test_client().get("/login/"))
    staff = _copy_session(admin_client, down_app.test_client())
    assert_busy(staff.get("/admin/"))
    assert_busy(staff.get("/schoolmodelview/list/"))


def test_api_answers_json_when_the_database_refuses(down_app):
    response = down_app.test_client().get("/api/v1/schools/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.get_json() == {"message": "系统繁忙，请稍后再试"}


# --- a pool with its only connection taken -------------------------------------------------


def test_full_pool_answers_busy_and_keeps_every_saved_step(narrow_app, narrow_engine, db_session):
    client = parent_login(narrow_app)
    _, number = add_child(client)
    assert consent(client).status_code == 302
    child = db_session.scalar(select(Child).where(Child.id_number == number))
    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    assert start(client, child.id, period.id).status_code == 302
    application = db_session.scalar(select(Application).where(Application.child_id == child.id))
    channel = period.channels[0]
    community = db_session.scalar(select(Community).where(Community.name == "宝塔社区"))
    base = f"/my/a/{application.id}"
    assert post(client, f"{base}/channel", {"channel_id": channel.id}).status_code == 302

    with pool_held(narrow_engine):
        assert_busy(post(client, f"{base}/community", {"community_id": community.id}))
        assert_busy(client.get(f"{base}/community"))

    db_session.expire_all()
    saved = db_session.get(Application, application.id)
    assert saved.channel_id == channel.id and saved.community_id is None
    page = client.get(f"{base}/community")
    assert page.status_code == 200 and "系统繁忙" not in page.get_data(as_text=True)
    assert post(client, f"{base}/community", {"community_id": community.id}).status_code == 302
    db_session.expire_all()
    saved = db_session.get(Application, application.id)
    assert (saved.channel_id, saved.community_id) == (channel.id, community.id)
    assert narrow_engine.pool.checkedout() == 0  # nothing leaked out of the failed requests


def test_full_pool_answers_busy_to_staff(narrow_app, narrow_engine):
    staff = login(narrow_app.test_client(), "admin")
    with pool_held(narrow_engine):
        assert_busy(staff.get("/admin/"))
        assert_busy(staff.get("/schoolmodelview/list/"))
    assert staff.get("/admin/").status_code == 200


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="ends the server's connections: PostgreSQL only")
def test_connections_dropped_by_the_server_cost_one_busy_page(narrow_app, narrow_engine, db_session):
    """A database restart (here: the server ends every connection) without a ping per request:
    the next request gets the busy page, the pool is renewed, the one after works, nothing lost."""
    from sqlalchemy import text

    client = parent_login(narrow_app)
    _, number = add_child(client)
    consent(client)
    child = db_session.scalar(select(Child).where(Child.id_number == number))
    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    start(client, child.id, period.id)
    application = db_session.scalar(select(Application).where(Application.child_id == child.id))
    base = f"/my/a/{application.id}"
    assert post(client, f"{base}/channel", {"channel_id": period.channels[0].id}).status_code == 302
    with narrow_engine.connect() as pooled:  # the pool's only connection, which the server now drops
        pid = pooled.execute(text("SELECT pg_backend_pid()")).scalar()
    db_session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db_session.commit()
    assert_busy(client.get(f"{base}/community"))
    again = client.get(f"{base}/community")
    assert again.status_code == 200
    assert post(client, f"{base}/community", {"community_id": db_session.scalar(
        select(Community.id).where(Community.name == "宝塔社区"))}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, application.id).channel_id == period.channels[0].id
