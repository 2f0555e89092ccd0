"""Settings for Ruxue. Every value can be overridden from the environment."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

from app.security import ROLES

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("RUXUE_INSTANCE_DIR", BASE_DIR / "instance"))
ENVIRONMENTS = ("production", "development", "test")
LOG_ONLY_SENDERS = ("app.services.sms.LogSender", "app.services.sms.MemorySender")


class ConfigError(RuntimeError):
    """A missing or wrong setting; the message is one line a county's IT can act on."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "1" if default else "0").strip().lower()
    if raw not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
        raise ConfigError(f"{name} must be 1 or 0, not {raw!r}")
    return raw in ("1", "true", "yes", "on")


def _development_secret_key() -> str:
    """A key generated once per checkout, so sessions survive restarts without a key in git."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _password_policy(password: str) -> None:
    from app.services.staff import password_policy

    password_policy(password)


def _secret_key(env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        if env == "production" and len(key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters "
                              "(python3 -c 'import secrets; print(secrets.token_hex(32))')")
        return key
    if env in {"development", "test"}:
        return _development_secret_key()
    raise ConfigError("SECRET_KEY must be set in production (python3 -c 'import secrets; print(secrets.token_hex(32))'); "
                      "on a developer's machine run with RUXUE_ENV=development")


class Config:
    # Production unless told otherwise: a server started without settings must not show login
    # codes on the page or run without a secret key (scripts/start.sh sets development).
    RUXUE_ENV = os.environ.get("RUXUE_ENV", "production")
    SECRET_KEY = None  # filled in by load_config()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'ruxue.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Extra engine options; load_config() puts them over the pool defaults for a server database
    # (see engine_options()): a full pool answers 503 after DB_POOL_TIMEOUT instead of hanging.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Seconds a parent is told to wait (Retry-After) when the database is busy or unreachable.
    RUXUE_RETRY_AFTER = _int("RUXUE_RETRY_AFTER", 30)
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (nginx: 1).
    # 0 trusts none: behind a proxy every parent would share the proxy's address.
    PROXY_FIX_HOPS = _int("PROXY_FIX_HOPS", 0)
    RUXUE_NODE_NAME = os.environ.get("RUXUE_NODE_NAME", "")
    # Cookies: HttpOnly and SameSite=Lax always; Secure (HTTPS only) in production (load_config()).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
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
    # The OpenAPI description at /api/v1/_openapi (FAB serves it with its Swagger page, whose
    # script comes from a CDN that the content security policy refuses: read the JSON instead)
    FAB_API_SWAGGER_UI = True
    # the largest request: an upload of the largest material (MAX_UPLOAD_MB) and its form
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 20) * 1024 * 1024
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

    # 免证明: where the checks read the departments' records: "extracts" (the imported batches)
    # or "http" (a data-sharing interface with the same fields at REGISTRY_URL; see registry.py)
    REGISTRY_SOURCE = os.environ.get("REGISTRY_SOURCE", "extracts")
    REGISTRY_URL = os.environ.get("REGISTRY_URL", "")
    REGISTRY_TOKEN = os.environ.get("REGISTRY_TOKEN", "")
    REGISTRY_TIMEOUT = float(os.environ.get("REGISTRY_TIMEOUT", "5"))

    # One-time codes and notices go out through this class (dotted path); see app/services/sms.py.
    SMS_SENDER = os.environ.get("SMS_SENDER", "app.services.sms.LogSender")
    # The SMS service (`flask --app run send-messages`) sends at most this many per second.
    SMS_RATE_PER_SECOND = _int("SMS_RATE_PER_SECOND", 20)
    # Staff sign-in: failures allowed per account and per address before a lockout (counted in
    # the rate-limit store: Redis with several workers), idle timeout and absolute lifetime.
    STAFF_LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("STAFF_LOGIN_FAILURES_PER_ACCOUNT", "5 per 15 minutes")
    STAFF_LOGIN_FAILURES_PER_ADDRESS = os.environ.get("STAFF_LOGIN_FAILURES_PER_ADDRESS", "20 per 15 minutes")
    # Roles whose members sign in with a second factor (TOTP) after the password, comma-separated;
    # None: the environment's default (Admin and BureauReviewer in production, none elsewhere).
    STAFF_TOTP_ROLES = os.environ.get("STAFF_TOTP_ROLES")
    STAFF_IDLE_MINUTES = _int("STAFF_IDLE_MINUTES", 30)
    STAFF_SESSION_HOURS = _int("STAFF_SESSION_HOURS", 12)
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=_int("STAFF_SESSION_HOURS", 12))
    # Staff passwords: at least 10 characters with letters and digits (FAB checks it in its forms)
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = staticmethod(lambda password: _password_policy(password))
    # Production refuses the log-only sender (parents would get no code) unless this says so.
    ALLOW_LOG_SMS = _flag("RUXUE_ALLOW_LOG_SMS")
    # Development only: show the login code on the page, as no SMS gateway is plugged in.
    SHOW_OTP_ON_PAGE = os.environ.get("RUXUE_ENV", "production") == "development"
    # Shared state for several workers and nodes: the rate limits count in Redis when it is set.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # FAB defaults RATELIMIT_ENABLED to False, which would switch off the parents' login limits too.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = "ruxue"
    # Redis gone: each worker counts in memory until it is back, instead of refusing every sign-in.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    OTP_LIMIT_PER_PHONE = os.environ.get("OTP_LIMIT_PER_PHONE", "5 per hour")
    # Mobile carriers put thousands of phones behind one address (carrier NAT): this limit only
    # stops one machine asking for codes for many phones; the per-phone limit protects each parent.
    OTP_LIMIT_PER_ADDRESS = os.environ.get("OTP_LIMIT_PER_ADDRESS", "300 per hour")

    # Seconds each worker keeps a channel's sections and materials (the parents' form reads them
    # on every step); a change saved in the same process clears the copy at once.
    LAYOUT_TTL = _int("LAYOUT_TTL", 60)
    # Anonymous pages of the parents' site (home, catchment lookup, period, notice) are kept whole
    # for this many seconds per worker: the first minutes of opening day read them most. A set-up
    # change saved in the same worker shows at once; in the others within this time.
    CACHE_TYPE = os.environ.get("CACHE_TYPE", "SimpleCache")
    CACHE_DEFAULT_TIMEOUT = _int("PAGE_CACHE_SECONDS", 30)
    CACHE_THRESHOLD = 5000  # pages per worker at most (one per community in the lookup, per language)
    CACHE_KEY_PREFIX = "ruxue:"
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or os.environ.get("REDIS_URL") or ""
    # A list counts its rows up to this many and shows "N+" above: an exact count of a school's
    # 20,000 applications costs a read of each on every page, and nobody pages that far.
    LIST_COUNT_LIMIT = _int("LIST_COUNT_LIMIT", 1000)
    # The bureau dashboard is counted at most this often per period (every worker shares the
    # figures when CACHE_TYPE is a shared cache); the page says when they were counted.
    DASHBOARD_CACHE_SECONDS = _int("DASHBOARD_CACHE_SECONDS", 60)
    # Reviewers' exports above this many rows are written by the worker (a job with its progress
    # shown) instead of inside the request: a request may last GUNICORN_TIMEOUT seconds at most.
    EXPORT_INLINE_ROWS = {"csv": _int("EXPORT_INLINE_CSV_ROWS", 250_000), "xlsx": _int("EXPORT_INLINE_XLSX_ROWS", 20_000)}
    # The worker (`flask --app run worker`) refreshes seat forecasts this often.
    FORECAST_EVERY_SECONDS = _int("FORECAST_EVERY_SECONDS", 300)

    # Document storage (issue #3 uses it; configured here so deployments set it once)
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    RUXUE_INSTANCE_DIR = str(INSTANCE_DIR)
    STORAGE_LOCAL_DIR = os.environ.get("STORAGE_LOCAL_DIR", str(INSTANCE_DIR / "uploads"))
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID") or None
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY") or None
    # seconds before a store that does not answer counts as down (the parent gets the busy page)
    S3_CONNECT_TIMEOUT = _int("S3_CONNECT_TIMEOUT", 3)
    S3_READ_TIMEOUT = _int("S3_READ_TIMEOUT", 20)


class TestConfig(Config):
    RUXUE_ENV = "test"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    SMS_SENDER = "app.services.sms.MemorySender"
    SHOW_OTP_ON_PAGE = False
    # No second factor unless a test marks roles (tests/test_totp.py)
    STAFF_TOTP_ROLES = ""
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
        "pool_recycle": _int("DB_POOL_RECYCLE", 1800),
        "pool_size": _int("DB_POOL_SIZE", 5),
        "max_overflow": _int("DB_MAX_OVERFLOW", 5),
        # whole seconds: Flask-SQLAlchemy's engine_from_config() turns 0.5 into 0 (no wait at all)
        "pool_timeout": _int("DB_POOL_TIMEOUT", 5),
    }
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": _int("DB_CONNECT_TIMEOUT", 3)}
        jit = os.environ.get("DB_JIT", "off")
        if jit in ("on", "off"):
            # PostgreSQL compiles any statement its planner costs above jit_above_cost; a scoped
            # count over 200,000 applications spent 430 of its 620 ms compiling. Short queries
            # gain nothing from it. DB_JIT=server keeps the server's setting (e.g. behind a pooler
            # that refuses startup options).
            from sqlalchemy.engine import make_url

            # connect_args replace the URL's own options (a search_path, say): keep them in front
            given = make_url(url).query.get("options") or ""
            given = " ".join(given) if isinstance(given, tuple) else given
            options["connect_args"]["options"] = f"{given} -c jit={jit}".strip()
    return options


def load_config(config: type | object) -> dict:
    """Resolve a config class into a dict, filling values that depend on the environment;
    ConfigError (one line) for a setting that is missing or wrong."""
    values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    if values["RUXUE_ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"RUXUE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {values['RUXUE_ENV']!r}")
    values["SECRET_KEY"] = values.get("SECRET_KEY") or _secret_key(values["RUXUE_ENV"])
    values["STAFF_TOTP_ROLES"] = totp_roles(values.get("STAFF_TOTP_ROLES"), values["RUXUE_ENV"], values["FAB_ROLES"])
    _check(values)
    if values["RUXUE_ENV"] == "production":
        values.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    values["SQLALCHEMY_DATABASE_URI"] = database_url(values["SQLALCHEMY_DATABASE_URI"])
    values["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(values["SQLALCHEMY_DATABASE_URI"]),
        **(values.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
    }
    return values


PRODUCTION_TOTP_ROLES = "Admin,BureauReviewer"


def totp_roles(raw, env: str, roles) -> tuple[str, ...]:
    """STAFF_TOTP_ROLES as a tuple of role names; unset: Admin and BureauReviewer in production,
    none in development and tests. A name that is not a role stops the start (a typo would
    otherwise leave that role without its second factor)."""
    if raw is None:
        raw = PRODUCTION_TOTP_ROLES if env == "production" else ""
    names = tuple(dict.fromkeys(n.strip() for n in (raw.split(",") if isinstance(raw, str) else raw) if n.strip()))
    unknown = [n for n in names if n not in roles]
    if unknown:
        raise ConfigError(f"STAFF_TOTP_ROLES names {', '.join(unknown)}, which is not a role "
                          f"(roles: {', '.join(roles)})")
    return names


def _check(values: dict) -> None:
    """The settings a county gets wrong most, each refused with what to do instead."""
    production = values["RUXUE_ENV"] == "production"
    if production and values["SMS_SENDER"] in LOG_ONLY_SENDERS and not values.get("ALLOW_LOG_SMS"):
        raise ConfigError(f"SMS_SENDER is {values['SMS_SENDER']}, which sends no SMS: plug in the county's gateway "
                          "(see app/services/sms.py), or set RUXUE_ALLOW_LOG_SMS=1 to run without one")
    module, _, name = values["SMS_SENDER"].rpartition(".")
    try:
        getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"SMS_SENDER={values['SMS_SENDER']!r} cannot be imported (module.ClassName)") from None
    if values["STORAGE_BACKEND"] not in ("local", "s3"):
        raise ConfigError(f"STORAGE_BACKEND must be local or s3, not {values['STORAGE_BACKEND']!r}")
    if values["STORAGE_BACKEND"] == "s3" and not values["S3_BUCKET"]:
        raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a store other than AWS)")
    url = values["SQLALCHEMY_DATABASE_URI"] or ""
    if not url.startswith(("sqlite:", "postgresql", "postgres:")):
        raise ConfigError(f"DATABASE_URL must start with postgresql:// or sqlite:///, not {url.split(':')[0]!r}")
    for key in ("REDIS_URL", "RATELIMIT_STORAGE_URI"):
        if values.get(key) and not str(values[key]).startswith(("redis://", "rediss://", "memory://", "redis+")):
            raise ConfigError(f"{key} must be a redis:// address")
