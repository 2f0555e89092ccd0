"""A channel's form layout (its sections and materials), cached for the parents' path.

Every step of every parent's form reads the layout; county IT changes it a few times a year. Each
worker keeps it for at most LAYOUT_TTL seconds; a change saved through this process (admin, county
import, tests) drops the cached copies at once, and other workers pick it up within the TTL.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import chain

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload

from app.models import Channel, ChannelMaterial, ChannelSection, MaterialType

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


class _Changes:
    """Bumped whenever a flush in this process touches a layout table."""

    generation = 0


WATCHED = (Channel, ChannelSection, ChannelMaterial, MaterialType)


@event.listens_for(Session, "after_flush")
def _layout_tables_flushed(session, _context):
    if any(isinstance(o, WATCHED) for o in chain(session.new, session.dirty, session.deleted)):
        session.info["layout_changed"] = True


@event.listens_for(Session, "after_commit")
def _layout_tables_committed(session):
    # only once committed can another request load the new layout
    if session.info.pop("layout_changed", False):
        _Changes.generation += 1


@event.listens_for(Session, "after_rollback")
def _layout_change_undone(session):
    session.info.pop("layout_changed", None)


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
                m.material_type.example_url, m.material_type.accepted_kinds, m.material_type.max_size_kb))
            for m in materials
        ),
    )


def layout(session: Session, channel_id: int | None) -> Layout | None:
    """The channel's layout, from this worker's cache when fresh."""
    if channel_id is None:
        return None
    if not has_app_context():
        return load(session, channel_id)
    cache = current_app.extensions.setdefault("ruxue_layouts", {})
    now = time.monotonic()
    entry = cache.get(channel_id)
    if entry is not None and entry[0] == _Changes.generation and entry[1] > now:
        return entry[2]
    generation = _Changes.generation  # read first: a change during the load leaves the entry stale
    found = load(session, channel_id)
    ttl = float(current_app.config.get("LAYOUT_TTL", DEFAULT_TTL))
    cache[channel_id] = (generation, now + ttl, found)
    return found
