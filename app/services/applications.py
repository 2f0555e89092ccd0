"""A family's application from draft to submission: steps, choices, sections, edits, withdrawal."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.errors import UserError
from app.model_base import county_now
from app.models import (
    Application,
    ApplicationChoice,
    Attachment,
    Catchment,
    Channel,
    ChannelMaterial,
    Child,
    Community,
    District,
    EnrollmentPeriod,
    Guardian,
    School,
    SchoolNeighbour,
    Street,
)
from app.services import categories, child_lookup, eligibility, input_limits, verification, workflow
from app.services.layouts import Layout, cached, layout
from app.services.numbers import next_application_number
from app.services.persist import commit_keeping_loaded
from app.services.registry import RegistryUnavailable
from app.services import forms
from app.services.sections import clean_section


class ApplicationError(UserError):
    """A rule refused the input; ``message`` says why."""


@dataclass(frozen=True)
class Offer:
    school: School
    shared: bool  # in a shared zone: the parent chooses among several schools
    adjusted: bool = False  # 调剂: a neighbour of the zone's school, which does not take this entry


# The application only if its child is bound to the account, with what every step reads (child,
# period, channel). Built once: building and keying an ORM statement costs more than running it,
# so each request only binds the two ids. The channel's sections and materials come from the
# layout cache; the choices (with their schools, one statement) load when a step reads them. The
# community comes in the same statement: the school step, the preview and the receipt all name it.
OWN_APPLICATION = (
    select(Application)
    .join(Child, Application.child_id == Child.id)
    .where(Application.id == bindparam("application_id"), Child.account_id == bindparam("account_id"))
    .options(contains_eager(Application.child), joinedload(Application.period, innerjoin=True), joinedload(Application.channel),
             joinedload(Application.community))
)


def own_application(session: Session, account_id: int, application_id: int) -> Application | None:
    return session.scalars(OWN_APPLICATION, {"application_id": application_id, "account_id": account_id}).one_or_none()


_ACCOUNT_APPLICATIONS = (
    select(Application)
    .join(Child, Application.child_id == Child.id)
    .where(Child.account_id == bindparam("account_id"))
    .options(contains_eager(Application.child), joinedload(Application.period, innerjoin=True), joinedload(Application.channel))
    .order_by(Application.created_at.desc(), Application.id.desc())
)


def account_applications(session: Session, account_id: int) -> list[Application]:
    return list(session.scalars(_ACCOUNT_APPLICATIONS, {"account_id": account_id}))


ALREADY_REGISTERED = _l("Already registered: this child already has an application in this period.")


def start(session: Session, child: Child, period: EnrollmentPeriod, now: dt.datetime) -> Application:
    """Resume the child's application in this period, or open a draft if the child may apply.
    Concurrent starts (two tabs, a double click, two family members) converge on one draft: the
    database refuses a second holding application, and the loser resumes the winner's."""
    existing = eligibility.registered_elsewhere(session, child, period)
    if existing is not None:
        return _resume(existing)
    found = eligibility.period_problems(period, now) + eligibility.age_problems(period, child)
    if found:
        raise ApplicationError(found[0])
    child_lookup.require_settled(session, child, period)
    child_id, period_id = child.id, period.id
    application = Application(
        number=next_application_number(session, period), child=child, period=period, status="draft", section_data={}
    )
    session.add(application)
    try:
        commit_keeping_loaded(session)
    except IntegrityError:
        session.rollback()
        existing = eligibility.registered_elsewhere(session, session.get(Child, child_id), session.get(EnrollmentPeriod, period_id))
        if existing is None:
            raise ApplicationError(_l("The application could not be opened; please try again.")) from None
        return _resume(existing)
    return application


def _resume(existing: Application) -> Application:
    if existing.status in ("draft", "returned"):
        return existing
    raise ApplicationError(ALREADY_REGISTERED)


def save(session: Session, application: Application) -> None:
    """Commit a parent's change; if another tab or a reviewer changed the application since this
    page read it, nothing is written and the parent is told."""
    if application.status == "submitted":
        categories.store(session, application)  # a change after submission may move it to another 生源类别
        if application.channel is not None and application.channel.verifiable and session.is_modified(application):
            application.checks_stale = True  # and is checked against the records again
            application.checks_outcome = ""
    try:
        commit_keeping_loaded(session)
    except StaleDataError:
        session.rollback()
        raise ApplicationError(_l("This application was changed in another window or by a reviewer; "
                                  "the page now shows the current version. Please check and save again.")) from None


def form_layout(session: Session, application: Application) -> Layout | None:
    return layout(session, application.channel_id)


def steps(session: Session, application: Application) -> list[str]:
    """The pages of this application's form, in order; sections come from its channel."""
    names = ["channel"]
    found = form_layout(session, application)
    if found is None:
        return names
    names += ["community", "choices"]
    names += asked_sections(session, application, found)
    if asked_materials(session, application, found):
        names.append("materials")
    return names + ["preview"]


def asked_sections(session: Session, application: Application, found: Layout | None = None) -> list[str]:
    """The channel's sections this application is asked: a section shown only for some answer
    (``show_if``) is left out until an earlier section has that answer."""
    found = found or form_layout(session, application)
    if found is None:
        return []
    return _shown_sections(session, [s.section for s in found.sections], application.section_data or {})


def configured_sections(session: Session, application: Application) -> list[str]:
    found = form_layout(session, application)
    return [s.section for s in found.sections] if found else []


def _shown_sections(session: Session, codes: list[str], answers: dict) -> list[str]:
    shown = []
    for code in codes:
        section = forms.current(session, code)
        if section is None or section.shown_for(answers):
            shown.append(code)
    return shown


def period_channels(session: Session, period_id: int) -> list[Channel]:
    """The period's categories with their materials, for the category step (two statements)."""
    return list(session.scalars(
        select(Channel).where(Channel.period_id == period_id).order_by(Channel.priority, Channel.id)
        .options(selectinload(Channel.materials).joinedload(ChannelMaterial.material_type))
    ))


def grades(period: EnrollmentPeriod) -> list[int]:
    """The grades a period takes: one, or for transfers a range."""
    return list(range(period.grade, (period.grade_to or period.grade) + 1))


def set_channel(session: Session, application: Application, channel_id: int, grade: int | None = None) -> None:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.period_id != application.period_id:
        raise ApplicationError(_l("Choose one of this period's categories."))
    allowed = grades(application.period)
    if grade is None and len(allowed) == 1:
        grade = allowed[0]
    if grade not in allowed:
        raise ApplicationError(_l("Choose the grade to enter, %(a)d to %(b)d.", a=allowed[0], b=allowed[-1]))
    if application.channel_id != channel.id or application.grade != grade:
        workflow.record_amendment(session, application, _l("Category"))
    application.grade = grade
    if application.channel_id != channel.id:
        application.channel = channel
        # another channel asks other sections and schools: keep only what still applies
        keep = {s.section for s in layout(session, channel.id).sections}
        application.section_data = {k: v for k, v in (application.section_data or {}).items() if k in keep}
        application.section_versions = {k: v for k, v in (application.section_versions or {}).items() if k in keep}
    save(session, application)


def set_community(session: Session, application: Application, community_id: int | None) -> None:
    if community_id is None:
        if application.channel and application.channel.requires_catchment:
            raise ApplicationError(_l("Choose the community of your household or property address."))
        application.community_id = None
    else:
        if session.get(Community, community_id) is None:
            raise ApplicationError(_l("Choose the community of your household or property address."))
        if application.community_id != community_id:
            workflow.record_amendment(session, application, _l("Community / village"))
        application.community_id = community_id
    save(session, application)


def _open_to(period: EnrollmentPeriod, school: School) -> bool:
    """Stage, ownership, transfer and underage rules of one school for one period."""
    return (
        school.stage in (period.stage, "nine_year")
        and school.ownership == period.ownership
        and (period.entry_kind != "transfer" or school.accepts_transfer)
        and (period.entry_kind != "underage" or school.accepts_underage)
    )


def _zone_bound(application: Application) -> bool:
    channel = application.channel
    return channel is not None and channel.requires_catchment and application.period.ownership == "public"


def offered_schools(session: Session, application: Application) -> list[Offer]:
    """Schools this application may choose: stage, ownership, transfer, catchment and age rules."""
    period = application.period
    query = select(School).where(
        School.stage.in_((period.stage, "nine_year")), School.ownership == period.ownership
    )
    if period.entry_kind == "transfer":
        query = query.where(School.accepts_transfer.is_(True))
    if period.entry_kind == "underage":
        query = query.where(School.accepts_underage.is_(True))
    if _zone_bound(application):
        rows = session.execute(
            query.add_columns(Catchment.kind).join(Catchment, Catchment.school_id == School.id)
            .where(Catchment.community_id == application.community_id).order_by(School.code)
        ).all()
        if not rows and period.entry_kind == "underage":
            return _adjusted_offers(session, application, query)
        return [Offer(school, kind == "shared") for school, kind in rows]
    return [Offer(s, False) for s in session.scalars(query.order_by(School.code))]


def _adjusted_offers(session: Session, application: Application, query) -> list[Offer]:
    """Shimen: where the zone's school takes no underage children, the bureau places them in the
    next nearest (次近或再次近) public school that does: the zone school's neighbours, in order."""
    zone = select(Catchment.school_id).where(Catchment.community_id == application.community_id)
    rows = session.execute(
        query.add_columns(SchoolNeighbour.rank).join(SchoolNeighbour, SchoolNeighbour.neighbour_id == School.id)
        .where(SchoolNeighbour.school_id.in_(zone)).order_by(SchoolNeighbour.rank, School.code)
    ).all()
    seen: dict[int, Offer] = {}
    for school, _ in rows:
        seen.setdefault(school.id, Offer(school, False, adjusted=True))
    return list(seen.values())


def choices_needed(period: EnrollmentPeriod, offered: int) -> int:
    """A period asks for ``choice_count`` different schools (Taojiang: two); a family whose zone
    offers fewer names those it has."""
    return max(1, min(period.choice_count, offered))


def catchment_names(session: Session) -> dict[int, tuple[str, ...]]:
    """Each school's 招生范围 (its catchment's villages and communities), as the choice step
    shows it beside each school: set-up data, kept by the worker like a channel's layout."""
    def load():
        found: dict[int, list[str]] = {}
        rows = session.execute(select(Catchment.school_id, Community.name).join(Community, Community.id == Catchment.community_id)
                               .order_by(Catchment.school_id, Community.code))
        for school_id, name in rows:
            found.setdefault(school_id, []).append(name)
        return {school_id: tuple(names) for school_id, names in found.items()}

    return cached(("catchment_names",), load)


def choice_problems(session: Session, application: Application) -> list:
    """The saved choices checked again as the choice step checks them: the community may have
    changed since, or the school's rules, or (underage) the child's birth date."""
    problems = []
    offered = None
    if application.choices and (_zone_bound(application) or application.period.choice_count > 1):
        offered = {o.school.id for o in offered_schools(session, application)}
    for choice in application.choices:
        school = choice.school
        if not _open_to(application.period, school) or (_zone_bound(application) and school.id not in offered):
            problems.append(_l("%(school)s does not take applications from the chosen community; choose the schools again.", school=school.name))
        problems += eligibility.age_problems(application.period, application.child, school) if application.period.entry_kind == "underage" else []
    if application.choices and application.period.choice_count > 1:
        needed = choices_needed(application.period, len(offered))
        if len(application.choices) < needed:
            problems.append(_l("Choose %(n)d different schools: this period asks for %(n)d choices.", n=needed))
    return problems


def set_choices(session: Session, application: Application, school_ids: list[int]) -> None:
    ids = [i for i in school_ids if i]
    limit = application.period.choice_count
    if not ids:
        raise ApplicationError(_l("Choose at least one school."))
    if len(ids) > limit:
        raise ApplicationError(_l("Choose at most %(n)d schools.", n=limit))
    if len(set(ids)) != len(ids):
        raise ApplicationError(_l("Each choice must be a different school."))
    offered = {o.school.id: o.school for o in offered_schools(session, application)}
    needed = choices_needed(application.period, len(offered))
    if len(ids) < needed:
        raise ApplicationError(_l("Choose %(n)d different schools: this period asks for %(n)d choices.", n=needed))
    for school_id in ids:
        if school_id not in offered:
            raise ApplicationError(_l("That school is not open to this application; choose from the list."))
        found = eligibility.age_problems(application.period, application.child, offered[school_id])
        if found:
            raise ApplicationError(found[0])
    if [c.school_id for c in application.choices] == ids:
        return
    workflow.record_amendment(session, application, _l("School choices"))
    # the old rows go first: (application, rank) and (application, school) are unique
    application.choices.clear()
    session.flush()
    application.choices.extend(ApplicationChoice(school_id=s, rank=i + 1) for i, s in enumerate(ids))
    # touching the row makes the version check cover the choices too (two tabs)
    application.updated_at = county_now()
    save(session, application)


def _channel_section(session: Session, application: Application, section: str):
    found = form_layout(session, application)
    return found.section(section) if found else None


def save_section(session: Session, application: Application, section: str, form: dict, skip: bool = False, today: dt.date | None = None) -> None:
    """Store one section; raises SectionError with field messages; skipping only where configured."""
    configured = _channel_section(session, application, section)
    definition = forms.current(session, section)
    if configured is None or definition is None:
        raise ApplicationError(_l("This category does not ask for that section."))
    data = dict(application.section_data or {})
    if skip:
        if not configured.skippable:
            raise ApplicationError(_l("This section is required for the chosen category."))
        data[section] = {"skipped": True}
    else:
        data[section] = clean_section(definition, form, section_context(session, application, today or county_now().date()))
        if section == "basic":
            # the child's record keeps what the county asks of these (Anyi asks no previous school)
            for key in ("former_name", "birth_cert_no", "previous_school", "previous_class"):
                if key in data[section]:
                    setattr(application.child, key, data[section][key] or "")
        if section == "guardians":
            _store_guardians(session, application.child, data[section]["guardians"])
        if section == "property":
            application.property_cert_no = data[section]["certificate_no"].strip().upper()[:64]
    if (application.section_data or {}).get(section) != data[section]:
        workflow.record_amendment(session, application, definition.title)
    application.section_versions = {**(application.section_versions or {}), section: definition.version}
    # the section is saved whole: what was kept of it unfinished (暂存) is no longer needed
    application.draft_answers = {k: v for k, v in (application.draft_answers or {}).items() if k != section}
    # going back and changing an answer can take a later section off the form: its answers go too
    asked = set(_shown_sections(session, configured_sections(session, application), data))
    application.section_data = {k: v for k, v in data.items() if k in asked}
    application.section_versions = {k: v for k, v in application.section_versions.items() if k in asked}
    save(session, application)


def keep_draft(session: Session, application: Application, section: str, form: dict) -> None:
    """暂存 (Shimen): a section's answers kept as typed, unchecked, so a family can stop half-way
    and come back; the checks run when the section is saved, and the submission needs it saved."""
    configured = _channel_section(session, application, section)
    definition = forms.current(session, section)
    if configured is None or definition is None or definition.kind != "fields":
        raise ApplicationError(_l("This section cannot be kept unfinished."))
    if application.status not in ("draft", "returned"):
        raise ApplicationError(_l("A submitted application is changed by saving each section."))
    typed = {}
    for field in definition.fields:
        for name in (field.key, field.key + "_community") if field.kind == "address" else (field.key,):
            value = input_limits.normalized(str(form.get(name) or "")).strip()[:field.max_len]
            # nothing a page or a database could choke on is kept, not even unchecked
            value = "".join(c for c in value if c == "\n" or not input_limits.has_control(c))
            if value:
                typed[name] = value
    application.draft_answers = {**(application.draft_answers or {}), section: typed}
    save(session, application)


def section_context(session: Session, application: Application, today: dt.date) -> Context:
    """What a section's rules compare with: the period's year, the guardians already given."""
    guardians = ((application.section_data or {}).get("guardians") or {}).get("guardians") or []
    return forms.rule_context(session, today, application.period.year if application.period else None, guardians)


def communities_by_street(session: Session) -> list[tuple[str, list[Community]]]:
    """Every street with its communities, in one query (the community step, address fields): the
    picker's groups read "district · street" where the county has more than one district."""
    grouped: dict = {}
    rows = session.execute(
        select(District.name, Street.id, Street.name, Community)
        .join(Street, Street.district_id == District.id).join(Community, Community.street_id == Street.id)
        .order_by(District.code, Street.code, Community.code)
    ).all()
    districts = {row[0] for row in rows}
    for district, street_id, street, community in rows:
        label = f"{district} · {street}" if len(districts) > 1 else street
        grouped.setdefault((street_id, label), []).append(community)
    return [(label, communities) for (_, label), communities in grouped.items()]


def offered_guardians(session: Session, application: Application, source, slots: int) -> tuple[list[dict], str]:
    """The guardians offered on an unsaved guardians step, and where they come from: the household
    register, where the lookup found them ("register"), else another child's application ("family")."""
    try:
        found = child_lookup.register_guardians(session, source, application.child, application.period, slots)
    except RegistryUnavailable:
        found = []  # the register cannot be reached just now: the family types them
    if found:
        return found, "register"
    found = family_guardians(session, application)
    return found, "family" if found else ""


def family_guardians(session: Session, application: Application) -> list[dict]:
    """The parents a family already gave for another of its children, offered on this child's
    guardians step (one account, several children: nobody types them twice). Five rows at most."""
    rows = session.scalars(
        select(Application.section_data).join(Child, Child.id == Application.child_id)
        .where(Child.account_id == application.child.account_id, Application.child_id != application.child_id)
        .order_by(Application.updated_at.desc(), Application.id.desc()).limit(5)
    )
    for data in rows:
        given = ((data or {}).get("guardians") or {}).get("guardians")
        if given:
            return given
    return []


def _store_guardians(session: Session, child: Child, guardians: list[dict]) -> None:
    relations = {"father": "父亲", "mother": "母亲", "other": "其他监护人"}
    for old in list(child.guardians):
        session.delete(old)
    session.flush()
    for g in guardians:
        session.add(
            Guardian(
                child=child,
                relation=relations[g["relation"]],
                name=g["name"],
                id_type="resident_id",
                id_number=g["id_number"],
                phone=g["phone"],
                household_address=g["household_address"],
            )
        )


def section_done(application: Application, section: str) -> bool:
    return section in (application.section_data or {})


def attachments_by_material(session: Session, application: Application) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    for a in session.scalars(select(Attachment).where(Attachment.application_id == application.id).order_by(Attachment.id)):
        found.setdefault(a.material_type_id, []).append(a)
    return found


def missing(session: Session, application: Application, uploaded: dict | None = None) -> list:
    """What still stops submission, in the order of the form."""
    gaps = []
    if application.channel is None:
        return [_l("Choose a category.")]
    if application.channel.requires_catchment and application.community_id is None:
        gaps.append(_l("Choose the community of your household or property address."))
    if not application.choices:
        gaps.append(_l("Choose at least one school."))
    gaps += choice_problems(session, application)
    for code in asked_sections(session, application):
        if not section_done(application, code):
            gaps.append(_l("Fill in “%(s)s”.", s=forms.title(session, code)))
    return gaps + missing_materials(session, application, uploaded)


def asked_materials(session: Session, application: Application, found: Layout | None = None) -> tuple:
    """The channel's materials this application is asked for: one shown only for some answer
    (``show_if``, e.g. a kinship proof for a grandparent's property) waits for that answer."""
    found = found or form_layout(session, application)
    if found is None:
        return ()
    answers = application.section_data or {}
    return tuple(m for m in found.materials if m.shown_for(answers))


def missing_materials(session: Session, application: Application, uploaded: dict | None = None) -> list:
    """A message for each required material asked of this application with no file yet."""
    if uploaded is None:
        uploaded = attachments_by_material(session, application)
    return [
        _l("Upload “%(m)s”.", m=m.material_type.name)
        for m in asked_materials(session, application)
        if m.required and not uploaded.get(m.material_type_id) and not waived(application, m)
    ]


def check_for_waivers(session: Session, application: Application, section: str, source) -> None:
    """Where a material is waived once the records confirm this section, check it now that it is
    saved, so the materials step knows (one lookup, only in such channels)."""
    found = form_layout(session, application)
    if found is None or not any(m.waived_if_verified == section for m in found.materials):
        return
    if verification.precheck(session, application, section, source) is not None:
        save(session, application)


def waived(application: Application, material) -> bool:
    """免证明: a material the county waives once the records confirm a section, and they have."""
    return bool(material.waived_if_verified) and verification.confirms(application, material.waived_if_verified)


def open_periods(session: Session, now: dt.datetime) -> list:
    """Open and upcoming periods, soonest first (the worker's copy of the set-up)."""
    from app.services.layouts import periods

    return [p for p in periods(session) if p.closes_at >= now]
