"""The application state machine: every status change goes through transition()."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.errors import UserError
from app.model_base import county_now
from app.models import Application, ApplicationEvent
from app.services import audit, notifications
from app.services.input_limits import LimitError, cap_reason

PARENT = "parent"
STAFF = "staff"
SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    actor: str
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(frozenset({"draft"}), "submitted", PARENT),
    "resubmit": Transition(frozenset({"returned"}), "submitted", PARENT),
    "withdraw": Transition(frozenset({"submitted"}), "draft", PARENT),
    "start_review": Transition(frozenset({"submitted"}), "in_review", STAFF),
    "approve": Transition(frozenset({"in_review"}), "approved", STAFF),
    "return": Transition(frozenset({"in_review"}), "returned", STAFF, needs_reason=True),
    "reject": Transition(frozenset({"in_review"}), "rejected", STAFF, needs_reason=True),
    # the family changes a submitted application where the period allows it: on the timeline
    "amend": Transition(frozenset({"submitted"}), "submitted", PARENT),
    # 删除 (Dengfeng): the family takes its application back for good; the child may start again
    "delete": Transition(frozenset({"draft", "submitted", "returned"}), "withdrawn", PARENT),
    "admit": Transition(frozenset({"approved"}), "admitted", SYSTEM),
    "reassign": Transition(frozenset({"approved"}), "reassigned", SYSTEM),
}


class TransitionError(UserError):
    """A rule refused the input; ``message`` says why."""


def transition(
    session: Session,
    application: Application,
    name: str,
    *,
    user_id: int | None = None,
    account_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> ApplicationEvent:
    """Move an application along one transition and record the event; the caller commits."""
    step = TRANSITIONS.get(name)
    if step is None:
        raise TransitionError(_l("Unknown action."))
    if application.status not in step.sources:
        raise TransitionError(
            _l("Application %(number)s cannot do this in its current status.", number=application.number)
        )
    try:
        reason = cap_reason(reason)
    except LimitError as error:
        raise TransitionError(error.message) from None
    if step.needs_reason and not reason:
        raise TransitionError(_l("A reason is required."))
    now = now or county_now()
    event = ApplicationEvent(
        application=application,
        at=now,
        actor_user_id=user_id,
        actor_account_id=account_id,
        from_status=application.status,
        to_status=step.target,
        reason=reason.strip(),
    )
    application.status = step.target
    if name in {"submit", "resubmit"}:
        application.submitted_at = now
    if name == "withdraw":
        application.withdrawal_count += 1
    if step.actor == STAFF:
        application.reviewed_at = now
        application.reviewed_by_id = user_id
    if name == "return":
        application.return_reason = reason.strip()
    session.add(event)
    refused = changed_elsewhere(application)  # read now: after a failed flush nothing can be loaded
    try:
        # The version column makes this UPDATE conditional: if anyone moved the application since
        # we read it (another tab, a reviewer, a double click), nothing is written.
        session.flush()
    except StaleDataError:
        raise TransitionError(refused) from None
    notifications.notify(session, application, name, reason.strip(), now)
    audit.log(session, f"status:{name}", f"application {application.number}", detail=f"{event.from_status} → {step.target}",
              user_id=user_id)
    return event


def record_amendment(session: Session, application: Application, what) -> None:
    """A submitted application the family changed (the period lets it edit until the close): the
    change goes on its timeline, and the reviewers' flags are recomputed to show it."""
    if application.status != "submitted":
        return
    transition(session, application, "amend", account_id=application.child.account_id,
               reason=str(_l("Changed after submission: %(what)s", what=what)))
    application.flags_stale = True


def status_words(text: str) -> dict[str, tuple[str, str]]:
    """A period's own words for the statuses, ``status|中文|English`` per line (Shimen: submitted
    reads 正在审核中; Dengfeng: 审核中, 有误, 已提交); UserError names a line that is no status."""
    from app.models import STATUSES
    from app.services.sections import parse_choices

    found = {}
    for status, zh, en in parse_choices(text):
        if status not in STATUSES:
            raise TransitionError(_l("“%(s)s” is not a status; use one of %(all)s.", s=status, all=", ".join(STATUSES)))
        found[status] = (zh, en)
    return found


def checked_status_words(text: str) -> str:
    status_words(text or "")
    return text


def changed_elsewhere(application: Application):
    return _l("Application %(number)s was changed by someone else; reload and try again.", number=application.number)
