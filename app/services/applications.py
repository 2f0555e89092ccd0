"""A family's application from draft to submission: steps, choices, sections, edits, withdrawal."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import (
    Application,
    ApplicationChoice,
    Attachment,
    Catchment,
    Channel,
    Child,
    Community,
    EnrollmentPeriod,
    Guardian,
    ParentAccount,
    School,
)
from app.services import eligibility, flags, workflow
from app.services.numbers import next_application_number
from app.services.sections import clean_section


class ApplicationError(UserError):
    """A rule refused the input; ``message`` says why."""


@dataclass(frozen=True)
class Offer:
    school: School
    shared: bool  # in a shared zone: the parent chooses among several schools


def own_application(session: Session, account: ParentAccount, application_id: int) -> Application | None:
    """The application only if its child is bound to this account."""
    return session.scalar(
        select(Application).join(Child).where(Application.id == application_id, Child.account_id == account.id)
    )


def account_applications(session: Session, account: ParentAccount) -> list[Application]:
    return list(
        session.scalars(
            select(Application).join(Child).where(Child.account_id == account.id).order_by(Application.created_at.desc())
        )
    )


def start(session: Session, child: Child, period: EnrollmentPeriod, now: dt.datetime) -> Application:
    """Resume the child's application in this period, or open a draft if the child may apply."""
    existing = eligibility.registered_elsewhere(session, child, period)
    if existing is not None:
        if existing.status in ("draft", "returned"):
            return existing
        raise ApplicationError(_l("Already registered: this child already has an application in this period."))
    found = eligibility.period_problems(period, now) + eligibility.age_problems(period, child)
    if found:
        raise ApplicationError(found[0])
    application = Application(
        number=next_application_number(session, period), child=child, period=period, status="draft", section_data={}
    )
    session.add(application)
    session.commit()
    return application


def steps(application: Application) -> list[str]:
    """The pages of this application's form, in order; sections come from its channel."""
    names = ["channel"]
    if application.channel is None:
        return names
    names += ["community", "choices"]
    names += [s.section for s in application.channel.sections]
    if application.channel.materials:
        names.append("materials")
    return names + ["preview"]


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
    application.grade = grade
    if application.channel_id != channel.id:
        application.channel = channel
        # another channel asks other sections and schools: keep only what still applies
        keep = {s.section for s in channel.sections}
        application.section_data = {k: v for k, v in (application.section_data or {}).items() if k in keep}
    session.commit()


def set_community(session: Session, application: Application, community_id: int | None) -> None:
    if community_id is None:
        if application.channel and application.channel.requires_catchment:
            raise ApplicationError(_l("Choose the community of your household or property address."))
        application.community_id = None
    else:
        if session.get(Community, community_id) is None:
            raise ApplicationError(_l("Choose the community of your household or property address."))
        application.community_id = community_id
    session.commit()


def offered_schools(session: Session, application: Application) -> list[Offer]:
    """Schools this application may choose: stage, ownership, transfer, catchment and age rules."""
    period, channel = application.period, application.channel
    query = select(School).where(
        School.stage.in_((period.stage, "nine_year")), School.ownership == period.ownership
    )
    if period.entry_kind == "transfer":
        query = query.where(School.accepts_transfer.is_(True))
    if period.entry_kind == "underage":
        query = query.where(School.accepts_underage.is_(True))
    schools = list(session.scalars(query.order_by(School.code)))
    if channel is not None and channel.requires_catchment and period.ownership == "public":
        zones = {
            c.school_id: c.kind
            for c in session.scalars(select(Catchment).where(Catchment.community_id == application.community_id))
        }
        return [Offer(s, zones[s.id] == "shared") for s in schools if s.id in zones]
    return [Offer(s, False) for s in schools]


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
    for school_id in ids:
        if school_id not in offered:
            raise ApplicationError(_l("That school is not open to this application; choose from the list."))
        found = eligibility.age_problems(application.period, application.child, offered[school_id])
        if found:
            raise ApplicationError(found[0])
    application.choices.clear()
    session.flush()
    application.choices.extend(ApplicationChoice(school_id=s, rank=i + 1) for i, s in enumerate(ids))
    session.commit()


def _channel_section(application: Application, section: str):
    if application.channel is None:
        return None
    return next((s for s in application.channel.sections if s.section == section), None)


def save_section(session: Session, application: Application, section: str, form: dict, skip: bool = False, today: dt.date | None = None) -> None:
    """Store one section; raises SectionError with field messages; skipping only where configured."""
    configured = _channel_section(application, section)
    if configured is None:
        raise ApplicationError(_l("This category does not ask for that section."))
    data = dict(application.section_data or {})
    if skip:
        if not configured.skippable:
            raise ApplicationError(_l("This section is required for the chosen category."))
        data[section] = {"skipped": True}
    else:
        data[section] = clean_section(section, form, today)
        if section == "basic":
            for key in ("former_name", "birth_cert_no", "previous_school", "previous_class"):
                setattr(application.child, key, data[section][key])
        if section == "guardians":
            _store_guardians(session, application.child, data[section]["guardians"])
        if section == "property":
            application.property_cert_no = data[section]["certificate_no"].strip().upper()[:64]
    application.section_data = data
    session.commit()


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


def missing(session: Session, application: Application) -> list:
    """What still stops submission, in the order of the form."""
    gaps = []
    if application.channel is None:
        return [_l("Choose a category.")]
    if application.channel.requires_catchment and application.community_id is None:
        gaps.append(_l("Choose the community of your household or property address."))
    if not application.choices:
        gaps.append(_l("Choose at least one school."))
    for s in application.channel.sections:
        if not section_done(application, s.section):
            from app.labels import CHOICES

            gaps.append(_l("Fill in “%(s)s”.", s=CHOICES["section"][s.section]))
    return gaps + missing_materials(session, application)


def missing_materials(session: Session, application: Application) -> list:
    """A message for each required material of the channel with no file yet."""
    uploaded = attachments_by_material(session, application)
    return [
        _l("Upload “%(m)s”.", m=m.material_type.name)
        for m in (application.channel.materials if application.channel else [])
        if m.required and not uploaded.get(m.material_type_id)
    ]


def can_edit(application: Application, now: dt.datetime) -> bool:
    """A draft always; a submitted one until close where the period allows; after that only when returned."""
    if application.status in ("draft", "returned"):
        return True
    period = application.period
    return application.status == "submitted" and period.edit_until_close and now <= period.closes_at


def can_withdraw(application: Application, now: dt.datetime) -> bool:
    """Only before review starts, at most the period's limit, while the period is open."""
    period = application.period
    return (
        application.status == "submitted"
        and application.withdrawal_count < period.withdrawal_limit
        and now <= period.closes_at
    )


def submit(session: Session, application: Application, account: ParentAccount, now: dt.datetime, previewed_at: dt.datetime | None = None) -> None:
    """Check everything again and submit (or resubmit after a return)."""
    period = application.period
    if application.status not in ("draft", "returned"):
        raise ApplicationError(_l("This application has already been submitted."))
    wait = dt.timedelta(seconds=period.submit_wait_seconds)
    if wait and (previewed_at is None or now - previewed_at < wait):
        raise ApplicationError(_l("Please read the preview for %(s)d seconds before submitting.", s=period.submit_wait_seconds))
    found = [] if application.status == "returned" else eligibility.period_problems(period, now)
    found += eligibility.age_problems(period, application.child)
    for choice in application.choices:
        found += eligibility.age_problems(period, application.child, choice.school) if period.entry_kind == "underage" else []
    if eligibility.registered_elsewhere(session, application.child, period, application.id) is not None:
        found.append(_l("Already registered: this child already has an application in this period."))
    found += missing(session, application)
    if found:
        raise ApplicationError(found[0])
    name = "resubmit" if application.status == "returned" else "submit"
    workflow.transition(session, application, name, account_id=account.id, now=now)
    session.flush()
    flags.refresh(session, application)
    session.commit()


def withdraw(session: Session, application: Application, account: ParentAccount, now: dt.datetime) -> None:
    if not can_withdraw(application, now):
        if application.status != "submitted":
            raise ApplicationError(_l("Review has started; the application can no longer be withdrawn."))
        raise ApplicationError(_l("No withdrawals are left for this application."))
    workflow.transition(session, application, "withdraw", account_id=account.id, now=now)
    session.commit()


def open_periods(session: Session, now: dt.datetime) -> list[EnrollmentPeriod]:
    """Open and upcoming periods, soonest first."""
    return list(
        session.scalars(
            select(EnrollmentPeriod).where(EnrollmentPeriod.closes_at >= now).order_by(EnrollmentPeriod.opens_at, EnrollmentPeriod.code)
        )
    )
