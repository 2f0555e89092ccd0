"""What a parent is told when their application moves: a message-centre entry and an SMS."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.model_base import county_now
from app.services.input_limits import sms_text
from app.services.layouts import cached
from app.models import Application, Message, MessageTemplate, ParentAccount

log = logging.getLogger("ruxue.notifications")

TEMPLATES = {
    "submit": (_l("Application submitted"), _l("Application %(number)s for %(child)s was submitted. Follow its progress under My applications.")),
    "resubmit": (_l("Application submitted again"), _l("Application %(number)s for %(child)s was submitted again after correction.")),
    "withdraw": (_l("Application withdrawn"), _l("Application %(number)s for %(child)s was withdrawn to a draft. Submit it again before the deadline.")),
    "start_review": (_l("Review started"), _l("The school has started reviewing application %(number)s for %(child)s.")),
    "approve": (_l("Application approved"), _l("Application %(number)s for %(child)s passed review.")),
    "return": (_l("Application returned"), _l("Application %(number)s for %(child)s was returned: %(reason)s Please correct it and submit again.")),
    "reject": (_l("Application not approved"), _l("Application %(number)s for %(child)s was not approved: %(reason)s")),
    "admit": (_l("Admitted"), _l("%(child)s has been admitted (application %(number)s).")),
    "reassign": (_l("Reassigned"), _l("%(child)s has been placed at another school with seats (application %(number)s).")),
    # the child lookup (学生信息查询) before an application exists: %(number)s is the period's name
    "lookup_approve": (_l("Child lookup approved"), _l("The request for %(child)s was approved: go on with the application for %(number)s.")),
    "lookup_return": (_l("Child lookup returned"), _l("The request for %(child)s was returned: %(reason)s Please correct it and send it again.")),
}


MAX_SMS_ATTEMPTS = 5


class _Blank(dict):
    def __missing__(self, key):
        return ""


def sender():
    return current_app.extensions.get("ruxue_sms") if has_app_context() else None


def _template(session: Session, step: str) -> tuple[str, str, bool] | None:
    """(title, body, county's own?) for the step in the default language, else the built-in one."""
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh") if has_app_context() else "zh"
    def load():
        found = session.scalar(select(MessageTemplate).where(MessageTemplate.step == step, MessageTemplate.locale == locale))
        return None if found is None else (found.title, found.body)

    custom = cached(("message_template", step, locale), load)  # every submit and decision asks
    if custom is not None:
        return custom[0], custom[1], True
    template = TEMPLATES.get(step)
    if template is None:
        return None
    return str(template[0]), str(template[1]), False


def _compose(template: tuple[str, str, bool], values: dict) -> tuple[str, str]:
    title, body, custom = template
    if custom:
        blank = _Blank(values)
        return title.format_map(blank), body.format_map(blank)
    return title, body % values


def notify(session: Session, application: Application, step: str, reason: str = "", now=None) -> Message | None:
    """Write the parent's message into the outbox (the message centre shows it at once); the SMS
    goes out from `flask --app run send-messages`, never inside the request that made the change."""
    child = application.child
    if child is None:
        return None
    return notify_family(session, child.account_id, step, {"number": application.number, "child": child.name, "reason": reason},
                         application, now)


def notify_family(session: Session, account_id: int | None, step: str, values: dict, application: Application | None = None,
                  now=None) -> Message | None:
    """A message for the family's account from the step's template (the county's own if it wrote one)."""
    if account_id is None:
        return None
    template = _template(session, step)
    if template is None:
        return None
    title, body = _compose(template, values)
    message = Message(account_id=account_id, application=application, title=title, body=body, sms_status="pending",
                      sms_attempts=0, created_at=now or county_now())
    session.add(message)
    return message


def outbox_rows(session: Session, step: str, items, now) -> list[dict]:
    """Message rows for many applications at once (allocation publish): the template is read once.
    ``items``: (application_id, account_id, number, child_name)."""
    template = _template(session, step)
    if template is None:
        return []
    rows = []
    for application_id, account_id, number, child in items:
        if account_id is None:
            continue
        title, body = _compose(template, {"number": number, "child": child, "reason": ""})
        rows.append({"account_id": account_id, "application_id": application_id, "title": title, "body": body,
                     "created_at": now, "read_at": None, "sms_status": "pending", "sms_attempts": 0,
                     "sms_sent_at": None, "sms_next_at": None})
    return rows


def send_pending(session: Session, limit: int = 200, now: dt.datetime | None = None, pause=None) -> tuple[int, int]:
    """One pass of the outbox: claim up to ``limit`` due messages (rows other senders hold are
    skipped), send each, and record the outcome; a failure is tried again later, up to
    MAX_SMS_ATTEMPTS times with growing waits. Returns (sent, failed this pass)."""
    now = now or county_now()
    rows = session.execute(
        select(Message.id, Message.title, Message.body, Message.sms_attempts, ParentAccount.phone)
        .join(ParentAccount, ParentAccount.id == Message.account_id)
        .where(Message.sms_status == "pending", or_(Message.sms_next_at.is_(None), Message.sms_next_at <= now))
        .order_by(Message.id).limit(limit).with_for_update(of=Message, skip_locked=True)
    ).all()
    sms = sender()
    sent = failed = 0
    for message_id, title, body, attempts, phone in rows:
        if sms is None:
            break
        attempts = (attempts or 0) + 1
        try:
            sms.send(phone, sms_text(title, body))
        except Exception:  # a gateway failure: try again later, never lose the message
            failed += 1
            give_up = attempts >= MAX_SMS_ATTEMPTS
            log.warning("SMS for message %s failed (attempt %d%s)", message_id, attempts, ", giving up" if give_up else "")
            values = {"sms_attempts": attempts, "sms_status": "failed" if give_up else "pending",
                      "sms_next_at": None if give_up else now + dt.timedelta(minutes=2 ** attempts)}
        else:
            sent += 1
            values = {"sms_attempts": attempts, "sms_status": "sent", "sms_sent_at": county_now(), "sms_next_at": None}
        session.execute(update(Message).where(Message.id == message_id).values(**values))
        if pause:
            pause()
    session.commit()
    return sent, failed


def retry_failed(session: Session) -> tuple[int, int]:
    """Give every message that gave up a new round of attempts, try the waiting ones now, and
    send what is due (after a gateway outage is over)."""
    session.execute(update(Message).where(Message.sms_status == "failed").values(sms_status="pending", sms_attempts=0, sms_next_at=None))
    session.execute(update(Message).where(Message.sms_status == "pending", Message.sms_next_at.is_not(None)).values(sms_next_at=None))
    session.commit()
    return send_pending(session, limit=10_000)
