"""Grow a demo county's applications to N with COPY: families, children, guardians, applications,
choices and events shaped like the demo's own (``flask --app run demo``), fast enough for 200,000.

    from bench.screens_data import grow
    grow(connection, 200_000)        # the application table then holds 200,000 rows

What the bureau's screens read is realistic: valid resident IDs (unique, the check character
right, the sex digit matching), one guardian per child, one application per child (the partial
unique index holds), statuses spread as the demo spreads them (draft 10 %, submitted 30 %, in
review 20 %, returned 10 %, approved 25 %, rejected 5 %), submissions over the last ten days,
channels and communities of the period, 1–3 distinct schools valid for the period (stage,
ownership), one ``draft → submitted`` event per submitted application, the section answers the
channel asks for, a conflict flag on a few. The open public periods (SM-P1, SM-J7 in Shimen)
get most; the open private one (SM-LLP) some. Sequences and ``application_counter`` continue
after the bulk, then VACUUM ANALYZE (a long-lived table is vacuumed; autovacuum would otherwise
start in the middle of a measurement).
"""
from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘覃蒋蔡余杜叶程"
GIVEN = "子梓浩宇轩涵欣怡思睿一诺雨泽俊博文佳琪晨阳可馨若依嘉乐天翊明哲雅静安然沐辰"
# (status, share): as the demo's OUTCOMES
STATUSES = (("draft", 0.10), ("submitted", 0.30), ("in_review", 0.20), ("returned", 0.10), ("approved", 0.25),
            ("rejected", 0.05))
RETURN_REASONS = ("户口簿照片不清晰，请重新上传。", "房产证明与监护人姓名不一致。", "缺少预防接种查验证明。")
REJECT_REASON = "不符合招生范围条件。"
# (flags, share) of submitted applications; the rest have none
FLAGS = (("duplicate_child", 0.02), ("shared_property", 0.01), ("birth_mismatch,missing_material", 0.005))
CHOICES = ((1, 0.5), (2, 0.3), (3, 0.2))  # how many schools an application lists, at most those valid
PERIOD_SHARES = {"SM-P1": 0.55, "SM-J7": 0.35, "SM-LLP": 0.10}  # Shimen; another county: its open periods evenly
SUBMIT_DAYS = 10

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(body17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2), as stdnum.cn.ric computes it."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, _WEIGHTS)) % 11]


def resident_id(area: str, birth: dt.date, sequence: int) -> str:
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + check_char(body)


@dataclass
class Period:
    id: int
    code: str
    year: int
    grade: int
    birth_from: dt.date
    birth_to: dt.date
    channels: list          # [(id, [sections])]
    schools: list           # [school id] valid for the period
    communities: dict       # school id → [community id] of its catchment
    all_communities: list
    next_number: int


def _sections_sample(rng: random.Random, sections: list[str], name: str) -> tuple[str, str]:
    """(section_data JSON, property certificate) as the demo fills them."""
    sample = {
        "basic": lambda: {"name": name, "birth_cert_no": f"{rng.choice('OPQR')}{rng.randrange(10**9):09d}"},
        "guardians": lambda: {"count": 1},
        "household": lambda: {"address": f"{rng.randint(1, 200)}号", "registered_on": f"{rng.randint(2012, 2024)}-03-01"},
        "property": lambda: {"certificate_no": f"湘({rng.randint(2015, 2024)})不动产权第{rng.randrange(10**7):07d}号"},
        "residence_permit": lambda: {"number": f"{rng.randrange(10**8):08d}", "valid_until": f"{rng.randint(2027, 2030)}-12-31"},
        "employment": lambda: {"employer": "城区某商贸有限公司", "insured_months": rng.randint(6, 36)},
        "business": lambda: {"licence_no": f"92{rng.randrange(10**16):016d}"},
        "preferential": lambda: {"certificate_no": f"优抚{rng.randrange(10**6):06d}"},
        "resettlement": lambda: {"agreement_no": f"拆安{rng.randrange(10**6):06d}"},
        "long_residence": lambda: {"utility": "水费", "account_no": f"{rng.randrange(10**9):09d}"},
        "sibling": lambda: {"school": "", "grade": ""},
    }
    data = {s: sample[s]() for s in sections if s in sample}
    return json.dumps(data, ensure_ascii=False), (data.get("property") or {}).get("certificate_no", "")


def _periods(db, now: dt.datetime) -> list[tuple[Period, float]]:
    rows = db.execute(
        "SELECT id, code, year, grade, birth_from, birth_to, stage, ownership, entry_kind FROM enrollment_period"
        " WHERE opens_at <= %s AND birth_from IS NOT NULL ORDER BY id", (now,)).fetchall()
    catchments: dict[int, list[int]] = {}
    for school_id, community_id in db.execute("SELECT school_id, community_id FROM catchment ORDER BY id"):
        catchments.setdefault(school_id, []).append(community_id)
    communities = [c for (c,) in db.execute("SELECT id FROM community ORDER BY id")]
    sections: dict[int, list[str]] = {}
    for channel_id, section in db.execute("SELECT channel_id, section FROM channel_section ORDER BY channel_id, position"):
        sections.setdefault(channel_id, []).append(section)
    out = []
    for pid, code, year, grade, birth_from, birth_to, stage, ownership, kind in rows:
        channels = [(c, sections.get(c, [])) for (c,) in db.execute(
            "SELECT id FROM channel WHERE period_id = %s ORDER BY priority", (pid,))]
        transfer = " AND accepts_transfer" if kind == "transfer" else ""
        schools = [s for (s,) in db.execute(
            f"SELECT id FROM school WHERE stage IN (%s, 'nine_year') AND ownership = %s{transfer} ORDER BY code",
            (stage, ownership))]
        if not channels or not schools:
            continue
        prefix = f"{year}{pid:03d}"
        last = db.execute("SELECT max(number) FROM application WHERE number LIKE %s", (prefix + "%",)).fetchone()[0]
        counter = db.execute("SELECT last_number FROM application_counter WHERE period_id = %s", (pid,)).fetchone()
        last_n = max(int(last[len(prefix):]) if last else 0, counter[0] if counter else 0)
        period = Period(pid, code, year, grade, birth_from, birth_to, channels, schools, catchments, communities,
                        last_n + 1)
        out.append((period, PERIOD_SHARES.get(code, 0.0)))
    if not out:
        raise RuntimeError("no open period with a birth window, channels and schools: was the demo loaded with --open-now?")
    if sum(share for _, share in out) == 0:  # not Shimen: the open periods evenly
        out = [(p, 1.0) for p, _ in out]
    return [(p, s) for p, s in out if s > 0]


def _child_ids(periods, taken: set[str], area: str, n_per_period: dict[int, int]):
    """Per period, N unique resident IDs for its birth window (sequences from 999 down, so the
    demo's low sequences are left alone; anything already in the database is skipped)."""
    out = {}
    for period in periods:
        days = (period.birth_to - period.birth_from).days + 1
        wanted, got, k = n_per_period.get(period.id, 0), [], 0
        while len(got) < wanted:
            if k >= days * 1000:
                raise ValueError(f"{period.code}: its birth window holds no more than {days * 1000} resident IDs")
            birth = period.birth_from + dt.timedelta(days=k % days)
            number = resident_id(area, birth, 999 - k // days)
            k += 1
            if number not in taken:
                taken.add(number)
                got.append((number, birth))
        out[period.id] = got
    return out


def grow(db, total: int, seed: int = 11, reviewer: str = "bureau_reviewer", max_choices: int = 3) -> dict:
    """Add applications (with their families) until the application table holds TOTAL rows.

    DB is a psycopg connection in autocommit mode; everything goes in one transaction."""
    started = time.perf_counter()
    have = db.execute("SELECT count(*) FROM application").fetchone()[0]
    n = total - have
    if n <= 0:
        return {"added": 0, "applications": have, "seconds": 0.0}
    rng = random.Random(seed * 1_000_003 + total)
    tz = db.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)  # the county's clock
    periods_shares = _periods(db, now)
    periods = [p for p, _ in periods_shares]
    area = db.execute("SELECT code FROM district ORDER BY id LIMIT 1").fetchone()[0]
    area = area if len(area) == 6 and area.isdigit() else "430726"
    reviewer_id = (db.execute("SELECT id FROM ab_user WHERE username = %s", (reviewer,)).fetchone() or [None])[0]
    ids = {t: db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
           for t in ("parent_account", "child", "guardian", "application", "application_choice", "application_event")}
    taken = {x for (x,) in db.execute("SELECT id_number FROM child WHERE id_type = 'resident_id'")}
    notice = db.execute("SELECT id, version FROM notice WHERE kind = 'agreement' ORDER BY position LIMIT 1").fetchone()

    picks = rng.choices(periods, weights=[s for _, s in periods_shares], k=n)
    per_period: dict[int, int] = {}
    for p in picks:
        per_period[p.id] = per_period.get(p.id, 0) + 1
    numbers = _child_ids(periods, taken, area, per_period)
    cursor = {p.id: 0 for p in periods}
    status_names, status_weights = zip(*STATUSES)
    statuses = rng.choices(status_names, weights=status_weights, k=n)
    flag_names = [f for f, _ in FLAGS] + [""]
    flag_weights = [w for _, w in FLAGS] + [1 - sum(w for _, w in FLAGS)]
    choice_counts = rng.choices([c for c, _ in CHOICES], weights=[w for _, w in CHOICES], k=n)
    span = SUBMIT_DAYS * 86400

    accounts, children, guardians, applications, choices, events = [], [], [], [], [], []
    a_id, c_id, g_id, app_id, ch_id, ev_id = (ids[t] for t in ids)
    for i in range(n):
        period = picks[i]
        number, birth = numbers[period.id][cursor[period.id]]
        cursor[period.id] += 1
        a_id += 1
        c_id += 1
        g_id += 1
        app_id += 1
        status = statuses[i]
        submitted = None if status == "draft" else now - dt.timedelta(seconds=rng.randrange(span))
        created = (submitted or now) - dt.timedelta(seconds=rng.randrange(3600, 3 * 86400))
        phone = f"16{a_id:09d}"
        accounts.append((a_id, phone, created, created, created, *(notice or (None, None))))
        surname = rng.choice(SURNAMES)
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        sex = "M" if int(number[16]) % 2 else "F"
        children.append((c_id, a_id, name, "", "resident_id", number, birth, sex,
                         f"{rng.choice('OPQR')}{rng.randrange(10**9):09d}", "", ""))
        father = rng.random() < 0.6
        parent_birth = birth - dt.timedelta(days=365 * rng.randint(26, 38) + rng.randrange(365))
        g_number = resident_id(area, parent_birth, (rng.randrange(500) * 2 + (1 if father else 0)) % 1000)
        guardians.append((g_id, c_id, "父亲" if father else "母亲",
                          (surname if father else rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN) for _ in range(2)),
                          "resident_id", g_number, phone, f"{rng.randint(1, 120)}号"))
        channel_id, sections = rng.choice(period.channels)
        section_data, cert = _sections_sample(rng, sections, name)
        k = min(choice_counts[i], max_choices, len(period.schools))
        schools = rng.sample(period.schools, k)
        community = rng.choice(period.communities.get(schools[0]) or period.all_communities)
        reviewed = None
        reviewed_by = None
        reason = ""
        if status in ("approved", "returned", "rejected"):
            reviewed = min(submitted + dt.timedelta(seconds=rng.randrange(600, 2 * 86400)), now)
            reviewed_by = reviewer_id
            reason = rng.choice(RETURN_REASONS) if status == "returned" else REJECT_REASON if status == "rejected" else ""
        flags = "" if status == "draft" else rng.choices(flag_names, weights=flag_weights)[0]
        version = {"draft": 1, "submitted": 2, "in_review": 3}.get(status, 4)
        applications.append((
            app_id, f"{period.year}{period.id:03d}{period.next_number:06d}", c_id, period.id, channel_id, community,
            status, period.grade, section_data, 0, reason, created, reviewed or submitted or created, submitted,
            reviewed, reviewed_by, None, None, cert, flags, False, version))
        period.next_number += 1
        for rank, school in enumerate(schools, 1):
            ch_id += 1
            choices.append((ch_id, app_id, school, rank))
        if submitted is not None:
            ev_id += 1
            events.append((ev_id, app_id, submitted, None, a_id, "draft", "submitted", ""))
    generated = time.perf_counter() - started

    copies = (
        ("parent_account", "id, phone, created_at, last_login_at, consent_at, consent_notice_id, consent_version", accounts),
        ("child", "id, account_id, name, former_name, id_type, id_number, birth_date, sex, birth_cert_no,"
                  " previous_school, previous_class", children),
        ("guardian", "id, child_id, relation, name, id_type, id_number, phone, household_address", guardians),
        ("application", "id, number, child_id, period_id, channel_id, community_id, status, grade, section_data,"
                        " withdrawal_count, return_reason, created_at, updated_at, submitted_at, reviewed_at,"
                        " reviewed_by_id, allocated_school_id, allocation_note, property_cert_no, flags, flags_stale,"
                        " version", applications),
        ("application_choice", "id, application_id, school_id, rank", choices),
        ("application_event", "id, application_id, at, actor_user_id, actor_account_id, from_status, to_status, reason",
         events),
    )
    timings = {}
    with db.transaction():
        cur = db.cursor()
        for table, columns, data in copies:
            t0 = time.perf_counter()
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
            timings[table] = round(time.perf_counter() - t0, 2)
        for table in ids:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        for period in periods:
            cur.execute("INSERT INTO application_counter (period_id, last_number) VALUES (%s, %s) ON CONFLICT (period_id)"
                        " DO UPDATE SET last_number = greatest(application_counter.last_number, EXCLUDED.last_number)",
                        (period.id, period.next_number - 1))
    t0 = time.perf_counter()
    for table, _, _ in copies:
        db.execute(f"VACUUM (ANALYZE) {table}")
    db.execute("ANALYZE")
    vacuum = time.perf_counter() - t0
    count = db.execute("SELECT count(*) FROM application").fetchone()[0]
    return {"added": n, "applications": count, "seconds": round(time.perf_counter() - started, 1),
            "generate_s": round(generated, 1), "copy_s": timings, "vacuum_analyze_s": round(vacuum, 1),
            "rows": {t: len(d) for t, _, d in copies}, "server_timezone": tz,
            "periods": {p.code: per_period.get(p.id, 0) for p in periods}}
