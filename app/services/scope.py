"""Which applications a staff user may see: the row scope shared by admin, API and exports."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.models import Application, ApplicationChoice, ReviewerSchool


def reviewer_school_ids(user_id: int | None) -> Select:
    return select(ReviewerSchool.school_id).where(ReviewerSchool.user_id == user_id)


def visible_application_ids(user_id: int | None) -> Select:
    """Applications that list one of the user's schools as a choice or are allocated to one.

    Drafts are left out: they are the family's unfinished work, not yet sent to any school.
    """
    schools = reviewer_school_ids(user_id)
    chose = select(ApplicationChoice.application_id).where(ApplicationChoice.school_id.in_(schools))
    return select(Application.id).where(
        Application.status != "draft",
        or_(Application.id.in_(chose), Application.allocated_school_id.in_(schools)),
    )
