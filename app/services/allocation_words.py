"""An allocation result in plain words, for the parent's page and the reviewer's."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Channel, School


def explain(session: Session, note: dict | None, period_id: int) -> list:
    """Sentences saying why the application got its result; empty before allocation. Groups are
    named by the period's channels (报名类别) of that priority, as the parent chose them."""
    if not note:
        return []
    name_of = pool_namer(session)
    category_of = _category_namer(session, period_id)
    ranks, cutoffs = note.get("ranks") or {}, note.get("cutoffs") or {}
    lines = []
    for school_id, position in ranks.items():
        cut = cutoffs.get(school_id) or {}
        if cut:
            lines.append(_l("At %(school)s you ranked %(rank)d; its last admitted applicant ranked %(cut)d (%(category)s, born %(birth)s).",
                            school=name_of(school_id), rank=position or 0, cut=cut.get("rank", 0),
                            category=category_of(cut.get("group", 0)), birth=cut.get("birth_date", "")))
        else:
            lines.append(_l("At %(school)s you ranked %(rank)d; it admitted nobody by choice.", school=name_of(school_id), rank=position or 0))
    school = name_of(note.get("school")) if note.get("school") is not None else ""
    if note.get("result") == "choice":
        lines.insert(0, _l("Placed at %(school)s, your choice %(k)d, in %(category)s.", school=school, k=note.get("choice_rank") or 1,
                           category=category_of(note.get("group", 0))))
    elif note.get("result") == "reassigned":
        lines.insert(0, _l("Your chosen schools were full, so you were placed at %(school)s, the nearest school with seats to %(first)s.",
                           school=school, first=name_of(note.get("reassigned_from"))))
    else:
        lines.insert(0, _l("Your chosen schools and their neighbours were full; the education bureau will arrange a place."))
    return lines


def _category_namer(session: Session, period_id: int):
    names: dict[int, list[str]] = {}
    for priority, name in session.execute(select(Channel.priority, Channel.name).where(Channel.period_id == period_id)
                                          .order_by(Channel.priority, Channel.code)):
        names.setdefault(priority, []).append(name)

    def category_of(group) -> str:
        found = names.get(group)
        return "、".join(found) if found else str(_l("category %(n)d", n=group or 0))

    return category_of


def pool_namer(session: Session):
    """A function naming a seat pool: a school, or for transfers "12:3", grade 3 of school 12."""
    schools = {str(s.id): s.name for s in session.scalars(select(School))}

    def name_of(pool_id) -> str:
        school, _, grade = str(pool_id).partition(":")
        name = schools.get(school, school)
        return str(_l("%(school)s, grade %(g)s", school=name, g=grade)) if grade else name

    return name_of
