"""The rule engine of form sections: field kinds, rule kinds and conditions over definitions that
are data (app/models_forms.py, frozen per version by app/services/forms.py).

One engine for every door: the parents' form, the admin, the REST API and the county import
check answers with ``clean_section``, and a rule's own settings with ``check_rule``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field as dc_field
from typing import Callable

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.services.ids import IdNumberError, parse_resident_id
from app.services.input_limits import LimitError, check_date, check_person_name, check_text

GUARDIAN_SLOTS = 2
LONG_TEXT_MAX = 2000
PATTERN_MAX = 200
_YES_NO = (("yes", "是", "Yes"), ("no", "否", "No"))
_DATE_TEMPLATE = re.compile(r"\{year(?:([+-])(\d{1,2}))?\}-(\d{2})-(\d{2})")


def in_reader_language(zh: str, en: str) -> str:
    """The answer in the reader's language: English where asked for and given, else Chinese."""
    locale = get_locale()
    return en if en and locale is not None and locale.language == "en" else zh


@dataclass(frozen=True)
class Rule:
    kind: str
    value: str = ""
    value2: str = ""
    number: int | None = None
    message_zh: str = ""
    message_en: str = ""


@dataclass(frozen=True)
class Field:
    key: str
    label_zh: str
    label_en: str = ""
    kind: str = "text"
    required: bool = True
    max_len: int = 100
    hint_zh: str = ""
    hint_en: str = ""
    choices: tuple[tuple[str, str, str], ...] = ()  # (value, 中文, English)
    show_if: str = ""
    show_values: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def label(self) -> str:
        return in_reader_language(self.label_zh, self.label_en)

    @property
    def hint(self) -> str:
        return in_reader_language(self.hint_zh, self.hint_en)

    @property
    def options(self) -> list[tuple[str, str]]:
        """(value, text) pairs of a choice or yes/no field, in the reader's language."""
        source = _YES_NO if self.kind == "yes_no" else self.choices
        return [(value, in_reader_language(zh, en)) for value, zh, en in source]

    def text_of(self, value) -> str:
        """A stored answer as a reviewer reads it (a choice by its label)."""
        for option, text in self.options:
            if option == value:
                return text
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Section:
    code: str
    title_zh: str
    title_en: str = ""
    kind: str = "fields"
    help_zh: str = ""
    help_en: str = ""
    show_if: str = ""  # section.field
    show_values: tuple[str, ...] = ()
    version: int = 0
    fields: tuple[Field, ...] = dc_field(default_factory=tuple)

    @property
    def title(self) -> str:
        return in_reader_language(self.title_zh, self.title_en)

    @property
    def help(self) -> str:
        return in_reader_language(self.help_zh, self.help_en)

    def shown_for(self, answers: dict) -> bool:
        """Whether an application with these section answers is asked this section."""
        return asked_for(self.show_if, self.show_values, answers)


def asked_for(show_if: str, show_values: tuple[str, ...], answers: dict) -> bool:
    """A condition on another section's answer ("section.field" has one of the values), or none:
    the same for a section and for a channel's material."""
    if not show_if:
        return True
    other, _, key = show_if.partition(".")
    return str((answers.get(other) or {}).get(key, "")) in show_values


def split_values(values: str | list | tuple) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.replace("，", ",").split(",")
    return tuple(v.strip() for v in values if str(v).strip())


def parse_choices(text: str) -> tuple[tuple[str, str, str], ...]:
    """One option per line, ``value|中文|English`` (English optional)."""
    options = []
    for line in (text or "").splitlines():
        if line.strip():
            parts = [p.strip() for p in line.split("|")] + ["", ""]
            options.append((parts[0], parts[1] or parts[0], parts[2]))
    return tuple(options)


def from_definition(d: dict) -> Section:
    """A frozen definition (a published version's JSON) as the engine's objects."""
    fields = tuple(
        Field(
            key=f["key"], label_zh=f["label_zh"], label_en=f.get("label_en", ""), kind=f.get("kind", "text"),
            required=bool(f.get("required", True)), max_len=int(f.get("max_len") or 100),
            hint_zh=f.get("hint_zh", ""), hint_en=f.get("hint_en", ""),
            choices=tuple(tuple(c) for c in f.get("choices", ())),
            show_if=f.get("show_if", ""), show_values=split_values(f.get("show_values", ())),
            rules=tuple(Rule(r["kind"], r.get("value", ""), r.get("value2", ""), r.get("number"),
                             r.get("message_zh", ""), r.get("message_en", "")) for r in f.get("rules", ())),
        )
        for f in d.get("fields", ())
    )
    return Section(d["code"], d["title_zh"], d.get("title_en", ""), d.get("kind", "fields"), d.get("help_zh", ""),
                   d.get("help_en", ""), d.get("show_if", ""), split_values(d.get("show_values", ())), int(d.get("version", 0)), fields)


@dataclass
class Context:
    """What rules may compare an answer with, beyond the section itself."""

    today: dt.date
    year: int | None = None  # the period's year: {year} in a date rule
    guardians: list = dc_field(default_factory=list)
    community_exists: Callable[[int], bool] = lambda _id: True


class SectionError(Exception):
    def __init__(self, errors: dict[str, object]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RuleSettingError(ValueError):
    """A rule county IT set up that cannot be applied (a bad date, pattern or key)."""


def resolve_date(text: str, context: Context) -> dt.date:
    """``2026-02-01``, ``today`` or ``{year}-02-01`` / ``{year-1}-09-01`` (the period's year)."""
    text = (text or "").strip()
    if text == "today":
        return context.today
    found = _DATE_TEMPLATE.fullmatch(text)
    try:
        if found:
            year = context.year or context.today.year
            shift = int(found.group(2) or 0) * (-1 if found.group(1) == "-" else 1)
            return dt.date(year + shift, int(found.group(3)), int(found.group(4)))
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RuleSettingError(_l("“%(v)s” is not a date, today or {year}-MM-DD.", v=text)) from None


def check_rule(rule: Rule, field: Field, keys: set[str]) -> None:
    """Refuse a rule that could not be applied, when county IT saves or imports it."""
    sample = Context(today=dt.date(2026, 1, 1), year=2026)
    if rule.kind in ("length", "min", "max", "months_in_window") and rule.number is None:
        raise RuleSettingError(_l("This rule needs a number."))
    if rule.kind in ("length", "months_in_window") and rule.number is not None and rule.number < 0:
        raise RuleSettingError(_l("This rule needs a number of 0 or more."))
    if rule.kind == "pattern":
        if not rule.value or len(rule.value) > PATTERN_MAX:
            raise RuleSettingError(_l("Enter a pattern of at most %(n)d characters.", n=PATTERN_MAX))
        try:
            re.compile(rule.value)
        except re.error:
            raise RuleSettingError(_l("“%(v)s” is not a valid pattern.", v=rule.value)) from None
    if rule.kind in ("on_or_before", "on_or_after", "months_in_window"):
        if field.kind != "date":
            raise RuleSettingError(_l("Date rules apply to date fields only."))
        resolve_date(rule.value, sample)
        if rule.kind == "months_in_window":
            resolve_date(rule.value2, sample)
    if rule.kind in ("min", "max") and field.kind != "int":
        raise RuleSettingError(_l("Smallest and largest apply to whole-number fields only."))
    if rule.kind == "matches_guardian" and rule.value not in ("name", "id_number"):
        raise RuleSettingError(_l("Compare with the guardian's name or id_number."))
    if rule.kind == "differs_from" and (rule.value not in keys or rule.value == field.key):
        raise RuleSettingError(_l("Name another field of this section."))


def _months(since: dt.date, start: dt.date, end: dt.date) -> int:
    first = max(since, start)
    return max(0, (end.year * 12 + end.month) - (first.year * 12 + first.month) + 1) if first <= end else 0


def _broken(rule: Rule, field: Field, value, values: dict, context: Context):
    """The default message of a rule the value breaks, or None."""
    if rule.kind == "length" and len(str(value)) < rule.number:
        return _l("Enter at least %(n)d characters.", n=rule.number)
    if rule.kind == "pattern" and not re.fullmatch(rule.value, str(value)):
        return _l("This does not have the expected form.")
    if rule.kind == "min" and int(value) < rule.number:
        return _l("Enter %(n)d or more.", n=rule.number)
    if rule.kind == "max" and int(value) > rule.number:
        return _l("Enter %(n)d or less.", n=rule.number)
    if rule.kind in ("on_or_before", "on_or_after", "months_in_window"):
        day = dt.date.fromisoformat(value)
        limit = resolve_date(rule.value, context)
        if rule.kind == "on_or_before" and day > limit:
            return _l("Must be on or before %(d)s.", d=limit.isoformat())
        if rule.kind == "on_or_after" and day < limit:
            return _l("Must be on or after %(d)s.", d=limit.isoformat())
        if rule.kind == "months_in_window":
            end = resolve_date(rule.value2, context)
            if _months(day, limit, end) < rule.number:
                return _l("At least %(n)d months between %(a)s and %(b)s are needed.", n=rule.number,
                          a=limit.isoformat(), b=end.isoformat())
    if rule.kind == "matches_guardian" and context.guardians:
        if value not in {g.get(rule.value) for g in context.guardians}:
            return _l("Must be one of the parents or guardians given.")
    if rule.kind == "differs_from" and values.get(rule.value) not in (None, "") and values.get(rule.value) == value:
        return _l("Must differ from the other answer.")
    return None


def visible(field: Field, form_values: dict) -> bool:
    return not field.show_if or str(form_values.get(field.show_if, "")) in field.show_values


def clean_fields(fields: tuple[Field, ...], form: dict, context: Context, prefix: str = "") -> tuple[dict, dict]:
    """Convert and check submitted values; return (values, errors keyed by form name). A field
    whose condition is not met is not asked: not required, and nothing is kept for it."""
    raw_values = {f.key: (form.get(prefix + f.key) or "").strip() for f in fields}
    values, errors = {}, {}
    for field in fields:
        if not visible(field, raw_values):
            continue
        name = prefix + field.key
        raw = raw_values[field.key]
        if field.kind == "address":
            values[field.key + "_community"] = _community(form.get(name + "_community"), context)
            if values[field.key + "_community"] is None and field.required:
                errors[name + "_community"] = _l("Choose the village or community.")
        if not raw:
            if field.required:
                errors[name] = _l("Required.")
            values[field.key] = ""
            continue
        try:
            check_text(raw, field.label, LONG_TEXT_MAX if field.kind == "long_text" else field.max_len,
                       multiline=field.kind == "long_text")
            values[field.key] = _convert(field, raw, context.today)
        except LimitError as error:
            errors[name] = error.message
            values[field.key] = ""
        except ValueError as error:
            errors[name] = error.args[0]
            values[field.key] = raw
    for field in fields:
        name = prefix + field.key
        if name in errors or values.get(field.key) in (None, ""):
            continue
        for rule in field.rules:
            try:
                message = _broken(rule, field, values[field.key], values, context)
            except (RuleSettingError, ValueError, re.error):
                message = None  # a rule saved before its checks existed: the reviewer still sees the answer
            if message is not None:
                errors[name] = in_reader_language(rule.message_zh, rule.message_en) or message
                break
    return values, errors


def _community(raw, context: Context) -> int | None:
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 9 or not context.community_exists(int(text)):
        return None
    return int(text)


def _convert(field: Field, raw: str, today: dt.date):
    if field.kind == "date":
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise ValueError(_l("Enter a date as YYYY-MM-DD.")) from None
        try:
            return check_date(day, field.label, "record", today).isoformat()
        except LimitError as error:
            raise ValueError(error.message) from None
    if field.kind == "name":
        return check_person_name(raw, field.label, field.max_len)
    if field.kind == "int":
        if not raw.isdigit() or len(raw) > 9:
            raise ValueError(_l("Enter a whole number."))
        return int(raw)
    if field.kind in ("choice", "yes_no"):
        if raw not in {value for value, _ in field.options}:
            raise ValueError(_l("Choose one of the options."))
        return raw
    if field.kind == "phone":
        if not re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", raw):
            raise ValueError(_l("Enter a mobile or landline number."))
        return raw
    if field.kind == "id":
        try:
            return parse_resident_id(raw, today).number
        except IdNumberError as error:
            raise ValueError(error.message) from None
    return raw


def clean_section(section: Section, form: dict, context: Context) -> dict:
    """One section's values, or SectionError with every problem."""
    if section.kind == "guardians":
        return clean_guardians(section, form, context)
    values, errors = clean_fields(section.fields, form, context)
    if errors:
        raise SectionError(errors)
    return values


def clean_guardians(section: Section, form: dict, context: Context) -> dict:
    """At least one parent or guardian; a slot left wholly empty is skipped."""
    guardians, errors = [], {}
    for slot in range(GUARDIAN_SLOTS):
        prefix = f"g{slot}_"
        if not any((form.get(prefix + f.key) or "").strip() for f in section.fields if f.kind not in ("choice", "yes_no")):
            continue
        values, slot_errors = clean_fields(section.fields, form, context, prefix)
        errors.update(slot_errors)
        guardians.append(values)
    if not guardians and not errors:
        first = next((f.key for f in section.fields if f.kind not in ("choice", "yes_no")), "name")
        errors[f"g0_{first}"] = _l("Enter at least one parent or guardian.")
    if errors:
        raise SectionError(errors)
    return {"guardians": guardians}
