"""安义's 学生信息查询: before applying in a period that turns it on, the child is looked up in the
household extract by ID number, with three outcomes.

- found and matching: the child and the household's members are shown masked, and the family
  confirms 与实际情况相符;
- found, but the guardians are not right (a single parent, a remarried family): the family appeals
  with materials;
- not found: the family sends an 入学登记 with the birth certificate and household book.

An appeal or a registration waits for district staff (the bureau's reviewers) in the admin; once
approved, the family goes on to the application. Only a masked copy of what the record showed is
kept on the lookup: the extract itself stays where it was imported.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import UserError
from app.models import Child, ChildLookup, ChildLookupFile, EnrollmentPeriod
from app.model_base import mask_id, mask_name
from app.services import audit, eligibility, notifications
from app.services.ids import IdNumberError, parse_resident_id, sex_of
from app.services.input_limits import normalized
from app.services.persist import commit_keeping_loaded
from app.services.registry import Query, RegistrySource
from app.storage import UploadError, check_upload, forget, new_key

SETTLED = ("confirmed", "approved")  # the family may go on to the application
ANSWERABLE = ("looked_up", "returned")  # the family may (again) confirm, appeal or register
MAX_FILES = 3  # per material
ACCEPTED, MAX_KB = "jpeg,png,pdf", 5120


@dataclass(frozen=True)
class Material:
    code: str
    label: object
    required: bool


# what an appeal (guardians not right) and an 入学登记 (not found) send, as the manual lists them
MATERIALS = {
    "appeal": (Material("household_book", _l("Household register (all guardians' pages and the child's page)"), True),
               Material("guardian_proof", _l("Proof of guardianship (divorce judgment, guardianship certificate, …)"), False)),
    "registration": (Material("birth_certificate", _l("Birth certificate"), True),
                     Material("household_book", _l("Household register (all guardians' pages and the child's page)"), True)),
}
OUTCOME_WORDS = {"matched": _l("Found in the household register"), "not_found": _l("Not found in the household register")}
STATUS_WORDS = {"looked_up": _l("Awaiting the family's answer"), "confirmed": _l("Confirmed by the family"),
                "pending": _l("Waiting for district review"), "approved": _l("Approved"), "returned": _l("Returned")}
REQUEST_WORDS = {"": "", "appeal": _l("Guardian appeal"), "registration": _l("Enrollment registration (入学登记)")}


class LookupRefused(UserError):
    """The lookup refused the step; ``message`` says why (in the family's language)."""


def material_label(code: str) -> str:
    for materials in MATERIALS.values():
        for material in materials:
            if material.code == code:
                return str(material.label)
    return code


def find(session: Session, child_id: int, period_id: int) -> ChildLookup | None:
    return session.scalar(select(ChildLookup).where(ChildLookup.child_id == child_id, ChildLookup.period_id == period_id))


def settled(session: Session, child: Child, period: EnrollmentPeriod) -> bool:
    """Whether the family may apply for this child in this period as far as the lookup goes."""
    if not period.child_lookup:
        return True
    return session.scalar(select(ChildLookup.status).where(ChildLookup.child_id == child.id,
                                                           ChildLookup.period_id == period.id)) in SETTLED


class LookupNeeded(LookupRefused):
    """The period looks children up and this child's lookup is not settled: the family is sent to it."""


def require_settled(session: Session, child: Child, period: EnrollmentPeriod) -> None:
    if not settled(session, child, period):
        raise LookupNeeded(_l("Look the child up in the household register first (学生信息查询), then apply."))


def _open(period: EnrollmentPeriod, now: dt.datetime) -> None:
    problems = eligibility.period_problems(period, now)
    if problems:
        raise LookupRefused(problems[0])


def masked_record(child: tuple[str, str, str], members: list[tuple[str, str, str]], household: str = "") -> dict:
    """What the family is shown and the lookup keeps: the child (name, ID, community) and the
    household's other members (name, ID, relation), masked, and the household number, by which
    the guardians step reads the kept members again in full."""
    name, number, community = child
    return {"child": {"name": mask_name(name), "id": mask_id(number), "community": community}, "household": household,
            "members": [{"name": mask_name(n), "id": mask_id(i), "relation": str(relation or ""), "kept": True}
                        for n, i, relation in members]}


def _fact_record(child_fact, members) -> dict:
    return masked_record((child_fact.name, child_fact.person_id, child_fact.community),
                         [(m.name, m.person_id, m.detail.get("relation", "")) for m in members], child_fact.number)


def register_guardians(session: Session, source: RegistrySource, child: Child, period: EnrollmentPeriod,
                       slots: int) -> list[dict]:
    """The guardians the family confirmed (or district staff approved) in the lookup, read again in
    full from the household register, as the guardians step's answers: 系统自动提取学生以及监护人的
    户籍信息. The register has no phone numbers: the family adds them. May raise RegistryUnavailable."""
    if not period.child_lookup:
        return []
    lookup = find(session, child.id, period.id)
    if lookup is None or lookup.status not in SETTLED or lookup.outcome != "matched":
        return []
    record = lookup.record or {}
    kept = {(m["name"], m["id"]) for m in record.get("members", []) if m.get("kept")}
    if not record.get("household") or not kept:
        return []
    facts = source.lookup([Query("household", "number", record["household"])])
    people = [f for f in facts if f.source == "household" and (mask_name(f.name), mask_id(f.person_id)) in kept][:slots]
    audit.log(session, "read:registry", f"child {child.id}", detail=f"guardians for period {period.code}: {len(people)}")
    commit_keeping_loaded(session)
    relations, guardians = {"M": "father", "F": "mother"}, []
    for person in people:
        relation = relations.pop(sex_of(person.person_id) or "F", "other")  # a second man or woman in the household is another guardian
        guardians.append({"relation": relation, "name": person.name, "id_number": person.person_id, "phone": "",
                          "household_address": person.address})
    return guardians


def look_up(session: Session, source: RegistrySource, child: Child, period: EnrollmentPeriod, typed_id: str,
            now: dt.datetime) -> ChildLookup:
    """Look the child up by the ID number the family typed (it must be the chosen child's). A second
    look (the extract was corrected) replaces what the first found while no request is waiting."""
    if not period.child_lookup:
        raise LookupRefused(_l("This enrollment period does not look children up."))
    _open(period, now)
    if child.id_type == "resident_id":
        try:
            number = parse_resident_id(typed_id, now.date()).number
        except IdNumberError as error:
            raise LookupRefused(error.message) from None
    else:
        number = normalized(typed_id or "").strip().upper().replace(" ", "")
    if number != (child.id_number or "").upper():
        raise LookupRefused(_l("This is not the ID number of the child you chose. Type the ID number of %(name)s.", name=child.name))
    existing = find(session, child.id, period.id)
    if existing is not None and existing.status != "looked_up":
        return existing  # confirmed, waiting or decided: looking again changes nothing
    facts = source.lookup([Query("household", "person", number)])  # may raise RegistryUnavailable: nothing stored
    own = [f for f in facts if f.source == "household" and f.person_id == number]
    members = []
    if own:
        household = [f for f in source.lookup([Query("household", "number", own[0].number)]) if f.source == "household"]
        members = [f for f in household if f.person_id != number][:8]
    outcome, record = ("matched", _fact_record(own[0], members)) if own else ("not_found", {})
    lookup = existing or ChildLookup(child_id=child.id, period_id=period.id, status="looked_up", request="", statement="",
                                     review_note="", looked_up_at=now)
    lookup.outcome, lookup.record, lookup.updated_at, lookup.looked_up_at = outcome, record, now, now
    session.add(lookup)
    audit.log(session, "read:registry", f"child {child.id}", detail=f"child lookup for period {period.code}: {outcome}")
    try:
        session.commit()
    except IntegrityError:  # the same look in another tab got there first: one lookup per child and period
        session.rollback()
        return find(session, child.id, period.id)
    return lookup


def _move(session: Session, lookup: ChildLookup, allowed: tuple[str, ...], now: dt.datetime, **values) -> None:
    """Change the lookup only if it is still in an allowed state (another tab, a reviewer)."""
    done = session.execute(update(ChildLookup).where(ChildLookup.id == lookup.id, ChildLookup.status.in_(allowed))
                           .values(updated_at=now, **values)).rowcount
    if not done:
        session.rollback()
        raise LookupRefused(_l("This lookup was answered meanwhile (in another window or by district staff); "
                              "the page now shows where it stands."))


def confirm(session: Session, lookup: ChildLookup, now: dt.datetime) -> None:
    """与实际情况相符: only what the records found can be confirmed."""
    if lookup.outcome != "matched":
        raise LookupRefused(_l("The child was not found in the household register: send an enrollment registration instead."))
    if lookup.status in SETTLED:
        return  # a double click, or back and confirm again
    _move(session, lookup, ("looked_up",), now, status="confirmed")
    audit.log(session, "child_lookup:confirm", f"lookup {lookup.id}")
    commit_keeping_loaded(session)  # the application opens next, from the same child and period
    set_committed_value(lookup, "status", "confirmed")  # as stored by _move, without another read
    set_committed_value(lookup, "updated_at", now)


def send_request(session: Session, storage, lookup: ChildLookup, statement: str, kept: set[int],
                 uploads: dict[str, list[tuple[str, bytes]]], now: dt.datetime) -> None:
    """An appeal (found, guardians not right) or an 入学登记 (not found), with its materials, all or
    nothing: a file refused stores none of them. A returned request is sent again the same way;
    materials already sent stay unless replaced."""
    _open(lookup.period, now)
    if lookup.status == "pending":
        raise LookupRefused(_l("This request was already sent and is waiting for district review."))
    if lookup.status not in ANSWERABLE:
        raise LookupRefused(_l("This lookup is already settled; go on with the application."))
    kind = "appeal" if lookup.outcome == "matched" else "registration"
    statement = (statement or "").strip()
    if kind == "appeal" and not statement:
        raise LookupRefused(_l("Say what is not right about the guardians shown (for example a single-parent or remarried family)."))
    if len(statement) > 500:
        raise LookupRefused(_l("The explanation can be at most %(n)d characters.", n=500))
    checked = []
    for material in MATERIALS[kind]:
        files = [(name, data) for name, data in uploads.get(material.code, []) if name or data]
        if len(files) > MAX_FILES:
            raise LookupRefused(_l("At most %(n)d files per material.", n=MAX_FILES))
        try:
            checked += [(material.code, check_upload(name, data, ACCEPTED, MAX_KB), data) for name, data in files]
        except UploadError as error:
            raise LookupRefused(_l("%(material)s: %(problem)s", material=material.label, problem=error.message)) from None
        kept_files = [f for f in lookup.files if f.kind == material.code]
        if material.required and not files and not kept_files:
            raise LookupRefused(_l("%(material)s is required.", material=material.label))
    record = dict(lookup.record or {})
    if record.get("members"):
        record["members"] = [{**m, "kept": i in kept} for i, m in enumerate(record["members"])]
    stored, replaced = [], []
    try:
        for code, file, data in checked:
            key = new_key()
            storage.save(key, data, file.content_type)
            stored.append(key)
            lookup.files.append(ChildLookupFile(kind=code, storage_key=key, file_name=file.file_name,
                                                content_type=file.content_type, size=file.size, sha256=file.sha256,
                                                uploaded_at=now))
        new_kinds = {code for code, _, _ in checked}
        for old in [f for f in lookup.files if f.id is not None and f.kind in new_kinds]:
            replaced.append(old.storage_key)
            lookup.files.remove(old)
        _move(session, lookup, ANSWERABLE, now, status="pending", request=kind, statement=statement, record=record)
        audit.log(session, f"child_lookup:{kind}", f"lookup {lookup.id}", detail=f"{len(checked)} files")
        session.commit()
    except Exception:
        session.rollback()
        for key in stored:
            forget(storage, key)
        raise
    for key in replaced:
        forget(storage, key)
    session.refresh(lookup)


def decide(session: Session, lookup_id: int, approve: bool, note: str, user_id: int, now: dt.datetime) -> ChildLookup:
    """District staff approve a request, or return it with the reason the family reads."""
    lookup = session.get(ChildLookup, lookup_id)
    if lookup is None or lookup.request == "":
        raise LookupRefused(_l("No such request."))
    note = (note or "").strip()
    if not approve and not note:
        raise LookupRefused(_l("A reason is required."))
    if len(note) > 500:
        raise LookupRefused(_l("The reason can be at most %(n)d characters.", n=500))
    if lookup.status != "pending":
        raise LookupRefused(_l("This request was already decided (%(status)s).", status=STATUS_WORDS.get(lookup.status, lookup.status)))
    _move(session, lookup, ("pending",), now, status="approved" if approve else "returned", review_note=note,
          reviewed_by_id=user_id, reviewed_at=now)
    child = lookup.child
    notifications.notify_family(session, child.account_id, "lookup_approve" if approve else "lookup_return",
                                {"child": child.name, "number": lookup.period.name, "reason": note}, now=now)
    audit.log(session, "child_lookup:approve" if approve else "child_lookup:return", f"lookup {lookup.id}", detail=note[:200],
              user_id=user_id)
    session.commit()
    session.refresh(lookup)
    return lookup


def file_of(session: Session, lookup_id: int, file_id: int) -> ChildLookupFile | None:
    return session.scalar(select(ChildLookupFile).where(ChildLookupFile.id == file_id, ChildLookupFile.lookup_id == lookup_id))


def purge(session: Session, storage, before_year: int, chunk: int = 500) -> int:
    """Lookups of past cycles go with the cycle, with their materials: a chunk of rows per commit,
    and each file deleted once no row points at it."""
    past = select(EnrollmentPeriod.id).where(EnrollmentPeriod.year < before_year)
    gone = 0
    while True:
        batch = select(ChildLookup.id).where(ChildLookup.period_id.in_(past)).order_by(ChildLookup.id).limit(chunk)
        keys = session.scalars(select(ChildLookupFile.storage_key).where(ChildLookupFile.lookup_id.in_(batch))).all()
        session.execute(delete(ChildLookupFile).where(ChildLookupFile.lookup_id.in_(batch)))
        done = session.execute(delete(ChildLookup).where(ChildLookup.id.in_(batch))).rowcount
        session.commit()
        for key in keys:
            forget(storage, key)
        gone += done
        if done < chunk:
            break
    audit.log(session, "child_lookup:purge", "", detail=f"before {before_year}: {gone}", commit=True)
    return gone
