"""Exports of the reviewers' list: exactly its rows (its filters and the user's scope), streamed.

Two statements whatever the size: a count, then one query read in batches through a server-side
cursor (PostgreSQL) with the choices aggregated in SQL. CSV is written as it is read; Excel with
openpyxl's write-only mode into a temporary file. Memory stays flat at any number of rows. A
cell a spreadsheet would run as a formula is written as text.
"""
from __future__ import annotations

import csv
import io
import tempfile
from typing import Callable, Iterator

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from app.labels import CHOICES
from app.model_base import mask_id
from app.models import Application, ApplicationChoice, Channel, Child, EnrollmentPeriod, School
from app.services import scope
from app.services.flags import words as flag_words
from app.services.spreadsheet import safe_cell, text_cell

BATCH = 2000

COLUMNS = (
    ("number", _l("Application no.")),
    ("child", _l("Child")),
    ("id_number", _l("Child ID number")),
    ("birth_date", _l("Birth date")),
    ("period", _l("Enrollment period")),
    ("channel", _l("Channel")),
    ("choices", _l("School choices")),
    ("status", _l("Status")),
    ("submitted_at", _l("Submitted")),
    ("flags", _l("Conflict flags")),
)


def scoped(session: Session, scope_user_id: int | None):
    """The applications a reviewer's list shows: no drafts; for a school reviewer only theirs."""
    query = session.query(Application).filter(Application.status != "draft")
    if scope_user_id is not None:
        query = query.filter(scope.visible_condition(scope_user_id))
    return query


def _choices_text(session: Session):
    """The school names of each application's choices, in their order, as one column."""
    where = ApplicationChoice.application_id == Application.id
    if session.get_bind().dialect.name == "postgresql":
        agg = func.string_agg(School.name, aggregate_order_by(literal_column("'、'"), ApplicationChoice.rank))
    else:  # SQLite keeps the rows in the order they were inserted, which is the choices' order
        agg = func.group_concat(School.name, "、")
    return select(agg).select_from(ApplicationChoice).join(School, School.id == ApplicationChoice.school_id).where(where).scalar_subquery()


def rows(session: Session, query, full_ids: bool) -> Iterator[list]:
    """The export's rows, read BATCH at a time from the filtered query."""
    columns = query.order_by(None).with_entities(
        Application.number, Child.name, Child.id_number, Child.birth_date, EnrollmentPeriod.name, Channel.name,
        _choices_text(session), Application.status, Application.submitted_at, Application.flags,
    ).join(Child, Child.id == Application.child_id).join(EnrollmentPeriod, EnrollmentPeriod.id == Application.period_id) \
        .outerjoin(Channel, Channel.id == Application.channel_id) \
        .order_by(Application.submitted_at.desc(), Application.id.desc())
    statuses = {code: str(label) for code, label in CHOICES["status"].items()}
    for number, child, id_number, birth, period, channel, choices, status, submitted, codes in \
            columns.execution_options(yield_per=BATCH):
        yield [
            number, child, id_number if full_ids else mask_id(id_number), birth.isoformat() if birth else "",
            period, channel or "", choices or "", statuses.get(status, status),
            submitted.strftime("%Y-%m-%d %H:%M") if submitted else "", flag_words(codes),
        ]


def headers() -> list[str]:
    return [str(label) for _, label in COLUMNS]


def csv_chunks(session: Session, query, full_ids: bool, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """CSV text in pieces of BATCH lines (a BOM first, so Excel and WPS read the Chinese)."""
    with force_locale("zh"):
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")
        writer.writerow(headers())
        n = 0
        for row in rows(session, query, full_ids):
            writer.writerow([safe_cell(v) for v in row])
            n += 1
            if n % BATCH == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
                if progress:
                    progress(n)
        yield out.getvalue()
        if progress:
            progress(n)


def write_xlsx(session: Session, query, full_ids: bool, target, progress: Callable[[int], None] | None = None) -> None:
    """An Excel workbook in write-only mode: rows go to disk as they come."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    with force_locale("zh"):
        sheet = book.create_sheet(str(_l("Applications")))
        for column in "ABCDEFGHIJ":
            sheet.column_dimensions[column].width = 20
        bold = []
        for text in headers():
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            bold.append(cell)
        sheet.append(bold)
        n = 0
        for row in rows(session, query, full_ids):
            sheet.append([text_cell(sheet, v) for v in row])
            n += 1
            if progress and n % BATCH == 0:
                progress(n)
    book.save(target)
    if progress:
        progress(n)


def xlsx_bytes(session: Session, query, full_ids: bool) -> bytes:
    with tempfile.TemporaryFile() as file:
        write_xlsx(session, query, full_ids, file)
        file.seek(0)
        return file.read()


def count(query) -> int:
    return query.order_by(None).count()
