"""What a parent is told when their application moves: a message-centre entry and an SMS."""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.models import Application, Message

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


def sender():
    return current_app.extensions.get("ruxue_sms") if has_app_context() else None


def notify(session: Session, application: Application, step: str, reason: str = "") -> Message | None:
    """Write the parent's message and send it as an SMS; a failed send never undoes the change."""
    template = TEMPLATES.get(step)
    account = application.child.account if application.child else None
    if template is None or account is None:
        return None
    values = {"number": application.number, "child": application.child.name, "reason": reason}
    message = Message(account=account, application=application, title=str(template[0]), body=str(template[1] % values))
    session.add(message)
    sms = sender()
    if sms is not None:
        try:
            sms.send(account.phone, f"{message.title}：{message.body}")
        except Exception:  # a gateway failure must not block the transition
            log.exception("SMS to account %s failed", account.id)
    return message
