"""The parents' public form: its own light templates, usable without JavaScript."""
from __future__ import annotations

import functools
import re

from flask_babel import get_locale
from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy import select

from app.errors import UserError
from app.extensions import db
from app.models import ParentAccount
from app.services.clock import local_now
from app.services.ids import mask_id

bp = Blueprint("public", __name__)
SESSION_KEY = "parent_account_id"


def now():
    return local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def storage():
    return current_app.extensions["ruxue_storage"]


@bp.before_request
def read_outside_a_transaction():
    """A page of the parents' site only reads (the message page's "mark read" is one statement):
    on PostgreSQL it runs without BEGIN and ROLLBACK, two round trips fewer per page."""
    if request.method in ("GET", "HEAD") and db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@bp.after_request
def signed_in_pages_are_not_kept(response):
    """A family's pages are not stored by the browser: going back after a submit fetches the page
    again (and is sent on to the application's progress) instead of showing a live old preview."""
    if request.path.startswith("/my") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.before_app_request
def load_parent():
    # Only the id: most steps need no account row (their queries join on the id), so the row is
    # read only by the pages that use it (current_parent()).
    g.parent_id = session.get(SESSION_KEY)
    # g outlives a request when the app context does (tests, CLI): start clean
    g.pop("parent", None)
    g.pop("unread", None)


def unread_count(parent_id: int):
    """The parent's unread messages, for the badge in the header; a page that queries anyway adds
    it to its own statement (as a column) and leaves it in g.unread."""
    from sqlalchemy import func, select

    from app.models import Message

    return select(func.count()).where(Message.account_id == parent_id, Message.read_at.is_(None)).scalar_subquery()


def current_parent() -> ParentAccount | None:
    if "parent" not in g:
        g.parent = db.session.get(ParentAccount, g.parent_id) if g.get("parent_id") else None
    return g.parent


@bp.app_template_test("safe_css")
def safe_css(value) -> bool:
    """A value that can stand in a CSS selector as it is (a condition's answer)."""
    return bool(re.fullmatch(r"[A-Za-z0-9_\-]+", str(value)))


@bp.app_context_processor
def public_context():
    unread = g.get("unread", 0)
    parent = g.get("parent_id")
    # After the database failed (app/views/errors.py), nothing more is read from it.
    if parent and "unread" not in g and not g.get("db_unavailable"):
        unread = db.session.scalar(select(unread_count(parent)))
    return {"parent": parent, "unread": unread, "status_label": status_label, "step_label": step_label,
            "mask": mask_id, "get_locale": get_locale,
            "mechanism_label": mechanism_label, "answer_text": answer_text, "check_words": check_words,
            "current_check": current_check, "waived": waived}


def current_check(application, section: str):
    from app.services import verification

    return verification.current(application, section)


def waived(application, material) -> bool:
    from app.services import applications

    return applications.waived(application, material)


def check_words(check: dict, section) -> str:
    """A section's 免证明 outcome in words, its field named by the section's own label."""
    from app.services import verification

    labels = {f.key: f.label for f in section.fields} if section is not None else {}
    return verification.words(check, lambda key: labels.get(key, key))


def answer_text(field, values: dict) -> str:
    """One stored answer as people read it: a choice by its label, an address with its community."""
    value = values.get(field.key)
    if field.kind == "address" and values.get(field.key + "_community"):
        from app.models import Community

        community = db.session.get(Community, values[field.key + "_community"])
        return " ".join(part for part in (community.name if community else "", value or "") if part)
    return field.text_of(value)


def mechanism_label(code: str):
    from app.labels import CHOICES

    return CHOICES["mechanism"].get(code, code)


def status_label(status: str, period=None):
    """The status as the parents' manual words it where the period says (Shimen: 正在审核中)."""
    from app.labels import CHOICES
    from app.services.sections import in_reader_language
    from app.services.workflow import status_words

    if period is not None and period.status_words:
        try:
            own = status_words(period.status_words).get(status)
        except UserError:
            own = None  # refused when saved; an older row falls back to the standard words
        if own is not None:
            return in_reader_language(*own)
    return CHOICES["status"].get(status, status)


def step_label(step: str) -> str:
    fixed = _fixed_step_label(step, str(get_locale()))
    if fixed is not None:
        return fixed
    from app.extensions import db
    from app.services import forms

    return forms.title(db.session, step)  # a form section: its title is data


@functools.lru_cache(maxsize=64)
def _fixed_step_label(step: str, _locale: str) -> str | None:
    """Translated once per language: the step list is drawn on every page of the form."""
    from flask_babel import lazy_gettext as _l

    names = {"channel": _l("Category"), "community": _l("Community"), "choices": _l("Schools"),
             "materials": _l("Materials"), "preview": _l("Preview")}
    return str(names[step]) if step in names else None


def parent_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not g.get("parent_id"):
            return redirect(url_for("public.signin", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def flash_error(message) -> None:
    flash(str(message), "error")


def register_public(app) -> None:
    from app.views.public import account, apply, child_lookup, pages  # noqa: F401  (routes)

    app.register_blueprint(bp)
