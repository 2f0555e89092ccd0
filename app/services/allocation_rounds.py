"""Rounds of a period's allocation and their binding seed commitments.

A round is published once. Before any run, the bureau publishes the SHA-256 of a secret seed;
every run records the commitment it ran under, and only a run whose seed hashes to the round's
current commitment can be published. A commitment can be replaced only while no run has used
it, with a reason that stays public. After the publish the seed itself is public, so anyone can
replay the result.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import AllocationRound, AllocationRun, EnrollmentPeriod, SeedCommitment
from app.services import allocation

MAX_REASON = 500


class RoundError(UserError):
    """A round or commitment action was refused; nothing changed."""


def rounds(session: Session, period: EnrollmentPeriod) -> list[AllocationRound]:
    return list(session.scalars(select(AllocationRound).where(AllocationRound.period_id == period.id).order_by(AllocationRound.number)))


def open_round(session: Session, period: EnrollmentPeriod) -> AllocationRound | None:
    """The round taking commitments and runs now, if any."""
    return session.scalar(select(AllocationRound).where(AllocationRound.period_id == period.id, AllocationRound.state == "open")
                          .order_by(AllocationRound.number.desc()).limit(1))


def start_round(session: Session, period: EnrollmentPeriod, now: dt.datetime, later: bool = False) -> AllocationRound:
    """The open round; round 1 on first use. A later round (补录) only when asked for (``later``),
    once every earlier one is published."""
    current = open_round(session, period)
    if current is not None:
        return current
    last = session.scalar(select(func.max(AllocationRound.number)).where(AllocationRound.period_id == period.id)) or 0
    if last and not later:
        raise RoundError(_l("Round %(n)d is published. To allocate what is left, open round %(m)d first.", n=last, m=last + 1))
    round_ = AllocationRound(period_id=period.id, number=last + 1, state="open", opened_at=now)
    session.add(round_)
    session.flush()
    return round_


def current_commitment(session: Session, round_: AllocationRound | None) -> SeedCommitment | None:
    if round_ is None:
        return None
    return session.scalar(select(SeedCommitment).where(SeedCommitment.round_id == round_.id, SeedCommitment.replaced_at.is_(None))
                          .order_by(SeedCommitment.id.desc()).limit(1))


def commit_seed(session: Session, period: EnrollmentPeriod, seed: str, now: dt.datetime, user_id: int | None = None,
                reason: str = "") -> SeedCommitment:
    """Publish the hash of the open round's seed. Replacing a published hash needs a reason and
    is refused once any run has used it."""
    seed = (seed or "").strip()
    if not seed:
        raise RoundError(_l("A lottery seed is required."))
    if len(seed) > 128:
        raise RoundError(_l("The seed may have at most 128 characters."))
    round_ = start_round(session, period, now)
    old = current_commitment(session, round_)
    if old is not None:
        used = session.scalar(select(func.count()).select_from(AllocationRun).where(AllocationRun.commitment_id == old.id))
        if used:
            raise RoundError(_l("Runs have already used the published hash of round %(n)d; it can no longer be replaced.", n=round_.number))
        reason = (reason or "").strip()
        if not reason:
            raise RoundError(_l("Replacing a published hash needs a reason; the old hash and the reason stay public."))
        old.replaced_at = now
        old.replaced_reason = reason[:MAX_REASON]
    commitment = SeedCommitment(round_id=round_.id, seed_hash=allocation.seed_hash(seed), committed_at=now, committed_by_id=user_id)
    session.add(commitment)
    session.commit()
    return commitment


def checked_seed(session: Session, round_: AllocationRound, seed: str) -> SeedCommitment | None:
    """The commitment this seed is run under (None: no commitment yet, the run is a trial that can
    never be published); a seed that does not match the published hash is refused."""
    commitment = current_commitment(session, round_)
    if commitment is not None and allocation.seed_hash(seed) != commitment.seed_hash:
        raise RoundError(_l("This seed does not match the hash published on %(t)s.", t=commitment.committed_at.strftime("%Y-%m-%d %H:%M")))
    return commitment
