"""What a parent is told when their application moves: a message-centre entry and an SMS."""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from sqlalchemy import select

from app.model_base import county_now
from app.models import Application, Message, MessageTemplate

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
}


MAX_SMS_ATTEMPTS = 5


class _Blank(dict):
    def __missing__(self, key):
        return ""


def sender():
    return current_app.extensions.get("ruxue_sms") if has_app_context() else None


def _text(session: Session, step: str, values: dict) -> tuple[str, str] | None:
    """The county's template for the step in the default language, else the built-in one."""
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh") if has_app_context() else "zh"
    custom = session.scalar(select(MessageTemplate).where(MessageTemplate.step == step, MessageTemplate.locale == locale))
    if custom is not None:
        blank = _Blank(values)
        return custom.title.format_map(blank), custom.body.format_map(blank)
    template = TEMPLATES.get(step)
    if template is None:
        return None
    return str(template[0]), str(template[1] % values)


def notify(session: Session, application: Application, step: str, reason: str = "", now=None) -> Message | None:
    """Write the parent's message and send it as an SMS; a failed send never undoes the change."""
    account = application.child.account if application.child else None
    if account is None:
        return None
    values = {"number": application.number, "child": application.child.name, "reason": reason}
    text = _text(session, step, values)
    if text is None:
        return None
    message = Message(account=account, application=application, title=text[0], body=text[1], sms_status="pending",
                      sms_attempts=0, created_at=now or county_now())
    session.add(message)
    deliver(message)
    return message


def deliver(message: Message) -> bool:
    """One SMS attempt; the message records whether it went out."""
    sms = sender()
    if sms is None:
        return False
    message.sms_attempts = (message.sms_attempts or 0) + 1
    try:
        sms.send(message.account.phone, f"{message.title}：{message.body}")
    except Exception:  # a gateway failure must not block the transition
        log.warning("SMS for message to account %s failed (attempt %d)", message.account.id, message.sms_attempts)
        message.sms_status = "failed"
        return False
    message.sms_status = "sent"
    message.sms_sent_at = county_now()
    return True


def retry_failed(session: Session) -> tuple[int, int]:
    """Send again every message whose SMS failed, up to MAX_SMS_ATTEMPTS; returns (sent, still failing)."""
    rows = session.scalars(
        select(Message)
        .where(Message.sms_status.in_(("failed", "pending")), Message.sms_attempts < MAX_SMS_ATTEMPTS)
        .order_by(Message.id)
    ).all()
    sent = sum(1 for m in rows if deliver(m))
    session.commit()
    return sent, len(rows) - sent
