"""Fixtures: one app per test session on a migrated database with the Shimen county loaded.

SQLite by default; set TEST_DATABASE_URL to run the same suite on PostgreSQL.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import threading

import pytest
from werkzeug.serving import make_server

from config import TestConfig

PASSWORD = "test-pass-123"
SCHOOL_REVIEWER = "reviewer_SM-X5"  # 石门县第五完全小学


class SuiteConfig(TestConfig):
    WTF_CSRF_ENABLED = True


def _buffered_clients(application):
    """Test clients read each response to its end and close it, as a WSGI server does: a
    streamed export left open would keep its request's transaction (and its locks) alive."""
    from flask.testing import FlaskClient

    class BufferedClient(FlaskClient):
        def open(self, *args, buffered=True, **kwargs):
            return super().open(*args, buffered=buffered, **kwargs)

    application.test_client_class = BufferedClient
    return application


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    schema = None
    if url:
        url, schema = postgres_schema(url, "suite")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ruxue.db'}"
    SuiteConfig.SQLALCHEMY_DATABASE_URI = url
    SuiteConfig.STORAGE_LOCAL_DIR = str(tmp_path_factory.mktemp("uploads"))
    from app import create_app

    application = _buffered_clients(create_app(SuiteConfig))
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import appbuilder, db
        from app.services import demo

        from app.services.clock import local_now

        upgrade()
        demo.load_county(db.session, "shimen")
        demo.open_periods_now(db.session, local_now())
        _review_while_open(db.session)
        demo.create_staff(appbuilder.sm, db.session, PASSWORD)
        reviewer = appbuilder.sm.find_user(username="bureau_reviewer")
        demo.make_applications(db.session, 120, reviewer.id, seed=7, storage=application.extensions["ruxue_storage"])
    yield application
    if schema:
        with application.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
        drop_postgres_schema(os.environ["TEST_DATABASE_URL"], schema)


def postgres_schema(url: str, purpose: str) -> tuple[str, str]:
    """A schema of this run's own in the PostgreSQL test database, and the URL that works in it:
    the suite leaves the database as it found it, and a second run (or an interrupted one) never
    finds its tables in the way."""
    import secrets

    from sqlalchemy import create_engine, text

    from config import database_url

    schema = f"ruxue_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    # the connections carry the schema's name, so the drop can end any this run left open
    return f"{url}{joiner}options=-csearch_path%3D{schema}&application_name={schema}", schema


def drop_postgres_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    from config import database_url

    engine = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        # a connection of this run left idle in a transaction (a leak, a killed thread) holds locks
        # that would make the DROP wait for ever and hang CI: end those (idle pooled connections
        # hold none and are left alone), then drop with a bounded wait
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = :name AND pid <> pg_backend_pid() "
                          "AND state LIKE 'idle in transaction%'"), {"name": schema})
        conn.execute(text("SET lock_timeout = '60s'"))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@contextlib.contextmanager
def separate_app(folder, purpose: str):
    """A separate app on a new, migrated, empty database of its own (same engine kind as the
    suite), inside its app context; the database is gone afterwards."""
    from flask_migrate import upgrade

    from app import create_app

    class Separate(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / f'{purpose}.db'}"
        STORAGE_LOCAL_DIR = str(folder / "uploads")

    schema = None
    if os.environ.get("TEST_DATABASE_URL"):
        Separate.SQLALCHEMY_DATABASE_URI, schema = postgres_schema(os.environ["TEST_DATABASE_URL"], purpose)
    application = _buffered_clients(create_app(Separate))
    try:
        with application.app_context():
            from app.extensions import db

            upgrade()
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            drop_postgres_schema(os.environ["TEST_DATABASE_URL"], schema)


@pytest.fixture
def fresh_app(tmp_path):
    """A separate app on a new, migrated, empty database (same engine kind as the suite)."""
    with separate_app(tmp_path, "fresh") as application:
        yield application


@pytest.fixture(scope="session")
def engine(app):
    from app.extensions import db

    with app.app_context():
        return db.engine


def _review_while_open(session) -> None:
    """The suite reviews while parents apply: every period's review window is open now."""
    from app.models import EnrollmentPeriod

    for period in session.query(EnrollmentPeriod):
        period.review_starts_at = dt.datetime.now() - dt.timedelta(days=2)
        period.review_ends_at = dt.datetime.now() + dt.timedelta(days=90)
    session.commit()


@pytest.fixture
def db_session(engine):
    """A session of the test's own, outside any app context: it sees the database as an
    observer would, and holding it does not make test requests share one Flask ``g``."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        yield session
        session.rollback()


def csrf_token(client, page: str = "/login/") -> str:
    """The CSRF token of the client's session (fetched from a page with a form)."""
    if getattr(client, "csrf", None):
        return client.csrf
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    client.csrf = match.group(1) if match else ""  # no token: the app runs without CSRF
    return client.csrf


def login(client, username: str, password: str = PASSWORD):
    response = client.post(
        "/login/",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def _client(app, username):
    client = app.test_client()
    return login(client, username) if username else client


@pytest.fixture(scope="session")
def anon_client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def admin_client(app):
    return _client(app, "admin")


@pytest.fixture(scope="session")
def county_it_client(app):
    return _client(app, "county_it")


@pytest.fixture(scope="session")
def bureau_client(app):
    return _client(app, "bureau_reviewer")


@pytest.fixture(scope="session")
def school_client(app):
    return _client(app, SCHOOL_REVIEWER)


def new_phone() -> str:
    """A fresh mobile number (random: pytest imports this module twice, so no shared counter)."""
    import secrets

    return f"139{secrets.randbelow(10**8):08d}"


def parent_login(app, phone: str | None = None):
    """A test client logged in as a parent through the real phone-code flow."""
    client = app.test_client()
    phone = phone or new_phone()
    token = csrf_token(client)
    response = client.post("/signin", data={"phone": phone, "csrf_token": token})
    assert response.status_code == 200, re.findall(r"(?s)<main>(.*)</main>", response.get_data(as_text=True))
    code = re.search(r"(\d{6})", app.extensions["ruxue_sms"].last_to(phone)).group(1)
    response = client.post("/signin/code", data={"phone": phone, "code": code, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.phone = phone
    client.csrf = None  # logging in starts a new session, with a new token
    csrf_token(client, "/my/children/add")
    return client


@pytest.fixture
def parent(app):
    return parent_login(app)


@pytest.fixture(scope="session")
def role_clients(anon_client, admin_client, county_it_client, bureau_client, school_client):
    return {
        "anon": anon_client,
        "Admin": admin_client,
        "CountyIT": county_it_client,
        "BureauReviewer": bureau_client,
        "SchoolReviewer": school_client,
    }


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; Playwright's own browser download does not work here."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def at_once(app, engine, *actions) -> list[str]:
    """Run each action(session) in its own thread and session, released together; "ok" or the
    name of what it raised (the loser is refused, or on SQLite may find the file locked)."""
    import threading

    from sqlalchemy.orm import Session

    outcomes: list[str] = []
    barrier = threading.Barrier(len(actions))

    def run(action):
        with app.app_context(), Session(engine) as session:
            barrier.wait()
            try:
                action(session)
                outcomes.append("ok")
            except Exception as error:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.fixture
def county_server(fresh_app):
    """start(county) serves a freshly loaded seed county for a browser; stopped after the test."""

    def start(county, review_open=False):
        """Load a seed county, open its periods now and serve the app on a free port."""
        from app.extensions import db
        from app.services import demo
        from app.services.clock import local_now

        demo.load_county(db.session, county)
        demo.open_periods_now(db.session, local_now())
        if review_open:
            _review_while_open(db.session)
        demo.create_staff(fresh_app.extensions["appbuilder"].sm, db.session, "pw-123456")
        server = make_server("127.0.0.1", 0, fresh_app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    started = []
    yield start
    for server in started:
        server.shutdown()
