"""Conflict flags that help reviewers catch fraud and mistakes; each says why."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Application, ApplicationEvent, Attachment, Child, Guardian
from app.services.ids import IdNumberError, parse_resident_id
from app.services.sections import asked_for, split_values

# More children than this on one guardian ID is not plausible for one family.
MAX_CHILDREN_PER_GUARDIAN = 3

LABELS = {
    "shared_property": _l("Property used by another family"),
    "guardian_children": _l("Guardian on many children"),
    "duplicate_child": _l("Child in two active applications"),
    "birth_mismatch": _l("Birth date does not match the ID"),
    "missing_material": _l("Required material missing"),
    "amended": _l("Changed after submission"),
}


def words(codes: str) -> str:
    """Stored flag codes as the reviewer reads them."""
    return "、".join(str(LABELS.get(c, c)) for c in (codes or "").split(",") if c)


@dataclass(frozen=True)
class Flag:
    code: str
    why: object


def _family(application: Application):
    return application.child.account_id or -application.child_id


def compute(session: Session, application: Application) -> list[Flag]:
    found: list[Flag] = []
    cert = application.property_cert_no
    if cert:
        others = session.scalars(
            select(Application).where(
                Application.property_cert_no == cert,
                Application.id != application.id,
                Application.status.in_(ACTIVE_STATUSES),
            )
        ).all()
        numbers = sorted(a.number for a in others if _family(a) != _family(application))
        if numbers:
            found.append(Flag("shared_property", _l("Property certificate %(cert)s is also used by application(s) %(numbers)s of another family.", cert=cert, numbers=", ".join(numbers))))
    for guardian in application.child.guardians:
        children = session.scalar(
            select(func.count(func.distinct(Guardian.child_id))).where(Guardian.id_number == guardian.id_number)
        )
        if children > MAX_CHILDREN_PER_GUARDIAN:
            found.append(Flag("guardian_children", _l("Guardian %(name)s is recorded for %(n)d children.", name=guardian.name, n=children)))
            break
    twins = session.scalars(
        select(Application.number).where(
            Application.child_id == application.child_id,
            Application.id != application.id,
            Application.status.in_(ACTIVE_STATUSES),
        )
    ).all()
    if twins and application.status in ACTIVE_STATUSES:
        found.append(Flag("duplicate_child", _l("The same child also has active application(s) %(numbers)s.", numbers=", ".join(sorted(twins)))))
    child: Child = application.child
    if child.id_type == "resident_id" and child.birth_date:
        try:
            from_id = parse_resident_id(child.id_number).birth_date
        except IdNumberError:
            from_id = None
        if from_id != child.birth_date:
            found.append(Flag("birth_mismatch", _l("Birth date %(d)s does not match the ID number.", d=child.birth_date.isoformat())))
    amended = session.scalar(select(func.count()).where(
        ApplicationEvent.application_id == application.id, ApplicationEvent.from_status == "submitted",
        ApplicationEvent.to_status == "submitted"))
    if amended:
        found.append(Flag("amended", _l("The family changed the application %(n)d time(s) after submitting it; the "
                                        "timeline says what.", n=amended)))
    if application.channel is not None and application.status != "draft":
        have = set(session.scalars(select(Attachment.material_type_id).where(Attachment.application_id == application.id)))
        answers = application.section_data or {}
        missing = [m.material_type.name for m in application.channel.materials
                   if m.required and m.material_type_id not in have
                   and asked_for(m.show_if, split_values(m.show_values or ""), answers)]
        if missing:
            found.append(Flag("missing_material", _l("Required material missing: %(names)s.", names="、".join(missing))))
    return found


def related(session: Session, application: Application) -> list[Application]:
    """Applications whose flags may change when this one does."""
    query = select(Application).where(Application.child_id == application.child_id)
    rows = set(session.scalars(query))
    if application.property_cert_no:
        rows |= set(session.scalars(select(Application).where(Application.property_cert_no == application.property_cert_no)))
    ids = [g.id_number for g in application.child.guardians]
    if ids:
        rows |= set(session.scalars(select(Application).join(Guardian, Guardian.child_id == Application.child_id).where(Guardian.id_number.in_(ids))))
    rows.add(application)
    return list(rows)


def _store(session: Session, row: Application) -> None:
    # A plain UPDATE of the derived column: it neither bumps nor checks the row's version, so a
    # flag refresh never makes a parent's or a reviewer's save fail.
    session.execute(
        update(Application).where(Application.id == row.id)
        .values(flags=",".join(f.code for f in compute(session, row)))
        .execution_options(synchronize_session=False)
    )


def refresh(session: Session, application: Application) -> None:
    """Recompute the stored flags of this application and of those it may conflict with."""
    for row in related(session, application):
        _store(session, row)


def refresh_stale(session: Session, batch: int = 200) -> int:
    """Recompute the flags of applications changed since (off the parents' path: the worker calls
    it). A row changed again while we computed stays marked and is done next time."""
    rows = session.execute(
        select(Application.id, Application.version).where(Application.flags_stale.is_(True)).order_by(Application.id).limit(batch)
    ).all()
    for application_id, version in rows:
        application = session.get(Application, application_id)
        if application is None:
            continue
        refresh(session, application)
        session.execute(
            update(Application).where(Application.id == application_id, Application.version == version)
            .values(flags_stale=False).execution_options(synchronize_session=False)
        )
        session.commit()
    return len(rows)


def refresh_all(session: Session) -> int:
    ids = session.scalars(select(Application.id).order_by(Application.id)).all()
    for n, application_id in enumerate(ids, start=1):
        _store(session, session.get(Application, application_id))
        if n % 500 == 0:
            session.commit()
            session.expunge_all()
    session.commit()
    return len(ids)
