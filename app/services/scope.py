"""Which applications a staff user may see: the row scope shared by admin, API and exports."""
from __future__ import annotations

from sqlalchemy import Select, exists, or_, select

from app.models import Application, ApplicationChoice, ReviewerSchool


def reviewer_school_ids(user_id: int | None) -> Select:
    return select(ReviewerSchool.school_id).where(ReviewerSchool.user_id == user_id)


def visible_condition(user_id: int | None, probe_each_row: bool = False):
    """A WHERE clause on ``application``: it lists one of the user's schools as a choice or is
    allocated to one. Drafts are left out: they are the family's unfinished work, not yet sent
    to any school. EXISTS over the choice index, so a school's list never reads the whole table.

    PostgreSQL answers the EXISTS (inside an OR) with a hash of all the school's choices: right
    for a count or an export, which read many rows, but for one page it grows with the table
    (20,000 choices hashed at 200,000 applications to show 25). ``probe_each_row`` fences the
    subquery (OFFSET 0), so the page walks its sort index and probes each row's own choices."""
    probe = (
        select(1).select_from(ApplicationChoice)
        .join(ReviewerSchool, ReviewerSchool.school_id == ApplicationChoice.school_id)
        .where(ApplicationChoice.application_id == Application.id, ReviewerSchool.user_id == user_id)
    )
    chose = exists(probe.offset(0) if probe_each_row else probe)
    return (Application.status != "draft") & or_(chose, Application.allocated_school_id.in_(reviewer_school_ids(user_id)))


def visible_application_ids(user_id: int | None) -> Select:
    return select(Application.id).where(visible_condition(user_id))
