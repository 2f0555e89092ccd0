"""Settings for Ruxue. Every value can be overridden from the environment."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

from app.security import ROLES

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("RUXUE_INSTANCE_DIR", BASE_DIR / "instance"))


def _development_secret_key() -> str:
    """A key generated once per checkout, so sessions survive restarts without a key in git."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _secret_key(env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if env in {"development", "test"}:
        return _development_secret_key()
    raise RuntimeError("SECRET_KEY must be set outside development (RUXUE_ENV=%s)" % env)


class Config:
    RUXUE_ENV = os.environ.get("RUXUE_ENV", "development")
    SECRET_KEY = None  # filled in by load_config()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'ruxue.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Extra engine options; load_config() puts them over the pool defaults for a server database
    # (see engine_options()): a full pool answers 503 after DB_POOL_TIMEOUT instead of hanging.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Seconds a parent is told to wait (Retry-After) when the database is busy or unreachable.
    RUXUE_RETRY_AFTER = int(os.environ.get("RUXUE_RETRY_AFTER", "30"))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None

    APP_NAME = os.environ.get("RUXUE_APP_NAME", "入学 Ruxue")
    APP_THEME = ""
    FAB_BASE_TEMPLATE = "staff/base.html"
    # Alembic owns the schema: FAB must not create tables or write permission rows at start-up.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ROLES = ROLES
    FAB_SECURITY_MANAGER_CLASS = "app.security_manager.RuxueSecurityManager"
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    FAB_API_SWAGGER_UI = True
    FAB_ADD_SECURITY_API = False
    FAB_API_MAX_PAGE_SIZE = 100
    JWT_ACCESS_TOKEN_EXPIRES = 3600

    BABEL_DEFAULT_LOCALE = os.environ.get("RUXUE_LOCALE", "zh")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("RUXUE_TIMEZONE", "Asia/Shanghai")
    # FAB prepends its own catalogue; ours is merged after it and wins on shared msgids.
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # One-time codes and notices go out through this class (dotted path); see app/services/sms.py.
    SMS_SENDER = os.environ.get("SMS_SENDER", "app.services.sms.LogSender")
    # Development only: show the login code on the page, as no SMS gateway is plugged in.
    SHOW_OTP_ON_PAGE = os.environ.get("RUXUE_ENV", "development") == "development"
    # FAB defaults RATELIMIT_ENABLED to False, which would switch off the parents' login limits too.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    OTP_LIMIT_PER_PHONE = os.environ.get("OTP_LIMIT_PER_PHONE", "5 per hour")
    OTP_LIMIT_PER_ADDRESS = os.environ.get("OTP_LIMIT_PER_ADDRESS", "30 per hour")

    # Seconds each worker keeps a channel's sections and materials (the parents' form reads them
    # on every step); a change saved in the same process clears the copy at once.
    LAYOUT_TTL = float(os.environ.get("LAYOUT_TTL", "60"))
    # Anonymous pages of the parents' site (home, catchment lookup, period, notice) are kept whole
    # for this many seconds per worker: the first minutes of opening day read them most. A set-up
    # change saved in the same worker shows at once; in the others within this time.
    CACHE_TYPE = os.environ.get("CACHE_TYPE", "SimpleCache")
    CACHE_DEFAULT_TIMEOUT = int(os.environ.get("PAGE_CACHE_SECONDS", "30"))
    CACHE_THRESHOLD = 5000  # pages per worker at most (one per community in the lookup, per language)
    CACHE_KEY_PREFIX = "ruxue:"
    # The worker (`flask --app run worker`) refreshes seat forecasts this often.
    FORECAST_EVERY_SECONDS = int(os.environ.get("FORECAST_EVERY_SECONDS", "300"))

    # Document storage (issue #3 uses it; configured here so deployments set it once)
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STORAGE_LOCAL_DIR = os.environ.get("STORAGE_LOCAL_DIR", str(INSTANCE_DIR / "uploads"))
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID") or None
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY") or None


class TestConfig(Config):
    RUXUE_ENV = "test"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    SMS_SENDER = "app.services.sms.MemorySender"
    SHOW_OTP_ON_PAGE = False
    # The suite logs in many parents from 127.0.0.1; the limit itself has its own test.
    OTP_LIMIT_PER_ADDRESS = "10000 per hour"
    # Hashing strength is not under test; scrypt would make every login in the suite slow.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


def database_url(url: str) -> str:
    """Plain postgresql:// URLs would pick psycopg2; Ruxue ships psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(url: str) -> dict:
    """Pool settings for a server database, from the environment. SQLite gets none: its
    default pools do not take a size, and a file has no connection to wait for."""
    if url.startswith("sqlite"):
        return {}
    options = {
        # A ping per checkout is one more round trip on every request; without it a connection the
        # server dropped fails once (that request gets the 503 page) and SQLAlchemy then replaces
        # every connection of the pool. DB_POOL_PRE_PING=1 trades the round trip for that one 503.
        "pool_pre_ping": os.environ.get("DB_POOL_PRE_PING", "0") == "1",
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
        "pool_size": int(os.environ.get("DB_POOL_SIZE", "5")),
        "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", "5")),
        # whole seconds: Flask-SQLAlchemy's engine_from_config() turns 0.5 into 0 (no wait at all)
        "pool_timeout": int(os.environ.get("DB_POOL_TIMEOUT", "5")),
    }
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))}
    return options


def load_config(config: type | object) -> dict:
    """Resolve a config class into a dict, filling values that depend on the environment."""
    values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    values["SECRET_KEY"] = values.get("SECRET_KEY") or _secret_key(values["RUXUE_ENV"])
    values["SQLALCHEMY_DATABASE_URI"] = database_url(values["SQLALCHEMY_DATABASE_URI"])
    values["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(values["SQLALCHEMY_DATABASE_URI"]),
        **(values.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
    }
    return values
