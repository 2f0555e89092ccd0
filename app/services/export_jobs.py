"""Exports too large for one request: the worker writes the file, the reviewer sees the progress
and downloads it when ready. The job keeps the list's query string and the user's scope as they
were when asked, so the file holds exactly the rows of that list."""
from __future__ import annotations

import datetime as dt
import logging
import tempfile

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.model_base import county_now
from app.models import ExportJob
from app.services import exports
from app.storage import new_key

log = logging.getLogger("ruxue.exports")
KEEP = dt.timedelta(days=1)  # a finished file is kept this long, then deleted with its job
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def create(session: Session, user_id: int, kind: str, args: MultiDict, all_schools: bool, full_ids: bool) -> ExportJob:
    job = ExportJob(user_id=user_id, kind=kind, args=list(args.items(multi=True)), all_schools=all_schools,
                    full_ids=full_ids, state="queued", created_at=county_now())
    session.add(job)
    session.commit()
    return job


def own(session: Session, job_id: int, user_id: int) -> ExportJob | None:
    return session.scalar(select(ExportJob).where(ExportJob.id == job_id, ExportJob.user_id == user_id))


def run_next(session: Session, storage) -> ExportJob | None:
    """Claim the oldest queued job (another worker skips it) and write its file."""
    job = session.scalar(select(ExportJob).where(ExportJob.state == "queued").order_by(ExportJob.id).limit(1)
                         .with_for_update(skip_locked=True))
    if job is None:
        session.rollback()
        return None
    job.state = "running"
    session.commit()
    engine = session.get_bind()

    def progress(done: int) -> None:
        # its own short transaction: the export's read stays open on the main session
        with engine.begin() as conn:
            conn.execute(update(ExportJob).where(ExportJob.id == job.id).values(done=done))

    if engine.dialect.name == "sqlite":
        progress = None  # SQLite cannot commit beside the open read; the total is shown from the start
    try:
        build = current_app.extensions["ruxue_export_query"]
        query = build(session, MultiDict(job.args), None if job.all_schools else job.user_id)
        job.total = exports.count(query)
        session.commit()
        with tempfile.TemporaryFile() as file:
            if job.kind == "csv":
                for chunk in exports.csv_chunks(session, query, job.full_ids, progress):
                    file.write(chunk.encode("utf-8"))
            else:
                exports.write_xlsx(session, query, job.full_ids, file, progress)
            file.seek(0)
            key = new_key()
            storage.save(key, file.read(), CONTENT_TYPES[job.kind])
        session.rollback()
        job = session.get(ExportJob, job.id)
        job.state, job.storage_key, job.done, job.finished_at = "done", key, job.total, county_now()
        session.commit()
    except Exception as error:  # the reviewer sees that it failed and can ask again
        session.rollback()
        log.warning("export job %s failed: %s", job.id, type(error).__name__)
        session.execute(update(ExportJob).where(ExportJob.id == job.id)
                        .values(state="failed", error=type(error).__name__[:255], finished_at=county_now()))
        session.commit()
    return session.get(ExportJob, job.id)


def purge(session: Session, storage, now: dt.datetime | None = None) -> int:
    """Delete finished jobs (and their files) older than KEEP."""
    cutoff = (now or county_now()) - KEEP
    old = session.scalars(select(ExportJob).where(ExportJob.finished_at.is_not(None), ExportJob.finished_at < cutoff)).all()
    for job in old:
        if job.storage_key:
            storage.delete(job.storage_key)
        session.delete(job)
    session.commit()
    return len(old)
