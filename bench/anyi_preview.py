"""``opening_day.py --anyi-preview N``: the seat forecast on the preview page at Anyi's scale.

Anyi shows each parent, on the preview step, the school the current data would get
(``preview_allocation``). This loads the Anyi demo, bulk-inserts N approved applications with
COPY (parents, children, applications, one choice each — what the forecast reads), runs
``flask forecast`` when the app has it, then walks one fresh parent to the preview and times
GETs of every step of that application, one at a time, so the preview's cost stands out.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import subprocess
import time

from stdnum.cn import ric

from bench import harness as h


def _resident_id(area: str, birth: dt.date, sequence: int) -> str:
    body = f"{area}{birth:%Y%m%d}{sequence % 1000:03d}"  # as app.services.ids.make_resident_id
    return body + ric.calc_check_digit(body + "0")


def bulk_approved(n: int, seed: int = 11) -> dict:
    """N approved applications in the period that previews its allocation, by COPY."""
    rng = random.Random(seed)
    started = time.perf_counter()
    with h.connect() as db:
        period_id, year, birth_from, birth_to = db.execute(
            "SELECT id, year, birth_from, birth_to FROM enrollment_period WHERE preview_allocation ORDER BY id LIMIT 1").fetchone()
        channels = [c for (c,) in db.execute("SELECT id FROM channel WHERE period_id = %s ORDER BY priority", (period_id,))]
        zones = db.execute(
            "SELECT ca.community_id, ca.school_id FROM catchment ca JOIN school s ON s.id = ca.school_id"
            " WHERE s.stage IN ('primary', 'nine_year') AND s.ownership = 'public' ORDER BY ca.id").fetchall()
        area = db.execute("SELECT code FROM district ORDER BY id LIMIT 1").fetchone()[0]
        ids = {t: db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
               for t in ("parent_account", "child", "application", "application_choice")}
        prefix = f"{year}{period_id:03d}"
        last = db.execute("SELECT max(number) FROM application WHERE number LIKE %s", (prefix + "%",)).fetchone()[0]
        first_number = int(last[len(prefix):]) + 1 if last else 1
        days = (birth_to - birth_from).days + 1
        if n > (days - 1) * 900:
            raise ValueError(f"at most {(days - 1) * 900} applications fit the birth window")
        now = dt.datetime.now().replace(microsecond=0)
        with db.transaction():
            cur = db.cursor()
            with cur.copy("COPY parent_account (id, phone, created_at) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((ids["parent_account"] + 1 + i, f"197{i:08d}", now))
            with cur.copy("COPY child (id, account_id, name, former_name, id_type, id_number, birth_date, sex,"
                          " birth_cert_no, previous_school, previous_class) FROM STDIN") as copy:
                for i in range(n):
                    # from the second day of the window: the fresh parent of the timing is born on the first
                    birth = birth_from + dt.timedelta(days=1 + i // 900)
                    number = _resident_id(area, birth, 100 + i % 900)
                    copy.write_row((ids["child"] + 1 + i, ids["parent_account"] + 1 + i, f"批量{i}", "", "resident_id",
                                    number, birth, "M" if int(number[16]) % 2 else "F", "", "", ""))
            picks = [rng.choice(zones) for _ in range(n)]
            with cur.copy("COPY application (id, number, child_id, period_id, channel_id, community_id, status, grade,"
                          " section_data, withdrawal_count, return_reason, created_at, updated_at, submitted_at,"
                          " reviewed_at, property_cert_no, flags) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((ids["application"] + 1 + i, f"{prefix}{first_number + i:06d}", ids["child"] + 1 + i,
                                    period_id, rng.choice(channels), picks[i][0], "approved", 1, "{}", 0, "", now, now, now,
                                    now, "", ""))
            with cur.copy("COPY application_choice (id, application_id, school_id, rank) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((ids["application_choice"] + 1 + i, ids["application"] + 1 + i, picks[i][1], 1))
            for table in ids:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            # newer schemas number applications from a counter row: continue after the bulk
            if cur.execute("SELECT to_regclass('application_counter')").fetchone()[0]:
                cur.execute("INSERT INTO application_counter (period_id, last_number) VALUES (%s, %s) ON CONFLICT (period_id)"
                            " DO UPDATE SET last_number = EXCLUDED.last_number", (period_id, first_number + n - 1))
        db.execute("ANALYZE")
    return {"applications": n, "seconds": round(time.perf_counter() - started, 2), "period_id": period_id}


def run_forecast(site: h.Site) -> dict:
    if not h.flask_has_command(site, "forecast"):
        return {"ran": False, "note": "no `flask forecast` command in this version of the app"}
    started = time.perf_counter()
    done = subprocess.run([str(h.VENV_BIN / "flask"), "--app", "run", "forecast"], cwd=h.ROOT, env=site.env,
                          capture_output=True, text=True)
    return {"ran": True, "exit": done.returncode, "seconds": round(time.perf_counter() - started, 2),
            "output": (done.stdout + done.stderr).strip()[-600:]}


async def time_steps(plan, load, gets: int, timeout: float) -> dict:
    """One fresh parent to the preview, then GETS of each step of that application, one at a time."""
    recorder = load.Recorder()
    async with load.session(1, timeout) as http:
        b = load.Browser(http, plan.base, load.Recorder())
        plan.phone_prefix = "196"  # born on the window's first day, which the bulk leaves free
        application_id, _, steps = await load.parent_to_preview(b, plan, plan.next_index())
        # in English, to find the forecast's sentence on the page whatever the translation
        await b.get("/language/en", "language", expect=(302,))
        page = await b.get(f"/my/a/{application_id}/preview", "preview")
        shown = re.search(r"Seat forecast</h2>\s*<p>(.*?)</p>", page.text, re.S)
        b.recorder = recorder
        for step in steps:
            for k in range(gets):
                started = time.perf_counter()
                try:
                    await b.get(f"/my/a/{application_id}/{step}", step)
                except load.FlowError:
                    pass
                if k == 0 and time.perf_counter() - started > 60:
                    break  # one minute-long GET says enough; do not repeat it
    figures = recorder.by_label()

    def over_median(figure: str):
        """The preview's figure over the median of the other steps' (the issue: p99 within 2×)."""
        others = sorted(v[figure] for k, v in figures.items() if k != "preview" and v[figure] is not None)
        preview, median = figures.get("preview", {}).get(figure), others[len(others) // 2] if others else None
        return round(preview / median, 2) if preview and median else None

    return {"forecast_shown": re.sub(r"\s+", " ", shown.group(1)).strip() if shown else None, "steps": figures,
            "preview_p50_over_median_step_p50": over_median("p50_ms"),
            "preview_p99_over_median_step_p99": over_median("p99_ms")}


def run(args, tmp, load) -> dict:
    from bench.opening_day import discover

    site = h.make_site(tmp / "anyi")
    setup = h.prepare(site, "anyi", 0, 10)
    with h.connect() as db:  # the bench's families are in no household extract: this times the preview, not 学生信息查询
        db.execute("UPDATE enrollment_period SET child_lookup = false")
    bulk = bulk_approved(args.anyi_preview)
    print(f"  setup {setup}; bulk insert {bulk}", flush=True)
    forecast = run_forecast(site)
    print(f"  forecast: {forecast}", flush=True)
    plan, about = discover(site, load)
    kind = [k.strip() for k in args.settings.split(",")][0]
    threads = args.threads if kind == "gthread" else 1
    server = h.start_gunicorn("ruxue", "run:app", h.RUXUE_PORT, site.env, site.tmp / "gunicorn-ruxue.log", kind,
                              args.workers, threads, max(args.timeout, 900))
    try:
        h.wait_ready(server, "/")
        timing = asyncio.run(time_steps(plan, load, args.preview_gets, max(args.client_timeout, 900)))
        rss = [h.rss_mb(p) for p in server.workers()]
    finally:
        server.stop()
    exceptions = h.exceptions_since(server.log, 0)
    print(f"\n-- Anyi preview, {args.anyi_preview} approved applications ({kind}, {args.workers} workers) --")
    print(f"{'step GET':<22}{'n':>4}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'5xx':>5}")
    for step, f in timing["steps"].items():
        print(f"{step:<22}{f['requests']:>4}{f['p50_ms']:>10}{f['p99_ms']:>10}{f['max_ms']:>10}{f['status_5xx']:>5}")
    print(f"preview p50 ÷ median step p50 = {timing['preview_p50_over_median_step_p50']}, "
          f"p99 ÷ median step p99 = {timing['preview_p99_over_median_step_p99']}; worker RSS MB {rss}")
    print(f"forecast on the preview page: {timing['forecast_shown'] or 'none shown'}")
    if exceptions:
        print(f"server tracebacks: {dict(exceptions)}; log {server.log}")
    return {"setup": setup, "bulk": bulk, "forecast": forecast, "about": about, "kind": kind, "rss_mb": rss,
            "log": str(server.log), "exceptions": dict(exceptions), **timing}
