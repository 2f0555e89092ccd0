"""Printing bench/opening_day.py's figures: one block per worker setting, then a comparison."""
from __future__ import annotations

from bench import harness as h

ROWS = (
    ("flows", "Ruxue full parent flows (all requests)"),
    ("bare_insert", "bare POST /insert"),
    ("home", "Ruxue GET / (home)"),
    ("lookup", "Ruxue GET /lookup (community)"),
    ("bare_page", "bare GET /page (20 rows)"),
)


def _num(value, width=8, digits=1):
    return f"{value:>{width}.{digits}f}" if isinstance(value, (int, float)) else f"{'—':>{width}}"


def _cpu(r: dict) -> str:
    name = "ruxue" if "ruxue_cpu_pct" in r else "bare"
    split = "/".join(str(x) for x in r.get(f"{name}_worker_cpu_pct", []))
    return (f"client {r.get('client_cpu_pct', '—')}% · app {r.get(f'{name}_cpu_pct')}% ({split})"
            f" · pg {r.get('postgres_cpu_pct')}%"
            f" · other {r.get('other_cpu_pct')}%")


def _outcomes(race: dict) -> str:
    return "; ".join(f"{where} ×{n}" for where, n in race.get("outcomes", {}).items())


def print_setting(r: dict) -> None:
    print(f"\n-- {r['setting']} --")
    print(f"{'scenario':<38}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>6}{'4xx':>6}{'no ans':>7}   CPU (of one core)")
    for key, title in ROWS:
        s = r[key]
        print(f"{title:<38}{s['requests']:>9}{_num(s.get('rps'), 9)}{_num(s['p50_ms'], 9)}{_num(s['p99_ms'], 9)}"
              f"{s['status_5xx']:>6}{s['status_4xx']:>6}{s['no_answer']:>7}   {_cpu(s)}")
    for key in ("flows", "bare_insert", "race_start", "race_submit", "home", "lookup", "bare_page"):
        if r[key].get("error"):
            print(f"  {key} could not run: {r[key]['error']}")
    busy = {k: r[k]["other_cpu_pct"] for k, _ in ROWS if (r[k].get("other_cpu_pct") or 0) > 15}
    if busy:
        print(f"  NOTE: other processes used CPU during {busy} (% of one core): those figures are low")
    f, rows = r["flows"], r["rows"]
    print(f"flows: {f.get('completed')} of {f.get('parents')} parents submitted ({f.get('concurrency')} at a time) in {f.get('wall_s')} s")
    if f.get("failures"):
        print("  stopped flows (step: status, message): " + "; ".join(f"{k} ×{v}" for k, v in f["failures"].items()))
    print(f"rows stored: flow applications {rows['flow_applications']}, attachments {rows['flow_attachments']} "
          f"(all {rows['attachments_all']}), upload files missing on disk {rows['files_missing']}, "
          f"children with two applications in a period {rows['children_with_two_applications']}, bare rows {rows['bare_rows']}")
    rs, rb = r["race_start"], r["race_submit"]
    print(f"racing starts ({rs['requests']} at once): answers {rs['statuses']} → applications of the child "
          f"{rows['race_start_applications']}: {rows['race_start_drafts']} draft(s) (must be 1)")
    print(f"  redirected to: {_outcomes(rs)}")
    print(f"racing submits ({rb['requests']} at once): answers {rb['statuses']} → submit events {rows['race_submit_events']} "
          f"(must be 1), status {rows['race_submit_status']}, messages {rows['race_submit_messages']}")
    print(f"  redirected to: {_outcomes(rb)}")
    print(f"worker RSS MB: ruxue {r['rss_mb'].get('ruxue')}, bare {r['rss_mb'].get('bare')}")
    print("ratios Ruxue/bare: " + ", ".join(f"{k} = {v}" for k, v in r["ratios"].items()))
    slow = sorted(f.get("by_step", {}).items(), key=lambda kv: -(kv[1]["p99_ms"] or 0))[:6]
    print("slowest flow requests by p99: " + "; ".join(f"{k} {v['p50_ms']}/{v['p99_ms']} ms" for k, v in slow))
    bad = {k: v for k, v in f.get("by_step", {}).items() if v["status_5xx"] or v["no_answer"]}
    if bad:
        print("flow requests with 5xx / no answer: " + "; ".join(f"{k} {v['status_5xx']}/{v['no_answer']}" for k, v in bad.items()))
    scenarios = ("flows", "bare_insert", "race_start", "race_submit", "home", "lookup", "bare_page")
    failed = [k for k in scenarios if r[k]["status_5xx"] or any(n.endswith("_exceptions") for n in r[k])]
    if failed:
        print("server tracebacks (request: root exception ⇒ final one, count), error logs: "
              + ", ".join(f"{name} {path}" for name, path in r["logs"].items()))
        for key in failed:
            for server in ("ruxue", "bare"):
                for line, n in (r[key].get(f"{server}_exceptions") or {}).items():
                    print(f"  {key}: ×{n} {line}")
                for line in r[key].get(f"{server}_first_traceback") or []:
                    print(f"    | {line[:200]}")
            if r[key]["status_5xx"] and not any(r[key].get(f"{s}_exceptions") for s in ("ruxue", "bare")):
                print(f"  {key}: {r[key]['status_5xx']} answers 5xx without a traceback (e.g. a 503 the app chose)")


def print_summary(report: dict) -> None:
    runs = [r for r in report.values() if isinstance(r, dict) and "flows" in r]
    if len(runs) < 2:
        return
    print("\n== summary ==")
    print(f"{'':<34}" + "".join(f"{r['kind']:>22}" for r in runs))

    def line(title, get):
        print(f"{title:<34}" + "".join(f"{str(get(r)):>22}" for r in runs))

    line("flow req/s (p50/p99 ms)", lambda r: f"{r['flows']['rps']} ({r['flows']['p50_ms']}/{r['flows']['p99_ms']})")
    line("flows submitted / parents", lambda r: f"{r['flows']['completed']}/{r['flows']['parents']}")
    line("flow 5xx / no answer", lambda r: f"{r['flows']['status_5xx']}/{r['flows']['no_answer']}")
    line("bare insert req/s", lambda r: r["bare_insert"]["rps"])
    line("home req/s (p99)", lambda r: f"{r['home']['rps']} ({r['home']['p99_ms']})")
    line("lookup req/s (p99)", lambda r: f"{r['lookup']['rps']} ({r['lookup']['p99_ms']})")
    line("bare page req/s (p99)", lambda r: f"{r['bare_page']['rps']} ({r['bare_page']['p99_ms']})")
    line("race: drafts / 5xx", lambda r: f"{r['rows']['race_start_drafts']} / {r['race_start']['status_5xx']}")
    line("race: submit events / 5xx", lambda r: f"{r['rows']['race_submit_events']} / {r['race_submit']['status_5xx']}")
    line("files missing", lambda r: r["rows"]["files_missing"])
    line("ruxue worker RSS MB", lambda r: r["rss_mb"].get("ruxue"))
    for key in runs[0]["ratios"]:
        line(key, lambda r, key=key: r["ratios"][key])
