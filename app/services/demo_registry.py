"""Synthetic department extracts for a demo county: built from its demo applications, with
deliberate mismatches and gaps, so the demo shows every check outcome (examples/registry/)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import Application, Channel, Child, EnrollmentPeriod
from app.services import registry
from app.services.ids import make_resident_id

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "registry"
HEADERS = {
    "household": ["公民身份号码", "姓名", "户号", "户籍地址", "社区", "迁入日期", "与户主关系"],
    "property": ["不动产权证号", "权利人身份证号", "权利人", "坐落", "社区", "用途"],
    "social_insurance": ["身份证号", "姓名", "参保单位", "缴费起始月份", "缴费截止月份"],
}


RELATIONS = {"父亲": "户主", "母亲": "妻"}


def build(session: Session, year: int) -> dict[str, list[list]]:
    """Rows per source for the applications of verifiable channels and of periods that look children
    up (学生信息查询): every 7th family is missing, every 5th household was registered on another
    date, every 6th property belongs to someone else. A household lists the child's parents too."""
    rows: dict[str, list[list]] = {source: [] for source in HEADERS}
    applications = session.scalars(
        select(Application).join(Channel, Channel.id == Application.channel_id)
        .join(EnrollmentPeriod, EnrollmentPeriod.id == Application.period_id)
        .where(or_(Channel.verifiable.is_(True), EnrollmentPeriod.child_lookup.is_(True)))
        .options(selectinload(Application.child).selectinload(Child.guardians), selectinload(Application.community),
                 selectinload(Application.period))
        .order_by(Application.id))
    for n, a in enumerate(applications, start=1):
        if n % 7 == 0:
            continue  # not in the departments' records: "not found"
        data, community = a.section_data or {}, a.community.name if a.community else ""
        parent = next(iter(a.child.guardians), None)
        household = data.get("household") or {}
        if household.get("registered_on") or a.period.child_lookup:
            since = household.get("registered_on") or a.child.birth_date.isoformat()
            since = since if n % 5 else f"{year - 1}-06-18"
            address = household.get("address", "")
            rows["household"].append([a.child.id_number, a.child.name, f"H{n:06d}", address, community, since,
                                      "子" if a.child.sex == "M" else "女"])
            rows["household"] += [[g.id_number, g.name, f"H{n:06d}", address, community, since, RELATIONS.get(g.relation, "其他")]
                                  for g in a.child.guardians]
        certificate = (data.get("property") or {}).get("certificate_no")
        if certificate and parent is not None:
            stranger = make_resident_id(a.child.id_number[:6], dt.date(1970, 1, 1), n % 500 * 2 + 1)
            owner = (parent.id_number, parent.name) if n % 6 else (stranger, "张某")
            rows["property"].append([certificate.upper(), owner[0], owner[1], household.get("address", ""), community, "住宅"])
        if "employment" in data and parent is not None and n % 4:
            rows["social_insurance"].append([parent.id_number, parent.name, (data["employment"] or {}).get("employer", ""),
                                             f"{year - 3}-01", f"{year}-06"])
    return {source: found for source, found in rows.items() if found}


def to_csv(source: str, rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS[source])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def files(county: str) -> list[Path]:
    return sorted((EXAMPLES / county).glob("*.csv")) if (EXAMPLES / county).is_dir() else []


def load(session: Session, county: str, year: int) -> int:
    """Import the county's example extracts (one batch per file, named after its source)."""
    made = 0
    for path in files(county):
        source = path.stem.split("-")[0]
        try:
            made += registry.import_extract(session, source, year, path.name, path.read_bytes()).row_count
        except registry.RegistryImportError:
            session.rollback()  # a file edited by hand into something wrong is left out; the demo goes on
    return made
