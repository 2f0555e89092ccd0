"""Every table of Ruxue. Labels live in app/labels.py; rules in app/services/."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    text,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import county_now, mask_id, one_of
from app.models_places import (  # noqa: F401  (places live beside; imported from here as before)
    CATCHMENT_KINDS,
    OWNERSHIPS,
    STAGES,
    Catchment,
    Community,
    District,
    School,
    SchoolGradeSeats,
    SchoolNeighbour,
    Street,
)

# Enumerations are stored as short strings with a CHECK constraint, so both SQLite and
# PostgreSQL refuse a value the code does not know.
PERIOD_STAGES = ("primary", "junior")
ENTRY_KINDS = ("new", "underage", "transfer")
ID_TYPES = ("resident_id", "hk_macao_taiwan", "passport", "birth_certificate", "other")
SEXES = ("M", "F")
NOTICE_KINDS = ("guide", "policy", "faq", "agreement", "contact")
STATUSES = (
    "draft",
    "submitted",
    "in_review",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
    "admitted",
    "reassigned",
)
ACTIVE_STATUSES = ("submitted", "in_review", "returned", "approved", "admitted", "reassigned")
# Statuses that hold the child's place in a period: at most one such application per child and
# period, enforced by a partial unique index (a withdrawal goes back to draft, which still holds it).
NOT_HOLDING = ("rejected", "withdrawn")
_HOLDING_WHERE = "status NOT IN ('rejected', 'withdrawn')"




class MaterialType(Model):
    __tablename__ = "material_type"
    __table_args__ = (CheckConstraint("max_size_kb > 0", name="ck_material_size"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    example_url: Mapped[str] = mapped_column(String(255), default="")
    accepted_kinds: Mapped[str] = mapped_column(String(64), default="jpeg,png,pdf")
    max_size_kb: Mapped[int] = mapped_column(Integer, default=5120)

    def __repr__(self) -> str:
        return self.name


class EnrollmentPeriod(Model):
    __tablename__ = "enrollment_period"
    __table_args__ = (
        CheckConstraint(one_of("stage", PERIOD_STAGES), name="ck_period_stage"),
        CheckConstraint(one_of("entry_kind", ENTRY_KINDS), name="ck_period_entry_kind"),
        CheckConstraint(one_of("ownership", OWNERSHIPS), name="ck_period_ownership"),
        CheckConstraint("grade BETWEEN 1 AND 9", name="ck_period_grade"),
        CheckConstraint("grade_to IS NULL OR grade_to BETWEEN grade AND 9", name="ck_period_grade_to"),
        CheckConstraint("closes_at > opens_at", name="ck_period_window"),
        CheckConstraint("choice_count >= 1", name="ck_period_choices"),
        CheckConstraint("withdrawal_limit >= 0", name="ck_period_withdrawals"),
        CheckConstraint("submit_wait_seconds >= 0", name="ck_period_wait"),
        CheckConstraint(one_of("allocation_mechanism", ("first_choice_first", "deferred_acceptance")), name="ck_period_mechanism"),
        Index("ix_period_year_stage", "year", "stage"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16), default="primary")
    grade: Mapped[int] = mapped_column(Integer, default=1)
    grade_to: Mapped[Optional[int]] = mapped_column(Integer)  # transfers: the highest grade taken
    entry_kind: Mapped[str] = mapped_column(String(16), default="new")
    ownership: Mapped[str] = mapped_column(String(16), default="public")
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(DateTime)
    review_starts_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    review_ends_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    birth_from: Mapped[Optional[dt.date]] = mapped_column(Date)
    birth_to: Mapped[Optional[dt.date]] = mapped_column(Date)
    choice_count: Mapped[int] = mapped_column(Integer, default=1)
    withdrawal_limit: Mapped[int] = mapped_column(Integer, default=0)
    edit_until_close: Mapped[bool] = mapped_column(Boolean, default=True)
    submit_wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    allocation_mechanism: Mapped[str] = mapped_column(String(32), default="first_choice_first")
    priority_keys: Mapped[str] = mapped_column(String(128), default="channel,birth,lottery")
    preview_allocation: Mapped[bool] = mapped_column(Boolean, default=False)
    child_lookup: Mapped[bool] = mapped_column(Boolean, default=False)  # the child is looked up in the household extract first
    description: Mapped[str] = mapped_column(Text, default="")
    # how the county's manual names the statuses to parents: status|中文|English per line
    status_words: Mapped[str] = mapped_column(Text, default="")
    channels: Mapped[list["Channel"]] = relationship(
        back_populates="period", order_by="Channel.priority"
    )

    def __repr__(self) -> str:
        return self.name


class Channel(Model):
    """A category / channel (报名类别) of one period."""

    __tablename__ = "channel"
    __table_args__ = (
        UniqueConstraint("period_id", "code", name="uq_channel_period_code"),
        CheckConstraint("priority >= 1", name="ck_channel_priority"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment_period.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer, default=1)
    conditions: Mapped[str] = mapped_column(Text, default="")
    verifiable: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_catchment: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    period: Mapped[EnrollmentPeriod] = relationship(back_populates="channels")
    materials: Mapped[list["ChannelMaterial"]] = relationship(
        back_populates="channel", order_by="ChannelMaterial.position"
    )
    sections: Mapped[list["ChannelSection"]] = relationship(
        back_populates="channel", order_by="ChannelSection.position"
    )

    def __repr__(self) -> str:
        return self.name


class ChannelMaterial(Model):
    __tablename__ = "channel_material"
    __table_args__ = (
        UniqueConstraint("channel_id", "material_type_id", name="uq_channel_material"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    material_type_id: Mapped[int] = mapped_column(ForeignKey("material_type.id"), index=True)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # asked only when an answer has one of these values ("section.field"), like a section's condition
    show_if: Mapped[str] = mapped_column(String(70), default="")
    show_values: Mapped[str] = mapped_column(String(255), default="")
    # 免证明: no upload needed once this section's answers are confirmed by the records (a section code)
    waived_if_verified: Mapped[str] = mapped_column(String(32), default="", server_default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[Channel] = relationship(back_populates="materials")
    material_type: Mapped[MaterialType] = relationship()

    def __repr__(self) -> str:
        return f"{self.channel} · {self.material_type}"


class ChannelSection(Model):
    """A form section (户籍, 房产 …) a channel asks for, in order."""

    __tablename__ = "channel_section"
    __table_args__ = (
        UniqueConstraint("channel_id", "section", name="uq_channel_section"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    # a form section's code: sections are data (app/models_forms.py), kept while a channel asks them
    section: Mapped[str] = mapped_column(ForeignKey("form_section.code", onupdate="CASCADE", name="fk_channel_section_form_section"))
    skippable: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[Channel] = relationship(back_populates="sections")
    form_section: Mapped["FormSection"] = relationship()

    def __repr__(self) -> str:
        return f"{self.channel} · {self.section}"


class Notice(Model):
    __tablename__ = "notice"
    __table_args__ = (CheckConstraint(one_of("kind", NOTICE_KINDS), name="ck_notice_kind"),
                      CheckConstraint("wait_seconds >= 0 AND wait_seconds <= 600", name="ck_notice_wait"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="policy")
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=1)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # the agreement: seconds a parent reads before the button works (Dengfeng: 30), its wording
    wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    button_label: Mapped[str] = mapped_column(String(32), default="")

    def __repr__(self) -> str:
        return self.title


class ParentAccount(Model):
    __tablename__ = "parent_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    consent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    consent_notice_id: Mapped[Optional[int]] = mapped_column(ForeignKey("notice.id"))
    consent_version: Mapped[Optional[int]] = mapped_column(Integer)
    children: Mapped[list["Child"]] = relationship(back_populates="account")

    @property
    def phone_masked(self) -> str:
        return self.phone[:3] + "****" + self.phone[-4:] if len(self.phone) >= 7 else "****"

    def __repr__(self) -> str:
        return self.phone_masked


class Child(Model):
    __tablename__ = "child"
    __table_args__ = (
        UniqueConstraint("id_type", "id_number", name="uq_child_id"),
        CheckConstraint(one_of("id_type", ID_TYPES), name="ck_child_id_type"),
        CheckConstraint("sex IS NULL OR " + one_of("sex", SEXES), name="ck_child_sex"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("parent_account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(64), index=True)
    former_name: Mapped[str] = mapped_column(String(64), default="")
    id_type: Mapped[str] = mapped_column(String(24), default="resident_id")
    id_number: Mapped[str] = mapped_column(String(32))
    birth_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    sex: Mapped[Optional[str]] = mapped_column(String(1))
    birth_cert_no: Mapped[str] = mapped_column(String(32), default="")
    previous_school: Mapped[str] = mapped_column(String(128), default="")
    previous_class: Mapped[str] = mapped_column(String(64), default="")
    account: Mapped[Optional[ParentAccount]] = relationship(back_populates="children")
    guardians: Mapped[list["Guardian"]] = relationship(back_populates="child")

    @property
    def id_number_masked(self) -> str:
        return mask_id(self.id_number)

    def __repr__(self) -> str:
        return f"{self.name} ({self.id_number_masked})"


class Guardian(Model):
    __tablename__ = "guardian"
    __table_args__ = (CheckConstraint(one_of("id_type", ID_TYPES), name="ck_guardian_id_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    id_type: Mapped[str] = mapped_column(String(24), default="resident_id")
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    household_address: Mapped[str] = mapped_column(String(255), default="")
    child: Mapped[Child] = relationship(back_populates="guardians")

    @property
    def id_number_masked(self) -> str:
        return mask_id(self.id_number)

    def __repr__(self) -> str:
        return f"{self.name} ({self.relation})"


class Application(Model):
    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="ck_application_status"),
        CheckConstraint("withdrawal_count >= 0", name="ck_application_withdrawals"),
        Index("ix_application_period_status", "period_id", "status"),
        Index("ix_application_child_period", "child_id", "period_id"),
        Index("uq_application_child_period_holding", "child_id", "period_id", unique=True,
              sqlite_where=text(_HOLDING_WHERE), postgresql_where=text(_HOLDING_WHERE)),
        # the reviewers' list and its exports: every application but drafts, newest submission first;
        # with the allocated school a school's count is read from the index alone
        Index("ix_application_reviewable", "submitted_at", "id", "allocated_school_id",
              sqlite_where=text("status <> 'draft'"), postgresql_where=text("status <> 'draft'")),
        Index("ix_application_flags_stale", "flags_stale",
              sqlite_where=text("flags_stale"), postgresql_where=text("flags_stale")),
        Index("ix_application_checks_stale", "checks_stale",
              sqlite_where=text("checks_stale"), postgresql_where=text("checks_stale")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id"))
    channel_id: Mapped[Optional[int]] = mapped_column(ForeignKey("channel.id"), index=True)
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    grade: Mapped[Optional[int]] = mapped_column(Integer)  # the grade applied for (transfers choose)
    section_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the version of each form section its answers were given under: {code: version}
    section_versions: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=dict)
    # 暂存: what a family typed on a section it saved unfinished, unchecked, until the section is saved
    draft_answers: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=dict)
    withdrawal_count: Mapped[int] = mapped_column(Integer, default=0)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now, onupdate=county_now)
    submitted_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, index=True)
    reviewed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    allocated_school_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("school.id"), index=True
    )
    allocation_note: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # Denormalised for conflict checks: the property certificate or contract number entered.
    property_cert_no: Mapped[str] = mapped_column(String(64), default="", index=True)
    flags: Mapped[str] = mapped_column(String(255), default="", index=True)  # comma-separated codes
    # Set when the data behind the flags changed; the worker recomputes them off the parents' path.
    flags_stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Optimistic lock: every UPDATE checks it, so two tabs, a double submit or a reviewer acting
    # at the same moment as the parent end in one clear refusal instead of a lost update.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # 生源类别 as the period's category rules derived it when the family submitted (or changed it since)
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category_rule.id", ondelete="SET NULL"))
    # 免证明: each verifiable section's outcome against the registry extracts, {section: {...}};
    # checks_stale: submitted since, the worker runs the checks off the parents' path
    checks: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=dict)
    checks_stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # the checks in one word, for the reviewers' filter: verified (every section), mismatch, not_found, or "" (none yet)
    checks_outcome: Mapped[str] = mapped_column(String(16), default="", server_default="", index=True)
    child: Mapped[Child] = relationship()
    category = relationship("CategoryRule")
    period: Mapped[EnrollmentPeriod] = relationship()
    channel: Mapped[Optional[Channel]] = relationship()
    community: Mapped[Optional[Community]] = relationship()
    allocated_school: Mapped[Optional[School]] = relationship()
    reviewed_by = relationship(User)
    choices: Mapped[list["ApplicationChoice"]] = relationship(
        back_populates="application", order_by="ApplicationChoice.rank", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def child_id_masked(self) -> str:
        return self.child.id_number_masked if self.child else ""

    @property
    def choices_text(self) -> str:
        return "、".join(str(c.school) for c in self.choices)

    def __repr__(self) -> str:
        return self.number


class ApplicationCounter(Model):
    """The last application number given in a period: one row per period, incremented in place
    (an upsert), so concurrent starts never read the same maximum."""

    __tablename__ = "application_counter"
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"period {self.period_id}: {self.last_number}"


class ApplicationChoice(Model):
    __tablename__ = "application_choice"
    __table_args__ = (
        UniqueConstraint("application_id", "rank", name="uq_choice_rank"),
        UniqueConstraint("application_id", "school_id", name="uq_choice_school"),
        CheckConstraint("rank >= 1", name="ck_choice_rank"),
        # a school's scope is answered from the index alone (see the migration a3c9e1f0b7d2)
        Index("ix_application_choice_school_app", "school_id", "application_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    rank: Mapped[int] = mapped_column(Integer, default=1)
    application: Mapped[Application] = relationship(back_populates="choices")
    school: Mapped[School] = relationship(lazy="joined")  # a choice is always shown by its school's name

    def __repr__(self) -> str:
        return f"{self.rank}. {self.school}"


class Attachment(Model):
    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint("size > 0", name="ck_attachment_size"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    material_type_id: Mapped[int] = mapped_column(ForeignKey("material_type.id"))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    application: Mapped[Application] = relationship()
    material_type: Mapped[MaterialType] = relationship()

    def __repr__(self) -> str:
        return self.file_name


class ApplicationEvent(Model):
    __tablename__ = "application_event"
    __table_args__ = (
        CheckConstraint("from_status IS NULL OR " + one_of("from_status", STATUSES), name="ck_event_from"),
        CheckConstraint(one_of("to_status", STATUSES), name="ck_event_to"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    actor_account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("parent_account.id"))
    from_status: Mapped[Optional[str]] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    application: Mapped[Application] = relationship()
    actor_user = relationship(User)
    actor_account: Mapped[Optional[ParentAccount]] = relationship()

    def __repr__(self) -> str:
        return f"{self.application}: {self.from_status} → {self.to_status}"


class Message(Model):
    __tablename__ = "message"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("parent_account.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    sms_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    sms_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sms_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # outbox: the sender (`flask --app run send-messages`) tries again after this time
    sms_next_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    account: Mapped[ParentAccount] = relationship()
    application: Mapped[Optional[Application]] = relationship()

    def __repr__(self) -> str:
        return self.title


class ReviewerSchool(Model):
    """Which schools a staff user reviews."""

    __tablename__ = "reviewer_school"
    __table_args__ = (UniqueConstraint("user_id", "school_id", name="uq_reviewer_school"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    user = relationship(User)
    school: Mapped[School] = relationship()

    def __repr__(self) -> str:
        return f"{self.user} · {self.school}"


# Operational tables (login codes, templates, audit) live beside, registered on the same metadata.
from app.models_ops import (  # noqa: E402,F401
    REASON_KINDS,
    AllocationForecast,
    AllocationRound,
    AllocationRun,
    AuditLog,
    StaffSession,
    StaffTotp,
    ExportJob,
    SeedCommitment,
    MessageTemplate,
    OtpCode,
    ReasonTemplate,
)
from app.models_forms import FIELD_KINDS, RULE_KINDS, SECTION_KINDS, CategoryRule, FieldRule, FormField, FormSection, FormSectionVersion  # noqa: E402,F401
from app.models_registry import REGISTRY_SOURCES, ChildLookup, ChildLookupFile, RegistryBatch, RegistryRecord  # noqa: E402,F401
