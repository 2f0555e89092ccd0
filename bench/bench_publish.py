"""Publishing a city's allocation: N approved applications, one transaction, messages to the outbox.

    .venv/bin/python bench/bench_publish.py [N ...]      # default: 10000 100000

For each N: a fresh PostgreSQL database (ruxue_bench_publish) with the Anyi county and N approved
applications (COPY), the seed's hash published, one simulation, then the publish, timed. Prints
seconds for the simulation and the publish, what the publish wrote, and PostgreSQL's CPU.
"""
from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness as h  # noqa: E402
from bench.anyi_preview import bulk_approved  # noqa: E402

DB = "ruxue_bench_publish"


def one(n: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import ApplicationEvent, EnrollmentPeriod, Message, School
    from app.services import allocation_publish, allocation_rounds, allocation_runs, demo
    from config import TestConfig

    h.recreate_db(DB)

    class Bench(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"postgresql://postgres@127.0.0.1:5432/{DB}"

    app = create_app(Bench)
    with app.app_context():
        upgrade()
        demo.load_county(db.session, "anyi")
        original = h.connect
        h.connect = functools.partial(original, DB)
        try:
            bulk = bulk_approved(n)
        finally:
            h.connect = original
        period = db.session.get(EnrollmentPeriod, bulk["period_id"])
        schools = db.session.scalars(select(School)).all()
        for school in schools:  # seats for about everyone: the publish writes ~N results
            school.seats = n // len(schools) + 1
        db.session.commit()
        after_close = period.closes_at + dt.timedelta(days=1)
        allocation_rounds.commit_seed(db.session, period, "bench-seed", period.closes_at)
        started = time.perf_counter()
        run = allocation_runs.simulate(db.session, period, "bench-seed", now=after_close)
        simulated = time.perf_counter() - started
        pg_before = h.postgres_cpu()
        started = time.perf_counter()
        moved = allocation_publish.publish(db.session, run, None, after_close)
        published = time.perf_counter() - started
        pg_cpu = h.postgres_cpu() - pg_before
        events = db.session.scalar(select(func.count()).select_from(ApplicationEvent))
        messages = db.session.scalar(select(func.count()).select_from(Message).where(Message.sms_status == "pending"))
        db.session.remove()
        db.engine.dispose()
    h.drop_db(DB)
    return {"n": n, "simulate_s": round(simulated, 2), "publish_s": round(published, 2), "placed": moved,
            "events": events, "outbox": messages, "postgres_cpu_s": round(pg_cpu, 2)}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    print(f"{'n':>8} {'simulate s':>11} {'publish s':>10} {'placed':>8} {'events':>8} {'outbox':>8} {'postgres CPU s':>15}")
    rows = []
    for n in sizes:
        r = one(n)
        rows.append(r)
        print(f"{r['n']:>8} {r['simulate_s']:>11} {r['publish_s']:>10} {r['placed']:>8} {r['events']:>8} {r['outbox']:>8} {r['postgres_cpu_s']:>15}")
    if len(rows) > 1:
        print(f"publish time ratio {rows[-1]['n']} / {rows[0]['n']}: {rows[-1]['publish_s'] / max(rows[0]['publish_s'], 1e-9):.1f}×")


if __name__ == "__main__":
    main(sys.argv[1:])
