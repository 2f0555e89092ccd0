"""When the database or the file store is busy or unreachable: a light 503 page, never a stack trace.

A full connection pool (``pool_timeout`` passed), a refused or dropped connection: the request
is answered 503 with ``Retry-After`` and a page that needs nothing from the database. Each step
of the parents' form commits on its own, so everything saved before stays saved; the failed
request's own transaction is rolled back.
"""
from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from flask import Response, current_app, g, jsonify, request
from flask_babel import get_locale, gettext
from sqlalchemy import exc

from app.storage import StorageUnavailable, StoredFileMissing, s3_error

log = logging.getLogger("ruxue.db")

UNAVAILABLE = (exc.TimeoutError, exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)

# Said when the page itself cannot be drawn (it never touches the database, but just in case).
FALLBACK = "系统繁忙，请稍后再试 / The system is busy; please try again later."


def register_error_handlers(app) -> None:
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    for kind in UNAVAILABLE:
        app.register_error_handler(kind, database_unavailable)
    app.register_error_handler(exc.DBAPIError, _dbapi_error)
    app.register_error_handler(StorageUnavailable, storage_unavailable)
    app.register_error_handler(StoredFileMissing, stored_file_missing)
    # the storage browser (Flask-Admin's S3 file admin) calls boto3 itself
    app.register_error_handler(BotoCoreError, _s3_failed)
    app.register_error_handler(ClientError, _s3_failed)
    app.register_error_handler(CSRFError, lambda error: error_page(400, csrf=True))
    app.register_error_handler(HTTPException, lambda error: error_page(error.code or 500))
    app.register_error_handler(Exception, _unexpected)
    app.before_request(_drop_unreadable_paging)


def _unexpected(error: Exception):
    """Anything else: recorded with its traceback in the log (never on the page), a polite 500."""
    if isinstance(error, exc.DBAPIError):
        return _dbapi_error(error)
    log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.endpoint, exc_info=error)
    _rollback_quietly()
    return error_page(500)


def _messages(code: int, csrf: bool):
    from flask_babel import gettext

    if csrf:
        return gettext("The form has expired."), gettext("Go back, reload the page and send the form again.")
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return {
        400: (gettext("The request could not be read."), gettext("Go back and try again.")),
        401: (gettext("Please sign in first."), ""),
        403: (gettext("You are not allowed to open this page."), gettext("If you need it, ask county IT for the right role.")),
        404: (gettext("This page does not exist."), gettext("The link may be old or mistyped.")),
        405: (gettext("This page cannot be used that way."), gettext("Go back and use the buttons on the page.")),
        413: (gettext("The file or form is too large."), gettext("At most %(n)d MB can be sent at once.", n=limit // (1024 * 1024))),
        429: (gettext("Too many requests."), gettext("Please wait a moment and try again.")),
    }.get(code, (gettext("Something went wrong on our side."), gettext("It has been recorded. Please try again in a moment.")))


def error_page(code: int, csrf: bool = False):
    """The error in the user's language: JSON for the API, the admin layout for staff signed
    in, a light page for everyone else; always a way back, never a stack trace."""
    from flask import render_template
    from flask_login import current_user

    from app.views.public.pages import same_site_path

    title, detail = _messages(code, csrf)
    if request.path.startswith("/api/"):
        response = jsonify(message=title)
    else:
        back = same_site_path(request.referrer) if request.referrer else None
        staff = request.blueprint != "public" and getattr(current_user, "is_authenticated", False)
        try:
            if staff:
                from app.extensions import appbuilder

                body = render_template("staff/error.html", title=title, detail=detail, home="/admin/", back=back,
                                       appbuilder=appbuilder, base_template=appbuilder.base_template)
            else:
                lang = "en" if str(get_locale()) == "en" else "zh-CN"
                body = current_app.jinja_env.get_template("public/error.html").render(
                    title=title, detail=detail, home="/", back=back, lang=lang)
        except Exception:  # the page itself failed: still one line, never a traceback
            log.exception("the error page could not be drawn")
            body = f"{title} {detail}"
        response = Response(body, mimetype="text/html")
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


def _drop_unreadable_paging():
    """FAB reads page_<view> and psize_<view> with int() on every list and detail page: an
    argument that does not parse is dropped (with a message) instead of becoming a 500."""
    if not request.args or request.method not in ("GET", "HEAD"):
        return None  # most requests (every post, most pages): nothing to read
    from flask import flash, redirect
    from flask_babel import gettext
    from werkzeug.datastructures import MultiDict

    from app.views.lists import page_args_problem

    if page_args_problem(request.args) is None:
        return None
    kept = MultiDict([(k, v) for k, v in request.args.items(multi=True) if not k.startswith(("page_", "psize_"))])
    flash(gettext("The page number or size was not a number; the first page is shown."), "warning")
    from urllib.parse import urlencode

    query = urlencode(list(kept.items(multi=True)))
    return redirect(request.path + (f"?{query}" if query else ""))


def _dbapi_error(error: exc.DBAPIError):
    """Other driver errors count only when the connection was lost under them."""
    if error.connection_invalidated:
        return database_unavailable(error)
    raise error


def database_unavailable(error: Exception) -> Response:
    g.db_unavailable = True  # context processors that query the database skip their query
    _rollback_quietly()
    _log(error)
    return _busy()


def storage_unavailable(error: StorageUnavailable) -> Response:
    """The file store is down: what the request began in the database is undone, and nothing of
    the file or the form goes into the log."""
    _rollback_quietly()
    log.warning("file storage unavailable: %s; %s %s answered 503", error, request.method, request.endpoint)
    return _busy()


def stored_file_missing(error: StoredFileMissing) -> Response:
    log.warning("a stored file is missing (key %s); %s %s answered 404", error, request.method, request.endpoint)
    return error_page(404)


def _s3_failed(error: Exception) -> Response:
    meant = s3_error(error)
    return stored_file_missing(meant) if isinstance(meant, StoredFileMissing) else storage_unavailable(meant)


def _busy() -> Response:
    retry_after = str(current_app.config.get("RUXUE_RETRY_AFTER", 30))
    message = gettext("The system is busy; please try again later.")
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(message=message)
    else:
        response = Response(_page(), mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = retry_after
    response.headers["Cache-Control"] = "no-store"
    return response


def _rollback_quietly() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: nothing left to undo
        pass


def _log(error: Exception) -> None:
    """One line, without the request's data: the exception's text can hold the SQL parameters
    (children's ID numbers), so only its kind, the driver's error class and code go out."""
    orig = getattr(error, "orig", None)
    detail = type(error).__name__
    if orig is not None:
        detail += " from %s.%s" % (type(orig).__module__.split(".")[0], type(orig).__name__)
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        if code:  # e.g. 08006 (connection lost), 40P01 (deadlock), SQLITE_BUSY
            detail += " code=%s" % code
    if isinstance(error, exc.TimeoutError):
        detail += " (%s)" % _pool_status()
    log.warning("database unavailable: %s; %s %s answered 503", detail, request.method, request.endpoint)


def _pool_status() -> str:
    from app.extensions import db

    try:
        return db.engine.pool.status()
    except Exception:
        return "pool status unknown"


def _page() -> str:
    """Drawn straight from the Jinja environment: Flask's render_template would run every
    context processor, and Flask-Login's loads the staff user from the database."""
    path = request.full_path if request.method == "GET" else request.path
    back = request.script_root + "/" + path.rstrip("?").lstrip("/")  # a path on this site, never //host
    lang = "en" if str(get_locale()) == "en" else "zh-CN"
    try:
        template = current_app.jinja_env.get_template("public/busy.html")
        return template.render(back=back, lang=lang)
    except Exception:
        log.exception("the busy page could not be drawn")
        return FALLBACK
