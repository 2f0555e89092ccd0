"""Demo data: a seed county, its staff accounts, and realistic synthetic applications."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Application,
    ApplicationChoice,
    Catchment,
    Child,
    District,
    EnrollmentPeriod,
    Guardian,
    ParentAccount,
    School,
)
from app.services import categories, county_io, workflow
from app.services.ids import make_resident_id, sex_of
from app.services.numbers import next_application_number

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTIES = ("shimen", "taojiang", "dengfeng", "anyi")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘覃蒋蔡余杜叶程"
GIVEN = "子梓浩宇轩涵欣怡思睿一诺雨泽俊博文佳琪晨阳可馨若依嘉乐天翊明哲雅静安然沐辰"
# Where a staff flow ends, with the share of synthetic applications that end there.
OUTCOMES = (
    ((), 0.10),
    (("submit",), 0.30),
    (("submit", "start_review"), 0.20),
    (("submit", "start_review", "return"), 0.10),
    (("submit", "start_review", "approve"), 0.25),
    (("submit", "start_review", "reject"), 0.05),
)
RETURN_REASONS = ("户口簿照片不清晰，请重新上传。", "房产证明与监护人姓名不一致。", "缺少预防接种查验证明。")
REJECT_REASONS = ("不符合招生范围条件。",)


class DemoError(Exception):
    pass


@dataclass
class DemoResult:
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, password
    applications: int = 0


def load_county(session: Session, county: str) -> county_io.ImportReport:
    if county not in COUNTIES:
        raise DemoError(f"unknown county {county!r}; choose one of {', '.join(COUNTIES)}")
    if session.scalar(select(District.id).limit(1)) is not None:
        raise DemoError("the database already holds a county; demo loads into an empty database")
    return county_io.import_file(session, EXAMPLES / f"{county}.json")


def create_staff(sm, session: Session, password: str | None) -> list[tuple[str, str, str]]:
    from app.security import ADMIN, BUREAU_REVIEWER, COUNTY_IT, SCHOOL_REVIEWER
    from app.services.staff import (
        assign_reviewer,
        create_staff_user,
        ensure_roles,
        random_password,
    )

    ensure_roles(sm)
    made = []

    def user(username, role, first):
        pw = password or random_password()
        account, created = create_staff_user(sm, username, role, pw, first)
        if created:
            made.append((username, role, pw))
        return account

    user("admin", ADMIN, "管理员")
    user("county_it", COUNTY_IT, "县教育局信息股")
    user("bureau_reviewer", BUREAU_REVIEWER, "教育局审核员")
    for school in session.scalars(select(School).order_by(School.code)):
        reviewer = user(f"reviewer_{school.code}", SCHOOL_REVIEWER, school.name[:60])
        assign_reviewer(session, reviewer, [school])
    return made


def open_periods_now(session: Session, now: dt.datetime) -> None:
    """Shift every period's times (not the birth windows) so the earliest opened a day ago:
    a demo loaded out of season still has open periods, in their original order and length."""
    periods = list(session.scalars(select(EnrollmentPeriod)))
    if not periods:
        return
    first = min(p.opens_at for p in periods)
    delta = (now - dt.timedelta(days=1)) - first
    delta = dt.timedelta(days=delta.days)  # whole days keep the published hours
    for p in periods:
        for column in ("opens_at", "closes_at", "review_starts_at", "review_ends_at"):
            value = getattr(p, column)
            if value is not None:
                setattr(p, column, value + delta)
        if p.closes_at < now:
            p.closes_at = now + dt.timedelta(days=14)
    # the notices quote the manuals' dates, which no longer hold: say so where a parent reads them
    from app.models import Notice

    marker = "（演示数据：报名时间已随演示调整，以首页各报名入口显示的时间为准。）"
    for notice in session.scalars(select(Notice).where(Notice.kind != "agreement")):
        if marker not in notice.body:
            notice.body = f"{notice.body}\n{marker}" if notice.body else marker
    session.commit()


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def birth_window(period: EnrollmentPeriod) -> tuple[dt.date, dt.date]:
    if period.birth_from and period.birth_to:
        return period.birth_from, period.birth_to
    age = 5 + period.grade
    end = dt.date(period.year - age, 8, 31)
    return end - dt.timedelta(days=364), end


def area_code(session: Session) -> str:
    code = session.scalar(select(District.code).order_by(District.id).limit(1)) or ""
    return code if len(code) == 6 and code.isdigit() else "430726"


def _eligible_schools(session: Session, period: EnrollmentPeriod) -> list[School]:
    stages = {period.stage, "nine_year"}
    query = select(School).where(School.stage.in_(stages), School.ownership == period.ownership)
    if period.entry_kind == "transfer":
        query = query.where(School.accepts_transfer.is_(True))
    return list(session.scalars(query.order_by(School.code)))


def _section_data(rng: random.Random, channel, child) -> dict:
    """Plausible answers for each section the channel asks for (field names are issue #3's)."""
    sample = {
        "basic": {"name": child.name, "birth_cert_no": child.birth_cert_no},
        "guardians": {"count": 2},
        "household": {"address": f"{rng.randint(1, 200)}号", "registered_on": f"{rng.randint(2012, 2024)}-03-01"},
        "property": {"certificate_no": f"湘({rng.randint(2015, 2024)})不动产权第{rng.randrange(10**7):07d}号"},
        "grand_property": {"certificate_no": f"赣({rng.randint(2005, 2020)})不动产权第{rng.randrange(10**7):07d}号",
                           "same_register": rng.choice(("yes", "no"))},
        "purchase": {"contract_no": f"AY{rng.randrange(10**10):010d}"},
        "residence_permit": {"number": f"{rng.randrange(10**8):08d}", "valid_until": f"{rng.randint(2027, 2030)}-12-31"},
        "employment": {"employer": "城区某商贸有限公司", "insured_months": rng.randint(6, 36)},
        "business": {"licence_no": f"92{rng.randrange(10**16):016d}"},
        "preferential": {"certificate_no": f"优抚{rng.randrange(10**6):06d}"},
        "resettlement": {"agreement_no": f"拆安{rng.randrange(10**6):06d}"},
        "long_residence": {"utility": "水费", "account_no": f"{rng.randrange(10**9):09d}"},
        "sibling": {"school": "", "grade": ""},
    }
    return {s.section: sample.get(s.section, {}) for s in channel.sections}


def placeholder_scan(text: str) -> bytes:
    """A small grey PNG standing in for a scanned document in demo data."""
    import struct
    import zlib

    width, height = 120, 80
    shade = 200 + sum(map(ord, text)) % 40
    raw = b"".join(b"\x00" + bytes([shade, shade, shade]) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _attach_scans(session: Session, storage, application: Application) -> None:
    import hashlib

    from app.models import Attachment
    from app.storage import new_key

    from app.services.sections import asked_for, split_values

    for material in application.channel.materials:
        asked = asked_for(material.show_if, split_values(material.show_values), application.section_data or {})
        if not material.required or not asked:
            continue
        data = placeholder_scan(material.material_type.name)
        key = new_key()
        storage.save(key, data, "image/png")
        session.add(Attachment(application=application, material_type_id=material.material_type_id, storage_key=key,
                               file_name=f"{material.material_type.name}.png", content_type="image/png",
                               size=len(data), sha256=hashlib.sha256(data).hexdigest()))


def demo_family(rng: random.Random, area: str, id_number: str, birth: dt.date) -> tuple[ParentAccount, Child]:
    """A parent account with a child and both parents as guardians (not yet added to the session)."""
    account = ParentAccount(phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}")
    child = Child(
        account=account,
        name=_name(rng),
        id_type="resident_id",
        id_number=id_number,
        birth_date=birth,
        sex=sex_of(id_number),
        birth_cert_no=f"{rng.choice('OPQR')}{rng.randrange(10**9):09d}",
    )
    surname = child.name[0]
    for relation, sex_digit, first in (("父亲", 1, surname), ("母亲", 2, rng.choice(SURNAMES))):
        parent_birth = birth - dt.timedelta(days=365 * rng.randint(26, 38))
        Guardian(  # joins child.guardians, and the session with the child
            child=child,
            relation=relation,
            name=first + "".join(rng.choice(GIVEN) for _ in range(2)),
            id_number=make_resident_id(area, parent_birth, rng.randrange(50) * 2 + sex_digit),
            phone=account.phone,
            household_address=f"{rng.randint(1, 120)}号",
        )
    return account, child


def make_applications(session: Session, n: int, reviewer_id: int | None, seed: int = 2026, storage=None) -> int:
    """N synthetic families with children, guardians and applications across statuses."""
    rng = random.Random(seed)
    from app.services.clock import local_now

    now = local_now()
    periods = [p for p in session.scalars(select(EnrollmentPeriod).order_by(EnrollmentPeriod.id)) if p.channels]
    # families apply only once a period has opened (when any has), and never in the future
    periods = [p for p in periods if p.opens_at <= now] or periods
    if not periods or n <= 0:
        return 0
    area = area_code(session)
    made = 0
    sequence = 0
    catchments = {}
    for c in session.scalars(select(Catchment)):
        catchments.setdefault(c.school_id, []).append(c.community_id)
    while made < n:
        period = rng.choice(periods)
        schools = _eligible_schools(session, period)
        if not schools:
            periods.remove(period)
            if not periods:
                break
            continue
        sequence += 1
        start, end = birth_window(period)
        birth = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
        id_number = make_resident_id(area, birth, sequence)
        if session.scalar(select(Child.id).where(Child.id_number == id_number)):
            continue
        account, child = demo_family(rng, area, id_number, birth)
        channel = rng.choice(period.channels)
        first_school = rng.choice(schools)
        community_ids = catchments.get(first_school.id) or [None]
        others = [s for s in schools if s.id != first_school.id]
        chosen = [first_school] + rng.sample(others, min(len(others), period.choice_count - 1))
        session.add_all([account, child])
        session.flush()
        application = Application(
            number=next_application_number(session, period),
            child=child,
            period=period,
            channel=channel,
            community_id=rng.choice(community_ids),
            status="draft",
            grade=rng.randint(period.grade, period.grade_to or period.grade),
            section_data=_section_data(rng, channel, child),
        )
        application.choices = [ApplicationChoice(school=s, rank=i + 1) for i, s in enumerate(chosen)]
        application.property_cert_no = (application.section_data.get("property") or {}).get("certificate_no", "")
        session.add(application)
        session.flush()
        steps = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
        if steps:
            categories.store(session, application)  # as the submission stores it
            application.checks_stale = channel.verifiable  # and the worker checks it against the records
        if steps and storage is not None:
            _attach_scans(session, storage, application)
        when = min(period.opens_at + dt.timedelta(hours=rng.randrange(1, 72)), now) if period.opens_at <= now else period.opens_at + dt.timedelta(hours=rng.randrange(1, 72))
        for step in steps:
            reason = rng.choice(RETURN_REASONS) if step == "return" else rng.choice(REJECT_REASONS) if step == "reject" else ""
            staff = step not in {"submit"}
            workflow.transition(
                session,
                application,
                step,
                user_id=reviewer_id if staff else None,
                account_id=None if staff else account.id,
                reason=reason,
                now=when,
            )
            when = min(when + dt.timedelta(hours=rng.randrange(1, 48)), max(now, when))
        made += 1
    session.commit()
    from app.services import flags, forecast

    flags.refresh_all(session)
    forecast.refresh_all(session)
    return made
