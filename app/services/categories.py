"""生源类别: the category an application falls in, derived by the period's rules (county data).

A rule's conditions are lines, all of which must hold; the first rule (by position) that holds
names the category. A line is ``left op values``:

    channel = FC|HJ                     the channel's code is one of these
    property.household_here = yes       an answer is one of these (!= : none of these)
    household.registered_on <= {year}-06-30   a date answer on or before (>= : on or after)
    checks.property = verified          the records check of a section (verified, mismatch, not_found)

An empty list of conditions always holds (a default category, put last).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import Application
from app.models_forms import CategoryRule, FormSection
from app.services import sections
from app.services import layouts
from app.services.sections import in_reader_language

_LINE = re.compile(r"^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*(!=|<=|>=|=)\s*(.+?)\s*$")


class CategoryRuleError(UserError):
    """A category rule's conditions Ruxue cannot apply; ``message`` says which line and why."""


@dataclass(frozen=True)
class Condition:
    left: str  # "channel" or "section.field"
    op: str
    values: tuple[str, ...]


def parse(text: str) -> list[Condition]:
    """The conditions of one rule; CategoryRuleError names the first line that is not one."""
    found = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise CategoryRuleError(_l("Condition line %(n)d is not “left = value”: %(line)s (e.g. channel = FC, "
                                       "property.owner != other, household.registered_on <= {year}-06-30).",
                                       n=number, line=line.strip()))
        left, op, right = match.groups()
        if left != "channel" and "." not in left:
            raise CategoryRuleError(_l("Condition line %(n)d names neither the channel nor a section's field (section.field): %(w)s.",
                                       n=number, w=left))
        if op in ("<=", ">=") and left == "channel":
            raise CategoryRuleError(_l("Condition line %(n)d compares the channel with “%(op)s”; use = or !=.", n=number, op=op))
        values = tuple(v.strip() for v in right.split("|") if v.strip())
        found.append(Condition(left, op, values))
    return found


def problems(session: Session, rule: CategoryRule) -> list[str]:
    """What stops the rule applying: a bad line, a field or channel that does not exist, a date that is not one."""
    try:
        conditions = parse(rule.conditions)
    except CategoryRuleError as error:
        return [str(error.message)]
    found = []
    codes = {c.code for c in rule.period.channels} if rule.period is not None else set()
    keys = {}
    for condition in conditions:
        if condition.left == "channel":
            unknown = [v for v in condition.values if v not in codes]
            if unknown:
                found.append(str(_l("The period has no channel %(c)s.", c=", ".join(unknown))))
            continue
        section, _, key = condition.left.partition(".")
        if section == "checks":
            if session.scalar(select(FormSection.code).where(FormSection.code == key)) is None:
                found.append(str(_l("No form section is called %(s)s.", s=key)))
            if condition.op not in ("=", "!=") or set(condition.values) - set(CHECK_OUTCOMES):
                found.append(str(_l("A records check is compared with = or != and one of %(v)s.", v=", ".join(CHECK_OUTCOMES))))
            continue
        if section not in keys:
            row = session.scalar(select(FormSection).where(FormSection.code == section))
            keys[section] = {f.key: f.kind for f in row.fields} if row is not None else {}
        kind = keys[section].get(key)
        if kind is None:
            found.append(str(_l("No form section has the field %(f)s (write section.field, e.g. property.owner).", f=condition.left)))
        elif condition.op in ("<=", ">="):
            if kind != "date":
                found.append(str(_l("%(f)s is not a date; compare it with = or !=.", f=condition.left)))
            for value in condition.values:
                try:
                    sections.resolve_date(value, sections.Context(today=dt.date.today(), year=2000))
                except sections.RuleSettingError as error:
                    found.append(str(error.args[0]))
    return found


def refuse_problems(session: Session, rule: CategoryRule) -> None:
    found = problems(session, rule)
    if found:
        raise CategoryRuleError(found[0])


CHECK_OUTCOMES = ("verified", "mismatch", "not_found")


def _holds(condition: Condition, application: Application, year: int, checks: dict | None) -> bool:
    if condition.left == "channel":
        answer = application.channel.code if application.channel else ""
    elif condition.left.startswith("checks."):
        answer = str(((checks or {}).get(condition.left[7:]) or {}).get("outcome") or "")
    else:
        section, _, key = condition.left.partition(".")
        answer = str(((application.section_data or {}).get(section) or {}).get(key) or "")
    if condition.op == "=":
        return answer in condition.values
    if condition.op == "!=":
        return answer not in condition.values
    try:
        given = dt.date.fromisoformat(answer)
        limit = sections.resolve_date(condition.values[0], sections.Context(today=dt.date.today(), year=year))
    except (ValueError, sections.RuleSettingError, IndexError):
        return False  # no date given, or a limit the checks above would have refused: the rule does not hold
    return given <= limit if condition.op == "<=" else given >= limit


@dataclass(frozen=True)
class Category:
    """A category rule as the parents' path reads it (from this worker's cache, no ORM object)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    rank: int
    conditions: tuple[Condition, ...] | None  # None: a rule written around the checks, which never matches


def rules_of(session: Session, period_id: int) -> tuple[Category, ...]:
    """The period's rules in the order they are tried, from the worker's cached periods."""
    info = next((p for p in layouts.periods(session) if p.id == period_id), None)
    if info is None:
        return ()
    return tuple(Category(id_, code, zh, en, rank, _parsed(conditions)) for id_, code, zh, en, rank, conditions in info.category_rules)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[Condition, ...] | None:
    try:
        return tuple(parse(text))
    except CategoryRuleError:
        return None


def derive(session: Session, application: Application, checks: dict | None = None) -> Category | None:
    """The first of the period's rules whose conditions all hold for the answers as they stand
    (and the records checks: ``checks``, or those stored while they are not stale)."""
    if checks is None:
        checks = {} if application.checks_stale else (application.checks or {})
    for rule in rules_of(session, application.period_id):
        if rule.conditions is not None and all(_holds(c, application, application.period.year, checks) for c in rule.conditions):
            return rule
    return None


def store(session: Session, application: Application) -> None:
    """Keep the derived category on the application (at submission and at every change after it),
    so lists, exports and allocation read it without re-deriving."""
    rule = derive(session, application)
    application.category_id = rule.id if rule is not None else None


def shown(session: Session, application: Application) -> str:
    """The category's name for the family's pages: as the answers stand while they fill them in,
    as stored once submitted; empty where the period sets no categories."""
    if application.status in ("draft", "returned"):
        return name(derive(session, application))
    return name(next((r for r in rules_of(session, application.period_id) if r.id == application.category_id), None))


def name(rule: Category | None) -> str:
    return in_reader_language(rule.name_zh, rule.name_en) if rule is not None else ""
