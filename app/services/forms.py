"""Form sections as published versions: what county IT edits becomes a frozen definition.

The parents' form reads the latest version of each section (cached per worker like the channel
layouts); an application records the version each section was filled under, and reviewers read
its answers with that version's labels. Editing a section while a period is open therefore never
changes what an already filled section means.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import ChannelSection, Community
from app.models_forms import FieldRule, FormField, FormSection, FormSectionVersion
from app.services.layouts import cached
from app.services.sections import LONG_TEXT_MAX, Context, RuleSettingError, Section, check_rule, from_definition, parse_choices

KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
SEED = Path(__file__).resolve().parent.parent / "seed" / "form_sections.json"
# Keys other parts of Ruxue read from a built-in section's answers (the guardian rows, the
# property certificate for duplicate checks, the sibling's school for allocation keys): a
# section with that code must keep them.
BOUND_KEYS = {
    "guardians": ("relation", "name", "id_number", "phone", "household_address"),
    "property": ("certificate_no",),
    "sibling": ("school",),
}


def definition(section: FormSection) -> dict:
    """A section's rows as one JSON document: what a version freezes and the county file carries."""
    return {
        "code": section.code, "title_zh": section.title_zh, "title_en": section.title_en or "",
        "help_zh": section.help_zh or "", "help_en": section.help_en or "", "kind": section.kind or "fields",
        "show_if": section.show_if or "", "show_values": section.show_values or "",
        "fields": [
            {
                "key": f.key, "label_zh": f.label_zh, "label_en": f.label_en or "", "kind": f.kind or "text",
                "required": bool(f.required), "max_len": f.max_len or 100, "hint_zh": f.hint_zh or "",
                "hint_en": f.hint_en or "", "choices": [list(c) for c in parse_choices(f.choices or "")],
                "show_if": f.show_if or "", "show_values": f.show_values or "",
                "rules": [
                    {"kind": r.kind, "value": r.value or "", "value2": r.value2 or "", "number": r.number,
                     "message_zh": r.message_zh or "", "message_en": r.message_en or ""}
                    for r in f.rules
                ],
            }
            for f in section.fields
        ],
    }


def problems(section: FormSection) -> list[str]:
    """What stops a section from being published: the engine's own checks of its settings."""
    found = []
    if not KEY.fullmatch(section.code or ""):
        found.append(str(_l("A section's code is a letter, then letters, digits or _ (it names the page and its conditions).")))
    for field in section.fields:
        if not KEY.fullmatch(field.key or ""):
            found.append(f"{field.key}: " + str(_l("A field's key is a letter, then letters, digits or _.")))
        if not 1 <= (field.max_len or 0) <= LONG_TEXT_MAX:
            found.append(f"{field.key}: " + str(_l("Most characters is between 1 and %(n)d.", n=LONG_TEXT_MAX)))
    keys = {f.key for f in section.fields}
    for key in BOUND_KEYS.get(section.code, ()):
        if key not in keys:
            found.append(str(_l("Section “%(s)s” must keep its field “%(k)s”: other parts of Ruxue read it.", s=section.code, k=key)))
    engine = from_definition(definition(section))
    for field in engine.fields:
        if field.kind == "choice" and not field.choices:
            found.append(f"{field.key}: " + str(_l("A choice list needs its options, one per line: value|中文|English.")))
        if field.show_if and field.show_if not in keys - {field.key}:
            found.append(f"{field.key}: " + str(_l("“Shown if” must name another field of this section.")))
        for rule in field.rules:
            try:
                check_rule(rule, field, keys)
            except RuleSettingError as error:
                found.append(f"{field.key}: {error.args[0]}")
    if section.show_if and "." not in section.show_if:
        found.append(str(_l("A section's “shown if” names a field as section.field.")))
    return found


def condition_problem(session: Session, show_if: str) -> str | None:
    """A channel material's "shown if" names a field of a defined section (section.field), or nothing."""
    if not show_if:
        return None
    code, _, key = show_if.partition(".")
    section = session.scalar(select(FormSection).where(FormSection.code == code))
    if section is None or key not in {f.key for f in section.fields}:
        return str(_l("“Shown if” names no field of a form section: %(c)s (write section.field, e.g. property.owner).", c=show_if))
    return None


def waiver_problem(code: str) -> str | None:
    """A material waived once the records confirm a section names a section the records can check."""
    from app.services.verification import CHECKS

    if code and code not in CHECKS:
        return str(_l("The records can confirm only these sections: %(s)s (not “%(c)s”).", s=", ".join(CHECKS), c=code))
    return None


def refuse_bad_waiver(code: str) -> None:
    found = waiver_problem(code)
    if found:
        raise UserError(found)


def refuse_bad_condition(session: Session, show_if: str) -> None:
    found = condition_problem(session, show_if)
    if found:
        raise UserError(found)


def refuse_problems(section: FormSection | None) -> None:
    """UserError with the first problem of the section as it would be saved."""
    found = problems(section) if section is not None else []
    if found:
        raise UserError(found[0])


def refuse_renamed(item) -> None:
    """A section's code names the page, the stored answers and their versions: it stays."""
    if isinstance(item, FormSection) and inspect(item).attrs.code.history.deleted:
        raise UserError(_l("A section's code cannot change once saved: answers and versions are stored under it."))


def refuse_removal(field: FormField) -> None:
    if field.section is not None and field.key in BOUND_KEYS.get(field.section.code, ()):
        raise UserError(_l("Section “%(s)s” must keep its field “%(k)s”: other parts of Ruxue read it.",
                           s=field.section.code, k=field.key))


def refuse_section_removal(session: Session, section: FormSection) -> None:
    if section.code in BOUND_KEYS or session.scalar(select(ChannelSection.id).where(ChannelSection.section == section.code).limit(1)):
        raise UserError(_l("Section “%(s)s” is built in or asked by a channel: take it off the channels first.", s=section.code))


def publish(session: Session, section: FormSection) -> int:
    """Freeze the section as a new version when it differs from the latest; return the version."""
    doc = definition(section)
    latest = session.scalars(
        select(FormSectionVersion).where(FormSectionVersion.section_code == section.code)
        .order_by(FormSectionVersion.version.desc()).limit(1)
    ).first()
    if latest is not None and _same(latest.definition, doc):
        section.version = latest.version
        return latest.version
    version = (latest.version if latest else 0) + 1
    session.add(FormSectionVersion(section_code=section.code, version=version, definition={**doc, "version": version}))
    section.version = version
    return version


def publish_committed(session: Session, section: FormSection) -> int:
    """publish() and commit, for a change already saved. Two people saving the same section at
    once both reach for the next number: the second is refused by the unique version and tries
    again on top of the first (one more try; the definition it freezes is what the rows now say)."""
    for attempt in (1, 2):
        session.refresh(section)
        version = publish(session, section)
        try:
            session.commit()
            return version
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise UserError(_l("Someone else saved this section at the same moment: open it again to see both changes."))
    return section.version


def _same(stored: dict, doc: dict) -> bool:
    return {k: v for k, v in stored.items() if k != "version"} == doc


def seed_documents() -> list[dict]:
    return json.loads(SEED.read_text(encoding="utf-8"))


def add_from_document(session: Session, doc: dict, position: int = 1) -> FormSection:
    """A section and its fields and rules from a definition document (the seed, a county file)."""
    section = FormSection(code=doc["code"], title_zh=doc["title_zh"], title_en=doc.get("title_en", ""),
                          help_zh=doc.get("help_zh", ""), help_en=doc.get("help_en", ""), kind=doc.get("kind", "fields"),
                          show_if=doc.get("show_if", ""), show_values=doc.get("show_values", ""), position=position)
    for n, f in enumerate(doc.get("fields", ()), 1):
        field = FormField(key=f["key"], label_zh=f["label_zh"], label_en=f.get("label_en", ""), kind=f.get("kind", "text"),
                          required=f.get("required", True), max_len=f.get("max_len", 100), hint_zh=f.get("hint_zh", ""),
                          hint_en=f.get("hint_en", ""), choices="\n".join("|".join(c) for c in f.get("choices", ())),
                          show_if=f.get("show_if", ""), show_values=f.get("show_values", ""), position=n)
        field.rules = [FieldRule(kind=r["kind"], value=r.get("value", ""), value2=r.get("value2", ""), number=r.get("number"),
                                 message_zh=r.get("message_zh", ""), message_en=r.get("message_en", ""), position=i)
                       for i, r in enumerate(f.get("rules", ()), 1)]
        section.fields.append(field)
    session.add(section)
    return section


def _load_version(session: Session, code: str, version: int) -> Section | None:
    found = session.scalar(select(FormSectionVersion.definition).where(
        FormSectionVersion.section_code == code, FormSectionVersion.version == version))
    return None if found is None else from_definition(found)


def rule_context(session: Session, today, year: int | None = None, guardians=()) -> Context:
    """What a section's rules compare answers with: today, the period's year, the guardians
    given, and which communities exist (an address names one)."""
    return Context(today=today, year=year, guardians=list(guardians),
                   community_exists=lambda community_id: session.get(Community, community_id) is not None)


def current(session: Session, code: str) -> Section | None:
    """The latest published version of a section, from this worker's cache when fresh."""
    return latest(session).get(code)


def at_version(session: Session, code: str, version: int | None) -> Section | None:
    """One version of a section; a version never changes, so each worker keeps it for good."""
    newest = current(session, code)
    if not version or (newest is not None and newest.version == int(version)):
        return newest  # the usual case: filled under the version still published
    if not has_app_context():
        return _load_version(session, code, version)
    store = current_app.extensions.setdefault("ruxue_section_versions", {})
    key = (code, int(version))
    if key not in store:
        store[key] = _load_version(session, code, version)
    return store[key] or newest


def for_application(session: Session, application, code: str) -> Section | None:
    """The section as this application filled it (its recorded version), else the latest."""
    return at_version(session, code, (application.section_versions or {}).get(code))


def answered(session: Session, application) -> dict[str, Section]:
    """Each section the application has answers for, as it filled them (for summaries)."""
    found = {}
    for code in application.section_data or {}:
        section = for_application(session, application, code)
        if section is not None:
            found[code] = section
    return found


def latest(session: Session) -> dict[str, Section]:
    """Every section's latest version by code: one statement per worker and set-up change, so a
    form step costs the same whatever the number of sections."""
    def load():
        latest = (select(FormSectionVersion.section_code, func.max(FormSectionVersion.version).label("v"))
                  .group_by(FormSectionVersion.section_code).subquery())
        rows = session.scalars(select(FormSectionVersion.definition).join(
            latest, (latest.c.section_code == FormSectionVersion.section_code) & (latest.c.v == FormSectionVersion.version)))
        return {d["code"]: from_definition(d) for d in rows}

    return cached(("sections",), load)


def title(session: Session, code: str) -> str:
    found = latest(session).get(code)
    return found.title if found else code


def codes(session: Session) -> list[str]:
    return list(session.scalars(select(FormSection.code).order_by(FormSection.position, FormSection.code)))
