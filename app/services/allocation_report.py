"""A run's results for the notary (CSV, XLSX) and the public cut-offs: no personal data."""
from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AllocationRound, AllocationRun, EnrollmentPeriod, SeedCommitment
from app.services.allocation_words import pool_namer
from app.services.spreadsheet import safe_cell, text_cell

def header(session: Session, run: AllocationRun) -> list[tuple]:
    """What the run is: period, round, mechanism, keys, commitment, seed (once public), digest."""
    round_ = run.round
    commitment = session.get(SeedCommitment, run.commitment_id) if run.commitment_id else None
    published = run.state == "published"
    return [
        (_l("Enrollment period"), f"{run.period.name} ({run.period.code})"),
        (_l("Round"), round_.number if round_ else ""),
        (_l("Run"), f"#{run.id}"),
        (_l("Status"), _l("Published") if published else _l("Dry run")),
        (_l("Allocation mechanism"), run.mechanism),
        (_l("Priority order"), run.keys),
        (_l("Published seed hash"), commitment.seed_hash if commitment else _l("none: this run can never be published")),
        (_l("Seed hash published on"), commitment.committed_at.strftime("%Y-%m-%d %H:%M") if commitment else ""),
        (_l("Seed"), run.seed if published else _l("kept secret until the publish")),
        (_l("Inputs digest (SHA-256)"), run.inputs_digest),
        (_l("Applications allocated"), len(run.results)),
        (_l("Still in review when it ran"), run.pending_count),
        (_l("Why they were left out"), run.excluded_reason or "—"),
        (_l("Created"), run.created_at.strftime("%Y-%m-%d %H:%M")),
        (_l("Published on"), run.published_at.strftime("%Y-%m-%d %H:%M") if run.published_at else ""),
    ]


COLUMNS = (_l("School"), _l("Seats"), _l("First choices"), _l("Placed"), _l("Reassigned in"),
           _l("Cut-off rank"), _l("Cut-off category"), _l("Cut-off birth date"), _l("Cut-off lottery number"))


def school_rows(session: Session, run: AllocationRun) -> list[tuple]:
    name_of = pool_namer(session)
    rows = []
    for pool_id, row in sorted(((k, v) for k, v in run.summary.items() if k != "unplaced"), key=lambda kv: str(kv[0])):
        cut = row.get("cutoff") or {}
        rows.append((name_of(pool_id), row.get("seats", 0), row.get("first_choices", 0), row.get("placed", 0),
                     row.get("reassigned_in", 0), cut.get("rank", ""), cut.get("group", ""), cut.get("birth_date", ""),
                     str(cut["lottery"]) if "lottery" in cut else ""))
    return rows


def csv_bytes(session: Session, run: AllocationRun) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for label, value in header(session, run):
        writer.writerow([str(label), safe_cell(str(value))])
    writer.writerow([])
    writer.writerow([str(c) for c in COLUMNS])
    for row in school_rows(session, run):
        writer.writerow([safe_cell(str(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel and WPS read the Chinese right


def xlsx_bytes(session: Session, run: AllocationRun) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_l("Allocation results")))
    for label, value in header(session, run):
        sheet.append([str(label), text_cell(sheet, str(value))])  # text: long numbers stay exact
    sheet.append([])
    sheet.append([str(c) for c in COLUMNS])
    for row in school_rows(session, run):
        sheet.append([v if isinstance(v, int) else text_cell(sheet, str(v)) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def public_rounds(session: Session, period: EnrollmentPeriod) -> list[dict]:
    """Every round with its commitments (replaced ones with their reason) and, once published,
    its seed and per-school cut-offs, for the public period pages."""
    found = []
    for round_ in session.scalars(select(AllocationRound).where(AllocationRound.period_id == period.id).order_by(AllocationRound.number)):
        run = session.get(AllocationRun, round_.published_run_id) if round_.published_run_id else None
        found.append({"round": round_, "commitments": list(round_.commitments), "run": run,
                      "schools": school_rows(session, run) if run else []})
    return found
