"""County set-ups move in and out as JSON and Excel; a bad file changes nothing."""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from app.services import county_io
from tests.conftest import csrf_token

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COUNTIES = ["shimen", "taojiang", "dengfeng", "anyi"]


@pytest.fixture
def empty_app(fresh_app):
    return fresh_app


def _counts(session):
    from app.services.county_schema import TABLES

    return {t.name: session.query(t.model).count() for t in TABLES}


@pytest.mark.parametrize("county", COUNTIES)
def test_example_imports_exports_and_reimports_identically(empty_app, county):
    from app.extensions import db

    path = EXAMPLES / f"{county}.json"
    original = json.loads(path.read_text(encoding="utf-8"))
    report = county_io.import_file(db.session, path)
    assert report.created["schools"] == len(original["schools"]) > 0
    exported = county_io.export_rows(db.session)
    assert exported == original
    counts = _counts(db.session)
    again = county_io.import_rows(db.session, county_io.read_json(county_io.to_json(exported)))
    assert sum(again.created.values()) == 0
    assert _counts(db.session) == counts
    assert county_io.export_rows(db.session) == original


def test_excel_round_trip_has_chinese_sheets_and_headers(empty_app):
    from app.extensions import db

    county_io.import_file(db.session, EXAMPLES / "anyi.json")
    original = county_io.export_rows(db.session)
    data = county_io.to_excel(original)
    workbook = load_workbook(io.BytesIO(data))
    assert "学校" in workbook.sheetnames and "招生范围" in workbook.sheetnames
    headers = [c.value for c in workbook["学校"][1]]
    assert headers[:3] == ["代码", "区县", "名称"]
    counts = _counts(db.session)
    report = county_io.import_rows(db.session, county_io.read_excel(data))
    assert sum(report.created.values()) == 0
    assert _counts(db.session) == counts
    assert county_io.export_rows(db.session) == original


def _bad_copy():
    doc = json.loads((EXAMPLES / "anyi.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(doc)
    bad["schools"][1]["seats"] = "很多"
    bad["schools"][2]["stage"] = "college"
    bad["catchments"][0]["community"] = "NO-SUCH"
    bad["periods"][0]["closes_at"] = "2026-08-01 00:00"  # before opening
    bad["channels"].append(dict(bad["channels"][0]))  # duplicate key
    return bad


def test_bad_file_reports_every_error_by_sheet_row_column_and_changes_nothing(empty_app):
    from app.extensions import db

    before = _counts(db.session)
    with force_locale("zh"):
        with pytest.raises(county_io.CountyImportError) as caught:
            county_io.import_rows(db.session, county_io.read_json(json.dumps(_bad_copy())))
        lines = [str(e) for e in caught.value.errors]
    assert _counts(db.session) == before
    text = "\n".join(lines)
    assert "学校 · 第 2 行 · 列“学位数”: 不是整数：很多" in text
    assert "学校 · 第 3 行 · 列“学段”" in text
    assert "招生范围 · 第 1 行 · 列“社区/村”" in text and "NO-SUCH" in text
    assert "招生批次 · 第 1 行 · 列“截止时间”: 截止时间必须晚于开放时间。" in text
    assert "报名类别 · 第 6 行: 重复的行" in text


def test_bad_excel_reports_rows_as_the_sheet_numbers_them(empty_app):
    from app.extensions import db

    doc = json.loads((EXAMPLES / "anyi.json").read_text(encoding="utf-8"))
    data = county_io.to_excel(doc)
    workbook = load_workbook(io.BytesIO(data))
    workbook["学校"]["H3"] = -5  # seats of the second school, row 3 of the sheet
    out = io.BytesIO()
    workbook.save(out)
    with force_locale("en"):
        with pytest.raises(county_io.CountyImportError) as caught:
            county_io.import_rows(db.session, county_io.read_excel(out.getvalue()))
        message = str(caught.value.errors[0])
    assert message == "Schools · row 3 · column “Seats”: Must be at least 0."
    assert _counts(db.session)["schools"] == 0


def test_not_a_workbook_is_refused_clearly(empty_app):
    with force_locale("zh"):
        with pytest.raises(county_io.CountyImportError) as caught:
            county_io.read_any("county.xlsx", b"not a zip")
        assert "不是 Excel 工作簿" in str(caught.value.errors[0])


def test_cli_export_then_import(empty_app, tmp_path):
    from app.extensions import db

    county_io.import_file(db.session, EXAMPLES / "dengfeng.json")
    runner = empty_app.test_cli_runner()
    out = tmp_path / "dengfeng.xlsx"
    result = runner.invoke(args=["county", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
    result = runner.invoke(args=["county", "import", str(out)])
    assert result.exit_code == 0, result.output
    assert "schools: +0 ~6" in result.output


def test_cli_import_of_bad_file_exits_non_zero(empty_app, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bad_copy()), encoding="utf-8")
    result = empty_app.test_cli_runner().invoke(args=["county", "import", str(bad)])
    assert result.exit_code == 1
    assert "不是整数" in result.output


def test_admin_page_import_and_export(county_it_client):
    exported = county_it_client.get("/county/export.json")
    assert exported.status_code == 200
    doc = exported.get_json()
    assert {s["code"] for s in doc["schools"]} >= {"SM-X1", "SM-X5", "SM-LL"}
    xlsx = county_it_client.get("/county/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    response = county_it_client.post(
        "/county/import",
        data={"file": (io.BytesIO(xlsx.data), "county.xlsx"), "csrf_token": csrf_token(county_it_client)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "导入成功" in response.get_data(as_text=True) or "已导入" in response.get_data(as_text=True)


def post_import(client, doc: dict):
    """The county IT's import page, given a set-up file as JSON."""
    return client.post(
        "/county/import",
        data={"file": (io.BytesIO(json.dumps(doc).encode()), "county.json"), "csrf_token": csrf_token(client)},
        content_type="multipart/form-data",
    )


def test_admin_page_shows_errors_and_changes_nothing(county_it_client, db_session):
    from app.models import School

    doc = county_it_client.get("/county/export.json").get_json()
    doc["schools"][0]["seats"] = "abc"
    doc["schools"][1]["name"] = "改了名字的学校"
    response = post_import(county_it_client, doc)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "不是整数：abc" in html
    assert db_session.query(School).filter_by(name="改了名字的学校").count() == 0
