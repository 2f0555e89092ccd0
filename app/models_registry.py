"""免证明: extracts of the departments' records (户籍, 房产, 社保, 营业执照, 居住证, 学籍) as data.

Each import is a batch, listed, compared and withdrawn as a whole; a record keeps only what the
checks compare (app/services/registry.py says which column of a sheet goes where).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import county_now, one_of

REGISTRY_SOURCES = ("household", "property", "social_insurance", "business_licence", "residence_permit", "student_registry")


class RegistryBatch(Model):
    """One extract a department handed over (source and year), imported whole or not at all."""

    __tablename__ = "registry_batch"
    __table_args__ = (CheckConstraint(one_of("source", REGISTRY_SOURCES), name="ck_registry_batch_source"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(24))
    year: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    imported_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    withdrawn_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    imported_by = relationship(User)

    def __repr__(self) -> str:
        return f"{self.source} {self.year} #{self.id}"


class RegistryRecord(Model):
    """One person's (or one certificate's) row of an extract: the facts a check compares."""

    __tablename__ = "registry_record"
    __table_args__ = (
        Index("ix_registry_record_person", "source", "person_id"),
        Index("ix_registry_record_number", "source", "number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("registry_batch.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    person_id: Mapped[str] = mapped_column(String(32), default="")  # the ID number the row is about
    name: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[str] = mapped_column(String(64), default="")  # 户号, certificate, licence or permit number
    address: Mapped[str] = mapped_column(String(255), default="")
    community: Mapped[str] = mapped_column(String(64), default="")
    since: Mapped[Optional[dt.date]] = mapped_column(Date)  # registered, issued, insured from, licensed on
    until: Mapped[Optional[dt.date]] = mapped_column(Date)  # valid until, insured to
    detail: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=dict)  # use, employer, school, class
    batch: Mapped[RegistryBatch] = relationship()

    def __repr__(self) -> str:
        return f"{self.source} {self.number or self.name}"


LOOKUP_OUTCOMES = ("matched", "not_found")
# looked_up: shown, the family has not answered; confirmed: 与实际情况相符; pending: an appeal or an
# 入学登记 waits for district staff; approved / returned: their decision
LOOKUP_STATUSES = ("looked_up", "confirmed", "pending", "approved", "returned")
LOOKUP_REQUESTS = ("", "appeal", "registration")


class ChildLookup(Model):
    """The child looked up in the household extract before applying in a period that asks it
    (安义's 学生信息查询): what was found, the family's answer, and district staff's decision."""

    __tablename__ = "child_lookup"
    __table_args__ = (
        UniqueConstraint("child_id", "period_id", name="uq_child_lookup_child_period"),
        CheckConstraint(one_of("outcome", LOOKUP_OUTCOMES), name="ck_child_lookup_outcome"),
        CheckConstraint(one_of("status", LOOKUP_STATUSES), name="ck_child_lookup_status"),
        CheckConstraint(one_of("request", LOOKUP_REQUESTS), name="ck_child_lookup_request"),
        Index("ix_child_lookup_status", "status"),
        # district staff's list: the families' requests (a few among every looked-up child of the
        # city), the longest waiting first
        Index("ix_child_lookup_requests", "updated_at", sqlite_where=text("request <> ''"),
              postgresql_where=text("request <> ''")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(ForeignKey("enrollment_period.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="looked_up")
    request: Mapped[str] = mapped_column(String(16), default="")
    # what the family was shown, already masked: {"child": {...}, "members": [{name, id, relation, kept}]}
    record: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=dict)
    statement: Mapped[str] = mapped_column(Text, default="")
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    reviewed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    looked_up_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    child = relationship("Child")
    period = relationship("EnrollmentPeriod")
    reviewed_by = relationship(User)
    files: Mapped[list["ChildLookupFile"]] = relationship(back_populates="lookup", order_by="ChildLookupFile.id",
                                                          cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"{self.child} · {self.period}: {self.status}"


class ChildLookupFile(Model):
    """A material sent with an appeal or an 入学登记 (出生医学证明, 户口簿, …)."""

    __tablename__ = "child_lookup_file"
    __table_args__ = (CheckConstraint("size > 0", name="ck_child_lookup_file_size"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_id: Mapped[int] = mapped_column(ForeignKey("child_lookup.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=county_now)
    lookup: Mapped[ChildLookup] = relationship(back_populates="files")

    def __repr__(self) -> str:
        return self.file_name
