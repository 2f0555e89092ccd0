"""The hostile-input catalogue (issue #12 point 9), second half: the admin's forms and pages, and
the county file (JSON and Excel). Each probe is refused with a Chinese message, nothing stored."""
from __future__ import annotations

import copy
import io
import json

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Community, District, School, Street
from tests.conftest import csrf_token
from tests.hostile import CONTROL, FORMULA, MARKUP, Probe, refused

# many inputs, each one request: run once, in the SQLite pass (.ci/run); run on PostgreSQL by hand
pytestmark = pytest.mark.fuzz

CODE = "只能包含字母、数字和 - _ ."
BOUNDS = "须在"
NOT_URL = "必须是以 http:// 或 https:// 开头的网址"


@pytest.fixture(scope="module")
def ids(engine):
    with Session(engine) as session:
        return {"district": session.scalar(select(District.id).order_by(District.id)),
                "street": session.scalar(select(Street.id).order_by(Street.id)),
                "school": session.scalar(select(School.id).order_by(School.id)),
                "community": session.scalar(select(Community.id).order_by(Community.id))}


FORMS = {
    "school": ("/schoolmodelview/add", {"district": "{district}", "code": "HOSTILE-S", "name": "测试小学",
                                        "stage": "primary", "ownership": "public", "seats": "45"}),
    "period": ("/enrollmentperiodmodelview/add", {
        "code": "HOSTILE-P", "name": "测试批次", "year": "2027", "stage": "primary", "grade": "1", "entry_kind": "new",
        "ownership": "public", "opens_at": "2027-06-01 08:00:00", "closes_at": "2027-06-10 18:00:00",
        "choice_count": "1", "withdrawal_limit": "0", "submit_wait_seconds": "0",
        "allocation_mechanism": "first_choice_first", "priority_keys": "channel,birth,lottery"}),
    "material": ("/materialtypemodelview/add", {"code": "HOSTILE-M", "name": "测试材料", "accepted_kinds": "jpeg,png,pdf",
                                                "max_size_kb": "5120"}),
    "community": ("/communitymodelview/add", {"street": "{street}", "code": "HOSTILE-C", "name": "测试社区"}),
    "reason": ("/reasontemplatemodelview/add", {"kind": "return", "text": "材料不清晰", "position": "1"}),
    "notice": ("/noticemodelview/add", {"code": "HOSTILE-N", "kind": "notice", "title": "测试通知", "body": "正文",
                                        "version": "1", "position": "9"}),
}
ADMIN_FORMS = [
    Probe("script", "school-name-script", ("school", "name", "<script>alert(1)</script>"), MARKUP),
    Probe("script", "school-name-img", ("school", "name", "<img src=x onerror=alert(1)>"), MARKUP),
    Probe("script", "school-name-template", ("school", "name", "{{7*7}}小学"), MARKUP),
    Probe("formula", "school-name-hyperlink", ("school", "name", '=HYPERLINK("http://evil.example","点我")'), FORMULA),
    Probe("formula", "school-phones-cmd", ("school", "phones", "-2+3+cmd|' /C calc'!A0"), FORMULA),
    Probe("name", "school-name-nul", ("school", "name", "测试\x00小学"), CONTROL),
    Probe("name", "school-name-bidi", ("school", "name", "测试\u202e学小"), CONTROL),
    Probe("oversized", "school-name-129", ("school", "name", "长" * 129), "128"),
    Probe("sql", "school-code-drop", ("school", "code", "x'; DROP TABLE school;--"), CODE),
    Probe("sql", "school-code-or", ("school", "code", "1 OR 1=1"), CODE),
    Probe("path", "school-code-traversal", ("school", "code", "../../etc"), CODE),
    Probe("oversized", "school-seats-overflow", ("school", "seats", "99999999999"), BOUNDS),
    Probe("oversized", "school-seats-negative", ("school", "seats", "-1"), "学位"),
    Probe("sql", "school-seats-sql", ("school", "seats", "45; DROP TABLE school"), "整数"),
    Probe("date", "period-opens-1800", ("period", "opens_at", "1800-06-01 08:00:00"), "“开放时间”须在"),
    Probe("date", "period-opens-2099", ("period", "opens_at", "2099-06-01 08:00:00"), "“开放时间”须在"),
    Probe("date", "period-opens-30-february", ("period", "opens_at", "2027-02-30 08:00:00"), "日期"),
    Probe("date", "period-closes-before-opens", ("period", "closes_at", "2027-05-01 08:00:00"), "必须晚于"),
    Probe("sql", "period-opens-sql", ("period", "opens_at", "' OR 1=1--"), "日期"),
    Probe("date", "period-year-99999", ("period", "year", "99999"), BOUNDS),
    Probe("oversized", "period-grade-99", ("period", "grade", "99"), BOUNDS),
    Probe("oversized", "period-wait-overflow", ("period", "submit_wait_seconds", "99999999999"), BOUNDS),
    Probe("sql", "period-code-union", ("period", "code", "P' UNION SELECT 1--"), CODE),
    Probe("sql", "period-priority-keys", ("period", "priority_keys", "channel;DROP TABLE application"), "排序"),
    Probe("script", "period-description-script", ("period", "description", "说明<script>alert(1)</script>"), MARKUP),
    Probe("oversized", "material-cap-999999", ("material", "max_size_kb", "999999"), "1 至 20480"),
    Probe("oversized", "material-cap-zero", ("material", "max_size_kb", "0"), "1 至 20480"),
    Probe("file", "material-kinds-exe", ("material", "accepted_kinds", "exe,php"), "jpeg、png、pdf"),
    Probe("script", "material-example-javascript", ("material", "example_url", "javascript:alert(1)"), NOT_URL),
    Probe("script", "material-example-data", ("material", "example_url", "data:text/html;base64,PHNjcmlwdD4="), NOT_URL),
    Probe("path", "material-example-other-site", ("material", "example_url", "//evil.example/x.png"), NOT_URL),
    Probe("formula", "material-name-at", ("material", "name", "@SUM(1+1)"), FORMULA),
    Probe("script", "community-name-script", ("community", "name", "<svg onload=alert(1)>"), MARKUP),
    Probe("sql", "community-code-or", ("community", "code", "C' OR '1'='1"), CODE),
    Probe("oversized", "reason-10000", ("reason", "text", "很" * 10_000), "不能超过 255 个字"),
    Probe("script", "reason-script", ("reason", "text", "请补交<script>alert(1)</script>"), MARKUP),
    Probe("script", "notice-body-iframe", ("notice", "body", "通知<iframe src=//evil.example></iframe>"), MARKUP),
    Probe("formula", "notice-title-cmd", ("notice", "title", "=cmd|' /C calc'!A0"), FORMULA),
]


@pytest.mark.parametrize("probe", ADMIN_FORMS, ids=str)
def test_admin_forms(app, engine, county_it_client, ids, probe):
    form, field, value = probe.payload
    url, base = FORMS[form]

    def send(p):
        data = {k: v.format(**ids) for k, v in base.items()}
        return county_it_client.post(url, data={**data, field: value, "csrf_token": csrf_token(county_it_client)},
                                     follow_redirects=True)

    refused(app, engine, send, probe, statuses=(200,))
    html = send(probe).get_data(as_text=True)
    assert f'value="{base["code"]}"' in html if "code" in base and field != "code" else True  # the form kept


ADMIN_PAGES = [
    Probe("oversized", "admin-body-over-the-limit", ("post", "/schoolmodelview/add"), "过大"),
    Probe("path", "show-20-digit-id", ("get", "/schoolmodelview/show/99999999999999999999"), "不存在"),
    Probe("path", "edit-negative-id", ("get", "/schoolmodelview/edit/-1"), "不存在"),
    Probe("sql", "show-id-or-1-1", ("get", "/schoolmodelview/show/1%20OR%201=1"), "不存在"),
    Probe("path", "show-id-traversal", ("get", "/schoolmodelview/show/..%2F..%2Fconfig.py"), "不存在"),
    Probe("path", "storage-browse-traversal", ("get", "/storage/files/b/..%2F..%2F"), "不存在"),
    Probe("path", "storage-download-traversal", ("get", "/storage/files/download/..%2F..%2Fconfig.py"), "不存在"),
]


STAFF_ACCOUNT_PAGES = [
    Probe("path", "user-show-20-digit-id", ("get", "/users/show/99999999999999999999"), "不存在"),
    Probe("path", "role-edit-20-digit-id", ("get", "/roles/edit/99999999999999999999"), "不存在"),
    Probe("sql", "user-delete-id-or-1-1", ("post", "/users/delete/1%20OR%201=1"), "不存在"),
]


@pytest.mark.parametrize("probe", STAFF_ACCOUNT_PAGES, ids=str)
def test_staff_account_pages(app, engine, admin_client, probe):
    method, url = probe.payload

    def send(p):
        if method == "post":
            return admin_client.post(url, data={"csrf_token": csrf_token(admin_client)})
        return admin_client.get(url)

    refused(app, engine, send, probe, statuses=(404,))


@pytest.mark.parametrize("probe", ADMIN_PAGES, ids=str)
def test_admin_pages(app, engine, county_it_client, probe):
    method, url = probe.payload

    def send(p):
        if method == "post":
            big = "长" * (app.config["MAX_CONTENT_LENGTH"] // 3 + 10)
            return county_it_client.post(url, data={"name": big, "csrf_token": csrf_token(county_it_client)})
        return county_it_client.get(url, follow_redirects=True)

    refused(app, engine, send, probe, statuses=(200, 400, 404, 413))


# --- the county file ------------------------------------------------------------------------


def _set(path, value):
    def change(doc):
        table, row, key = path
        doc[table][row][key] = value
        return doc
    return change


COUNTY_JSON = [
    Probe("script", "file-school-name-script", _set(("schools", 0, "name"), "<script>alert(1)</script>"), MARKUP),
    Probe("formula", "file-school-name-hyperlink", _set(("schools", 0, "name"), '=HYPERLINK("http://evil.example")'), FORMULA),
    Probe("formula", "file-school-phones-dde", _set(("schools", 0, "phones"), "@SUM(1+1)*cmd|' /C calc'!A0"), FORMULA),
    Probe("sql", "file-school-code-drop", _set(("schools", 0, "code"), "S'; DROP TABLE school;--"), CODE),
    Probe("oversized", "file-school-seats-negative", _set(("schools", 0, "seats"), -5), "不能小于"),
    Probe("oversized", "file-school-seats-overflow", _set(("schools", 0, "seats"), 10**12), BOUNDS),
    Probe("sql", "file-school-seats-text", _set(("schools", 0, "seats"), "45 OR 1=1"), "整数"),
    Probe("oversized", "file-school-name-10000", _set(("schools", 0, "name"), "长" * 10_000), "不能超过"),
    Probe("name", "file-community-name-nul", _set(("communities", 0, "name"), "社区\x00"), CONTROL),
    Probe("date", "file-period-opens-1800", _set(("periods", 0, "opens_at"), "1800-06-01 08:00"), "“开放时间”须在"),
    Probe("date", "file-period-opens-30-february", _set(("periods", 0, "opens_at"), "2027-02-30 08:00"), "日期"),
    Probe("date", "file-period-closes-before-opens", _set(("periods", 0, "closes_at"), "2000-01-01 08:00"), "须在"),
    Probe("script", "file-material-example-javascript", _set(("material_types", 0, "example_url"), "javascript:alert(1)"), NOT_URL),
    Probe("oversized", "file-material-cap-999999", _set(("material_types", 0, "max_size_kb"), 999999), "1 至 20480"),
    Probe("script", "file-notice-body-script", _set(("notices", 0, "body"), "<script>alert(1)</script>"), MARKUP),
    Probe("path", "file-unknown-school-reference", _set(("catchments", 0, "school"), "../../etc/passwd"), "都没有学校"),
]


@pytest.fixture(scope="module")
def county_doc(county_it_client):
    return county_it_client.get("/county/export.json").get_json()


def _import(client, name: str, body: bytes):
    return client.post("/county/import", data={"file": (io.BytesIO(body), name), "csrf_token": csrf_token(client)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("probe", COUNTY_JSON, ids=str)
def test_county_file_json(app, engine, county_it_client, county_doc, probe):
    def send(p):
        doc = p.payload(copy.deepcopy(county_doc))
        return _import(county_it_client, "county.json", json.dumps(doc).encode())

    refused(app, engine, send, probe)


COUNTY_FILES = [
    Probe("file", "file-not-json", ("county.json", b"{{{ not json"), "JSON"),
    Probe("file", "file-json-list", ("county.json", b"[]"), "JSON"),
    Probe("file", "file-json-deeply-nested", ("county.json", b"[" * 100_000 + b"]" * 100_000), "JSON"),
    Probe("file", "file-json-not-utf8", ("county.json", "{\"schools\": \"石门\"}".encode("gbk")), "JSON"),
    Probe("file", "file-empty", ("county.json", b""), "JSON"),
    Probe("file", "file-exe-named-xlsx", ("county.xlsx", b"MZ\x90\x00" + b"\x00" * 500), "Excel"),
    Probe("file", "file-zip-not-a-workbook", ("county.xlsx", b"PK\x05\x06" + b"\x00" * 18), "Excel"),
    Probe("file", "file-wrong-extension", ("county.csv", b"code,name\n"), ".json"),
    Probe("path", "file-name-traversal", ("../../county.sh", b"#!/bin/sh\n"), ".json"),
    Probe("oversized", "file-over-the-request-limit", ("county.json", None), "过大"),
]


@pytest.mark.parametrize("probe", COUNTY_FILES, ids=str)
def test_county_files_that_are_not_a_county_file(app, engine, county_it_client, probe):
    name, body = probe.payload

    def send(p):
        return _import(county_it_client, name, body if body is not None else b" " * (app.config["MAX_CONTENT_LENGTH"] + 10))

    refused(app, engine, send, probe, statuses=(400, 413))


EXCEL_CELLS = [
    Probe("formula", "xlsx-school-name-formula", ("name", '=HYPERLINK("http://evil.example","点我")'), "单元格是公式"),
    Probe("formula", "xlsx-school-seats-formula", ("seats", "=1+1"), "单元格是公式"),
    Probe("formula", "xlsx-school-name-dde", ("name", "@SUM(1+1)*cmd|' /C calc'!A0"), FORMULA),
    Probe("script", "xlsx-school-name-script", ("name", "<script>alert(1)</script>"), MARKUP),
    Probe("sql", "xlsx-school-code-sql", ("code", "S' OR '1'='1"), CODE),
]


@pytest.fixture(scope="module")
def county_workbook(county_it_client):
    return county_it_client.get("/county/export.xlsx").data


@pytest.mark.parametrize("probe", EXCEL_CELLS, ids=str)
def test_county_file_excel(app, engine, county_it_client, county_workbook, probe):
    key, value = probe.payload

    def send(p):
        book = openpyxl.load_workbook(io.BytesIO(county_workbook))
        sheet = next(s for s in book.worksheets if s.title in ("学校", "schools"))
        headers = [c.value for c in sheet[1]]
        column = next(i for i, h in enumerate(headers, 1) if h and (h == key or key in str(h) or _header(key) in str(h)))
        sheet.cell(2, column).value = value
        out = io.BytesIO()
        book.save(out)
        return _import(county_it_client, "county.xlsx", out.getvalue())

    refused(app, engine, send, probe)


def _header(key: str) -> str:
    return {"name": "名称", "seats": "学位", "code": "代码"}[key]
