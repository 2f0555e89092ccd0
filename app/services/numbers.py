"""Application numbers: year, period and a sequence, readable over the phone."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Application, EnrollmentPeriod


def next_application_number(session: Session, period: EnrollmentPeriod) -> str:
    prefix = f"{period.year}{period.id:03d}"
    last = session.scalar(select(func.max(Application.number)).where(Application.number.like(prefix + "%")))
    sequence = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"
