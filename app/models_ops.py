"""Operational tables: login codes, reason and message templates, the audit of sensitive reads."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import one_of, county_now




REASON_KINDS = ("return", "reject")


class ReasonTemplate(Model):
    """A county-configured reason a reviewer can pick when returning or rejecting."""

    __tablename__ = "reason_template"
    __table_args__ = (CheckConstraint(one_of("kind", REASON_KINDS), name="ck_reason_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="return")
    text: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=1)

    def __repr__(self) -> str:
        return self.text


class MessageTemplate(Model):
    """The parent's message for one transition, in one language; {number} {child} {reason} {school}."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("step", "locale", name="uq_message_template"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"{self.step} ({self.locale})"


class AuditLog(Model):
    """The audit trail an assessment reads (等保): staff sign-ins and failures, every status change,
    every sensitive read and export, every set-up change — who, when, from which address, on
    what, with which result. Append-only for everyone: no view edits or deletes it, and a
    database trigger refuses UPDATE and any DELETE of a row younger than the retention."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now, index=True)
    # no foreign key: a record outlives the account it names
    actor_user_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(80), default="")  # staff username, masked parent phone, "system"
    address: Mapped[str] = mapped_column(String(45), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    object: Mapped[str] = mapped_column(String(128), default="")
    result: Mapped[str] = mapped_column(String(16), default="ok")  # ok, refused, failed
    detail: Mapped[str] = mapped_column(String(255), default="")

    def __repr__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object} ({self.result})"


RUN_STATES = ("simulated", "published")
ROUND_STATES = ("open", "published")


class AllocationRound(Model):
    """One round of a period's allocation: round 1, then later rounds (补录) for applications
    approved after a publish and those left unplaced, against the seats that remain. Each round
    has its own seed commitment, runs and one publish."""

    __tablename__ = "allocation_round"
    __table_args__ = (
        UniqueConstraint("period_id", "number", name="uq_round_number"),
        CheckConstraint(one_of("state", ROUND_STATES), name="ck_round_state"),
        CheckConstraint("number >= 1", name="ck_round_number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    published_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("allocation_run.id", use_alter=True, name="fk_round_published_run"))
    published_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    seed: Mapped[str] = mapped_column(String(128), default="")  # revealed once the round is published
    period = relationship("EnrollmentPeriod")
    commitments = relationship("SeedCommitment", order_by="SeedCommitment.id", back_populates="round")

    def __repr__(self) -> str:
        return f"{self.period} · round {self.number}"


class SeedCommitment(Model):
    """A published SHA-256 of the round's lottery seed. Replaced only before any run used it,
    with a reason; the replaced one stays on the public page."""

    __tablename__ = "seed_commitment"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("allocation_round.id", ondelete="CASCADE"), index=True)
    seed_hash: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    committed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    replaced_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    replaced_reason: Mapped[str] = mapped_column(Text, default="")
    round = relationship("AllocationRound", back_populates="commitments")
    committed_by = relationship(User)

    def __repr__(self) -> str:
        return f"{self.seed_hash[:12]}… ({self.committed_at:%Y-%m-%d %H:%M})"


class AllocationRun(Model):
    """One allocation of a period: a dry run until the bureau publishes it."""

    __tablename__ = "allocation_run"
    __table_args__ = (CheckConstraint(one_of("state", RUN_STATES), name="ck_run_state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    state: Mapped[str] = mapped_column(String(16), default="simulated")
    mechanism: Mapped[str] = mapped_column(String(32))
    keys: Mapped[str] = mapped_column(String(128))
    seed: Mapped[str] = mapped_column(String(128))
    seed_hash: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # per school: seats, placed, cut-off, unplaced
    results: Mapped[dict] = mapped_column(JSON, default=dict)  # per application: the explanation
    published_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    round_id: Mapped[Optional[int]] = mapped_column(ForeignKey("allocation_round.id", ondelete="CASCADE"), index=True)
    # the commitment the seed was checked against; a run without one is never publishable
    commitment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("seed_commitment.id"))
    # SHA-256 of the ranked inputs (applicants and seat pools): a replay proves they were the same
    inputs_digest: Mapped[str] = mapped_column(String(64), default="")
    pools: Mapped[list] = mapped_column(JSON, default=list)  # the seat pools as the run saw them
    pending_count: Mapped[int] = mapped_column(Integer, default=0)  # still in review when it ran
    excluded_reason: Mapped[str] = mapped_column(Text, default="")  # why those were left out
    period = relationship("EnrollmentPeriod")
    created_by = relationship(User)
    round = relationship("AllocationRound", foreign_keys=[round_id])
    commitment = relationship("SeedCommitment")

    def __repr__(self) -> str:
        return f"#{self.id} {self.period} {self.mechanism} ({self.state})"


class OtpCode(Model):
    """A one-time login code sent to a phone; only its keyed hash is stored."""

    __tablename__ = "otp_code"
    __table_args__ = (CheckConstraint("attempts >= 0", name="ck_otp_attempts"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")

    def __repr__(self) -> str:
        return f"OtpCode({self.phone[:3]}****, {self.created_at:%Y-%m-%d %H:%M})"


class AllocationForecast(Model):
    """One seat pool's cut-off in the period's latest forecast run. The preview compares the
    family's own priority key with it, so a forecast costs the same at any number of applicants."""

    __tablename__ = "allocation_forecast"
    __table_args__ = (UniqueConstraint("period_id", "pool", name="uq_forecast_pool"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(String(32))  # a school id, or "school:grade" for transfers
    # first choice first: the choice round in which the pool filled (1 = by first choices);
    # deferred acceptance: 0 when full. None: seats were left after every choice.
    full_round: Mapped[Optional[int]] = mapped_column(Integer)
    cutoff: Mapped[Optional[list]] = mapped_column(JSON)  # the last placed applicant's key, by priority key
    seats_left: Mapped[int] = mapped_column(Integer, default=0)  # after reassignment
    keys: Mapped[str] = mapped_column(String(128))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)

    def __repr__(self) -> str:
        return f"forecast {self.period_id}/{self.pool}"


EXPORT_STATES = ("queued", "running", "done", "failed")


class ExportJob(Model):
    """A large export made by the worker: the list's filters and the user's scope as they were
    when asked, its progress, and the file (in the document store) when done."""

    __tablename__ = "export_job"
    __table_args__ = (CheckConstraint(one_of("state", EXPORT_STATES), name="ck_export_state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # csv or xlsx
    args: Mapped[list] = mapped_column(JSON, default=list)  # the list's query string, as pairs
    all_schools: Mapped[bool] = mapped_column(default=False)
    full_ids: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str] = mapped_column(String(128), default="")
    error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    user = relationship(User)

    def __repr__(self) -> str:
        return f"export #{self.id} ({self.state})"


class StaffSession(Model):
    """A staff sign-in, kept on the server: the cookie carries only its token, so a copied cookie
    dies with logout, with a password change, after STAFF_IDLE_MINUTES without a request and
    after STAFF_SESSION_HOURS in all."""

    __tablename__ = "staff_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    address: Mapped[str] = mapped_column(String(45), default="")

    def __repr__(self) -> str:
        return f"staff session {self.id} of user {self.user_id}"


class StaffTotp(Model):
    """A staff member's second factor (TOTP): the secret, encrypted with a key derived from
    SECRET_KEY (never stored or logged in clear), confirmed once a first code was right, and
    the last time step used, so that no code (and no older one) is accepted twice."""

    __tablename__ = "staff_totp"
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    confirmed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # None: enrolment not finished
    last_step: Mapped[Optional[int]] = mapped_column(Integer)  # unix time // 30 of the last code accepted

    def __repr__(self) -> str:
        return f"second factor of user {self.user_id}"
