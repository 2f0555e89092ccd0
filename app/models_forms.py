"""Form sections as data: a section's fields, their rules and conditions, and its published versions."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask_appbuilder import Model
from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import county_now, one_of

# The vocabulary the rule engine (app/services/sections.py) understands; the rest is data.
SECTION_KINDS = ("fields", "guardians")  # guardians: the fields repeat once per parent or guardian
FIELD_KINDS = ("text", "long_text", "name", "date", "int", "yes_no", "choice", "id", "phone", "address")
RULE_KINDS = (
    "length",  # number = at least so many characters (max_len of the field caps them)
    "pattern",  # value = a regular expression the whole answer must match
    "min",  # number = smallest whole number
    "max",  # number = largest whole number
    "on_or_before",  # value = a date: 2026-02-01, {year}-02-01, {year-1}-09-01 or today
    "on_or_after",  # the same, the other way
    "months_in_window",  # a "since" date: at least `number` months of [value, value2] covered
    "matches_guardian",  # value = name or id_number: equal to one guardian's answer
    "differs_from",  # value = another field's key in the section
)


class FormSection(Model):
    """A form section (户籍, 房产 …): its title, help and whether the channel may let it be skipped."""

    __tablename__ = "form_section"
    __table_args__ = (CheckConstraint(one_of("kind", SECTION_KINDS), name="ck_form_section_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100), default="")
    help_zh: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="fields")
    # shown only when another section's answer has one of these values ("section.field")
    show_if: Mapped[str] = mapped_column(String(70), default="")
    show_values: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=0)  # the latest published; 0 before the first
    fields: Mapped[list["FormField"]] = relationship(
        back_populates="section", order_by="(FormField.position, FormField.id)", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.title_zh} ({self.code})"


class FormField(Model):
    """One question of a section; shown only when ``show_if`` (a key of the section) has a listed value."""

    __tablename__ = "form_field"
    __table_args__ = (
        UniqueConstraint("section_id", "key", name="uq_form_field_key"),
        CheckConstraint(one_of("kind", FIELD_KINDS), name="ck_form_field_kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("form_section.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100), default="")
    hint_zh: Mapped[str] = mapped_column(String(255), default="")
    hint_en: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16), default="text")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    max_len: Mapped[int] = mapped_column(Integer, default=100)
    # one option per line: value|中文|English
    choices: Mapped[str] = mapped_column(Text, default="")
    show_if: Mapped[str] = mapped_column(String(32), default="")
    show_values: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    section: Mapped[FormSection] = relationship(back_populates="fields")
    rules: Mapped[list["FieldRule"]] = relationship(
        back_populates="field", order_by="(FieldRule.position, FieldRule.id)", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.section.code if self.section else '?'}.{self.key}"


class FieldRule(Model):
    """One check of a field's answer, with the message the parent sees next to the field."""

    __tablename__ = "field_rule"
    __table_args__ = (CheckConstraint(one_of("kind", RULE_KINDS), name="ck_field_rule_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("form_field.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(255), default="")
    value2: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[Optional[int]] = mapped_column(Integer)
    message_zh: Mapped[str] = mapped_column(String(255), default="")
    message_en: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    field: Mapped[FormField] = relationship(back_populates="rules")

    def __repr__(self) -> str:
        return f"{self.field} {self.kind} {self.value or self.number or ''}".strip()


class FormSectionVersion(Model):
    """A published section, frozen: applications keep the version they were filled under."""

    __tablename__ = "form_section_version"
    __table_args__ = (UniqueConstraint("section_code", "version", name="uq_form_section_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    section_code: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)

    def __repr__(self) -> str:
        return f"{self.section_code} v{self.version}"


class CategoryRule(Model):
    """One 生源类别 of a period and when an application falls in it: the first rule whose conditions
    all hold names the category; its rank orders applicants where the period allocates by category."""

    __tablename__ = "category_rule"
    __table_args__ = (
        UniqueConstraint("period_id", "code", name="uq_category_rule_period_code"),
        CheckConstraint("rank >= 1", name="ck_category_rule_rank"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    rank: Mapped[int] = mapped_column(Integer, default=1)  # 1 is allocated first
    position: Mapped[int] = mapped_column(Integer, default=1)  # the order the rules are tried in
    # one condition per line, all must hold: channel = FC|HJ, property.owner != other, household.registered_on <= {year}-08-31
    conditions: Mapped[str] = mapped_column(Text, default="")
    period = relationship("EnrollmentPeriod")

    def __repr__(self) -> str:
        return self.name_zh
