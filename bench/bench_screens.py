"""The bureau's screens at 10,000 and 200,000 applications, in one run (issue #11).

    .venv/bin/python bench/bench_screens.py                       # 10,000 then 200,000 (about 5 minutes)
    .venv/bin/python bench/bench_screens.py --sizes 2000,20000    # other sizes, smallest first

One fresh PostgreSQL database (``ruxue_bench_screens``): ``db upgrade``, the Shimen demo with 300
applications, then the application table grown with COPY (bench/screens_data.py: families,
children, guardians, choices and events included) to each size in turn — the same database,
so the ratios compare like with like. At each size Ruxue runs under gunicorn as a county runs
it (deploy/gunicorn.conf.py: 2 sync workers, timeout 120 s; bench/screens_gunicorn_conf.py adds
a count of SQL statements per request in each worker), started fresh so the memory figures
start from the same point, and a ``requests`` client, signed in as the bureau reviewer (and a
school reviewer for the list), times one request at a time:

- the reviewers' list, first page (10 warm-up, then 30: p50 / p99), bureau and school reviewer;
- the dashboard, all periods and one period (SM-P1): the first request on a fresh server (the
  figures counted: "first request"), then 2 warm-up, then 10 timed (p50; the figures from the
  app's cache, DASHBOARD_CACHE_SECONDS);
- the CSV export, downloaded whole (time, rows, bytes);
- the XLSX export: at 10,000 the file itself; above EXPORT_INLINE_XLSX_ROWS a job — then
  ``flask --app run worker --once`` runs it (timed, its peak memory), the job page must say
  done, the file is downloaded and its rows counted with openpyxl;
- the gunicorn workers' memory (VmRSS) after the CSV and after the XLSX;
- per request, SQL statements (from the workers) and, as a cross-check from PostgreSQL,
  transactions and rows read (pg_stat_database deltas; idle backends report up to 10 s late,
  so each block waits 11 s before its reading: ``--pg-wait 0`` skips it).

Then the list is timed side by side: the smallest size was kept as a copy (``ruxue_bench_screens_small``),
and a server on each database answers the bureau's and the school reviewer's first page in turn
(small, large, large, small …), so the load of anything else on the machine falls on both sizes
alike; the list's ratio targets are judged on these figures. The figures measured one size after
the other are printed too, for reference.

At the largest size the list and the dashboard are timed once more with PostgreSQL's JIT on for
the app's connections (DB_JIT=on; Ruxue turns it off; a diagnostic: ``--no-jit-check`` skips it).

It prints a table (measure | each size | ratio largest ÷ smallest | target) and writes
bench/results/screens-<date>.json. The database and the servers are gone at the end.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `bench` imports from the repository root

import requests  # noqa: E402

from bench import harness as h  # noqa: E402
from bench.screens_data import grow  # noqa: E402

DB = "ruxue_bench_screens"
SMALL_DB = "ruxue_bench_screens_small"  # the smallest size kept for the side-by-side lists
PORT = 8203
PASSWORD = "bench-" + secrets.token_hex(6)
BUREAU, SCHOOL = "bureau_reviewer", "reviewer_SM-X5"
LIST = "/applicationmodelview/list/"
CSV, XLSX = "/applicationmodelview/export.csv", "/applicationmodelview/export.xlsx"


def options(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,200000", help="applications in the table at each step, smallest first (10000,200000)")
    p.add_argument("--list-requests", type=int, default=30, help="timed list requests per user (30)")
    p.add_argument("--warmup", type=int, default=10, help="untimed list requests first (10)")
    p.add_argument("--dashboard-requests", type=int, default=10, help="timed dashboard requests per URL (10)")
    p.add_argument("--max-choices", type=int, default=3, help="schools listed per generated application, at most (3)")
    p.add_argument("--pg-wait", type=float, default=11.0,
                   help="seconds to wait for PostgreSQL's statistics before each pg_stat_database reading (11; 0: skip)")
    p.add_argument("--no-jit-check", dest="jit_check", action="store_false",
                   help="skip the diagnostic at the largest size: the list and dashboard again with PostgreSQL's JIT off")
    p.add_argument("--timeout", type=int, default=120, help="gunicorn worker timeout, s (120)")
    p.add_argument("--port", type=int, default=PORT)
    p.add_argument("--keep", action="store_true", help="keep the database at the end (drop it yourself)")
    p.add_argument("--out", type=Path, help="JSON results (default bench/results/screens-<date>.json)")
    args = p.parse_args(argv)
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    return args


# --- environment, server, client ---------------------------------------------------------------------

def environment(tmp: Path, args) -> dict:
    for sub in ("instance", "uploads"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "RUXUE_", "STORAGE_", "SMS_", "GUNICORN_", "WEB_CONCURRENCY", "EXPORT_"))}
    return {
        **base,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "DATABASE_URL": f"{h.PG}/{DB}",
        "RUXUE_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "RUXUE_ALLOW_LOG_SMS": "1",
        # the screens are measured, not the second factor (production asks Admin and BureauReviewer for it)
        "STAFF_TOTP_ROLES": "",
        "RUXUE_INSTANCE_DIR": str(tmp / "instance"),
        "STORAGE_BACKEND": "local",
        "STORAGE_LOCAL_DIR": str(tmp / "uploads"),
        # deploy/gunicorn.conf.py reads these
        "RUXUE_BIND": f"127.0.0.1:{args.port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_TIMEOUT": str(args.timeout),
        # bench/screens_gunicorn_conf.py: one JSON line per request
        "BENCH_STATEMENTS_LOG": str(tmp / "statements.jsonl"),
    }


def start_server(env: dict, log: Path, port: int) -> h.Server:
    cmd = [str(h.VENV_BIN / "gunicorn"), "-c", str(ROOT / "bench/screens_gunicorn_conf.py"), "run:app"]
    with open(log, "a") as out:
        out.write(f"\n=== {' '.join(cmd)}\n")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = h.Server("ruxue", proc, port, log)
    h.wait_ready(server, "/healthz")
    deadline = time.monotonic() + 20
    while len(server.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    return server


class Browser(requests.Session):
    """A staff user's browser over plain HTTP: production cookies are Secure (HTTPS only), which
    requests would keep to itself; here they go back to 127.0.0.1 as they would behind nginx."""

    def request(self, *a, **k):
        for cookie in self.cookies:
            cookie.secure = False
        k["allow_redirects"] = False  # Session.get() would say True: every redirect is looked at here
        k.setdefault("timeout", 600)
        try:
            return super().request(*a, **k)
        finally:
            for cookie in self.cookies:
                cookie.secure = False


def sign_in(base: str, username: str) -> Browser:
    b = Browser()
    page = b.get(f"{base}/login/")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    if page.status_code != 200 or not token:
        raise RuntimeError(f"no login form at /login/ ({page.status_code})")
    answer = b.post(f"{base}/login/", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"{username} could not sign in ({answer.status_code})")
    return b


class Statements:
    """The workers' per-request lines (bench/screens_gunicorn_conf.py), read as they come."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def take(self, path: str, expected: int, wait: float = 5.0) -> list[dict]:
        """The next EXPECTED lines for PATH (a streamed response logs when it is closed: wait a little)."""
        deadline, found = time.monotonic() + wait, []
        while True:
            try:
                with open(self.path) as f:
                    f.seek(self.offset)
                    text = f.read()
            except OSError:
                text = ""
            lines = [json.loads(x) for x in text.splitlines() if x.strip()]
            found = [x for x in lines if x["path"] == path]
            if len(found) >= expected or time.monotonic() > deadline:
                self.offset += len(text.encode())
                return found
            time.sleep(0.05)


def pg_stats() -> dict:
    with h.connect(DB) as db:
        db.execute("SELECT pg_stat_clear_snapshot()")
        row = db.execute("SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, blks_read, blks_hit"
                         " FROM pg_stat_database WHERE datname = %s", (DB,)).fetchone()
    return dict(zip(("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "blks_read", "blks_hit"), row))


class PgMeter:
    """pg_stat_database between marks, per request. An idle backend reports its counters up to
    PGSTAT_IDLE_INTERVAL (10 s) late, so each mark first waits WAIT seconds (0: no cross-check).
    The marks chain: a block's figures hold its warm-up requests too (divided by all of them)."""

    def __init__(self, wait: float):
        self.wait, self.last = wait, None

    def mark(self) -> None:
        if self.wait > 0:
            time.sleep(self.wait)
            self.last = pg_stats()

    def since_last(self, requests_: int) -> dict | None:
        """The counters since the previous mark, per request; then a new mark."""
        if self.wait <= 0 or self.last is None:
            return None
        before = self.last
        self.mark()
        d = {k: self.last[k] - before[k] for k in before}
        n = max(requests_, 1)
        return {"requests": n, "xact_per_request": round((d["xact_commit"] + d["xact_rollback"]) / n, 1),
                "rows_read_per_request": round((d["tup_returned"] + d["tup_fetched"]) / n),
                "blocks_per_request": round((d["blks_read"] + d["blks_hit"]) / n)}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))  # nearest rank
    return round(ordered[k], 1)


def rss(server: h.Server) -> dict[int, float | None]:
    return {pid: h.rss_mb(pid) for pid in server.workers()}


# --- one size ------------------------------------------------------------------------------------------

class CpuProbe:
    """Who used the 2 cores while a size was measured: gunicorn, PostgreSQL, this client and the
    worker it ran, and anything else on the machine (which skews every figure: say so)."""

    def __init__(self, server: h.Server):
        import resource

        self.server, self.resource = server, resource
        self.start = self._now()

    def _now(self) -> dict:
        me = self.resource.getrusage(self.resource.RUSAGE_SELF)
        kids = self.resource.getrusage(self.resource.RUSAGE_CHILDREN)  # the `flask worker` runs, once reaped
        return {"wall": time.perf_counter(), "machine": h.machine_cpu(), "postgres": h.postgres_cpu(),
                "gunicorn": self.server.cpu(), "bench": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}

    def figures(self) -> dict:
        end = self._now()
        wall = end["wall"] - self.start["wall"]
        used = {k: end[k] - self.start[k] for k in ("machine", "postgres", "gunicorn", "bench")}
        pct_ = {f"{k}_pct": round(100 * v / wall) for k, v in used.items()}
        pct_["other_pct"] = round(100 * (used["machine"] - used["postgres"] - used["gunicorn"] - used["bench"]) / wall)
        pct_["wall_s"] = round(wall)
        return pct_


def time_gets(b: Browser, base: str, url: str, warm: int, n: int, log: Statements, pg: PgMeter) -> dict:
    path = url.split("?")[0]
    first_ms = None
    for i in range(warm):
        started = time.perf_counter()
        b.get(base + url)
        first_ms = first_ms if i else round(1000 * (time.perf_counter() - started), 1)
    log.take(path, warm, wait=2)
    times, statuses, sizes, count = [], [], [], None
    for _ in range(n):
        started = time.perf_counter()
        answer = b.get(base + url)
        times.append(1000 * (time.perf_counter() - started))
        statuses.append(answer.status_code)
        sizes.append(len(answer.content))
        if count is None:
            found = re.search(r"(?:记录数目|Record Count):?\s*</strong>\s*(\d+\+?)", answer.text)
            count = found.group(1) if found else None
    lines = log.take(path, n)
    statements = [x["statements"] for x in lines]
    server_ms = [x["ms"] for x in lines]
    return {"url": url, "requests": n, "first_ms": first_ms, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "max_ms": round(max(times), 1),
            "mean_ms": round(statistics.fmean(times), 1), "server_p50_ms": pct(server_ms, 50),
            "statements": max(statements) if statements else None, "statements_seen": sorted(set(statements)),
            "non_200": sum(1 for s in statuses if s != 200), "bytes": max(sizes), "record_count": count, "pg": pg.since_last(warm + n)}


def download(b: Browser, url: str, target: Path) -> tuple[int, int, float, float | None]:
    """(status, bytes, seconds, seconds to the first byte); the body goes to TARGET, not to memory."""
    started, first, size = time.perf_counter(), None, 0
    answer = b.get(url, stream=True)
    with open(target, "wb") as out:
        for chunk in answer.iter_content(1 << 16):
            if first is None:
                first = time.perf_counter() - started
            out.write(chunk)
            size += len(chunk)
    return answer.status_code, size, time.perf_counter() - started, first


def csv_rows(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def xlsx_rows(path: Path) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    finally:
        book.close()


def export_csv(b: Browser, base: str, server: h.Server, log: Statements, pg: PgMeter, tmp: Path) -> dict:
    target = tmp / "export.csv"
    status, size, seconds, first = download(b, base + CSV, target)
    line = (log.take(CSV, 1) or [{}])[-1]
    rows = csv_rows(target) if status == 200 else None
    target.unlink(missing_ok=True)
    return {"status": status, "seconds": round(seconds, 2), "first_byte_s": round(first, 3) if first else None,
            "rows": rows, "bytes": size, "statements": line.get("statements"),
            "served_by": line.get("pid"), "rss_after_mb": rss(server), "pg": pg.since_last(1)}


# Started from this (large) process, a child's ru_maxrss would count this process's pages from
# before its exec; a small launcher in between measures the worker alone.
LAUNCHER = ("import os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[1:])\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "print('BENCH_MAXRSS_KB', usage.ru_maxrss, flush=True)\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def run_worker(env: dict, log: Path) -> dict:
    """`flask --app run worker --once`, timed, with its peak memory (ru_maxrss)."""
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write("\n$ flask --app run worker --once\n")
        out.flush()
        code = subprocess.run([sys.executable, "-c", LAUNCHER, str(h.VENV_BIN / "flask"), "--app", "run", "worker", "--once"],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - started
    text = Path(log).read_text(errors="replace")
    peak = re.findall(r"BENCH_MAXRSS_KB (\d+)", text)
    said = [x for x in text.splitlines() if x.strip() and not x.startswith(("BENCH_MAXRSS_KB", "$"))]
    return {"exit": code, "seconds": round(seconds, 2), "peak_rss_mb": round(int(peak[-1]) / 1024, 1) if peak else None,
            "output": said[-1] if said else ""}


def export_xlsx(b: Browser, base: str, server: h.Server, log: Statements, env: dict, tmp: Path) -> dict:
    target = tmp / "export.xlsx"
    started = time.perf_counter()
    first = b.get(base + XLSX, stream=True)
    out: dict = {}
    if first.status_code == 200:  # answered inline
        size = 0
        with open(target, "wb") as f:
            for chunk in first.iter_content(1 << 16):
                f.write(chunk)
                size += len(chunk)
        out.update(mode="inline", seconds=round(time.perf_counter() - started, 2), status=200, bytes=size,
                   rows=xlsx_rows(target))
        line = (log.take(XLSX, 1) or [{}])[-1]
        out.update(statements=line.get("statements"), served_by=line.get("pid"))
    elif first.status_code == 302 and "/exports/" in first.headers.get("Location", ""):
        asked = time.perf_counter() - started
        job_url = first.headers["Location"]
        job_url = job_url if job_url.startswith("http") else base + job_url
        line = (log.take(XLSX, 1) or [{}])[-1]
        queued = b.get(job_url)
        worker = run_worker(env, tmp / "worker.log")
        page = b.get(job_url)
        done = "/file" in page.text and page.status_code == 200
        with h.connect(DB) as db:
            job = db.execute("SELECT id, state, total, done, created_at, finished_at, error FROM export_job ORDER BY id DESC"
                             " LIMIT 1").fetchone()
        status, size, seconds, _ = download(b, job_url.rstrip("/") + "/file", target) if done else (None, 0, 0.0, None)
        out.update(mode="job", status=302, ask_seconds=round(asked, 2), ask_statements=line.get("statements"),
                   job_page_while_queued=queued.status_code, worker=worker, job_page_done=done,
                   job={"id": job[0], "state": job[1], "total": job[2], "done": job[3],
                        "seconds": round((job[5] - job[4]).total_seconds(), 1) if job[5] else None, "error": job[6]},
                   download_status=status, download_seconds=round(seconds, 2), bytes=size,
                   seconds=round(time.perf_counter() - started, 2))
        out["rows"] = xlsx_rows(target) if status == 200 else None
        file_line = (log.take(job_url.split(base, 1)[-1].rstrip("/") + "/file", 1) or [{}])[-1]
        out.update(statements=file_line.get("statements"), served_by=file_line.get("pid"))
    else:
        out.update(mode="error", status=first.status_code, seconds=round(time.perf_counter() - started, 2))
    target.unlink(missing_ok=True)
    out["rss_after_mb"] = rss(server)
    return out


def measure_size(args, env: dict, tmp: Path, size: int) -> dict:
    print(f"\n== {size:,} applications ==", flush=True)
    with h.connect(DB) as db:
        grown = grow(db, size, max_choices=args.max_choices)
        truth = dict(db.execute("SELECT status, count(*) FROM application GROUP BY status").fetchall())
        p1 = db.execute("SELECT id FROM enrollment_period WHERE code = 'SM-P1'").fetchone()[0]
        school_rows = db.execute(
            "SELECT count(*) FROM application a WHERE a.status <> 'draft' AND (EXISTS (SELECT 1 FROM application_choice c"
            " JOIN reviewer_school r ON r.school_id = c.school_id JOIN ab_user u ON u.id = r.user_id"
            " WHERE c.application_id = a.id AND u.username = %s) OR a.allocated_school_id IN (SELECT r.school_id FROM"
            " reviewer_school r JOIN ab_user u ON u.id = r.user_id WHERE u.username = %s))", (SCHOOL, SCHOOL)).fetchone()[0]
    reviewable = sum(n for s, n in truth.items() if s != "draft")
    print(f"  grown: {grown['added']:,} added in {grown['seconds']} s (generate {grown['generate_s']} s, COPY "
          f"{sum(grown['copy_s'].values()):.1f} s, VACUUM ANALYZE {grown['vacuum_analyze_s']} s); "
          f"{reviewable:,} in the reviewers' list", flush=True)
    base = f"http://127.0.0.1:{args.port}"
    log_path = tmp / f"gunicorn-{size}.log"
    statements = Statements(Path(env["BENCH_STATEMENTS_LOG"]))
    server = start_server(env, log_path, args.port)
    out: dict = {"size": size, "grown": grown, "statuses": truth, "reviewable": reviewable, "school_rows": school_rows,
                 "gunicorn_log": str(log_path)}
    cpu = CpuProbe(server)
    try:
        statements.take("/healthz", 99, wait=0.5)
        bureau, school = sign_in(base, BUREAU), sign_in(base, SCHOOL)
        out["rss_start_mb"] = rss(server)
        pg = PgMeter(args.pg_wait)
        pg.mark()

        def step(name, call, say):
            try:
                out[name] = call()
                print(f"  {say(out[name])}", flush=True)
            except Exception as error:  # one screen failing must not hide the others
                out[name] = {"error": f"{type(error).__name__}: {error}"}
                print(f"  {name}: FAILED {out[name]['error']}", flush=True)

        step("list_bureau", lambda: time_gets(bureau, base, LIST, args.warmup, args.list_requests, statements, pg),
             lambda f: f"list (bureau): p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, {f['statements']} statements")
        step("list_school", lambda: time_gets(school, base, LIST, args.warmup, args.list_requests, statements, pg),
             lambda f: f"list (school reviewer): p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, {f['statements']} statements")
        step("dashboard_all", lambda: time_gets(bureau, base, "/dashboard/", 2, args.dashboard_requests, statements, pg),
             lambda f: f"dashboard, all periods: p50 {f['p50_ms']} ms, {f['statements']} statements")
        step("dashboard_p1", lambda: time_gets(bureau, base, f"/dashboard/?period={p1}", 2, args.dashboard_requests, statements, pg),
             lambda f: f"dashboard, SM-P1: p50 {f['p50_ms']} ms, {f['statements']} statements")
        out["rss_before_exports_mb"] = rss(server)
        step("csv", lambda: export_csv(bureau, base, server, statements, pg, tmp),
             lambda f: f"CSV: {f['rows']:,} rows, {f['bytes'] / 1e6:.1f} MB in {f['seconds']} s, {f['statements']} statements,"
                       f" RSS after {f['rss_after_mb']}")
        step("xlsx", lambda: export_xlsx(bureau, base, server, statements, env, tmp),
             lambda x: f"XLSX ({x['mode']}): {x.get('rows')} rows in {x['seconds']} s"
                       + (f" (worker --once {x['worker']['seconds']} s, peak {x['worker']['peak_rss_mb']} MB)"
                          if x["mode"] == "job" else "") + f", RSS after {x['rss_after_mb']}")
    finally:
        out["cpu"] = cpu.figures()
        server.stop()
    print(f"  CPU over the measurements (% of one core): {out['cpu']}", flush=True)
    out["exceptions"] = dict(h.exceptions_since(log_path, 0))
    if out["exceptions"]:
        out["first_traceback"] = h.first_traceback(log_path, 0)
    out["checks"] = {
        "list_record_count_is_reviewable": out.get("list_bureau", {}).get("record_count") == shown_count(reviewable),
        "school_list_record_count": out.get("list_school", {}).get("record_count") == shown_count(school_rows),
        "csv_rows_are_reviewable": out.get("csv", {}).get("rows") == reviewable,
        "xlsx_rows_are_reviewable": out.get("xlsx", {}).get("rows") == reviewable,
    }
    return out


def side_by_side(args, env: dict, tmp: Path) -> dict:
    """The reviewers' list on the smallest and the largest size at once: two servers (same
    settings), requests alternating small, large, large, small … so whatever else the machine
    does in those minutes falls on both sides alike. The ratios of the targets come from here."""
    print(f"\n== the list side by side: {args.sizes[0]:,} and {args.sizes[-1]:,} ==", flush=True)
    small_env = {**env, "DATABASE_URL": f"{h.PG}/{SMALL_DB}", "RUXUE_BIND": f"127.0.0.1:{args.port + 1}",
                 "BENCH_STATEMENTS_LOG": str(tmp / "statements-small.jsonl")}
    servers = {"small": start_server(small_env, tmp / "gunicorn-side-small.log", args.port + 1),
               "large": start_server(env, tmp / "gunicorn-side-large.log", args.port)}
    bases = {"small": f"http://127.0.0.1:{args.port + 1}", "large": f"http://127.0.0.1:{args.port}"}
    out: dict = {"rounds": args.list_requests * 2}
    try:
        browsers = {(side, who): sign_in(bases[side], user) for side in bases for who, user in (("bureau", BUREAU), ("school", SCHOOL))}
        times: dict = {key: [] for key in browsers}
        statuses = []
        for _ in range(args.warmup):
            for key, b in browsers.items():
                b.get(bases[key[0]] + LIST)
        for n in range(out["rounds"]):
            for who in ("bureau", "school"):
                order = ("small", "large") if n % 2 == 0 else ("large", "small")
                for side in order:
                    started = time.perf_counter()
                    answer = browsers[(side, who)].get(bases[side] + LIST)
                    times[(side, who)].append(1000 * (time.perf_counter() - started))
                    statuses.append(answer.status_code)
        for who in ("bureau", "school"):
            small, large = pct(times[("small", who)], 50), pct(times[("large", who)], 50)
            out[who] = {"small_p50_ms": small, "large_p50_ms": large, "ratio": round(large / small, 2),
                        "small_p90_ms": pct(times[("small", who)], 90), "large_p90_ms": pct(times[("large", who)], 90)}
            print(f"  list ({who}): p50 {small} ms → {large} ms, {out[who]['ratio']}×", flush=True)
        out["non_200"] = sum(1 for s in statuses if s != 200)
    finally:
        for server in servers.values():
            server.stop()
    return out


def shown_count(rows: int) -> str:
    """What the list's "Record Count" says: exact up to LIST_COUNT_LIMIT (default 1000), "1000+" above."""
    limit = int(os.environ.get("LIST_COUNT_LIMIT", "1000"))
    return f"{limit}+" if rows > limit else str(rows)


def jit_check(args, env: dict, tmp: Path, result: dict) -> dict:
    """Diagnostic at the largest size: the list and the dashboard again with PostgreSQL's JIT on
    for the app's connections (DB_JIT=on: the server's default, as Debian ships PostgreSQL 15),
    beside the figures with it off (Ruxue's default). Plans whose estimated cost passes
    jit_above_cost pay for compiling first; this says how much of a page's time that is."""
    print(f"\n== {result['size']:,}: again with PostgreSQL JIT on (diagnostic) ==", flush=True)
    with h.connect(DB) as db:
        p1 = db.execute("SELECT id FROM enrollment_period WHERE code = 'SM-P1'").fetchone()[0]
        jit = {k: db.execute(f"SHOW {k}").fetchone()[0] for k in ("jit", "jit_above_cost")}
    base = f"http://127.0.0.1:{args.port}"
    log_path = tmp / f"gunicorn-{result['size']}-jit-on.log"
    statements = Statements(Path(env["BENCH_STATEMENTS_LOG"]))
    server = start_server({**env, "DB_JIT": "on"}, log_path, args.port)
    out: dict = {"server_default": jit}
    try:
        statements.take("/healthz", 99, wait=0.5)
        bureau, school = sign_in(base, BUREAU), sign_in(base, SCHOOL)
        off = PgMeter(0)
        for name, who, url, warm, n in (("list_bureau", bureau, LIST, args.warmup, args.list_requests),
                                         ("list_school", school, LIST, args.warmup, args.list_requests),
                                         ("dashboard_all", bureau, "/dashboard/", 2, args.dashboard_requests),
                                         ("dashboard_p1", bureau, f"/dashboard/?period={p1}", 2, args.dashboard_requests)):
            f = time_gets(who, base, url, warm, n, statements, off)
            out[name] = {k: f[k] for k in ("p50_ms", "p99_ms", "statements", "non_200")}
            print(f"  {name}: p50 {f['p50_ms']} ms with JIT on, {result.get(name, {}).get('p50_ms')} ms with it off", flush=True)
    finally:
        server.stop()
    out["exceptions"] = dict(h.exceptions_since(log_path, 0))
    return out


# --- the table -----------------------------------------------------------------------------------------

def worst_rss(figures: dict | None) -> float | None:
    values = [v for v in (figures or {}).values() if v is not None]
    return max(values) if values else None


def rows_of(results: list[dict]) -> list[tuple]:
    """(measure, values per size, ratio wanted?, target text, met?)."""
    first, last = results[0], results[-1]

    def ratio(a, b):
        return round(b / a, 2) if a and b else None

    def get(r, *path):
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        return r

    rows = []

    def add(label, path, target="", check=None, with_ratio=True, fmt=None):
        def value(r):
            try:
                return path(r) if callable(path) else get(r, *path)
            except (KeyError, TypeError, AttributeError):
                return None

        values = [value(r) for r in results]
        rat = ratio(values[0], values[-1]) if with_ratio and all(isinstance(v, (int, float)) for v in (values[0], values[-1])) else None
        try:
            met = bool(check(values, rat)) if check else None
        except (KeyError, TypeError, AttributeError):
            met = False
        rows.append((label, [fmt(v) if fmt and v is not None else v for v in values], rat, target, met))

    side = results[-1].get("side_by_side") or {}
    for who, label in (("bureau", "bureau"), ("school", "school reviewer")):
        figures = side.get(who) or {}
        rows.append((f"list first page, {label}, side by side p50 ms",
                     [figures.get("small_p50_ms")] + [None] * (len(results) - 2) + [figures.get("large_p50_ms")],
                     figures.get("ratio"), "200k/10k ≤ 1.3×", figures.get("ratio") is not None and figures["ratio"] <= 1.3))
    add("list first page, bureau p50 ms (one size after the other)", ("list_bureau", "p50_ms"))
    add("list first page, bureau p99 ms", ("list_bureau", "p99_ms"))
    add("list statements (bureau)", ("list_bureau", "statements"), "≤ 10", lambda v, r: all(x is not None and x <= 10 for x in v), False)
    add("list first page, school reviewer p50 ms (one size after the other)", ("list_school", "p50_ms"))
    add("list first page, school reviewer p99 ms", ("list_school", "p99_ms"))
    add("list statements (school reviewer)", ("list_school", "statements"), "≤ 10", lambda v, r: all(x is not None and x <= 10 for x in v), False)
    add("list rows read in PostgreSQL / request (bureau)", ("list_bureau", "pg", "rows_read_per_request"))
    add("dashboard all periods p50 ms", ("dashboard_all", "p50_ms"), "< 1000 ms at 200k", lambda v, r: v[-1] is not None and v[-1] < 1000)
    add("dashboard all periods statements", ("dashboard_all", "statements"), "(≤ 10, suite)", lambda v, r: all(x is not None and x <= 10 for x in v), False)
    add("dashboard SM-P1 p50 ms", ("dashboard_p1", "p50_ms"), "200k/10k ≤ 3×", lambda v, r: r is not None and r <= 3)
    add("dashboard SM-P1 first request (counted) ms", ("dashboard_p1", "first_ms"), "")
    add("dashboard all periods first request (counted) ms", ("dashboard_all", "first_ms"), "< 1000 ms at 200k",
        lambda v, r: v[-1] is not None and v[-1] < 1000)
    add("dashboard SM-P1 statements", ("dashboard_p1", "statements"), "(≤ 10, suite)", lambda v, r: all(x is not None and x <= 10 for x in v), False)
    add("CSV export s", ("csv", "seconds"), "< 20 s at 200k", lambda v, r: v[-1] is not None and v[-1] < 20)
    add("CSV rows", ("csv", "rows"))
    add("CSV MB", lambda r: round(r["csv"]["bytes"] / 1e6, 1))
    add("CSV statements", ("csv", "statements"), "≤ 10", lambda v, r: all(x is not None and x <= 10 for x in v), False)
    add("gunicorn worker RSS after CSV, MB (max)", lambda r: worst_rss(r["csv"]["rss_after_mb"]), "≤ 200 MB",
        lambda v, r: all(x is not None and x <= 200 for x in v))
    add("XLSX mode", ("xlsx", "mode"), with_ratio=False)
    add("XLSX s (ask → file downloaded)", ("xlsx", "seconds"), "< 60 s or a job",
        lambda v, r: results[-1]["xlsx"].get("rows") == results[-1]["reviewable"]
        and (results[-1]["xlsx"]["mode"] == "job" and results[-1]["xlsx"].get("job_page_done")
             or results[-1]["xlsx"]["mode"] == "inline" and v[-1] < 60))
    add("XLSX worker --once s", lambda r: r["xlsx"]["worker"]["seconds"] if r["xlsx"]["mode"] == "job" else None)
    add("XLSX worker peak RSS MB", lambda r: r["xlsx"]["worker"]["peak_rss_mb"] if r["xlsx"]["mode"] == "job" else None,
        "(≤ 200 MB)", lambda v, r: all(x is None or x <= 200 for x in v), False)
    add("XLSX rows", ("xlsx", "rows"))
    add("gunicorn worker RSS after XLSX, MB (max)", lambda r: worst_rss(r["xlsx"]["rss_after_mb"]), "≤ 200 MB",
        lambda v, r: all(x is not None and x <= 200 for x in v))
    add("CPU % (of one core): gunicorn / PostgreSQL", lambda r: f"{r['cpu']['gunicorn_pct']} / {r['cpu']['postgres_pct']}",
        with_ratio=False)
    add("CPU % of other processes on the machine", lambda r: r["cpu"]["other_pct"], with_ratio=False)
    add("non-200 answers + tracebacks in gunicorn's log", lambda r: sum(r["exceptions"].values()) + sum(
        r[k].get("non_200", 1) for k in ("list_bureau", "list_school", "dashboard_all", "dashboard_p1"))
        + (r["side_by_side"].get("non_200", 1) if "side_by_side" in r else 0), "0",
        lambda v, r: all(x == 0 for x in v), False)
    return rows


def print_table(results: list[dict]) -> list[tuple]:
    rows = rows_of(results)
    sizes = [f"{r['size'] // 1000}k" if r["size"] % 1000 == 0 else str(r["size"]) for r in results]
    head = ["measure", *sizes, f"{sizes[-1]}/{sizes[0]}", "target", "met"]
    table = [[label, *[("—" if v is None else f"{v:,}" if isinstance(v, int) else str(v)) for v in values],
              "" if rat is None else f"{rat}×", target, "" if met is None else ("yes" if met else "NO")]
             for label, values, rat, target, met in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
    line = lambda cells: " | ".join(str(c).ljust(w) if i == 0 or i >= len(cells) - 2 else str(c).rjust(w)  # noqa: E731
                                    for i, (c, w) in enumerate(zip(cells, widths)))
    print("\n" + line(head))
    print("-+-".join("-" * w for w in widths))
    for row in table:
        print(line(row))
    return rows


def main(argv=None) -> int:
    args = options(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = dt.datetime.now()
    tmp = Path(tempfile.mkdtemp(prefix="ruxue-screens-"))
    env = environment(tmp, args)
    print(f"ruxue screens bench: sizes {', '.join(f'{s:,}' for s in args.sizes)}; temp dir {tmp}", flush=True)
    results, failed = [], None
    setup: dict = {}
    clock = time.perf_counter()
    try:
        h.recreate_db(DB)
        setup["db_upgrade_s"] = h.run([str(h.VENV_BIN / "flask"), "--app", "run", "db", "upgrade"], env, tmp / "setup.log")
        setup["demo_s"] = h.run([str(h.VENV_BIN / "flask"), "--app", "run", "demo", "shimen", "--open-now",
                                 "--applications", "300", "--password", PASSWORD], env, tmp / "setup.log")
        print(f"  set-up: {setup}", flush=True)
        for size in args.sizes:
            results.append(measure_size(args, env, tmp, size))
            if len(results) == 1 and len(args.sizes) > 1:
                h.copy_db(DB, SMALL_DB)
        if len(results) > 1:
            results[-1]["side_by_side"] = side_by_side(args, env, tmp)
        if args.jit_check:
            results[-1]["jit_on"] = jit_check(args, env, tmp, results[-1])
    except Exception as error:  # say what broke; the table shows what was measured
        failed = f"{type(error).__name__}: {error}"
        print(f"\nFAILED: {failed}", flush=True)
    finally:
        h.drop_db(SMALL_DB)
        if not args.keep:
            h.drop_db(DB)
    wall = round(time.perf_counter() - clock)
    table = print_table(results) if results else []
    if results:
        for r in results:
            if r["exceptions"]:
                print(f"\n{r['size']:,}: tracebacks in {r['gunicorn_log']}: {r['exceptions']}")
                print("\n".join(r.get("first_traceback", [])))
            bad = [k for k, ok in r["checks"].items() if not ok]
            if bad:
                print(f"{r['size']:,}: checks failed: {bad}")
        jit = results[-1].get("jit_on")
        if jit:
            print(f"\ndiagnostic at {results[-1]['size']:,}: p50 ms with JIT off (DB_JIT default) → on (server default "
                  f"jit={jit['server_default']['jit']}, jit_above_cost={jit['server_default']['jit_above_cost']}):")
            for name in ("list_bureau", "list_school", "dashboard_all", "dashboard_p1"):
                print(f"  {name:<14} {results[-1].get(name, {}).get('p50_ms')} → {jit.get(name, {}).get('p50_ms')}")
        met = [label for label, _, _, target, ok in table if target and ok]
        unmet = [label for label, _, _, target, ok in table if target and ok is False]
        print(f"\ntargets met: {'; '.join(met) or 'none'}")
        print(f"targets NOT met: {'; '.join(unmet) or 'none'}")
    print(f"\nwall time {wall} s; machine: {os.cpu_count()} cores, {platform_line()}")
    report = {"run": {"started": started.isoformat(timespec="seconds"), "argv": sys.argv[1:], "wall_s": wall,
                      "temp_dir": str(tmp), "machine": {"cores": os.cpu_count(), "platform": platform_line()},
                      "gunicorn": "deploy/gunicorn.conf.py via bench/screens_gunicorn_conf.py: 2 sync workers, "
                                  f"timeout {args.timeout} s", "app_state": app_state(), "setup": setup,
                      "failed": failed},
              "sizes": results,
              "table": [{"measure": label, "values": values, "ratio": rat, "target": target, "met": ok}
                        for label, values, rat, target, ok in table]}
    out = args.out or ROOT / "bench/results" / f"screens-{started:%Y-%m-%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"results written to {out}; logs in {tmp}")
    return 1 if failed else 0


def platform_line() -> str:
    import platform

    try:
        with h.connect("postgres") as db:
            pg = db.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001
        pg = "?"
    return f"Python {platform.python_version()}, PostgreSQL {pg}"


def app_state() -> dict:
    from bench.opening_day import app_state as state

    return state()


if __name__ == "__main__":
    sys.exit(main())
