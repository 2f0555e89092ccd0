"""免证明: the departments' extracts imported as batches, and the sources the checks read.

A county gets spreadsheets first (户籍, 房产, 社保, 营业执照, 居住证, 学籍) and perhaps an API later
with the same fields, so the checks read a ``RegistrySource``: ``ExtractSource`` over the imported
batches, or ``HttpSource`` over a data-sharing interface. Only the columns a check compares are
kept; the rest of a sheet is ignored.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import RegistryBatch, RegistryRecord
from app.model_base import county_now
from app.services import audit
from app.services.county_io import RowError
from app.services.ids import IdNumberError, parse_resident_id


@dataclass(frozen=True)
class Column:
    target: str  # a RegistryRecord attribute, or detail.<key>
    kind: str  # id, text, date, month_start, month_end
    required: bool
    headers: tuple[str, ...]  # the Chinese and English headers a department's sheet may use
    label: object = None


def _c(target, kind, required, *headers, label=None):
    return Column(target, kind, required, tuple(headers), label or headers[0])


_ID = ("身份证号", "公民身份号码", "身份证号码", "id_number", "ID number")
SOURCES: dict[str, tuple[object, tuple[Column, ...]]] = {
    "household": (_l("Household registration"), (
        _c("person_id", "id", True, *_ID),
        _c("name", "text", True, "姓名", "name", "Name"),
        _c("number", "text", True, "户号", "household_no", "Household number"),
        _c("address", "text", False, "户籍地址", "住址", "address", "Address"),
        _c("community", "text", False, "社区", "村（社区）", "community", "Community"),
        _c("since", "date", True, "迁入日期", "入户日期", "登记日期", "registered_on", "Registered on"),
        _c("detail.relation", "text", False, "与户主关系", "relation", "Relation to householder"),
    )),
    "property": (_l("Property"), (
        _c("number", "text", True, "不动产权证号", "产权证号", "证书号", "certificate_no", "Certificate number"),
        _c("person_id", "id", True, "权利人身份证号", "产权人身份证号", "owner_id", "Owner ID number"),
        _c("name", "text", True, "权利人", "产权人", "owner_name", "Owner"),
        _c("address", "text", True, "坐落", "房屋坐落", "address", "Address"),
        _c("community", "text", False, "社区", "所属社区", "community", "Community"),
        _c("detail.use", "text", False, "用途", "规划用途", "use", "Use"),
        _c("since", "date", False, "登记日期", "registered_on", "Registered on"),
    )),
    "social_insurance": (_l("Social insurance"), (
        _c("person_id", "id", True, *_ID),
        _c("name", "text", True, "姓名", "name", "Name"),
        _c("detail.employer", "text", True, "参保单位", "单位名称", "employer", "Employer"),
        _c("since", "month_start", True, "缴费起始月份", "起始月份", "insured_from", "Insured from"),
        _c("until", "month_end", False, "缴费截止月份", "截止月份", "insured_to", "Insured to"),
    )),
    "business_licence": (_l("Business licences"), (
        _c("number", "text", True, "统一社会信用代码", "注册号", "licence_no", "Licence number"),
        _c("person_id", "id", True, "经营者身份证号", "法定代表人身份证号", "holder_id", "Holder ID number"),
        _c("name", "text", True, "经营者", "法定代表人", "holder_name", "Holder"),
        _c("since", "date", True, "成立日期", "登记日期", "licensed_on", "Licensed on"),
        _c("address", "text", False, "经营场所", "address", "Address"),
    )),
    "residence_permit": (_l("Residence permits"), (
        _c("number", "text", True, "居住证号", "居住证编号", "permit_no", "Permit number"),
        _c("person_id", "id", True, *_ID),
        _c("name", "text", True, "姓名", "name", "Name"),
        _c("address", "text", True, "居住地址", "address", "Address"),
        _c("community", "text", False, "社区", "community", "Community"),
        _c("since", "date", False, "签发日期", "issued_on", "Issued on"),
        _c("until", "date", True, "有效期至", "valid_until", "Valid until"),
    )),
    "student_registry": (_l("Student registry"), (
        _c("person_id", "id", True, *_ID),
        _c("name", "text", True, "姓名", "name", "Name"),
        _c("detail.school", "text", True, "学校", "学校名称", "school", "School"),
        _c("detail.class", "text", False, "班级", "class", "Class"),
    )),
}
MAX_ERRORS = 50  # a wrong file reports its first problems, not a hundred thousand


class RegistryImportError(UserError):
    """Nothing was imported; ``errors`` says where (sheet, row, column) and why."""

    def __init__(self, errors: list[RowError]):
        super().__init__(errors[0].message if errors else "")
        self.errors = errors


class RegistryUnavailable(UserError):
    """The source could not answer (an API that is down): the checks wait and try again."""


def source_label(source: str) -> str:
    return str(SOURCES[source][0]) if source in SOURCES else source


# --- reading a file --------------------------------------------------------------------------


def _sheets(file_name: str, data: bytes) -> list[tuple[str, list[tuple]]]:
    """(sheet name, rows) of a CSV (UTF-8 or GB18030, as Excel in China saves it) or an .xlsx."""
    if file_name.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RegistryImportError([RowError(file_name, None, None, str(_l("The CSV file is neither UTF-8 nor GB18030 text.")))])
        return [(file_name, [tuple(r) for r in csv.reader(io.StringIO(text))])]
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds for a file that is not a workbook
            raise RegistryImportError([RowError(file_name, None, None, str(_l("The file is not an Excel workbook (.xlsx).")))])
        return [(sheet.title, list(sheet.iter_rows(values_only=True))) for sheet in workbook.worksheets]
    raise RegistryImportError([RowError(file_name, None, None, str(_l("Choose a .csv or .xlsx file.")))])


def _date(raw, kind: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        value = raw
    else:
        text = str(raw).strip().replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日-")
        if kind.startswith("month") and len(text.replace("-", "")) == 6:
            digits = text.replace("-", "")
            value = dt.date(int(digits[:4]), int(digits[4:]), 1)
        elif len(text) == 8 and text.isdigit():
            value = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        else:
            parts = [int(p) for p in text.split("-")]
            value = dt.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    if kind == "month_start":
        return value.replace(day=1)
    if kind == "month_end":
        following = (value.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    return value


def _cell(column: Column, raw):
    """The typed value of one cell; ValueError carries the message for the user."""
    if raw is None or str(raw).strip() == "":
        if column.required:
            raise ValueError(str(_l("This column is required.")))
        return None
    if isinstance(raw, str) and raw.startswith("="):
        raise ValueError(str(_l("The cell holds a formula; type the value itself (formulas are not imported).")))
    if column.kind == "id":
        text = str(raw).strip().upper()
        try:
            return parse_resident_id(text).number
        except IdNumberError as error:
            raise ValueError(str(error.message)) from None
    if column.kind in ("date", "month_start", "month_end"):
        try:
            return _date(raw, column.kind)
        except (ValueError, IndexError):
            raise ValueError(str(_l("“%(v)s” is not a date (2026-03-01).", v=raw))) from None
    text = str(raw).strip()
    return text.upper() if column.target == "number" else text


def read_extract(source: str, file_name: str, data: bytes) -> list[dict]:
    """Every row as the record it becomes, or RegistryImportError listing what is wrong."""
    if source not in SOURCES:
        raise RegistryImportError([RowError(file_name, None, None, str(_l("Unknown source %(s)s.", s=source)))])
    columns = SOURCES[source][1]
    by_header = {h.strip().lower(): c for c in columns for h in c.headers}
    errors: list[RowError] = []
    records: list[dict] = []
    for sheet, lines in _sheets(file_name, data):
        if not lines:
            continue
        header = [str(h).strip() if h is not None else "" for h in lines[0]]
        mapped = [by_header.get(h.lower()) for h in header]
        missing = [c for c in columns if c.required and c not in mapped]
        errors += [RowError(sheet, 1, str(c.label), str(_l("The sheet has no column for this (headers: %(h)s).",
                                                             h=" / ".join(c.headers)))) for c in missing]
        if missing:
            continue
        for number, line in enumerate(lines[1:], start=2):
            if all(v is None or str(v).strip() == "" for v in line):
                continue
            record = {"source": source, "person_id": "", "name": "", "number": "", "address": "", "community": "",
                      "since": None, "until": None, "detail": {}}
            for title, column, raw in zip(header, mapped, line):
                if column is None:
                    continue  # only what a check compares is kept
                try:
                    value = _cell(column, raw)
                except ValueError as error:
                    errors.append(RowError(sheet, number, title, str(error)))
                    continue
                if column.target.startswith("detail."):
                    if value is not None:
                        record["detail"][column.target[7:]] = value
                elif value is not None:
                    record[column.target] = value
            for column in columns:  # a required column left out of this row's cells
                if column.required and column not in mapped[: len(line)]:
                    errors.append(RowError(sheet, number, str(column.label), str(_l("This column is required."))))
            records.append(record)
            if len(errors) >= MAX_ERRORS:
                raise RegistryImportError(errors)
    if not records and not errors:
        errors.append(RowError(file_name, None, None, str(_l("The file has no rows."))))
    if errors:
        raise RegistryImportError(errors)
    return records


# --- batches -----------------------------------------------------------------------------------


def import_extract(session: Session, source: str, year: int, file_name: str, data: bytes,
                   user_id: int | None = None) -> RegistryBatch:
    """All rows or none: one batch with its records, audited."""
    return store_records(session, source, year, file_name, data, read_extract(source, file_name, data), user_id)


def store_records(session: Session, source: str, year: int, file_name: str, data: bytes, records: list[dict],
                  user_id: int | None = None, progress=None) -> RegistryBatch:
    """The records ``read_extract`` made of ``data``, as one batch; ``progress(n)`` after each chunk
    (the CLI reads the file once, then shows the bar while they are stored)."""
    if not 2000 <= int(year) <= 2100:
        raise RegistryImportError([RowError(file_name, None, None, str(_l("Give the year the extract is for (e.g. 2026).")))])
    batch = RegistryBatch(source=source, year=int(year), file_name=file_name[:255], sha256=hashlib.sha256(data).hexdigest(),
                          row_count=len(records), imported_by_id=user_id)
    session.add(batch)
    session.flush()
    for start in range(0, len(records), 5000):
        chunk = [{**r, "batch_id": batch.id} for r in records[start:start + 5000]]
        session.execute(insert(RegistryRecord), chunk)
        if progress is not None:
            progress(len(chunk))
    audit.log(session, "registry:import", f"batch {batch.id}", detail=f"{source} {year} {len(records)}", user_id=user_id)
    session.commit()
    return batch


def withdraw(session: Session, batch: RegistryBatch, user_id: int | None = None) -> None:
    """The batch stops counting: its records go (the checks cannot read them), the batch stays listed."""
    if batch.withdrawn_at is not None:
        raise UserError(_l("This extract was already withdrawn."))
    session.execute(delete(RegistryRecord).where(RegistryRecord.batch_id == batch.id))
    batch.withdrawn_at = county_now()
    audit.log(session, "registry:withdraw", f"batch {batch.id}", detail=f"{batch.source} {batch.year}", user_id=user_id)
    session.commit()


def compare(session: Session, older: RegistryBatch, newer: RegistryBatch, sample: int = 20) -> dict:
    """What a newer extract of one source adds and drops (by person and number), counted in the
    database, with a few examples of each: the records are never all read into memory."""
    if older.source != newer.source:
        raise UserError(_l("Only extracts of one source can be compared."))

    def only_in(a, b):
        other = RegistryRecord.__table__.alias("other")
        where = and_(RegistryRecord.batch_id == a.id, ~exists().where(
            other.c.batch_id == b.id, other.c.person_id == RegistryRecord.person_id, other.c.number == RegistryRecord.number))
        count = session.scalar(select(func.count()).select_from(RegistryRecord).where(where))
        names = session.scalars(select(RegistryRecord.name).where(where).order_by(RegistryRecord.id).limit(sample)).all()
        return count, names

    added, added_names = only_in(newer, older)
    dropped, dropped_names = only_in(older, newer)
    return {"added": added, "dropped": dropped, "added_names": added_names, "dropped_names": dropped_names,
            "older_rows": older.row_count, "newer_rows": newer.row_count}


def purge(session: Session, before_year: int, user_id: int | None = None) -> int:
    """Extracts of past cycles go with the cycle: every batch of a year before ``before_year``."""
    ids = select(RegistryBatch.id).where(RegistryBatch.year < before_year).scalar_subquery()
    session.execute(delete(RegistryRecord).where(RegistryRecord.batch_id.in_(ids)))
    gone = session.execute(delete(RegistryBatch).where(RegistryBatch.year < before_year)).rowcount
    audit.log(session, "registry:purge", "", detail=f"before {before_year}: {gone}", user_id=user_id)
    session.commit()
    return gone


# --- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    source: str
    by: str  # "person" (an ID number) or "number" (a certificate, licence or permit number)
    value: str


@dataclass(frozen=True)
class Fact:
    source: str
    person_id: str
    name: str
    number: str = ""
    address: str = ""
    community: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    detail: dict = field(default_factory=dict, hash=False, compare=False)


class RegistrySource:
    """Answers the checks' questions; a county plugs in its own (REGISTRY_SOURCE)."""

    name = "none"

    def lookup(self, queries: list[Query]) -> list[Fact]:  # pragma: no cover - an interface
        raise NotImplementedError


class ExtractSource(RegistrySource):
    """The imported extracts: one statement for one family's questions (a handful of keys)."""

    name = "extracts"

    def __init__(self, session: Session):
        self.session = session

    def lookup(self, queries: list[Query]) -> list[Fact]:
        if not queries:
            return []
        wanted = [and_(RegistryRecord.source == q.source,
                       (RegistryRecord.person_id if q.by == "person" else RegistryRecord.number) == q.value) for q in queries]
        rows = self.session.scalars(select(RegistryRecord).where(or_(*wanted)).order_by(RegistryRecord.id).limit(200))
        return [Fact(r.source, r.person_id, r.name, r.number, r.address, r.community, r.since, r.until, dict(r.detail or {}))
                for r in rows]


class HttpSource(RegistrySource):
    """A data-sharing interface with the extracts' fields: POST {url}/lookup {"queries": [...]}
    answers {"facts": [...]} (dates as YYYY-MM-DD)."""

    name = "http"

    def __init__(self, url: str, timeout: float = 5.0, token: str = ""):
        self.url, self.timeout, self.token = url.rstrip("/"), timeout, token

    def lookup(self, queries: list[Query]) -> list[Fact]:
        body = json.dumps({"queries": [asdict(q) for q in queries]}).encode()
        request = urllib.request.Request(self.url + "/lookup", data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
            return [Fact(f["source"], f.get("person_id", ""), f.get("name", ""), f.get("number", ""), f.get("address", ""),
                         f.get("community", ""), _iso(f.get("since")), _iso(f.get("until")), f.get("detail") or {})
                    for f in answer.get("facts", [])]
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as error:
            raise RegistryUnavailable(_l("The records service did not answer (%(e)s); the checks will be tried again.",
                                         e=type(error).__name__)) from None


def _iso(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def source_for(app, session: Session) -> RegistrySource:
    """The configured source: REGISTRY_SOURCE = "extracts" (default) or "http" with REGISTRY_URL."""
    if app.config.get("REGISTRY_SOURCE", "extracts") == "http":
        return HttpSource(app.config["REGISTRY_URL"], float(app.config.get("REGISTRY_TIMEOUT", 5.0)),
                          app.config.get("REGISTRY_TOKEN", ""))
    return ExtractSource(session)
