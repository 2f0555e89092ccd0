"""Work taken off the parents' path, done by `flask --app run worker` (or each piece by cron).
The parents' SMS have their own service, `flask --app run send-messages`."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from app.model_base import county_now
from flask import current_app

from app.services import export_jobs, flags, forecast, registry, verification

log = logging.getLogger("ruxue.worker")


@dataclass
class Schedule:
    """When each job last ran (seconds on the monotonic clock) and how often it runs."""

    forecast_every: float = 300.0
    last: dict[str, float] = field(default_factory=dict)

    def due(self, job: str, every: float, clock: float) -> bool:
        if clock - self.last.get(job, -1e12) >= every:
            self.last[job] = clock
            return True
        return False


def run_once(session: Session, schedule: Schedule, clock: float | None = None) -> dict[str, int]:
    """One pass: stale conflict flags always; forecasts when their time comes."""
    clock = time.monotonic() if clock is None else clock
    done = {"flags": 0}
    while True:
        n = flags.refresh_stale(session)
        done["flags"] += n
        if n == 0:
            break
    done["checks"] = 0
    source = registry.source_for(current_app, session)
    while True:
        n = verification.refresh_stale(session, source)
        done["checks"] += n
        if n == 0:
            break
    storage = current_app.extensions["ruxue_storage"]
    done["exports"] = 0
    while export_jobs.run_next(session, storage) is not None:
        done["exports"] += 1
    if schedule.due("forecast", schedule.forecast_every, clock):
        done["forecast"] = sum(forecast.refresh_all(session, county_now()).values())
        export_jobs.purge(session, storage)
    return done


def run_forever(session: Session, schedule: Schedule, pause: float = 5.0) -> None:
    """Loop until stopped; a database outage is logged and waited out, never fatal."""
    while True:
        try:
            done = run_once(session, schedule)
            if any(done.values()):
                log.info("worker: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
        except (DBAPIError, PoolTimeout) as error:
            session.rollback()
            log.warning("worker: database unavailable (%s); retrying", type(error).__name__)
        time.sleep(pause)
