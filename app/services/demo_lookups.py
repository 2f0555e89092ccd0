"""Demo 学生信息查询 for the periods that look children up (安义): the demo's applicants were looked
up in the example household extract before applying (found and confirmed, or not found and
registered with district approval), and a few families still wait for district review, so the
admin's 学生信息申诉与入学登记 page has appeals and registrations to decide."""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from itertools import groupby

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from app.models import Application, Child, ChildLookup, ChildLookupFile, EnrollmentPeriod, RegistryRecord
from app.services.child_lookup import MATERIALS, masked_record
from app.services.demo import area_code, birth_window, demo_family, placeholder_scan
from app.services.demo_registry import RELATIONS
from app.services.ids import make_resident_id
from app.storage import new_key

CHUNK = 500  # lookups written per flush: a city-sized demo is never held in memory at once
STATEMENTS = {
    "appeal": "父母已离异，孩子由父亲抚养，母亲不再是监护人（离婚判决书已上传）。",
    "registration": "孩子出生后户口尚未登记，现已补办出生医学证明，户口簿待迁入。",
}


def _applicants(session: Session):
    """Each applicant of a lookup period without a lookup, with the household record that names the
    child and the other members of that household: one streamed statement."""
    own, member = aliased(RegistryRecord), aliased(RegistryRecord)
    return session.execute(
        select(Application.child_id, Application.period_id, own, member)
        .join(EnrollmentPeriod, EnrollmentPeriod.id == Application.period_id)
        .join(Child, Child.id == Application.child_id)
        .outerjoin(own, and_(own.source == "household", own.person_id == Child.id_number))
        .outerjoin(member, and_(member.source == "household", member.number == own.number,
                                member.person_id != Child.id_number))
        .where(EnrollmentPeriod.child_lookup.is_(True),
               ~exists().where(ChildLookup.child_id == Application.child_id, ChildLookup.period_id == Application.period_id))
        .order_by(Application.child_id, Application.period_id, own.id, member.id)
        .execution_options(yield_per=CHUNK)
    )


def _files(storage, lookup: ChildLookup, kind: str, now: dt.datetime) -> None:
    if storage is None:
        return
    for material in MATERIALS[kind]:
        data = placeholder_scan(material.code)
        key = new_key()
        storage.save(key, data, "image/png")
        lookup.files.append(ChildLookupFile(kind=material.code, storage_key=key, file_name=f"{material.code}.png",
                                            content_type="image/png", size=len(data),
                                            sha256=hashlib.sha256(data).hexdigest(), uploaded_at=now))


def settle(session: Session, reviewer_id: int | None, now: dt.datetime, storage=None) -> int:
    """A lookup for every demo applicant of a lookup period: confirmed where the extract names the
    child, an approved 入学登记 where it does not."""
    made = 0
    for (child_id, period_id), rows in groupby(_applicants(session), key=lambda row: (row.child_id, row.period_id)):
        rows = list(rows)
        found = rows[0][2]
        lookup = ChildLookup(child_id=child_id, period_id=period_id, looked_up_at=now, updated_at=now, statement="",
                             review_note="")
        if found is not None:
            members = {row[3].person_id: row[3] for row in rows if row[3] is not None}.values()
            record = masked_record((found.name, found.person_id, found.community),
                                   [(m.name, m.person_id, (m.detail or {}).get("relation", "")) for m in members][:8],
                                   found.number)
            lookup.outcome, lookup.status, lookup.request, lookup.record = "matched", "confirmed", "", record
        else:
            lookup.outcome, lookup.status, lookup.request, lookup.record = "not_found", "approved", "registration", {}
            lookup.statement, lookup.reviewed_by_id, lookup.reviewed_at = STATEMENTS["registration"], reviewer_id, now
            _files(storage, lookup, "registration", now)
        session.add(lookup)
        made += 1
        if made % CHUNK == 0:
            session.flush()
    session.commit()
    return made


def waiting(session: Session, now: dt.datetime, families: int = 4, storage=None, seed: int = 7) -> int:
    """Families who stopped at the lookup: appeals (the register shows a parent who is no longer a
    guardian) and 入学登记 (the child is not in the register), waiting for district review."""
    period = session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.child_lookup.is_(True)).order_by(EnrollmentPeriod.id))
    if period is None or families <= 0:
        return 0
    rng, area, made = random.Random(seed), area_code(session), 0
    start, end = birth_window(period)
    for n in range(families):
        birth = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
        number = make_resident_id(area, birth, 900 + n)
        if session.scalar(select(Child.id).where(Child.id_number == number)):
            continue  # an applicant already has this number
        account, child = demo_family(rng, area, number, birth)
        kind = "appeal" if n % 2 == 0 else "registration"
        lookup = ChildLookup(child=child, period=period, outcome="matched" if kind == "appeal" else "not_found",
                             status="pending", request=kind, statement=STATEMENTS[kind], review_note="",
                             looked_up_at=now - dt.timedelta(hours=2 * (families - n)), updated_at=now - dt.timedelta(hours=families - n))
        if kind == "appeal":
            record = masked_record((child.name, child.id_number, ""),
                                   [(g.name, g.id_number, RELATIONS.get(g.relation, "")) for g in child.guardians])
            record["members"] = [{**m, "kept": i == 0} for i, m in enumerate(record["members"])]
            lookup.record = record
        else:
            lookup.record = {}
        _files(storage, lookup, kind, now)
        session.add_all([account, child, lookup])
        made += 1
    session.commit()
    return made
