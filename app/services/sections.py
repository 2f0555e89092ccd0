"""The fields of each form section a channel can ask for, and their checks."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.services.ids import IdNumberError, parse_resident_id
from app.services.input_limits import NAME_MAX, LimitError, check_date, check_person_name, check_text


@dataclass(frozen=True)
class Field:
    key: str
    label: object
    kind: str = "text"  # text, name (a person's), date, int, choice, id, phone
    required: bool = True
    choices: tuple = ()
    hint: object = None
    max_len: int = 100  # text: at most this many characters


_ADDRESS_HINT = _l("Street, building and room, as on the certificate.")
PROPERTY_KINDS = (
    ("real_estate", _l("Real-estate title certificate")),
    ("house", _l("House ownership certificate")),
    ("land", _l("Land use certificate")),
    ("contract", _l("Registered purchase contract")),
    ("public_rental", _l("Public rental housing")),
)
UTILITIES = (("water", _l("Water")), ("power", _l("Electricity")), ("gas", _l("Gas")))

FIELDS: dict[str, tuple[Field, ...]] = {
    "basic": (
        Field("former_name", _l("Former name"), required=False, kind="name", max_len=NAME_MAX),
        Field("birth_cert_no", _l("Birth certificate no."), required=False, hint=_l("Letters and digits at the bottom right of the birth certificate; leave out any *.")),
        Field("previous_school", _l("Previous school (kindergarten or primary)"), required=False),
        Field("previous_class", _l("Previous class"), required=False),
    ),
    "household": (
        Field("householder", _l("Householder"), kind="name", max_len=NAME_MAX),
        Field("relation_to_householder", _l("Child's relation to the householder")),
        Field("address", _l("Household address"), max_len=200, hint=_l("As in the 住址 box on the first page of the household register.")),
        Field("registered_on", _l("Date the child's household registration moved here"), kind="date", required=False),
    ),
    "property": (
        Field("kind", _l("Type of proof"), kind="choice", choices=PROPERTY_KINDS),
        Field("certificate_no", _l("Certificate or contract number"), max_len=64),
        Field("owner_name", _l("Owner (a parent)"), kind="name", max_len=NAME_MAX),
        Field("address", _l("Property address"), max_len=200, hint=_ADDRESS_HINT),
        Field("estate", _l("Residential estate"), required=False),
    ),
    "residence_permit": (
        Field("holder_name", _l("Holder (a parent)"), kind="name", max_len=NAME_MAX),
        Field("number", _l("Residence permit number")),
        Field("address", _l("Current address"), hint=_ADDRESS_HINT),
        Field("valid_until", _l("Valid until"), kind="date"),
    ),
    "employment": (
        Field("employer", _l("Employer")),
        Field("address", _l("Workplace address")),
        Field("insured_since", _l("Employee social insurance paid since"), kind="date"),
        Field("insured_months", _l("Months of employee social insurance"), kind="int"),
    ),
    "business": (
        Field("business_name", _l("Business name")),
        Field("licence_no", _l("Business licence number")),
        Field("licensed_on", _l("Licence date"), kind="date"),
        Field("address", _l("Business address")),
    ),
    "preferential": (
        Field("holder_name", _l("Holder (a parent)"), kind="name", max_len=NAME_MAX),
        Field("certificate_no", _l("Certificate number")),
        Field("address", _l("Address in the county")),
    ),
    "resettlement": (
        Field("holder_name", _l("Name on the agreement"), kind="name", max_len=NAME_MAX),
        Field("holder_id", _l("ID number on the agreement"), kind="id"),
        Field("agreement_no", _l("Agreement number")),
        Field("address", _l("Address in the county")),
    ),
    "long_residence": (
        Field("owner_name", _l("Home owner (a parent)"), kind="name", max_len=NAME_MAX),
        Field("utility", _l("Bill type"), kind="choice", choices=UTILITIES),
        Field("account_no", _l("Utility account number"), hint=_l("The account holder must be a parent.")),
        Field("address", _l("Address"), hint=_ADDRESS_HINT),
    ),
    "sibling": (
        Field("sibling_name", _l("Older sibling's name"), kind="name", max_len=NAME_MAX),
        Field("sibling_id", _l("Older sibling's ID number"), kind="id"),
        Field("school", _l("Sibling's school")),
        Field("grade", _l("Sibling's grade and class")),
    ),
}
GUARDIAN_FIELDS = (
    Field("relation", _l("Relation"), kind="choice", choices=(("father", _l("Father")), ("mother", _l("Mother")), ("other", _l("Other guardian")))),
    Field("name", _l("Full name"), kind="name", max_len=NAME_MAX),
    Field("id_number", _l("ID number"), kind="id"),
    Field("phone", _l("Phone"), kind="phone"),
    Field("household_address", _l("Household address"), required=False, max_len=200),
)
GUARDIAN_SLOTS = 2


class SectionError(Exception):
    def __init__(self, errors: dict[str, object]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def clean_fields(fields: tuple[Field, ...], form: dict, prefix: str = "", today: dt.date | None = None) -> tuple[dict, dict]:
    """Convert and check submitted values; return (values, errors keyed by form name)."""
    values, errors = {}, {}
    for field in fields:
        name = prefix + field.key
        raw = (form.get(name) or "").strip()
        if not raw:
            if field.required:
                errors[name] = _l("Required.")
            values[field.key] = ""
            continue
        try:
            check_text(raw, field.label, field.max_len)
            values[field.key] = _convert(field, raw, today or dt.date.today())
        except LimitError as error:
            errors[name] = error.message
            values[field.key] = ""
        except ValueError as error:
            errors[name] = error.args[0]
            values[field.key] = raw
    return values, errors


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
        if not raw.isdigit():
            raise ValueError(_l("Enter a whole number."))
        return int(raw)
    if field.kind == "choice":
        if raw not in {c for c, _ in field.choices}:
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


def clean_section(section: str, form: dict, today: dt.date | None = None) -> dict:
    """One section's values, or SectionError with every problem."""
    today = today or dt.date.today()
    if section == "guardians":
        return clean_guardians(form, today)
    values, errors = clean_fields(FIELDS[section], form, today=today)
    if section == "residence_permit" and "valid_until" not in errors and values.get("valid_until"):
        if dt.date.fromisoformat(values["valid_until"]) < today:
            errors["valid_until"] = _l("The residence permit has expired.")
    if errors:
        raise SectionError(errors)
    return values


def clean_guardians(form: dict, today: dt.date) -> dict:
    """At least one parent or guardian; a slot left wholly empty is skipped."""
    guardians, errors = [], {}
    for slot in range(GUARDIAN_SLOTS):
        prefix = f"g{slot}_"
        if not any((form.get(prefix + f.key) or "").strip() for f in GUARDIAN_FIELDS if f.key != "relation"):
            continue
        values, slot_errors = clean_fields(GUARDIAN_FIELDS, form, prefix, today)
        errors.update(slot_errors)
        guardians.append(values)
    if not guardians and not errors:
        errors["g0_name"] = _l("Enter at least one parent or guardian.")
    if errors:
        raise SectionError(errors)
    return {"guardians": guardians}
