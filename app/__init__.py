"""Ruxue (入学): compulsory-education enrollment for a county education bureau."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter


class DatabaseInt(IntegerConverter):
    """``<int:…>`` within a PostgreSQL integer."""

    def __init__(self, map, *args, **kwargs):
        from app.services.input_limits import INT_MAX

        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def create_app(config=None) -> Flask:
    """Build the app: bind extensions, register views and commands. Nothing runs on import."""
    from config import Config, load_config

    from app.cli import register_commands
    from app.extensions import appbuilder, cache, csrf, db, limiter, migrate
    from app.services import audit_changes
    from app.services.sms import load_sender
    from app.storage import from_config
    from app.views import register_views
    from app.views.errors import register_error_handlers
    from app.views.health import register_health
    from app.staff_auth import check_staff_session
    from app.web_security import secure
    from app.views.index import RuxueIndexView
    from app.views.public import register_public
    from app.views.storage_admin import register_storage_admin

    app = Flask(__name__, instance_relative_config=False)
    # before any route exists: a 20-digit id in a URL is a 404, not an integer the database refuses
    app.url_map.converters["int"] = DatabaseInt
    app.config.update(load_config(config or Config))
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    _log_ruxue_info()
    app.extensions["ruxue_sms"] = load_sender(app.config["SMS_SENDER"])
    app.extensions["ruxue_storage"] = from_config(app.config)

    app.before_request(_fresh_request_state)
    db.init_app(app)
    audit_changes.install()
    # migrations/env.py points Alembic at FAB's Model.metadata, which our tables share.
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True, compare_type=True)
    # CSRFProtect before AppBuilder, so bulk actions and deletes are CSRF-checked too.
    csrf.init_app(app)
    limiter.init_app(app)
    limiter.request_filter(_unlimited_request)
    cache.init_app(app)
    with app.app_context():
        appbuilder.indexview = RuxueIndexView
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
        register_public(app)
        register_storage_admin(app, str(_root() / "translations"))
    register_error_handlers(app)
    register_health(app)
    secure(app)
    app.before_request(check_staff_session)
    register_commands(app)
    _trust_proxies(app)
    _name_the_node(app)
    return app


def _name_the_node(app: Flask) -> None:
    """With several nodes behind a balancer, X-Ruxue-Node tells which one answered."""
    name = app.config.get("RUXUE_NODE_NAME")
    if name:
        @app.after_request
        def node_header(response):
            response.headers["X-Ruxue-Node"] = name
            return response


def _fresh_request_state() -> None:
    """g lives as long as the app context, which one request does not always own (tests, the
    CLI): the signed-in user and the parent are read again from this request's own session."""
    from flask import g

    for name in ("_login_user", "user", "parent", "unread"):
        g.pop(name, None)


def _trust_proxies(app: Flask) -> None:
    """Behind nginx the client address, scheme and host come from X-Forwarded-*, but only from
    as many proxies as PROXY_FIX_HOPS says: a header from anyone else is ignored."""
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # no x_prefix: Ruxue is served at the root, and a prefix from a header would end up in
        # every link of a cached page
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0)


# Endpoints that carry a rate limit. Every other request skips Flask-Limiter's per-request work
# (resolving limits for a route that has none), which is a noticeable share of a cheap page.
LIMITED_ENDPOINTS = frozenset({"public.signin", "AuthDBView.login"})


def _unlimited_request() -> bool:
    from flask import request

    return request.endpoint not in LIMITED_ENDPOINTS


def _log_ruxue_info() -> None:
    """The default SMS sender writes to the log: Ruxue's INFO lines must reach it."""
    logger = logging.getLogger("ruxue")
    logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
