"""Application numbers: year, period and a sequence, readable over the phone."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import ApplicationCounter, EnrollmentPeriod


def next_application_number(session: Session, period: EnrollmentPeriod) -> str:
    """The period's next number, from a counter row incremented by the database itself: the
    upsert locks the row until the caller's transaction ends, so two starts never share a number,
    and a rolled-back start gives its number back."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ApplicationCounter.__table__
    statement = (
        insert(table)
        .values(period_id=period.id, last_number=1)
        .on_conflict_do_update(index_elements=[table.c.period_id], set_={"last_number": table.c.last_number + 1})
        .returning(table.c.last_number)
    )
    sequence = session.execute(statement).scalar_one()
    return f"{period.year}{period.id:03d}{sequence:06d}"
