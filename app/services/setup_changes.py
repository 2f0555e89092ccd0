"""A counter of committed changes to the county's set-up, for the caches that copy it.

The parents' pages read set-up data (periods, channels, schools, notices) on every request and
county IT changes it a few times a year, so workers keep copies: a channel's layout, whole
anonymous pages. A commit in this process that touches a set-up table bumps the generation and
every copy made under an older one is ignored; other workers' copies expire after their TTL.
"""
from __future__ import annotations

from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import (
    AllocationRound,
    Catchment,
    Channel,
    ChannelMaterial,
    ChannelSection,
    Community,
    District,
    EnrollmentPeriod,
    MaterialType,
    MessageTemplate,
    Notice,
    School,
    SeedCommitment,
    SchoolGradeSeats,
    SchoolNeighbour,
    Street,
)
from app.models_forms import CategoryRule, FieldRule, FormField, FormSection, FormSectionVersion

# allocation rounds and commitments too: the public period pages show them; message templates:
# every submit and decision words its message from them
SETUP_MODELS = (AllocationRound, Catchment, Channel, ChannelMaterial, ChannelSection, Community, District, EnrollmentPeriod,
                MaterialType, MessageTemplate, Notice, School, SchoolGradeSeats, SchoolNeighbour, SeedCommitment, Street,
                CategoryRule, FieldRule, FormField, FormSection, FormSectionVersion)


class _Changes:
    generation = 0


def generation() -> int:
    return _Changes.generation


@event.listens_for(Session, "after_flush")
def _setup_flushed(session, _context):
    if any(isinstance(o, SETUP_MODELS) for o in chain(session.new, session.dirty, session.deleted)):
        session.info["setup_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _setup_written_in_bulk(state):
    # INSERT, UPDATE and DELETE statements (a county import, Query.delete()) touch no object in the session
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is not None \
            and issubclass(state.bind_mapper.class_, SETUP_MODELS):
        state.session.info["setup_changed"] = True


@event.listens_for(Session, "after_commit")
def _setup_committed(session):
    # only once committed can another request read the new set-up
    if session.info.pop("setup_changed", False):
        _Changes.generation += 1


@event.listens_for(Session, "after_rollback")
def _setup_change_undone(session):
    session.info.pop("setup_changed", None)
