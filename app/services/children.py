"""Binding children to parent accounts: one account, several children; a child, one account."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, contains_eager

from app.errors import UserError
from app.models import ACTIVE_STATUSES, ID_TYPES, Application, Child, ParentAccount
from app.services.ids import IdNumberError, parse_resident_id
from app.services.input_limits import NAME_MAX, LimitError, check_date, check_person_name, check_text, normalized
from app.services.persist import insert_unless_exists


# passports, Hong Kong / Macau / Taiwan permits, foreigners' permanent residence cards
DOCUMENT_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9()\-]{3,31}")


class ChildError(UserError):
    """A rule refused the input; ``message`` says why."""


def add_child(
    session: Session,
    account: ParentAccount,
    name: str,
    id_type: str,
    id_number: str,
    birth_date: dt.date | None = None,
    sex: str | None = None,
    today: dt.date | None = None,
    periods=(),
) -> Child:
    """Bind a child to the account; a resident ID gives birth date and sex, other documents need them typed.
    ``periods`` (open and coming) refuse at once a child no period can take (Dengfeng's 采集 rule)."""
    name = _checked_name(name)
    if id_type not in ID_TYPES:
        raise ChildError(_l("Choose the type of ID document."))
    number = normalized(id_number).strip().upper().replace(" ", "")
    try:
        check_text(number, _l("Document number"), 32)
        if id_type != "resident_id" and number and not DOCUMENT_NUMBER.fullmatch(number):
            raise ChildError(_l("The document number may contain only letters, digits, brackets and hyphens."))
        if id_type != "resident_id":
            check_date(birth_date, _l("Birth date"), "birth", today)
    except LimitError as error:
        raise ChildError(error.message) from None
    if id_type == "resident_id":
        try:
            parsed = parse_resident_id(number, today)
            check_date(parsed.birth_date, _l("Birth date"), "birth", today)  # an adult's ID is not a child's
        except (IdNumberError, LimitError) as error:
            raise ChildError(error.message) from None
        number, birth_date, sex = parsed.number, parsed.birth_date, parsed.sex
    else:
        if not number:
            raise ChildError(_l("Enter the document number."))
        if birth_date is None:
            raise ChildError(_l("Enter the birth date for this type of document."))
        if sex not in ("M", "F"):
            raise ChildError(_l("Choose the child's sex."))
    problem = age_problem(birth_date, periods)
    if problem is not None:
        raise ChildError(problem)
    values = {"name": name, "birth_date": birth_date, "sex": sex}
    created = insert_unless_exists(session, Child, {"id_type": id_type, "id_number": number, "account_id": account.id, **values},
                                   ["id_type", "id_number"])
    child = session.scalar(select(Child).where(Child.id_type == id_type, Child.id_number == number))
    if not created:
        if child.account_id == account.id:
            raise ChildError(_l("This child is already in your list."))
        # bind only if still unbound: two families binding one child at once cannot both win
        claimed = session.execute(
            update(Child).where(Child.id == child.id, Child.account_id.is_(None)).values(account_id=account.id, **values)
        ).rowcount
        session.refresh(child)
        if not claimed:
            raise _bound_elsewhere(child)
    session.commit()
    return child


def _checked_name(name: str) -> str:
    """The child's name as on the household register: the same check on adding and correcting it."""
    name = (name or "").strip()
    if not name:
        raise ChildError(_l("Enter the child's name as on the household register."))
    try:
        check_person_name(name, _l("Child's name"), NAME_MAX)
    except LimitError as error:
        raise ChildError(error.message) from None
    return name


def age_problem(birth: dt.date | None, periods) -> object | None:
    """A child born after every period's window is too young, before every window too old: the
    parent hears it when adding the child, not later as "no open period". A period without a
    window (a transfer taking any age) leaves that side open."""
    if birth is None or not periods:
        return None
    latest = [p.birth_to for p in periods]
    earliest = [p.birth_from for p in periods]
    if None not in latest and birth > max(latest):
        return _l("The child is too young: no registration is needed yet (this year's periods take children born "
                  "on or before %(d)s).", d=max(latest).isoformat())
    if None not in earliest and birth < min(earliest):
        return _l("The child is older than the school-entry age of every period (born on or after %(d)s): please "
                  "check the ID number or birth date.", d=min(earliest).isoformat())
    # between two stages' windows (too old for grade 1, too young for grade 7): no period takes them either
    if not any((p.birth_from is None or p.birth_from <= birth) and (p.birth_to is None or birth <= p.birth_to) for p in periods):
        windows = sorted({(p.birth_from or dt.date.min, p.birth_to or dt.date.max) for p in periods})
        shown = "; ".join(f"{'' if a == dt.date.min else a.isoformat()}–{'' if b == dt.date.max else b.isoformat()}"
                          for a, b in windows)
        return _l("The child's age fits none of this year's periods (they take children born %(w)s): please check the "
                  "ID number or birth date.", w=shown)
    return None


def _bound_elsewhere(child: Child) -> ChildError:
    return ChildError(
        _l(
            "This child is already bound to the account %(phone)s. Ask that family member to unbind the child, or log in with that account.",
            phone=child.account.phone_masked if child.account else "",
        )
    )


def own_child(session: Session, account_id: int, child_id: int) -> Child | None:
    """The child only if it is bound to this account, whatever id a URL carries (the account
    row comes in the same statement)."""
    return session.scalar(
        select(Child).join(ParentAccount, Child.account_id == ParentAccount.id)
        .where(Child.id == child_id, ParentAccount.id == account_id).options(contains_eager(Child.account))
    )


def account_children_statement(account_id: int):
    return select(Child).where(Child.account_id == account_id).order_by(Child.id)


# a name is read by reviewers from the child's row: once an application is with them it stays
NAME_FIXED = ("submitted", "in_review", "approved", "admitted", "reassigned")


def active_application(session: Session, child: Child, statuses=ACTIVE_STATUSES) -> Application | None:
    """The child's application that is submitted and not yet withdrawn or rejected, if any."""
    return session.scalar(select(Application).where(Application.child_id == child.id, Application.status.in_(statuses))
                          .order_by(Application.id.desc()).limit(1))


def unbind_problem(session: Session, child: Child):
    """Why the child cannot be unbound now, or None: an application in progress stays with the
    account that submitted it (another account binding the child would see it and its messages)."""
    found = active_application(session, child)
    if found is not None:
        return _l("%(name)s has application %(n)s in progress, so the child stays bound to this account until it is "
                  "decided or withdrawn.", name=child.name, n=found.number)
    return None


def unbind(session: Session, account: ParentAccount, child: Child) -> None:
    """Release the child so another family member's account can bind it; its records stay."""
    if child.account_id != account.id:
        raise ChildError(_l("This child is not bound to your account."))
    _change_unless(session, account, child, ACTIVE_STATUSES, unbind_problem, account_id=None)


def rename_problem(session: Session, child: Child):
    found = active_application(session, child, NAME_FIXED)
    if found is not None:
        return _l("Application %(n)s is with the reviewers, so the name can no longer be changed here. Withdraw it "
                  "first, or ask the school to return it for correction.", n=found.number)
    return None


def rename(session: Session, account: ParentAccount, child: Child, name: str) -> None:
    """Correct the child's name (个人中心—我的孩子—修改) while no application is under review."""
    if child.account_id != account.id:
        raise ChildError(_l("This child is not bound to your account."))
    _change_unless(session, account, child, NAME_FIXED, rename_problem, name=_checked_name(name))


def _change_unless(session: Session, account: ParentAccount, child: Child, statuses, problem_of, **values) -> None:
    """Change the child's row unless it has an application in one of ``statuses``, checked in the
    UPDATE itself: an application submitted meanwhile from another tab wins, with its message."""
    problem = problem_of(session, child)
    if problem is not None:
        raise ChildError(problem)
    changed = session.execute(
        update(Child).where(Child.id == child.id, Child.account_id == account.id,
                            ~select(Application.id).where(Application.child_id == child.id,
                                                          Application.status.in_(statuses)).exists())
        .values(**values)
    ).rowcount
    session.commit()
    session.refresh(child)
    if not changed:
        raise ChildError(problem_of(session, child) or _l("This child is not bound to your account."))
