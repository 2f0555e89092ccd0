"""Tables of applications for reviewers: the same columns in CSV and Excel, Chinese headers."""
from __future__ import annotations

import csv
import io

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.labels import CHOICES
from app.services.flags import words as flag_words

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


def rows(applications, full_ids: bool) -> list[list]:
    out = []
    for a in applications:
        out.append([
            a.number,
            a.child.name,
            a.child.id_number if full_ids else a.child.id_number_masked,
            a.child.birth_date.isoformat() if a.child.birth_date else "",
            a.period.name,
            a.channel.name if a.channel else "",
            "、".join(c.school.name for c in a.choices),
            str(CHOICES["status"].get(a.status, a.status)),
            a.submitted_at.strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
            flag_words(a.flags),
        ])
    return out


def headers() -> list[str]:
    with force_locale("zh"):
        return [str(label) for _, label in COLUMNS]


def to_csv(applications, full_ids: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    with force_locale("zh"):
        writer.writerow(headers())
        writer.writerows(rows(applications, full_ids))
    return "\ufeff" + out.getvalue()  # a BOM so Excel opens the Chinese text correctly


def to_excel(applications, full_ids: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    with force_locale("zh"):
        sheet.title = str(_l("Applications"))
        sheet.append(headers())
        for row in rows(applications, full_ids):
            sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in "ABCDEFGHIJ":
        sheet.column_dimensions[column].width = 20
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
