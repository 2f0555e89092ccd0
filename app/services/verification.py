"""免证明 checks: each verifiable section's answers compared with the departments' records.

A channel marked verifiable (系统可查验) has its sections checked after the family submits, by
the worker (off the parents' path, and again when the source was down). The outcome per section
is stored on the application: verified, mismatch (which field, what was given, what the record
says) or not_found; the parent reads it in words, the reviewer beside the section.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Application
from app.model_base import county_now
from app.services import audit, categories
from app.services.registry import Fact, Query, RegistrySource, RegistryUnavailable

VERIFIED, MISMATCH, NOT_FOUND = "verified", "mismatch", "not_found"


def _guardian_ids(application: Application) -> set[str]:
    """The parents' ID numbers as given on the guardians step, and as kept on the child's record."""
    given = ((application.section_data or {}).get("guardians") or {}).get("guardians") or []
    ids = {str(g.get("id_number") or "").upper() for g in given if g.get("id_number")}
    return ids | {g.id_number.upper() for g in application.child.guardians if g.id_number}


def _answers(application: Application, section: str) -> dict:
    values = (application.section_data or {}).get(section) or {}
    return {} if values.get("skipped") else values


def _number(values: dict, key: str) -> str:
    return str(values.get(key) or "").strip().upper()


def _outcome(outcome: str, field: str = "", given="", found="", source: str = "") -> dict:
    return {"outcome": outcome, "field": field, "given": str(given or ""), "found": str(found or ""), "source": source}


def _community(application: Application, fact: Fact) -> dict | None:
    """The record's community must be the one the family applied from (the catchment's)."""
    if fact.community and application.community is not None and fact.community != application.community.name:
        return _outcome(MISMATCH, "community", application.community.name, fact.community, fact.source)
    return None


def _household(application, values, facts, today):
    mine = [f for f in facts if f.source == "household" and f.person_id == application.child.id_number]
    if not mine:
        return _outcome(NOT_FOUND, source="household")
    fact = mine[0]
    given = values.get("registered_on")
    if given and fact.since and str(given) != fact.since.isoformat():
        return _outcome(MISMATCH, "registered_on", given, fact.since.isoformat(), "household")
    return _community(application, fact) or _outcome(VERIFIED, source="household")


def _owned(application, values, facts, source, number_key, name_key):
    number = _number(values, number_key)
    mine = [f for f in facts if f.source == source and f.number == number]
    if not number or not mine:
        return None, _outcome(NOT_FOUND, source=source)
    family = _guardian_ids(application) | {application.child.id_number}
    held = [f for f in mine if f.person_id in family]
    if not held:
        return None, _outcome(MISMATCH, name_key, values.get(name_key, ""), "、".join(sorted({f.name for f in mine})), source)
    return held[0], None


def _property(application, values, facts, today):
    fact, refused = _owned(application, values, facts, "property", "certificate_no", "owner_name")
    return refused or _community(application, fact) or _outcome(VERIFIED, source="property")


def _business(application, values, facts, today):
    fact, refused = _owned(application, values, facts, "business_licence", "licence_no", "licence_no")
    if refused:
        return refused
    given = values.get("licensed_on")
    if given and fact.since and str(given) != fact.since.isoformat():
        return _outcome(MISMATCH, "licensed_on", given, fact.since.isoformat(), "business_licence")
    return _outcome(VERIFIED, source="business_licence")


def _residence_permit(application, values, facts, today):
    fact, refused = _owned(application, values, facts, "residence_permit", "number", "holder_name")
    if refused:
        return refused
    if fact.until and fact.until < today:
        return _outcome(MISMATCH, "valid_until", values.get("valid_until", ""), fact.until.isoformat(), "residence_permit")
    given = values.get("valid_until")
    if given and fact.until and str(given) != fact.until.isoformat():
        return _outcome(MISMATCH, "valid_until", given, fact.until.isoformat(), "residence_permit")
    return _outcome(VERIFIED, source="residence_permit")


def _months(since: dt.date, until: dt.date) -> int:
    return (until.year - since.year) * 12 + until.month - since.month + 1


def _employment(application, values, facts, today):
    mine = [f for f in facts if f.source == "social_insurance" and f.person_id in _guardian_ids(application)]
    if not mine:
        return _outcome(NOT_FOUND, source="social_insurance")
    given = values.get("insured_since")
    if given:
        month = str(given)[:7]
        if not any(f.since and f.since.isoformat()[:7] == month for f in mine):
            found = "、".join(sorted({f.since.isoformat()[:7] for f in mine if f.since}))
            return _outcome(MISMATCH, "insured_since", given, found, "social_insurance")
    months = values.get("insured_months")
    paid = max((_months(f.since, f.until or today) for f in mine if f.since), default=0)
    if months not in (None, "") and paid < int(months):
        return _outcome(MISMATCH, "insured_months", months, paid, "social_insurance")
    return _outcome(VERIFIED, source="social_insurance")


def _student(application, values, facts, today):
    """学籍: the school the child leaves, as the student registry has it."""
    mine = [f for f in facts if f.source == "student_registry" and f.person_id == application.child.id_number]
    if not mine:
        return _outcome(NOT_FOUND, source="student_registry")
    school = str(mine[0].detail.get("school", ""))
    given = str(values.get("previous_school") or "")
    if given and school and given != school:
        return _outcome(MISMATCH, "previous_school", given, school, "student_registry")
    return _outcome(VERIFIED, source="student_registry")


def _has_student_record(application: Application) -> bool:
    """Only a pupil already at school has a 学籍: grade 7 and transfers, not a new grade 1."""
    period = application.period
    return period.stage != "primary" or period.entry_kind == "transfer"


# a section code -> how its answers are checked (the built-in sections' keys)
CHECKS = {"basic": _student, "household": _household, "property": _property, "employment": _employment, "business": _business,
          "residence_permit": _residence_permit}


def _queries(application: Application, sections: list[str]) -> list[Query]:
    found = []
    guardians = sorted(_guardian_ids(application))
    for section in sections:
        values = _answers(application, section)
        if section == "household":
            found.append(Query("household", "person", application.child.id_number))
        elif section == "basic":
            found.append(Query("student_registry", "person", application.child.id_number))
        elif section == "property" and _number(values, "certificate_no"):
            found.append(Query("property", "number", _number(values, "certificate_no")))
        elif section == "business" and _number(values, "licence_no"):
            found.append(Query("business_licence", "number", _number(values, "licence_no")))
        elif section == "residence_permit" and _number(values, "number"):
            found.append(Query("residence_permit", "number", _number(values, "number")))
        elif section == "employment":
            found += [Query("social_insurance", "person", g) for g in guardians]
    return found


def checked_sections(application: Application) -> list[str]:
    """The sections of a verifiable channel the records can answer, as the family answered them."""
    if application.channel is None or not application.channel.verifiable:
        return []
    return [s for s in (application.section_data or {}) if s in CHECKS and _answers(application, s)
            and (s != "basic" or (_has_student_record(application) and _answers(application, s).get("previous_school")))]


def run(session: Session, application: Application, source: RegistrySource, today: dt.date | None = None,
        sections: list[str] | None = None) -> dict:
    """Each checked section's outcome against the source (the read is audited; the caller stores them)."""
    sections = checked_sections(application) if sections is None else sections
    today = today or county_now().date()
    queries = _queries(application, sections)
    facts = source.lookup(queries) if queries else []
    outcomes = {s: {**CHECKS[s](application, _answers(application, s), facts, today), "answers": answers_key(application, s)}
                for s in sections}
    if queries:
        audit.log(session, "registry:read", f"application {application.id}",
                  detail=f"{source.name}: " + ",".join(sorted({q.source for q in queries})))
    return outcomes


def answers_key(application: Application, section: str) -> str:
    """A short hash of one section's answers (and the parents'): a check stands only for them."""
    shown = [_answers(application, section), sorted(_guardian_ids(application))]
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:16]


def precheck(session: Session, application: Application, section: str, source: RegistrySource) -> dict | None:
    """Check one section as soon as it is saved, where a material is waived once the records
    confirm it (the family then sees at the materials step that no upload is needed). A source
    that does not answer changes nothing: the material stays asked."""
    if section not in checked_sections(application):
        return None
    try:
        outcome = run(session, application, source, sections=[section])[section]
    except RegistryUnavailable:
        return None
    application.checks = {**(application.checks or {}), section: {**outcome, "answers": answers_key(application, section)}}
    return outcome


def current(application: Application, section: str) -> dict | None:
    """The section's stored check if it stands for the answers as they now are (and is not stale)."""
    check = (application.checks or {}).get(section)
    if not check or application.checks_stale:
        return None
    return check if check.get("answers") in (None, answers_key(application, section)) else None


def confirms(application: Application, section: str) -> bool:
    """The records confirmed this section's answers as they now stand."""
    check = (application.checks or {}).get(section) or {}  # stale or not: the worker's re-check is for the reviewers
    return check.get("outcome") == VERIFIED and check.get("answers") == answers_key(application, section)


def refresh_stale(session: Session, source: RegistrySource, batch: int = 100) -> int:
    """Check the applications submitted or changed since (the worker calls it). A source that is
    down leaves them marked, so they are checked on a later pass; a row changed meanwhile too."""
    rows = session.execute(select(Application.id, Application.version).where(Application.checks_stale.is_(True))
                           .order_by(Application.id).limit(batch)).all()
    done = 0
    for application_id, version in rows:
        application = session.get(Application, application_id)
        if application is None:
            continue
        try:
            outcomes = run(session, application, source)
        except RegistryUnavailable:
            session.rollback()
            return done
        category = categories.derive(session, application, outcomes)  # a category rule may read a check
        changed = session.execute(
            update(Application).where(Application.id == application_id, Application.version == version)
            .values(checks=outcomes, checks_stale=False, checks_outcome=summary(outcomes),
                    category_id=category.id if category is not None else None)
            .execution_options(synchronize_session=False))
        session.expire(application)
        session.commit()
        done += changed.rowcount
    return done


def summary(outcomes: dict) -> str:
    """The reviewers' one word: verified only when every checked section is."""
    found = {c.get("outcome") for c in outcomes.values()}
    if not found:
        return ""
    return MISMATCH if MISMATCH in found else NOT_FOUND if NOT_FOUND in found else VERIFIED


def words(check: dict | None, label_of) -> str:
    """A section's outcome as the parent and the reviewer read it; ``label_of(key)`` names a field."""
    if not check:
        return ""
    outcome = check.get("outcome")
    if outcome == VERIFIED:
        return str(_l("Matches the department's records."))
    if outcome == NOT_FOUND:
        return str(_l("Not found in the department's records; the reviewers check the uploaded materials."))
    field = label_of(check.get("field", "")) if check.get("field") != "community" else str(_l("Community / village"))
    return str(_l("Differs from the department's records: %(f)s (given: %(g)s; on record: %(r)s).",
                  f=field, g=check.get("given", ""), r=check.get("found", "")))
