"""A channel's form layout (its sections and materials), cached for the parents' path.

Every step of every parent's form reads the layout; county IT changes it a few times a year. Each
worker keeps it for at most LAYOUT_TTL seconds; a change saved through this process (admin, county
import, tests) drops the cached copies at once, and other workers pick it up within the TTL.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import CategoryRule, ChannelMaterial, ChannelSection, EnrollmentPeriod
from app.services.sections import asked_for, split_values
from app.services.setup_changes import generation

DEFAULT_TTL = 60.0


@dataclass(frozen=True)
class MaterialInfo:
    id: int
    code: str
    name: str
    description: str
    example_url: str
    accepted_kinds: str
    max_size_kb: int


@dataclass(frozen=True)
class MaterialSlot:
    """One material a channel asks for; the same attribute paths as ChannelMaterial."""

    id: int
    material_type_id: int
    required: bool
    material_type: MaterialInfo
    show_if: str = ""
    show_values: tuple[str, ...] = ()
    waived_if_verified: str = ""  # a section code: no upload once the records confirm that section

    def shown_for(self, answers: dict) -> bool:
        """Whether an application with these section answers is asked this material."""
        return asked_for(self.show_if, self.show_values, answers)


@dataclass(frozen=True)
class SectionSlot:
    section: str
    skippable: bool
    position: int


@dataclass(frozen=True)
class Layout:
    channel_id: int
    sections: tuple[SectionSlot, ...]
    materials: tuple[MaterialSlot, ...]

    def section(self, name: str) -> SectionSlot | None:
        return next((s for s in self.sections if s.section == name), None)

    def material(self, material_type_id: int) -> MaterialSlot | None:
        return next((m for m in self.materials if m.material_type_id == material_type_id), None)


def load(session: Session, channel_id: int) -> Layout:
    """Two statements: the channel's sections, its materials with their types."""
    sections = session.scalars(
        select(ChannelSection).where(ChannelSection.channel_id == channel_id).order_by(ChannelSection.position, ChannelSection.id)
    ).all()
    materials = session.scalars(
        select(ChannelMaterial).where(ChannelMaterial.channel_id == channel_id)
        .options(joinedload(ChannelMaterial.material_type)).order_by(ChannelMaterial.position, ChannelMaterial.id)
    ).all()
    return Layout(
        channel_id=channel_id,
        sections=tuple(SectionSlot(s.section, s.skippable, s.position) for s in sections),
        materials=tuple(
            MaterialSlot(m.id, m.material_type_id, m.required, MaterialInfo(
                m.material_type.id, m.material_type.code, m.material_type.name, m.material_type.description,
                m.material_type.example_url, m.material_type.accepted_kinds, m.material_type.max_size_kb),
                m.show_if or "", split_values(m.show_values or ""), m.waived_if_verified or "")
            for m in materials
        ),
    )


def layout(session: Session, channel_id: int | None) -> Layout | None:
    """The channel's layout, from this worker's cache when fresh."""
    if channel_id is None:
        return None
    return cached(("layout", channel_id), lambda: load(session, channel_id))


def cached(key, load_fresh):
    """``load_fresh()``, kept by this worker until the set-up changes here or LAYOUT_TTL passes."""
    if not has_app_context():
        return load_fresh()
    cache = current_app.extensions.setdefault("ruxue_layouts", {})
    now = time.monotonic()
    entry = cache.get(key)
    if entry is not None and entry[0] == generation() and entry[1] > now:
        return entry[2]
    seen = generation()  # read first: a change during the load leaves the entry stale
    found = load_fresh()
    ttl = float(current_app.config.get("LAYOUT_TTL", DEFAULT_TTL))
    cache[key] = (seen, now + ttl, found)
    return found


@dataclass(frozen=True)
class PeriodInfo:
    """What the parents' lists show of a period and check before a start (same names as the model)."""

    id: int
    code: str
    name: str
    stage: str
    entry_kind: str
    ownership: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    birth_from: dt.date | None
    birth_to: dt.date | None
    # its 生源类别 rules as (id, code, name_zh, name_en, rank, conditions), in the order they are
    # tried: read with the periods in one statement, so deriving a category costs none
    category_rules: tuple = ()


def periods(session: Session) -> tuple[PeriodInfo, ...]:
    """Every period, soonest first, from this worker's cache."""
    def load_periods():
        rows = session.execute(
            select(EnrollmentPeriod, CategoryRule).outerjoin(CategoryRule, CategoryRule.period_id == EnrollmentPeriod.id)
            .order_by(EnrollmentPeriod.opens_at, EnrollmentPeriod.code, CategoryRule.position, CategoryRule.id))
        found: dict[int, tuple] = {}
        for p, rule in rows:
            period, rules = found.get(p.id, (p, []))
            if rule is not None:
                rules.append((rule.id, rule.code, rule.name_zh, rule.name_en, rule.rank, rule.conditions))
            found[p.id] = (period, rules)
        return tuple(PeriodInfo(p.id, p.code, p.name, p.stage, p.entry_kind, p.ownership, p.opens_at, p.closes_at,
                                p.birth_from, p.birth_to, tuple(rules)) for p, rules in found.values())

    return cached(("periods",), load_periods)
