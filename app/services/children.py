"""Binding children to parent accounts: one account, several children; a child, one account."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, contains_eager

from app.errors import UserError
from app.models import ID_TYPES, Child, ParentAccount
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
) -> Child:
    """Bind a child to the account; a resident ID gives birth date and sex, other documents need them typed."""
    name = (name or "").strip()
    if not name:
        raise ChildError(_l("Enter the child's name as on the household register."))
    if id_type not in ID_TYPES:
        raise ChildError(_l("Choose the type of ID document."))
    number = normalized(id_number).strip().upper().replace(" ", "")
    try:
        check_person_name(name, _l("Child's name"), NAME_MAX)
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


def unbind(session: Session, account: ParentAccount, child: Child) -> None:
    """Release the child so another family member's account can bind it; its records stay."""
    if child.account_id != account.id:
        raise ChildError(_l("This child is not bound to your account."))
    child.account_id = None
    session.commit()
