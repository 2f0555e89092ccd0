"""Input limits every way in shares (admin, REST API, public form, county file): text lengths,
control characters, date bounds, reason caps, the SMS cut, and the database's own constraints
checked before the insert, each refused with a message that names the field and the limit.

Date bounds are relative to today, because what is sensible moves with the calendar:
- a child's birth date: within the last 30 years, not in the future;
- birth-date windows and cut-offs of periods and schools: 30 years back to 5 years ahead;
- period and review times: 10 years either side (archived set-ups still import, 1800 or 2099 not);
- dates typed in form sections (registration, insurance, licence, permit validity): 100 years
  back to 30 years ahead (a long-term permit).
"""
from __future__ import annotations

import ast
import datetime as dt
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint, inspect, select

from app.errors import UserError
from app.labels import CHOICES, COLUMNS
from app.storage import SIGNATURES

REASON_MAX = 500  # a return or reject reason, and a message template's text
TEXT_MAX = 20_000  # any other long text (descriptions, notice bodies)
SMS_MAX = 300  # one SMS the parent receives, title included
NAME_MAX = 30  # a person's name typed in the parents' form
TEXT_CAPS = {"return_reason": REASON_MAX, "reason": REASON_MAX, "body": TEXT_MAX}
BIRTH_COLUMNS = {"birth_from", "birth_to", "underage_birth_cutoff"}
# Cc (controls), Cs (lone surrogates, which PostgreSQL cannot store) and the bidi overrides
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = set("\n\r\t")
# Plain text never needs a tag or a template: stored, they would be a trap for the next screen,
# export or message that forgets to escape.
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]|\{\{|\{%")
# A spreadsheet reads a cell starting with these as a formula; no name, number or address does.
FORMULA_START = ("=", "+", "-", "@")
# Letters of any script (Han, Latin, Uyghur in Han with the middle dot), spaces and name dots.
_PERSON_NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|[ ·•・.'’\-])*")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
INT_MAX = 2_147_483_647  # a PostgreSQL integer
UPLOAD_KB_MAX = 20 * 1024  # a material's cap cannot exceed what one request may carry
FILE_KINDS = tuple(kind for _, kind, _ in SIGNATURES)  # what the upload check recognises


class LimitError(UserError):
    """An input is beyond a limit; ``message`` names the field and the limit."""


def normalized(value: str) -> str:
    """Full-width digits and letters (ＩＤ１２３) as ASCII, as a person means them."""
    return unicodedata.normalize("NFKC", value or "")


def has_control(value: str, multiline: bool = False) -> bool:
    for char in value:
        if multiline and char in _LINE_BREAKS:
            continue
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
            return True
    return False


def check_text(value, field_label, max_len: int, multiline: bool = False):
    """The value unchanged, or LimitError: too long, or an invisible control character."""
    if value is None or not isinstance(value, str):
        return value
    if has_control(value, multiline):
        raise LimitError(_l("“%(field)s” contains invisible control characters.", field=field_label))
    if len(value) > max_len:
        raise LimitError(_l("“%(field)s” may be at most %(n)d characters.", field=field_label, n=max_len))
    if _MARKUP.search(value):
        raise LimitError(_l("“%(field)s” cannot contain markup or template code (<…>, {{ }})." , field=field_label))
    if not multiline and value.startswith(FORMULA_START):
        raise LimitError(_l("“%(field)s” cannot start with = + - or @ (a spreadsheet would run it as a formula).",
                            field=field_label))
    return value


def check_person_name(value, field_label, max_len: int = NAME_MAX):
    """A person's name as on the household register: letters of any script, spaces and name dots."""
    check_text(value, field_label, max_len)
    if value and not _PERSON_NAME.fullmatch(value):
        raise LimitError(_l("“%(field)s” may contain only letters, spaces and the middle dot “·”.", field=field_label))
    return value


def check_url(value, field_label):
    """A link shown to parents: http(s) or a path on this site, never javascript: or data:."""
    if value and not re.match(r"(https?://[^\s/]+|/(?!/))", value):
        raise LimitError(_l("“%(field)s” must be a web address starting with http:// or https://.", field=field_label))
    return value


def cap_reason(reason: str, field_label=None) -> str:
    """A reviewer's reason, stripped, or LimitError beyond REASON_MAX characters."""
    return check_text((reason or "").strip(), field_label or COLUMNS["reason"], REASON_MAX, multiline=True)


def sms_text(title: str, body: str, limit: int = SMS_MAX) -> str:
    """The SMS the parent gets: title and body, cut at ``limit`` characters with "…"."""
    text = f"{title}：{body}"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def date_bounds(kind: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or dt.date.today()
    return {
        "birth": (_years(today, -30), today),
        "birth_window": (_years(today, -30), _years(today, 5)),
        "schedule": (_years(today, -10), _years(today, 10)),
        "record": (_years(today, -100), _years(today, 30)),
    }[kind]


def check_date(value, field_label, kind: str = "record", today: dt.date | None = None):
    """The value unchanged (a date or a date and time), or LimitError outside the kind's bounds."""
    if value is None:
        return value
    start, end = date_bounds(kind, today)
    day = value.date() if isinstance(value, dt.datetime) else value
    if not start <= day <= end:
        raise LimitError(_l("“%(field)s” must be between %(start)s and %(end)s.", field=field_label,
                            start=start.isoformat(), end=end.isoformat()))
    return value


# --- a whole row, from the model's own columns and constraints --------------------------------


def label_of(key: str):
    return COLUMNS.get(key[:-3] if key.endswith("_id") else key, COLUMNS.get(key, key))


def text_limit(column) -> tuple[int, bool] | None:
    """(max length, multi-line?) of a text column, or None for other columns."""
    if isinstance(column.type, Text):
        return TEXT_CAPS.get(column.key, TEXT_MAX), True
    if isinstance(column.type, String):
        return column.type.length or TEXT_MAX, False
    return None


def column_kind(column) -> str:
    if column.key == "birth_date":
        return "birth"
    if column.key in BIRTH_COLUMNS:
        return "birth_window"
    return "schedule"


def check_value(column, value, today: dt.date | None = None):
    """One column's value against its text or date limit (the county file checks cell by cell)."""
    limit = text_limit(column)
    if limit is not None:
        check_text(value, label_of(column.key), limit[0], multiline=limit[1])
        return _check_shaped_text(column.key, value)
    if isinstance(value, int) and not isinstance(value, bool):
        year = (today or dt.date.today()).year
        low, high = {"max_size_kb": (1, UPLOAD_KB_MAX), "year": (year - 10, year + 10)}.get(column.key, (-INT_MAX - 1, INT_MAX))
        if not low <= value <= high:
            raise LimitError(_l("“%(field)s” must be between %(start)s and %(end)s.", field=label_of(column.key),
                                start=low, end=high))
        return value
    if isinstance(value, dt.date) and _is_date(column):
        return check_date(value, label_of(column.key), column_kind(column), today)
    return value


def _check_shaped_text(key: str, value):
    """Text columns whose shape is known: codes, links, the accepted file kinds."""
    if not isinstance(value, str) or not value:
        return value
    if key == "code" and not CODE.fullmatch(value):
        raise LimitError(_l("“%(field)s” may contain only letters, digits and - _ . and must start with a letter or digit.",
                            field=label_of(key)))
    if key.endswith("_url"):
        return check_url(value, label_of(key))
    if key == "accepted_kinds":
        kinds = [k.strip().lower() for k in value.split(",") if k.strip()]
        if not kinds or any(k not in FILE_KINDS for k in kinds):
            raise LimitError(_l("“%(field)s” must be one of: %(allowed)s.", field=label_of(key), allowed="、".join(FILE_KINDS)))
    return value


def _is_date(column) -> bool:
    try:
        return column.type.python_type in (dt.date, dt.datetime)
    except NotImplementedError:
        return False


def row_values(item) -> dict:
    """Column values of an unsaved or edited row, foreign keys read from the related objects."""
    mapper = inspect(type(item))
    values = {c.key: getattr(item, c.key, None) for c in mapper.columns}
    for rel in mapper.relationships:
        if rel.direction.name != "MANYTOONE":
            continue
        target = getattr(item, rel.key, None)
        for local, remote in rel.local_remote_pairs:
            if target is not None:
                values[local.key] = getattr(target, remote.key)
    return values


_ONE_OF = re.compile(r"^(?:(\w+) IS NULL OR )?(\w+) IN \((.*)\)$")
_BETWEEN = re.compile(r"^(\w+) BETWEEN (\d+) AND (\d+)$")
_DIFFERENT = re.compile(r"^(\w+) <> (\w+)$")
# (table, earlier, later, strictly after?): the orderings the database refuses, said in words
ORDERINGS = (
    ("enrollment_period", "opens_at", "closes_at", True),
    ("enrollment_period", "review_starts_at", "review_ends_at", False),
    ("enrollment_period", "birth_from", "birth_to", False),
    ("enrollment_period", "grade", "grade_to", False),
)


def constraint_problems(model, values: dict) -> list:
    """What the table's CHECK constraints would refuse, as messages naming the fields."""
    table = model.__table__
    problems = []
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        sql = str(constraint.sqltext)
        match = _ONE_OF.match(sql)
        if match:
            key, allowed = match.group(2), ast.literal_eval(f"({match.group(3)},)")
            value = values.get(key)
            if value is not None and value not in allowed:
                words = CHOICES.get(key, {})
                shown = "、".join(str(words.get(a, a)) for a in allowed)
                problems.append(_l("“%(field)s” must be one of: %(allowed)s.", field=label_of(key), allowed=shown))
            continue
        match = _BETWEEN.match(sql)
        if match and isinstance(values.get(match.group(1)), int):
            key, low, high = match.group(1), int(match.group(2)), int(match.group(3))
            if not low <= values[key] <= high:
                problems.append(_l("“%(field)s” must be between %(start)s and %(end)s.", field=label_of(key), start=low, end=high))
            continue
        match = _DIFFERENT.match(sql)
        if match and values.get(match.group(1)) is not None and values.get(match.group(1)) == values.get(match.group(2)):
            problems.append(_l("“%(a)s” and “%(b)s” must differ.", a=label_of(match.group(1)), b=label_of(match.group(2))))
    for name, earlier, later, strict in ORDERINGS:
        first, second = values.get(earlier), values.get(later)
        if name == table.name and first is not None and second is not None and (second <= first if strict else second < first):
            names = {"later": label_of(later), "earlier": label_of(earlier)}
            problems.append(_l("“%(later)s” must be after “%(earlier)s”.", **names) if strict
                            else _l("“%(later)s” cannot be before “%(earlier)s”.", **names))
    return problems


def duplicate_problems(session, model, values: dict) -> list:
    """Unique keys another row already holds (queried without flushing the row being checked)."""
    table = model.__table__
    keys = [tuple(c.key for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
    keys += [(c.key,) for c in table.columns if c.unique]
    pk = [c for c in table.primary_key.columns]
    problems = []
    with session.no_autoflush:
        for key in keys:
            if any(values.get(k) is None for k in key):
                continue
            query = select(*pk).where(*(table.c[k] == values[k] for k in key))
            for column in pk:
                if values.get(column.key) is not None:
                    query = query.where(column != values[column.key])
            if session.execute(query.limit(1)).first() is not None:
                fields = "、".join(f"“{label_of(k)}”" for k in key)
                problems.append(_l("A row with the same %(fields)s already exists.", fields=fields))
    return problems


def fill_defaults(item) -> None:
    """A column left out of a post is its default (empty text, 100 characters …), not NULL: FAB
    sets None for a field the form or the API body did not send, which a NOT NULL column refuses."""
    for column in item.__table__.columns:
        if getattr(item, column.key, None) is None and not column.nullable and column.default is not None \
                and isinstance(column.default.arg, (str, int, float)):
            setattr(item, column.key, column.default.arg)


def check_row(session, item, today: dt.date | None = None) -> None:
    """Everything the database would refuse about this row, and the limits, before it is written:
    LimitError with the first problem, or nothing."""
    model = type(item)
    values = row_values(item)
    for column in model.__table__.columns:
        check_value(column, values.get(column.key), today)
    problems = constraint_problems(model, values) + duplicate_problems(session, model, values)
    if problems:
        raise LimitError(problems[0])
