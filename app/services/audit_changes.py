"""Every change to the county's set-up and to staff accounts, in the audit trail, from one place.

A session hook rather than a call in each view: the admin's generated forms, the REST API, the
county file import and the CLI all end in a flush, so none of them can forget. The audit row is
added to the same flush, so it commits with the change or rolls back with it. Applications are
not here: their every status change is logged by the workflow (app/services/workflow.py).
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import MessageTemplate, ReasonTemplate, ReviewerSchool
from app.services import audit
from app.services.setup_changes import SETUP_MODELS

# FAB's own bookkeeping on a user row changes at every sign-in; that is logged as the sign-in
IGNORED_COLUMNS = frozenset({"last_login", "login_count", "fail_login_count", "changed_on", "changed_by_fk",
                             "created_on", "created_by_fk", "password", "updated_at"})
# one flush touching more rows than this (a county file) is recorded as counts per table
ROWS_ONE_BY_ONE = 50


def _audited_models() -> tuple[type, ...]:
    from flask_appbuilder.security.sqla.models import Role, User

    return (*SETUP_MODELS, ReviewerSchool, ReasonTemplate, MessageTemplate, User, Role)


def _changed_columns(obj) -> list[str]:
    state = inspect(obj)
    return [a.key for a in state.mapper.column_attrs
            if a.key not in IGNORED_COLUMNS and state.attrs[a.key].history.has_changes()]


def _changed_relations(obj) -> list[str]:
    state = inspect(obj)
    return [r.key for r in state.mapper.relationships if state.attrs[r.key].history.has_changes() and r.secondary is not None]


def _label(obj) -> str:
    table = obj.__table__.name
    key = inspect(obj).identity
    return f"{table} {key[0] if key else 'new'}: {obj}"[:128]


def changes(session: Session) -> list[tuple[str, object, str]]:
    """(verb, object, detail) for each audited row this flush adds, updates or deletes."""
    audited = _audited_models()
    found = []
    for obj in session.new:
        if isinstance(obj, audited):
            found.append(("add", obj, ""))
    for obj in session.dirty:
        if isinstance(obj, audited) and session.is_modified(obj):
            fields = _changed_columns(obj) + _changed_relations(obj)
            if fields:
                found.append(("update", obj, ", ".join(fields)))
    for obj in session.deleted:
        if isinstance(obj, audited):
            found.append(("delete", obj, ""))
    return found


def _before_flush(session: Session, _context, _instances) -> None:
    if session.info.get("audit_changes_off"):
        return
    with session.no_autoflush:  # a label that loads a relation must not flush again from here
        found = changes(session)
        if len(found) > ROWS_ONE_BY_ONE:
            counts = Counter((verb, obj.__table__.name) for verb, obj, _ in found)
            for (verb, table), n in sorted(counts.items()):
                audit.log(session, f"setup:{verb}", table, detail=f"{n} rows")
            return
        for verb, obj, detail in found:
            audit.log(session, f"setup:{verb}", _label(obj), detail=detail)


def install() -> None:
    """Listen on every session (idempotent: create_app may run several times in one process)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)

