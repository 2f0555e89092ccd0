"""Cells a spreadsheet opens safely: a text starting like a formula stays text (staff open the
exports in Excel or WPS; a child named "=HYPERLINK(…)" must not become a live link)."""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """For CSV: a leading apostrophe, which spreadsheets read as "this is text"."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def text_cell(sheet, value):
    """For openpyxl's write-only sheets: a string cell, never a formula (it would store one)."""
    if not (isinstance(value, str) and value.startswith(FORMULA_START)):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
