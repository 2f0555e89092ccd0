"""The record of sensitive reads: full ID numbers and attachments."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import SensitiveRead


def record(session: Session, user_id: int | None, kind: str, application_id: int | None, detail: str = "") -> None:
    session.add(SensitiveRead(user_id=user_id, kind=kind, application_id=application_id, detail=detail[:255]))
    session.commit()
