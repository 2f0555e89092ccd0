"""The audit trail: one function every route, command and service writes through.

Who and from where come from the request when there is one (the signed-in staff user, the
parent's account, the client address as the trusted proxy gives it), else "system". The row is
added to the caller's session, so it commits or rolls back with the change it records; a read
(a full ID, a file, an export) commits its row at once.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.errors import UserError

from app.labels import CHOICES, COLUMNS
from app.models import AuditLog

RETENTION_DAYS = 180  # at least: 等保 asks for six months of audit records
PURGE_BATCH = 5000  # rows per DELETE: one purge never holds the table for long


def actor() -> tuple[int | None, str, str]:
    """(staff user id, who, address) of the current request."""
    if not has_request_context():
        return None, "system", ""
    address = (request.remote_addr or "")[:45]
    user = g.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return user.id, user.username[:80], address
    parent = g.get("parent_id")
    if parent:
        return None, f"parent:{parent}", address
    return None, "anonymous", address


def log(session: Session, action: str, object_: str = "", result: str = "ok", detail: str = "",
        user_id: int | None = None, who: str | None = None, commit: bool = False) -> None:
    current_id, current_who, address = actor()
    session.add(AuditLog(actor_user_id=user_id if user_id is not None else current_id, actor=(who or current_who)[:80],
                         address=address, action=action[:40], object=str(object_)[:128], result=result[:16],
                         detail=str(detail)[:255]))
    if commit:
        session.commit()


def record(session: Session, user_id: int | None, kind: str, application_id: int | None, detail: str = "") -> None:
    """A sensitive read (a full ID number, an attachment): recorded and committed at once."""
    log(session, f"read:{kind}", f"application {application_id}" if application_id else "", detail=detail,
        user_id=user_id, commit=True)


ACTIONS = {
    "login": _l("Sign-in"),
    "logout": _l("Sign-out"),
    "password": _l("Password changed"),
    "totp": _l("Second factor"),
    "read": _l("Viewed"),
    "export": _l("Export"),
    "status": _l("Status change"),
    "setup": _l("Set-up change"),
    "allocation": _l("Allocation"),
    "county": _l("County file"),
    "audit": _l("Audit log"),
    "registry": _l("Department records"),
    "child_lookup": _l("Child lookup"),
}
RESULTS = {"ok": _l("Succeeded"), "refused": _l("Refused"), "failed": _l("Failed")}


# The part after the colon, in words; codes not listed here are shown as stored (a table name, a format).
DETAILS = {
    "status": {**CHOICES["step"], "amend": _l("changed after submission")},
    "read": {"full_id": _l("Full ID number"), "attachment": _l("Attachment"), "storage": _l("Stored file"),
             "registry": _l("Department records"), "lookup_file": _l("Child lookup material")},
    "setup": {"add": _l("added"), "update": _l("changed"), "delete": _l("deleted")},
    "export": {"csv": "CSV", "xlsx": "Excel", "job": _l("export job"), "file": _l("export file"),
               "audit_log": _l("Audit log")},
    "totp": {"enrol": _l("set up"), "reset": _l("reset by an administrator")},
    "audit": {"purge": _l("records past the retention deleted")},
    "registry": {"import": _l("extract imported"), "withdraw": _l("extract withdrawn"), "purge": _l("past cycles purged"),
                 "read": _l("records read for a check")},
    "child_lookup": {"confirm": _l("confirmed by the family"), "appeal": _l("guardian appeal sent"),
                     "registration": _l("enrollment registration sent"), "approve": _l("approved"), "return": _l("returned"),
                     "purge": _l("past cycles purged")},
}


def action_words(action: str) -> str:
    """"status:submit" → "状态变更（已提交）": the kind and its detail in words."""
    kind, _, what = (action or "").partition(":")
    label = ACTIONS.get(kind)
    if not label:
        return action
    if not what:
        return str(label)
    return f"{label}（{DETAILS.get(kind, {}).get(what, what)}）"


# Details the sign-in writes, in words; "api: …" is the REST API's sign-in.
API = _l("REST interface")
SIGN_IN_DETAILS = {
    "locked: too many failures": _l("locked: too many failures"),
    "locked": _l("locked: too many failures"),
    "password": _l("wrong password"),
    "token": _l("token issued"),
    "second factor": _l("with the second factor"),
    "second factor set up": _l("second factor set up"),
    "second factor not set up": _l("second factor not set up yet"),
    "second factor: wrong": _l("wrong second-factor code"),
    "second factor: replayed": _l("second-factor code used again"),
    "second factor: missing": _l("second factor not set up yet"),
}


def detail_words(detail: str) -> str:
    """A status change's "submitted → in_review" and the sign-in's details in words; other
    details are data."""
    before, arrow, after = (detail or "").partition(" → ")
    statuses = CHOICES["status"]
    if arrow and before in statuses and after in statuses:
        return f"{statuses[before]} → {statuses[after]}"
    api, colon, rest = (detail or "").partition("api: ")
    if colon and not api and rest in SIGN_IN_DETAILS:
        return f"{API}：{SIGN_IN_DETAILS[rest]}"
    if detail in SIGN_IN_DETAILS:
        return str(SIGN_IN_DETAILS[detail])
    rows = ROWS.fullmatch(detail or "")
    if rows:
        return str(_l("%(n)s rows", n=rows.group(1)))
    if detail and FIELD_LIST.fullmatch(detail):  # a set-up change: the columns that changed
        return "、".join(str(COLUMNS.get(name, name)) for name in detail.split(", "))
    return detail or ""


NEW_ROW = _l("new")
ROWS = re.compile(r"(\d+) rows")
FIELD_LIST = re.compile(r"[a-z_]+(, [a-z_]+)*")


# An object is stored as "<kind> <key>" ("application SM-P1-0001") so that it stays searchable.
OBJECTS = {"applications": _l("Applications"), "application": _l("Application"), "user": _l("User"),
           "audit log": _l("Audit log")}


def _table_words() -> dict:
    """Set-up tables by their stored name ("school") in words ("学校"), from the county file's list."""
    from app.services.county_schema import TABLES

    return {t.model.__tablename__: t.label for t in TABLES}


def object_words(object_: str) -> str:
    """"application SM-P1-0001" → "报名 SM-P1-0001"; a kind not listed is shown as stored."""
    for kind, label in (*OBJECTS.items(), *_table_words().items()):
        if object_ == kind or (object_ or "").startswith(kind + " "):
            rest = object_[len(kind):]
            new = f"（{NEW_ROW}）" if rest.startswith(" new:") else ""
            return f"{label}{new}{rest.replace(' new:', ':', 1)}"
    return object_


ACTORS = {"system": _l("System"), "anonymous": _l("Anonymous visitor")}


def actor_words(who: str) -> str:
    """Stored codes stay searchable in English; the screen shows them in the reader's language."""
    if (who or "").startswith("parent:"):
        return f"{_l('Parent account')} {who.partition(':')[2]}"
    return str(ACTORS.get(who, who))


def result_words(result: str) -> str:
    return str(RESULTS.get(result, result))


def purgeable(session: Session, now: dt.datetime, days: int = RETENTION_DAYS) -> int:
    """Rows older than ``days`` (never fewer than the retention): what a purge would delete."""
    return session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.at < _cutoff(now, days)))


def purge(session: Session, now: dt.datetime, days: int = RETENTION_DAYS, batch: int = PURGE_BATCH) -> Iterator[int]:
    """Delete the rows older than ``days``, oldest first, ``batch`` rows per committed statement;
    yields each batch's count (for a progress bar). The database's own trigger refuses any row
    younger than the retention, so a wrong clock or argument cannot empty the trail. The purge
    itself is recorded."""
    cutoff = _cutoff(now, days)
    total = 0
    while True:
        oldest = select(AuditLog.id).where(AuditLog.at < cutoff).order_by(AuditLog.id).limit(batch)
        done = session.execute(delete(AuditLog).where(AuditLog.id.in_(oldest.scalar_subquery()))
                               .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if not done:
            break
        total += done
        yield done
    log(session, "audit:purge", "audit log", detail=f"{total} rows before {cutoff:%Y-%m-%d}", commit=True)


def _cutoff(now: dt.datetime, days: int) -> dt.datetime:
    if days < RETENTION_DAYS:
        raise UserError(_l("Audit records are kept at least %(n)d days.", n=RETENTION_DAYS))
    return now - dt.timedelta(days=days)
