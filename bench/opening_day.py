"""Opening day: Ruxue under gunicorn on PostgreSQL, next to a bare Flask + SQLAlchemy app.

    .venv/bin/python bench/opening_day.py            # full: 2000 parents, 200 at a time
    .venv/bin/python bench/opening_day.py --quick    # 200 parents, 50 at a time, 1000 reads

For each worker setting (sync: 2 workers; gthread: 2 workers × 8 threads) it makes fresh
databases (``ruxue_bench`` with the Shimen demo, ``ruxue_bench_bare``), starts both apps with the
same gunicorn settings, and measures: full parent flows (sign-in → child → consent → every step →
uploads → preview → submit), the bare app's inserts, racing starts and racing submits, and page
reads (home, catchment lookup, the bare page). It prints req/s, p50/p99, 5xx, rows stored, worker
RSS and Ruxue/bare ratios, and writes everything to bench/results/opening_day-<date>.json.
``--anyi-preview N`` runs the Anyi forecast scenario instead (bench/anyi_preview.py).

    .venv/bin/python bench/opening_day.py --two-nodes [--quick]

``--two-nodes`` runs the parents' flows and page reads through a real nginx (deploy/nginx/ruxue.conf,
HTTPS) to two gunicorn nodes (deploy/gunicorn.conf.py, the same workers and threads each) with
Redis and one PostgreSQL database, then to one node behind the same nginx, and prints two ÷ one
(bench/two_nodes.py; the deployment comes from bench/cluster.py, as in tests/test_two_nodes.py).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `bench` and `app` import from the repository root

from bench import harness as h  # noqa: E402

SETTINGS = {"sync": "sync", "gthread": "gthread"}


def ensure_dependencies() -> None:
    """aiohttp (bench/requirements.txt) and gunicorn (requirements.txt) into this venv when missing."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(ROOT / "bench/requirements.txt")], check=True)
    if not (h.VENV_BIN / "gunicorn").exists():
        pin = next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("gunicorn"))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", pin], check=True)


def options(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parents", type=int, default=2000, help="parents doing the whole flow (default 2000)")
    p.add_argument("--concurrency", type=int, default=200, help="parents at a time, and bare inserts at a time (200)")
    p.add_argument("--reads", type=int, default=5000, help="requests per page-read scenario and bare inserts (5000)")
    p.add_argument("--read-concurrency", type=int, default=50, help="page reads at a time (50)")
    p.add_argument("--race", type=int, default=100, help="simultaneous requests in each race (100)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers, both settings (2)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker for gthread (8)")
    p.add_argument("--settings", help="worker classes to run, in order (sync,gthread; gthread alone with --two-nodes)")
    p.add_argument("--timeout", type=int, default=30, help="gunicorn worker timeout, s (30, gunicorn's default)")
    p.add_argument("--client-timeout", type=float, default=300, help="client timeout per request, s (300)")
    p.add_argument("--demo-applications", type=int, default=300, help="synthetic applications in the demo (300)")
    p.add_argument("--bare-rows", type=int, default=1000, help="rows pre-filled in the bare table (1000)")
    p.add_argument("--quick", action="store_true", help="200 parents, 50 at a time, 1000 reads: for trying things")
    p.add_argument("--keep", action="store_true", help="keep the bench databases at the end")
    p.add_argument("--anyi-preview", type=int, metavar="N", help="instead: Anyi with N approved applications, time the preview step")
    p.add_argument("--preview-gets", type=int, default=1000,
                   help="GETs of each step in --anyi-preview (1000: with fewer, p99 is the one cold first request)")
    p.add_argument("--two-nodes", action="store_true",
                   help="instead: nginx + two gunicorn nodes vs nginx + one node (Redis, one PostgreSQL), same run")
    p.add_argument("--storage", choices=("local", "s3"), default="local",
                   help="uploads with --two-nodes: one folder both nodes share (default) or S3 (moto_server, a process of its own)")
    p.add_argument("--nginx-workers", default="auto", help="nginx worker_processes with --two-nodes (auto, as Debian ships it)")
    p.add_argument("--max-requests", type=int, default=20000,
                   help="with --two-nodes: GUNICORN_MAX_REQUESTS of each node (20000, as deploy/ ships it; 0: never recycle)")
    p.add_argument("--rounds", type=int, default=1,
                   help="with --two-nodes: measure one node and two nodes this many times each, alternating (1)")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="run Ruxue's workers under cProfile, one worker-<pid>.prof each in DIR (figures then mean little)")
    p.add_argument("--out", type=Path, help="JSON results file (default bench/results/opening_day-<date>.json)")
    args = p.parse_args(argv)
    args.settings = args.settings or ("gthread" if args.two_nodes else "sync,gthread")
    if args.quick:
        args.parents, args.concurrency, args.reads = min(args.parents, 200), min(args.concurrency, 50), min(args.reads, 1000)
    return args


# --- what the demo county offers ---------------------------------------------------------------------

def discover(site: h.Site, load, connect=h.connect, base: str | None = None) -> tuple:
    """An open public grade-1 new-entry period, a channel with 3 materials, communities with schools."""
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    with connect() as db:
        periods = db.execute(
            "SELECT id, code, birth_from, birth_to FROM enrollment_period WHERE stage = 'primary' AND grade = 1 "
            "AND entry_kind = 'new' AND ownership = 'public' AND opens_at <= %s AND closes_at >= %s ORDER BY id", (now, now)).fetchall()
        if not periods:
            raise RuntimeError("the demo has no open public grade-1 period (was --open-now given?)")
        period_id, period_code, birth_from, birth_to = periods[0]
        channels = db.execute(
            "SELECT c.id, c.code, (SELECT count(*) FROM channel_material m WHERE m.channel_id = c.id),"
            " (SELECT count(*) FROM channel_section s WHERE s.channel_id = c.id) FROM channel c WHERE c.period_id = %s"
            " ORDER BY c.priority", (period_id,)).fetchall()
        # three uploads per parent, as on opening day; among those, the fewest sections to fill
        channel = min(channels, key=lambda c: (c[2] != 3, c[3]))
        places = db.execute(
            "SELECT DISTINCT cm.id, st.id, st.district_id FROM community cm JOIN street st ON st.id = cm.street_id"
            " JOIN catchment ca ON ca.community_id = cm.id JOIN school s ON s.id = ca.school_id"
            " WHERE s.stage IN ('primary', 'nine_year') AND s.ownership = 'public' ORDER BY cm.id").fetchall()
        area = db.execute("SELECT code FROM district ORDER BY id LIMIT 1").fetchone()[0]
        definitions = db.execute(  # the county's own sections, as published: what its parents fill in
            "SELECT DISTINCT ON (section_code) definition FROM form_section_version ORDER BY section_code, version DESC").fetchall()
    plan = load.Plan(base=base or f"http://127.0.0.1:{h.RUXUE_PORT}", sms_dir=site.sms_dir, period_id=period_id,
                     channel_id=channel[0], communities=[c[0] for c in places], birth_from=birth_from,
                     birth_days=(birth_to - birth_from).days + 1, sections=load.sections_of([d for (d,) in definitions]),
                     area=area if len(area) == 6 and area.isdigit() else "430726")
    community, street, district = places[0]
    about = {"period": period_code, "channel": channel[1], "materials": channel[2], "sections": channel[3],
             "communities": len(places), "lookup": f"/lookup?district={district}&street={street}&community={community}"}
    return plan, about


# --- one worker setting ------------------------------------------------------------------------------

def client_cpu() -> float:
    """CPU of this process: the load client (and its waiting on the Probe's reads of /proc)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Probe:
    """CPU of the gunicorn workers and of PostgreSQL, and the new tracebacks, over one scenario."""

    def __init__(self, servers):
        self.servers = servers

    def __enter__(self):
        self.cpu = {s.name: s.cpu() for s in self.servers}
        self.per_worker = {s.name: {pid: h.cpu_seconds([pid]) for pid in s.workers()} for s in self.servers}
        self.pg = h.postgres_cpu()
        self.machine = h.machine_cpu()
        self.client = client_cpu()
        self.logs = {s.name: h.log_size(s.log) for s in self.servers}
        self.started = time.perf_counter()
        self.figures: dict = {}
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.started
        for s in self.servers:
            self.figures[f"{s.name}_cpu_pct"] = round(100 * (s.cpu() - self.cpu[s.name]) / wall, 1)
            # per worker: with keep-alive a connection stays with the worker that accepted it,
            # so one worker can be busy while the other idles (the sum alone would hide it)
            self.figures[f"{s.name}_worker_cpu_pct"] = [round(100 * (h.cpu_seconds([pid]) - before) / wall)
                                                        for pid, before in self.per_worker[s.name].items()]
            found = h.exceptions_since(s.log, self.logs[s.name])
            if found:
                self.figures[f"{s.name}_exceptions"] = dict(found.most_common(8))
                self.figures[f"{s.name}_first_traceback"] = h.first_traceback(s.log, self.logs[s.name])
        self.figures["postgres_cpu_pct"] = round(100 * (h.postgres_cpu() - self.pg) / wall, 1)
        self.figures["client_cpu_pct"] = round(100 * (client_cpu() - self.client) / wall, 1)
        self.figures["machine_cpu_pct"] = round(100 * (h.machine_cpu() - self.machine) / wall, 1)
        return False


async def scenarios(args, plan, about, ruxue, bare, load) -> dict:
    timeout = args.client_timeout
    # warm both apps (first requests compile templates, fill pools) — not measured
    for base, path in ((plan.base, "/"), (plan.base, "/signin"), (plan.base, about["lookup"]), (f"http://127.0.0.1:{h.BARE_PORT}", "/page")):
        await load.hammer(base, "warm", 40, 4, timeout, path)
    out = {}

    async def measure(name, coro, servers=(ruxue,)):
        with Probe(servers) as probe:
            try:
                out[name] = await coro
            except load.FlowError as error:  # e.g. a race whose parent could not even sign in
                out[name] = {**load.Recorder.figures([]), "error": str(error)}
        out[name].update(probe.figures)
        f = out[name]
        # whatever else ran on the machine meanwhile (tests, builds) skews every figure: say so
        f["other_cpu_pct"] = round(f["machine_cpu_pct"] - f["client_cpu_pct"] - f["postgres_cpu_pct"]
                                   - sum(f.get(f"{s.name}_cpu_pct", 0) for s in servers), 1)
        print(f"  {name}: done", flush=True)

    bare_base = f"http://127.0.0.1:{h.BARE_PORT}"
    await measure("flows", load.full_flows(plan, args.parents, args.concurrency, timeout))
    await measure("bare_insert", load.hammer(bare_base, "POST /insert", args.reads, args.concurrency, timeout, "/insert", "POST",
                                             lambda k: {"name": f"张{k:05d}", "body": "演示" * 10}, expect=(302,)), (bare,))
    plan.phone_prefix = "198"  # the race parents, apart from the flows' in the counts
    await measure("race_start", load.racing_starts(plan, args.race, timeout))
    await measure("race_submit", load.racing_submits(plan, args.race, timeout))
    await measure("home", load.hammer(plan.base, "GET /", args.reads, args.read_concurrency, timeout, "/"))
    await measure("lookup", load.hammer(plan.base, "GET /lookup", args.reads, args.read_concurrency, timeout, about["lookup"]))
    await measure("bare_page", load.hammer(bare_base, "GET /page", args.reads, args.read_concurrency, timeout, "/page"), (bare,))
    return out


def stored(site: h.Site, results: dict) -> dict:
    """What the database and the upload folder hold afterwards."""
    with h.connect() as db:
        by_status = dict(db.execute(
            "SELECT a.status, count(*) FROM application a JOIN child c ON c.id = a.child_id"
            " JOIN parent_account p ON p.id = c.account_id WHERE p.phone LIKE '199%' GROUP BY a.status").fetchall())
        flow_attachments = db.execute(
            "SELECT count(*) FROM attachment t JOIN application a ON a.id = t.application_id JOIN child c ON c.id = a.child_id"
            " JOIN parent_account p ON p.id = c.account_id WHERE p.phone LIKE '199%'").fetchone()[0]
        keys = [k for (k,) in db.execute("SELECT storage_key FROM attachment")]
        doubles = db.execute(
            "SELECT count(*) FROM (SELECT child_id FROM application GROUP BY child_id, period_id HAVING count(*) > 1) d").fetchone()[0]
        race_child = results["race_start"].get("child_id")
        drafts = dict(db.execute("SELECT status, count(*) FROM application WHERE child_id = %s GROUP BY status", (race_child,)).fetchall())
        app_id = results["race_submit"].get("application_id")
        events = db.execute("SELECT count(*) FROM application_event WHERE application_id = %s AND to_status = 'submitted'", (app_id,)).fetchone()[0]
        status = (db.execute("SELECT status FROM application WHERE id = %s", (app_id,)).fetchone() or [None])[0]
        messages = db.execute("SELECT count(*) FROM message WHERE application_id = %s", (app_id,)).fetchone()[0]
    with h.connect(h.BARE_DB) as db:
        bare_rows = db.execute("SELECT count(*) FROM item").fetchone()[0]
    missing = sum(1 for k in keys if not (site.uploads / k[:2] / k).exists())
    return {"flow_applications": by_status, "flow_submitted": by_status.get("submitted", 0), "flow_attachments": flow_attachments,
            "attachments_all": len(keys), "files_missing": missing, "children_with_two_applications": doubles,
            "race_start_applications": drafts, "race_start_drafts": drafts.get("draft", 0),
            "race_submit_events": events, "race_submit_status": status, "race_submit_messages": messages, "bare_rows": bare_rows}


def run_setting(args, kind: str, tmp: Path, load) -> dict:
    threads = args.threads if kind == "gthread" else 1
    label = f"{kind}: {args.workers} workers" + (f" × {threads} threads" if kind == "gthread" else "")
    print(f"\n== {label} ==", flush=True)
    site = h.make_site(tmp / kind)
    setup = h.prepare(site, "shimen", args.demo_applications, args.bare_rows)
    plan, about = discover(site, load)
    print(f"  setup {setup}; period {about['period']}, channel {about['channel']} "
          f"({about['sections']} sections, {about['materials']} materials), logs in {site.tmp}", flush=True)
    servers = []
    env, config = site.env, None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        env, config = {**site.env, "RUXUE_PROFILE_DIR": str(args.profile.resolve())}, ROOT / "bench/profile_gunicorn.py"
    try:
        ruxue = h.start_gunicorn("ruxue", "run:app", h.RUXUE_PORT, env, site.tmp / "gunicorn-ruxue.log", kind,
                                 args.workers, threads, args.timeout, config)
        servers.append(ruxue)
        bare = h.start_gunicorn("bare", "bench.bare_app:app", h.BARE_PORT, site.bare_env, site.tmp / "gunicorn-bare.log",
                                kind, args.workers, threads, args.timeout)
        servers.append(bare)
        h.wait_ready(ruxue, "/")
        h.wait_ready(bare, "/page")
        results = asyncio.run(scenarios(args, plan, about, ruxue, bare, load))
        results["rss_mb"] = {s.name: [h.rss_mb(p) for p in s.workers()] for s in servers}
    finally:
        for s in servers:
            s.stop()
    results["rows"] = stored(site, results)
    results.update(setting=label, kind=kind, workers=args.workers, threads=threads, setup=setup, about=about,
                   logs={s.name: str(s.log) for s in servers})
    results["ratios"] = ratios(results)
    return results


def ratios(r: dict) -> dict:
    def div(a, b):
        return round(a / b, 3) if a and b else None

    return {"flow_rps/bare_insert_rps": div(r["flows"].get("rps"), r["bare_insert"].get("rps")),
            "home_rps/bare_page_rps": div(r["home"].get("rps"), r["bare_page"].get("rps")),
            "lookup_rps/bare_page_rps": div(r["lookup"].get("rps"), r["bare_page"].get("rps"))}


def app_state() -> dict:
    """Which code was measured: the commit, and a digest of uncommitted changes to the app, to what
    deploys it (deploy/: --two-nodes runs the shipped nginx and gunicorn files) and to the bench."""
    def git(*cmd):
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True).stdout

    import hashlib

    diff = git("diff", "HEAD", "--", "app", "migrations", "config.py", "run.py", "requirements.txt", "deploy", "bench")
    return {"commit": git("rev-parse", "HEAD").decode().strip(), "uncommitted_diff_sha256": hashlib.sha256(diff).hexdigest()[:16],
            "uncommitted_diff_lines": diff.count(b"\n")}


def main(argv=None) -> int:
    args = options(argv)
    ensure_dependencies()
    from bench import load
    from bench.report import print_setting, print_summary

    # a plain `kill` must still stop the servers and drop the databases (the finally blocks below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="ruxue-bench-"))
    print(f"ruxue opening-day bench; temp dir {tmp}", flush=True)
    started, state = dt.datetime.now(), app_state()  # before the run: the app may be edited meanwhile
    try:
        if args.anyi_preview is not None:
            from bench.anyi_preview import run as anyi

            report = {"anyi_preview": anyi(args, tmp, load)}
        elif args.two_nodes:
            from bench.two_nodes import run as two_nodes

            report = {"two_nodes": two_nodes(args, tmp, load)}
        else:
            report = {}
            for kind in [k.strip() for k in args.settings.split(",") if k.strip()]:
                if kind not in SETTINGS:
                    raise SystemExit(f"unknown worker setting {kind!r}: use sync and/or gthread")
                try:
                    report[kind] = run_setting(args, kind, tmp, load)
                except (RuntimeError, OSError) as error:  # e.g. the app does not start: say why, go on
                    print(f"  {kind}: could not run: {error}", flush=True)
                    report[kind] = {"error": str(error)}
                    continue
                print_setting(report[kind])
            print_summary(report)
    finally:
        if not args.keep:
            for name in h.OWN_DATABASES:
                h.drop_db(name)
    report["run"] = {"started": started.isoformat(timespec="seconds"), "argv": sys.argv[1:], "temp_dir": str(tmp),
                     "app_state": state,
                     "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    suffix = "-anyi" if args.anyi_preview is not None else "-two-nodes" if args.two_nodes else ""
    suffix += "-quick" if args.quick and args.anyi_preview is None else ""
    out = args.out or ROOT / "bench/results" / f"opening_day-{started:%Y-%m-%d-%H%M}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
