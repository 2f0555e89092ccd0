"""Places: districts, streets, communities (村/社区), schools with their seats and neighbours, and
which communities each school takes (学区)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import one_of

STAGES = ("primary", "junior", "nine_year")
OWNERSHIPS = ("public", "private")
CATCHMENT_KINDS = ("sole", "shared")


class District(Model):
    __tablename__ = "district"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    streets: Mapped[list["Street"]] = relationship(back_populates="district")

    def __repr__(self) -> str:
        return self.name


class Street(Model):
    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    district: Mapped[District] = relationship(back_populates="streets")
    communities: Mapped[list["Community"]] = relationship(back_populates="street")

    def __repr__(self) -> str:
        return self.name


class Community(Model):
    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    street: Mapped[Street] = relationship(back_populates="communities")
    catchments: Mapped[list["Catchment"]] = relationship(back_populates="community")

    def __repr__(self) -> str:
        return self.name


class School(Model):
    __tablename__ = "school"
    __table_args__ = (
        CheckConstraint(one_of("stage", STAGES), name="ck_school_stage"),
        CheckConstraint(one_of("ownership", OWNERSHIPS), name="ck_school_ownership"),
        CheckConstraint("seats >= 0", name="ck_school_seats"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="primary")
    ownership: Mapped[str] = mapped_column(String(16), default="public")
    address: Mapped[str] = mapped_column(String(255), default="")
    phones: Mapped[str] = mapped_column(String(255), default="")
    seats: Mapped[int] = mapped_column(Integer, default=0)
    accepts_underage: Mapped[bool] = mapped_column(Boolean, default=False)
    underage_birth_cutoff: Mapped[Optional[dt.date]] = mapped_column(Date)
    accepts_transfer: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    district: Mapped[District] = relationship()
    catchments: Mapped[list["Catchment"]] = relationship(back_populates="school")
    neighbours: Mapped[list["SchoolNeighbour"]] = relationship(
        foreign_keys="SchoolNeighbour.school_id",
        order_by="SchoolNeighbour.rank",
        back_populates="school",
    )

    def __repr__(self) -> str:
        return self.name


class SchoolGradeSeats(Model):
    """Free seats in one grade of a school, for transfers (转学插班): no class beyond its seats."""

    __tablename__ = "school_grade_seats"
    __table_args__ = (
        UniqueConstraint("school_id", "grade", name="uq_school_grade"),
        CheckConstraint("grade BETWEEN 1 AND 9", name="ck_school_grade"),
        CheckConstraint("seats >= 0", name="ck_school_grade_seats"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    grade: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer, default=0)
    school: Mapped[School] = relationship()

    def __repr__(self) -> str:
        return f"{self.school} · {self.grade}"


class SchoolNeighbour(Model):
    """A school's ordered list of neighbours for reassignment (调剂)."""

    __tablename__ = "school_neighbour"
    __table_args__ = (
        UniqueConstraint("school_id", "neighbour_id", name="uq_school_neighbour"),
        UniqueConstraint("school_id", "rank", name="uq_school_neighbour_rank"),
        CheckConstraint("school_id <> neighbour_id", name="ck_school_neighbour_self"),
        CheckConstraint("rank >= 1", name="ck_school_neighbour_rank"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer, default=1)
    school: Mapped[School] = relationship(foreign_keys=[school_id], back_populates="neighbours")
    neighbour: Mapped[School] = relationship(foreign_keys=[neighbour_id])

    def __repr__(self) -> str:
        return f"{self.school} → {self.neighbour} ({self.rank})"


class Catchment(Model):
    __tablename__ = "catchment"
    __table_args__ = (
        UniqueConstraint("school_id", "community_id", name="uq_catchment_school_community"),
        CheckConstraint(one_of("kind", CATCHMENT_KINDS), name="ck_catchment_kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="sole")
    school: Mapped[School] = relationship(back_populates="catchments")
    community: Mapped[Community] = relationship(back_populates="catchments")

    def __repr__(self) -> str:
        # a row added by ids (county import, tests) names them until its relations load
        return f"{self.school or f'#{self.school_id}'} · {self.community or f'#{self.community_id}'}"
