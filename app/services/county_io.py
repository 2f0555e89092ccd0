"""Import and export a whole county set-up as JSON or an Excel workbook.

Import reads every row, converts and checks every cell and reference, and only then writes:
a file with any error changes nothing. Rows are matched on their natural key (a code, or
the codes of what they join), so importing the same file twice updates in place.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import UserError
from app.labels import CHOICES
from app.models import CategoryRule, ChannelMaterial, FormSection
from app.services import categories, forms, input_limits
from app.services.county_schema import (
    FORMAT,
    TABLE_BY_NAME,
    TABLES,
    Col,
    Table,
    cell_value,
    natural_key,
)

_TRUE = {"1", "true", "yes", "y", "是", "对", "√"}
_FALSE = {"0", "false", "no", "n", "否", "不", "×", ""}


@dataclass
class RowError:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.sheet]
        if self.row is not None:
            where.append(str(_l("row %(n)d", n=self.row)))
        if self.column:
            where.append(str(_l("column “%(c)s”", c=self.column)))
        return " · ".join(where) + ": " + self.message


class CountyImportError(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)


# A parsed file: table name -> [(row number as the user sees it, {column key: raw value})]
RawRows = dict[str, list[tuple[int, dict]]]


def _headers(col: Col) -> set[str]:
    names = {col.key}
    for locale in ("zh", "en"):
        with force_locale(locale):
            names.add(str(col.header))
    return names


def _sheet_title(label) -> str:
    """Excel forbids / in sheet names and caps them at 31 characters."""
    return str(label).replace("/", "、")[:31]


def _table_names(table: Table) -> set[str]:
    names = {table.name}
    for locale in ("zh", "en"):
        with force_locale(locale):
            names.update({str(table.label), _sheet_title(table.label)})
    return names


# --- reading -------------------------------------------------------------------------------


def read_json(data: bytes | str) -> RawRows:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise CountyImportError([RowError(str(_l("File")), None, None, str(_l("The file is not valid JSON: %(e)s", e=error)))])
    except RecursionError:  # nested deeper than any set-up file: a file made to crash a reader
        raise CountyImportError([RowError(str(_l("File")), None, None, str(_l("The file is not valid JSON: %(e)s",
                                                                              e=_l("nested too deeply"))))]) from None
    if not isinstance(doc, dict):
        raise CountyImportError([RowError(str(_l("File")), None, None, str(_l("The file must hold one JSON object.")))])
    errors, rows = [], {}
    for name, value in doc.items():
        if name == "format":
            continue
        if name not in TABLE_BY_NAME:
            errors.append(RowError(name, None, None, str(_l("Unknown table."))))
            continue
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            errors.append(RowError(name, None, None, str(_l("A table must be a list of objects."))))
            continue
        rows[name] = [(i + 1, r) for i, r in enumerate(value)]
    if errors:
        raise CountyImportError(errors)
    return rows


def read_excel(data: bytes) -> RawRows:
    from openpyxl import load_workbook

    try:
        # formulas as written, not their cached results: a formula is refused, never evaluated or kept
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise CountyImportError([RowError(str(_l("File")), None, None, str(_l("The file is not an Excel workbook (.xlsx).")))])
    by_sheet = {n: t for t in TABLES for n in _table_names(t)}
    errors, rows = [], {}
    for sheet in workbook.worksheets:
        table = by_sheet.get(sheet.title.strip())
        if table is None:
            errors.append(RowError(sheet.title, None, None, str(_l("Unknown sheet."))))
            continue
        header_map = {h: c.key for c in table.columns for h in _headers(c)}
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None) or ()
        keys = []
        for cell in header:
            title = str(cell).strip() if cell is not None else ""
            if title and title not in header_map:
                errors.append(RowError(sheet.title, 1, title, str(_l("Unknown column."))))
            keys.append(header_map.get(title))
        table_rows = []
        for number, line in enumerate(lines, start=2):
            if all(v is None or str(v).strip() == "" for v in line):
                continue
            for title, value in zip(header, line):
                if isinstance(value, str) and value.startswith("="):
                    errors.append(RowError(sheet.title, number, title, str(_l(
                        "The cell holds a formula; type the value itself (formulas are not imported)."))))
            table_rows.append((number, {k: v for k, v in zip(keys, line) if k}))
        rows[table.name] = table_rows
    if errors:
        raise CountyImportError(errors)
    return rows


# --- converting and checking ---------------------------------------------------------------


def _convert(col: Col, raw):
    """Return the typed value of one cell, or raise ValueError with a message for the user."""
    value = _typed(col, raw)
    if col.check is not None and value not in (None, ""):
        try:
            return col.check(value)
        except UserError as error:
            raise ValueError(error.message) from None
    return value


def _limited(table: Table, col: Col, value):
    """The shared input limits of the column the cell is stored in (lengths, controls, dates)."""
    column = None if col.kind == "ref" or col.path else table.model.__table__.columns.get(col.key)
    if column is None:
        return value
    try:
        return input_limits.check_value(column, value)
    except UserError as error:
        raise ValueError(error.message) from None


def _typed(col: Col, raw):
    if isinstance(raw, str):
        raw = raw.strip() if col.kind != "text" else raw
    empty = raw is None or raw == ""
    if empty:
        if col.required:
            raise ValueError(_l("This column is required."))
        return col.default
    if col.kind in {"str", "text", "ref"}:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        return str(raw)
    if col.kind == "int":
        if isinstance(raw, bool):
            raise ValueError(_l("Not a whole number: %(v)s", v=raw))
        try:
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError(_l("Not a whole number: %(v)s", v=raw))
        if col.minimum is not None and value < col.minimum:
            raise ValueError(_l("Must be at least %(n)d.", n=col.minimum))
        return value
    if col.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(_l("Not yes or no: %(v)s", v=raw))
    if col.kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError(_l("Not a date (YYYY-MM-DD): %(v)s", v=raw)) from None
    if col.kind == "datetime":
        if isinstance(raw, dt.datetime):
            return raw.replace(tzinfo=None)
        try:
            return dt.datetime.fromisoformat(str(raw)).replace(tzinfo=None)
        except ValueError:
            raise ValueError(_l("Not a date and time (YYYY-MM-DD HH:MM): %(v)s", v=raw)) from None
    if col.kind == "enum":
        text = str(raw).strip()
        if text in col.choices:
            return text
        for code, label in _enum_labels(col).items():
            if text in label:
                return code
        raise ValueError(_l("Unknown value %(v)s; allowed: %(a)s", v=raw, a=", ".join(col.choices)))
    raise AssertionError(col.kind)


def _enum_labels(col: Col) -> dict[str, set[str]]:
    labels = {}
    for code, label in CHOICES.get(col.labels, {}).items():
        names = set()
        for locale in ("zh", "en"):
            with force_locale(locale):
                names.add(str(label))
        labels[code] = names
    return labels


def _key_of(table: Table, values: dict) -> tuple:
    return tuple(values.get(k) for k in table.key)


def _ref_key(col: Col, values: dict) -> tuple:
    return tuple(values.get(k) for k in col.ref_with) + (values.get(col.key),)


def _validate(session: Session, raw: RawRows) -> tuple[dict[str, list[tuple[int, dict]]], list[RowError]]:
    errors: list[RowError] = []
    typed: dict[str, list[tuple[int, dict]]] = {}
    file_keys: dict[str, set[tuple]] = {}
    for table in TABLES:
        sheet = str(table.label)
        seen: dict[tuple, int] = {}
        rows = []
        for number, cells in raw.get(table.name, []):
            values, ok = {}, True
            unknown = set(cells) - {c.key for c in table.columns}
            for key in sorted(unknown):
                errors.append(RowError(sheet, number, key, str(_l("Unknown column."))))
                ok = False
            for col in table.columns:
                try:
                    values[col.key] = _limited(table, col, _convert(col, cells.get(col.key)))
                except ValueError as error:
                    errors.append(RowError(sheet, number, str(col.header), str(error.args[0])))
                    ok = False
            if not ok:
                continue
            key = _key_of(table, values)
            if key in seen:
                errors.append(RowError(sheet, number, None, str(_l("Duplicate row: the same key is in row %(n)d.", n=seen[key]))))
                continue
            seen[key] = number
            errors.extend(_row_rules(table, sheet, number, values))
            rows.append((number, values))
        typed[table.name] = rows
        file_keys[table.name] = set(seen)
    db_keys = {t.name: set(_existing(session, t)) for t in TABLES}
    for table in TABLES:
        sheet = str(table.label)
        for number, values in typed[table.name]:
            for col in table.columns:
                if col.kind != "ref":
                    continue
                key = _ref_key(col, values)
                if key not in file_keys[col.ref] and key not in db_keys[col.ref]:
                    target = str(TABLE_BY_NAME[col.ref].label)
                    errors.append(RowError(sheet, number, str(col.header), str(_l("No %(t)s “%(v)s” in the file or the database.", t=target, v=" / ".join(map(str, key))))))
    return typed, errors


def _row_rules(table: Table, sheet: str, number: int, v: dict) -> list[RowError]:
    errors = []
    if table.name == "periods":
        if v["closes_at"] <= v["opens_at"]:
            errors.append(RowError(sheet, number, str(table.col("closes_at").header), str(_l("Closing time must be after opening time."))))
        if v["grade_to"] is not None and v["grade_to"] < v["grade"]:
            errors.append(RowError(sheet, number, str(table.col("grade_to").header), str(_l("The highest grade is below the first grade."))))
        if v["birth_from"] and v["birth_to"] and v["birth_from"] > v["birth_to"]:
            errors.append(RowError(sheet, number, str(table.col("birth_to").header), str(_l("The birth-date window ends before it starts."))))
    if table.name == "school_neighbours" and v["school"] == v["neighbour"]:
        errors.append(RowError(sheet, number, str(table.col("neighbour").header), str(_l("A school cannot be its own neighbour."))))
    return errors


def _existing(session: Session, table: Table) -> dict[tuple, object]:
    return {natural_key(table, obj): obj for obj in session.scalars(select(table.model))}


# --- writing -------------------------------------------------------------------------------


def import_rows(session: Session, raw: RawRows) -> ImportReport:
    """Check everything, then write everything in one transaction; commit on success."""
    typed, errors = _validate(session, raw)
    if errors:
        raise CountyImportError(errors)
    report = ImportReport()
    objects: dict[str, dict[tuple, object]] = {}
    try:
        for table in TABLES:
            existing = _existing(session, table)
            objects[table.name] = existing
            created = updated = 0
            for _, values in typed[table.name]:
                key = _key_of(table, values)
                obj = existing.get(key)
                if obj is None:
                    obj = table.model()
                    session.add(obj)
                    existing[key] = obj
                    created += 1
                else:
                    updated += 1
                for col in table.columns:
                    if col.path:
                        continue
                    if col.kind == "ref":
                        setattr(obj, col.attr, objects[col.ref][_ref_key(col, values)])
                    else:
                        setattr(obj, col.key, values[col.key])
            session.flush()
            report.created[table.name], report.updated[table.name] = created, updated
        _drop_left_out(session, typed)
        _publish_sections(session, typed)
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise CountyImportError([RowError(str(_l("File")), None, None, str(_l("The database refused the data: %(e)s", e=error.orig)))])
    except Exception:
        session.rollback()
        raise
    return report


def _drop_left_out(session: Session, typed) -> None:
    """A section whose fields the file lists is the whole section: its fields (and a listed
    field's rules) that the file leaves out are removed, so a county drops what it does not ask
    (Anyi asks no previous school). A field other parts of Ruxue read cannot be dropped."""
    fields_in_file: dict[str, set] = {}
    for _, values in typed.get("form_fields", []):
        fields_in_file.setdefault(values["section"], set()).add(values["key"])
    rules_in_file: dict[tuple, set] = {}
    for _, values in typed.get("field_rules", []):
        rules_in_file.setdefault((values["section"], values["field"]), set()).add(values["position"])
    sheet = str(TABLE_BY_NAME["form_fields"].label)
    errors = []
    for section in session.scalars(select(FormSection)):  # a few dozen rows
        keys = fields_in_file.get(section.code)
        if keys is None:
            continue
        for field in list(section.fields):
            if field.key not in keys:
                try:
                    forms.refuse_removal(field)
                except UserError as error:
                    errors.append(RowError(sheet, None, None, str(error.message)))
                    continue
                section.fields.remove(field)
            else:
                listed = rules_in_file.get((section.code, field.key), set())
                for rule in [r for r in field.rules if r.position not in listed]:
                    field.rules.remove(rule)
    if errors:
        raise CountyImportError(errors)
    session.flush()


def _publish_sections(session: Session, typed) -> None:
    """The engine checks every section as it now stands (file and database together) and, when
    all pass, freezes the changed ones as new versions; any problem refuses the whole file."""
    rows = {values["code"]: number for number, values in typed.get("form_sections", [])}
    sheet = str(TABLE_BY_NAME["form_sections"].label)
    errors = []
    sections = list(session.scalars(select(FormSection)))
    for section in sections:
        session.refresh(section)  # the fields and rules just written, not a copy loaded before
        errors += [RowError(sheet, rows.get(section.code), None, f"{section.code}: {problem}") for problem in forms.problems(section)]
    materials = TABLE_BY_NAME["channel_materials"]
    material_rows = {_key_of(materials, values): number for number, values in typed.get("channel_materials", [])}
    for material in session.scalars(select(ChannelMaterial).where(ChannelMaterial.show_if != "")):
        problem = forms.condition_problem(session, material.show_if)
        if problem:
            errors.append(RowError(str(materials.label), material_rows.get(natural_key(materials, material)),
                                   str(materials.col("show_if").header), problem))
    for material in session.scalars(select(ChannelMaterial).where(ChannelMaterial.waived_if_verified != "")):
        problem = forms.waiver_problem(material.waived_if_verified)
        if problem:
            errors.append(RowError(str(materials.label), material_rows.get(natural_key(materials, material)),
                                   str(materials.col("waived_if_verified").header), problem))
    rules = TABLE_BY_NAME["category_rules"]
    rule_rows = {_key_of(rules, values): number for number, values in typed.get("category_rules", [])}
    for rule in session.scalars(select(CategoryRule)):
        errors += [RowError(str(rules.label), rule_rows.get(natural_key(rules, rule)), str(rules.col("conditions").header), problem)
                   for problem in categories.problems(session, rule)]
    if errors:
        raise CountyImportError(errors)
    for section in sections:
        forms.publish(session, section)


def export_rows(session: Session) -> dict:
    doc: dict = {"format": FORMAT}
    for table in TABLES:
        rows = []
        for key, obj in sorted(_existing(session, table).items(), key=lambda kv: tuple(map(str, kv[0]))):
            rows.append({col.key: _plain(cell_value(col, obj)) for col in table.columns})
        doc[table.name] = rows
    return doc


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def to_excel(doc: dict) -> bytes:
    """One sheet per table, Chinese sheet names and headers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    with force_locale("zh"):
        for table in TABLES:
            sheet = workbook.create_sheet(_sheet_title(table.label))
            sheet.append([str(c.header) for c in table.columns])
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in doc.get(table.name, []):
                sheet.append([_excel_value(c, row.get(c.key)) for c in table.columns])
            for i, col in enumerate(table.columns, start=1):
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = 40 if col.kind == "text" else 18
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _excel_value(col: Col, value):
    if value is None:
        return None
    if col.kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if col.kind == "date":
        return dt.date.fromisoformat(value)
    return value


def read_any(name: str, data: bytes) -> RawRows:
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        return read_json(data)
    if suffix == ".xlsx":
        return read_excel(data)
    raise CountyImportError([RowError(name, None, None, str(_l("Use a .json or .xlsx file.")))])


def import_file(session: Session, path: str | Path) -> ImportReport:
    path = Path(path)
    return import_rows(session, read_any(path.name, path.read_bytes()))


def export_file(session: Session, path: str | Path) -> None:
    path = Path(path)
    doc = export_rows(session)
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(to_excel(doc))
    elif path.suffix.lower() == ".json":
        path.write_text(to_json(doc), encoding="utf-8")
    else:
        raise CountyImportError([RowError(path.name, None, None, str(_l("Use a .json or .xlsx file.")))])
