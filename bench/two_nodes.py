"""``opening_day.py --two-nodes``: the same parents through nginx to two nodes, then to one.

For each worker setting (gthread unless --settings says otherwise) it builds, with bench/cluster.py,
a fresh deployment as deploy/ describes it — PostgreSQL database with the Shimen demo, Redis,
gunicorn nodes started with deploy/gunicorn.conf.py (--workers, --threads each), nginx with
deploy/nginx/ruxue.conf over HTTPS — first with ONE node in nginx's upstream, then with TWO, and
measures in each: the full parent flows (sign-in → submit, 3 uploads) and 5,000 reads of the home
page and of the catchment lookup. Uploads go to one folder both nodes share (they run on one
machine) or, with --storage s3, to moto_server. Prints both, then two ÷ one for req/s and p99.

Both nodes share the machine's cores with nginx, Redis, PostgreSQL and the load client: what
this shows is the cost of the second node and of the balancing, not the gain of a second machine.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bench import cluster
from bench import harness as h

CONFIGS = (("one_node", 1), ("two_nodes", 2))
SCENARIOS = (("flows", "full parent flows (all requests)"), ("home", "GET / (home)"), ("lookup", "GET /lookup (community)"))


def _moto(tmp: Path):
    """moto's S3 in a process of its own (in the client's process it would steal the client's CPU)."""
    port = cluster.free_port()
    server = cluster._spawn(cluster.Single, "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            port, tmp / "moto.log")
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    while True:
        try:
            client.create_bucket(Bucket="ruxue-bench")
            break
        except Exception:
            if time.monotonic() > deadline or server.proc.poll() is not None:
                server.stop()
                raise RuntimeError(f"moto_server did not start:\n{h.tail(server.log, 20)}")
            time.sleep(0.2)
    storage = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "ruxue-bench", "S3_ENDPOINT_URL": endpoint, "S3_REGION": "us-east-1",
               "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test"}
    return server, storage, client


async def _scenarios(args, plan, about, servers, load) -> dict:
    from bench.opening_day import Probe

    timeout = args.client_timeout
    for path in ("/", "/signin", about["lookup"]):  # warm every worker of every node — not measured
        await load.hammer(plan.base, "warm", 80, 8, timeout, path)
    out = {}

    async def measure(name, coro):
        with Probe(servers) as probe:
            try:
                out[name] = await coro
            except load.FlowError as error:
                out[name] = {**load.Recorder.figures([]), "error": str(error)}
        out[name].update(probe.figures)
        f = out[name]
        f["other_cpu_pct"] = round(f["machine_cpu_pct"] - f["client_cpu_pct"] - f["postgres_cpu_pct"]
                                   - sum(f.get(f"{s.name}_cpu_pct", 0) for s in servers), 1)
        print(f"  {name}: done", flush=True)

    await measure("flows", load.full_flows(plan, args.parents, args.concurrency, timeout))
    await measure("home", load.hammer(plan.base, "GET /", args.reads, args.read_concurrency, timeout, "/"))
    await measure("lookup", load.hammer(plan.base, "GET /lookup", args.reads, args.read_concurrency, timeout, about["lookup"]))
    return out


def _stored(d: cluster.Deployment, s3) -> dict:
    with d.connect() as db:
        by_status = dict(db.execute(
            "SELECT a.status, count(*) FROM application a JOIN child c ON c.id = a.child_id"
            " JOIN parent_account p ON p.id = c.account_id WHERE p.phone LIKE '199%' GROUP BY a.status").fetchall())
        keys = [k for (k,) in db.execute(
            "SELECT t.storage_key FROM attachment t JOIN application a ON a.id = t.application_id JOIN child c ON c.id = a.child_id"
            " JOIN parent_account p ON p.id = c.account_id WHERE p.phone LIKE '199%'")]
    if s3 is not None:
        found, pages = set(), s3.get_paginator("list_objects_v2").paginate(Bucket="ruxue-bench")
        for page in pages:
            found |= {o["Key"] for o in page.get("Contents", [])}
        missing = sum(1 for k in keys if k not in found)
    else:
        root = Path(d.env["STORAGE_LOCAL_DIR"])
        missing = sum(1 for k in keys if not (root / k[:2] / k).exists())
    return {"flow_applications": by_status, "flow_submitted": by_status.get("submitted", 0), "flow_attachments": len(keys),
            "files_missing": missing}


def _events(d: cluster.Deployment) -> dict:
    """What explains a 5xx: gunicorn workers recycled (max_requests) and nginx's upstream errors."""
    import re
    from collections import Counter

    out = {f"node {n.name}: workers recycled": h.log_size(n.log) and n.log.read_text(errors="replace").count("Autorestarting worker")
           for n in d.nodes}
    errors = Counter()
    for line in d.nginx.log.read_text(errors="replace").splitlines():
        found = re.search(r"\[(?:error|warn)\] \d+#\d+: \*\d+ (.*?) while ", line)
        if found:
            errors[f"nginx: {found.group(1)}"] += 1
    return {**out, **dict(errors.most_common(5))}


def run_config(args, kind: str, name: str, nodes: int, tmp: Path, load, storage: dict | None, s3) -> dict:
    from bench.opening_day import discover

    threads = args.threads if kind == "gthread" else 1
    label = (f"{name.replace('_', ' ')}: {nodes} × gunicorn {kind} {args.workers} workers"
             + (f" × {threads} threads" if threads > 1 else "") + f", max_requests {args.max_requests}"
             + f", nginx worker_processes {args.nginx_workers}")
    print(f"\n== {label} ==", flush=True)
    where = tmp / f"{kind}-{name}"
    with cluster.deployment(where, nodes=nodes, workers=args.workers, threads=threads, storage=storage,
                            applications=args.demo_applications, purpose="bench", nginx_workers=args.nginx_workers,
                            GUNICORN_TIMEOUT=str(args.timeout), GUNICORN_MAX_REQUESTS=str(args.max_requests),
                            # the whole load comes from one address: the login limits would stop it at once
                            OTP_LIMIT_PER_ADDRESS="1000000 per hour", OTP_LIMIT_PER_PHONE="1000000 per hour") as d:
        plan, about = discover(d, load, connect=d.connect, base=d.base)
        print(f"  setup {d.timings}; period {about['period']}, channel {about['channel']} ({about['sections']} sections, "
              f"{about['materials']} materials), logs in {where}", flush=True)
        results = asyncio.run(_scenarios(args, plan, about, d.servers, load))
        results["rss_mb"] = {n.name: [h.rss_mb(p) for p in n.workers()] for n in d.nodes}
        results["rows"] = _stored(d, s3)
        results["nginx_site_changes"] = d.site.changes
        results["events"] = _events(d)
        results["logs"] = {s.name: str(s.log) for s in d.servers}
    results.update(setting=label, kind=kind, config=name, nodes=nodes, workers=args.workers, threads=threads,
                   setup=d.timings, about=about)
    return results


def run(args, tmp: Path, load) -> dict:
    missing = cluster.missing_tools()
    if missing:
        raise SystemExit("--two-nodes needs: " + ", ".join(missing))
    cluster.drop_stale_databases()
    report: dict = {"storage": args.storage, "rounds": args.rounds}
    moto = storage = s3 = None
    if args.storage == "s3":
        moto, storage, s3 = _moto(tmp)
    try:
        for kind in [k.strip() for k in args.settings.split(",") if k.strip()]:
            if kind not in ("sync", "gthread"):
                raise SystemExit(f"unknown worker setting {kind!r}: use sync and/or gthread")
            runs: dict = {name: [] for name, _ in CONFIGS}
            for round_ in range(args.rounds):
                # one, two, then two, one …: a load that drifts over the run weighs on both alike
                for name, nodes in CONFIGS if round_ % 2 == 0 else CONFIGS[::-1]:
                    try:
                        result = run_config(args, kind, name, nodes, tmp / f"round{round_ + 1}", load, storage, s3)
                    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                        print(f"  {name}: could not run: {error}", flush=True)
                        continue
                    result["round"] = round_ + 1
                    runs[name].append(result)
                    print_config(result)
            medians = {name: _medians(results) for name, results in runs.items() if results}
            report[kind] = {**runs, "medians": medians, "ratios": ratios(medians.get("two_nodes", {}), medians.get("one_node", {})),
                            "ratios_by_round": [ratios(t, o) for o, t in zip(runs["one_node"], runs["two_nodes"])]}
            print_ratios(kind, report[kind])
    finally:
        if moto is not None:
            moto.stop()
    return report


def _medians(results: list[dict]) -> dict:
    """Each scenario's figures, the median over the rounds (the figures themselves with one round)."""
    from statistics import median

    out = {}
    for key, _ in SCENARIOS:
        rows = [r[key] for r in results if r[key].get("rps")]
        out[key] = {f: median(r[f] for r in rows) if rows else None for f in ("rps", "p50_ms", "p99_ms")}
    out["flows"]["completed"] = sum(r["flows"].get("completed") or 0 for r in results)
    out["flows"]["parents"] = sum(r["flows"].get("parents") or 0 for r in results)
    return out


def ratios(two: dict, one: dict) -> dict:
    def div(a, b):
        return round(a / b, 3) if a and b else None

    out = {}
    for key, _ in SCENARIOS:
        if key in two and key in one:
            out[f"{key}_rps"] = div(two[key].get("rps"), one[key].get("rps"))
            out[f"{key}_p50"] = div(two[key].get("p50_ms"), one[key].get("p50_ms"))
            out[f"{key}_p99"] = div(two[key].get("p99_ms"), one[key].get("p99_ms"))
    return out


def _num(value, width=9, digits=1):
    return f"{value:>{width}.{digits}f}" if isinstance(value, (int, float)) else f"{'—':>{width}}"


def _cpu(r: dict, nodes: list[str]) -> str:
    parts = [f"{n} {r.get(f'{n}_cpu_pct')}%" for n in nodes]
    return " · ".join(parts + [f"nginx {r.get('nginx_cpu_pct')}%", f"redis {r.get('redis_cpu_pct')}%",
                               f"pg {r.get('postgres_cpu_pct')}%", f"client {r.get('client_cpu_pct')}%",
                               f"other {r.get('other_cpu_pct')}%"])


def print_config(r: dict) -> None:
    nodes = sorted(r["rss_mb"])
    print(f"\n-- {r['setting']} --")
    print(f"{'scenario':<34}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>6}{'4xx':>6}{'no ans':>7}"
          f"  {'answered by':<18} CPU (% of one core)")
    for key, title in SCENARIOS:
        s = r[key]
        split = "/".join(f"{n}:{c}" for n, c in (s.get("nodes") or {}).items())
        print(f"{title:<34}{s['requests']:>9}{_num(s.get('rps'))}{_num(s['p50_ms'])}{_num(s['p99_ms'])}"
              f"{s['status_5xx']:>6}{s['status_4xx']:>6}{s['no_answer']:>7}  {split:<18} {_cpu(s, nodes)}")
        if s.get("error"):
            print(f"  {key} could not run: {s['error']}")
        for server in nodes + ["nginx"]:
            for line, n in (s.get(f"{server}_exceptions") or {}).items():
                print(f"  {key}: node {server}: ×{n} {line}")
    f, rows = r["flows"], r["rows"]
    print(f"flows: {f.get('completed')} of {f.get('parents')} parents submitted ({f.get('concurrency')} at a time) in "
          f"{f.get('wall_s')} s; in the database: {rows['flow_applications']}, attachments {rows['flow_attachments']}, "
          f"files missing {rows['files_missing']}")
    if f.get("failures"):
        print("  stopped flows (step: status, message): " + "; ".join(f"{k} ×{v}" for k, v in f["failures"].items()))
    bad = {k: v for k, v in f.get("by_step", {}).items() if v["status_5xx"] or v["no_answer"]}
    if bad:
        print("  flow requests with 5xx / no answer: " + "; ".join(f"{k} {v['status_5xx']}/{v['no_answer']}" for k, v in bad.items()))
    print("events: " + "; ".join(f"{k} ×{v}" for k, v in r["events"].items()))
    print("worker RSS MB: " + ", ".join(f"node {n} {v}" for n, v in r["rss_mb"].items()))


def print_ratios(kind: str, report: dict) -> None:
    one, two = report["medians"].get("one_node", {}), report["medians"].get("two_nodes", {})
    if "flows" not in one or "flows" not in two:
        return
    rounds = len(report["one_node"])
    print(f"\n== {kind}: two nodes ÷ one node (same nginx, Redis, PostgreSQL, machine)"
          + (f"; medians of {rounds} rounds" if rounds > 1 else "") + " ==")
    print(f"{'':<34}{'one node':>24}{'two nodes':>24}{'two ÷ one':>12}")
    for key, title in SCENARIOS:
        for figure, unit in (("rps", "req/s"), ("p99_ms", "p99 ms"), ("p50_ms", "p50 ms")):
            ratio = report["ratios"].get(f"{key}_{figure.split('_')[0]}")
            print(f"{(title.split(' (')[0] + ' ' + unit):<34}{_num(one[key].get(figure), 24)}{_num(two[key].get(figure), 24)}"
                  f"{_num(ratio, 12, 3)}")
    done = [f"{r['flows']['completed']}/{r['flows']['parents']}" for r in (one, two)]
    print(f"{'flows submitted / parents':<34}{done[0]:>24}{done[1]:>24}")
    if rounds > 1:
        for figure in ("flows_rps", "flows_p99"):
            print(f"{figure} two ÷ one by round: " + ", ".join(str(r.get(figure)) for r in report["ratios_by_round"]))
