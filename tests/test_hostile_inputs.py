"""A catalogue of hostile inputs (issue #12 point 9): ID numbers, dates, names, files, paths,
formulas, scripts, SQL and oversized bodies, sent through the parents' form, the admin and the
county file. Each one is refused with a message in Chinese naming what is wrong (never a 5xx),
and nothing is stored: every table but the audit log and the staff sessions reads the same after
the probe as before it."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Application, EnrollmentPeriod
from tests.conftest import csrf_token, parent_login
from tests.hostile import CONTROL, FORMULA, MARKUP, NOT_NAME, Probe, refused, resident_id, wrong_check
from tests.parent_flow import tiny_png
from tests.public_helpers import GUARDIAN, add_child, consent, next_id, post, section_values, start

# many inputs, each one request: run once, in the SQLite pass (.ci/run); run on PostgreSQL by hand
pytestmark = pytest.mark.fuzz

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
GOOD_ID = next_id(dt.date(2020, 3, 1))

# --- the parents' form: binding a child ---------------------------------------------------------

CHILD_IDS = [
    Probe("id", "wrong-check-digit", wrong_check(GOOD_ID), "校验码"),
    Probe("id", "full-width-wrong-check", wrong_check(GOOD_ID).translate(FULL_WIDTH), "校验码"),
    Probe("id", "17-characters", GOOD_ID[:17], "应为18位"),
    Probe("id", "19-characters", GOOD_ID + "1", "应为18位"),
    Probe("id", "letters", "ABCDEFGHIJKLMNOPQR", "只能输入数字"),
    Probe("id", "x-in-the-middle", GOOD_ID[:8] + "X" + GOOD_ID[9:], "只能输入数字"),
    Probe("id", "unknown-area", resident_id("00000020200301123"), "地区码"),
    Probe("id", "31-february", resident_id("43072620190231123"), "出生日期"),
    Probe("id", "born-in-2090", resident_id("43072620900301123"), "出生日期"),
    Probe("id", "born-in-1850", resident_id("43072618500301123"), "出生日期"),
    Probe("id", "an-adult", resident_id("43072619850301123"), "须在"),
    Probe("id", "empty", "", "应为18位"),
    Probe("id", "10000-digits", "4" * 10_000, "不能超过 32 个字"),
    Probe("id", "nul", GOOD_ID[:9] + "\x00" + GOOD_ID[9:], CONTROL),
    Probe("sql", "id-or-1-1", "' OR '1'='1", "应为18位"),
    Probe("sql", "id-drop-table", GOOD_ID + "'; DROP TABLE child;--", "不能超过 32 个字"),
    Probe("script", "id-script", "<script>alert(1)</script>", MARKUP),
]
CHILD_NAMES = [
    Probe("script", "name-script-tag", "<script>alert(1)</script>", MARKUP),
    Probe("script", "name-img-onerror", "<img src=x onerror=alert(1)>", MARKUP),
    Probe("script", "name-template", "{{7*7}}", MARKUP),
    Probe("script", "name-template-block", "{% debug %}", MARKUP),
    Probe("formula", "name-hyperlink", '=HYPERLINK("//e.vil","点我")', FORMULA),
    Probe("formula", "name-at-sum", "@SUM(1+1)*cmd|' /C calc'!A0", FORMULA),
    Probe("formula", "name-plus", "+1+1", FORMULA),
    Probe("formula", "name-minus", "-2+3+cmd|' /C calc'!A0", FORMULA),
    Probe("sql", "name-drop-table", "张三'; DROP TABLE child;--", NOT_NAME),
    Probe("sql", "name-or-1-1", '张" OR "1"="1', NOT_NAME),
    Probe("path", "name-traversal", "../../etc/passwd", NOT_NAME),
    Probe("name", "nul", "张\x00小花", CONTROL),
    Probe("name", "right-to-left-override", "张\u202e花小", CONTROL),
    Probe("name", "escape-sequence", "张\x1b[31m小花", CONTROL),
    Probe("name", "newline", "张\n小花", CONTROL),
    Probe("name", "zero-width-space", "张\u200b小花", NOT_NAME),
    Probe("name", "digits", "123456", NOT_NAME),
    Probe("name", "emoji", "张小花😀", NOT_NAME),
    Probe("name", "31-characters", "张" * 31, "不能超过 30 个字"),
    Probe("oversized", "name-10000-characters", "张" * 10_000, "不能超过 30 个字"),
    Probe("name", "only-spaces", "   ", "请按户口簿填写学生姓名"),
]
PASSPORT = {"name": "李小明", "id_type": "passport", "id_number": "E12345678", "birth_date": "2019-05-01", "sex": "M"}
CHILD_OTHER = [
    Probe("date", "birth-1800", {"birth_date": "1800-01-01"}, "“出生日期”须在"),
    Probe("date", "birth-2099", {"birth_date": "2099-01-01"}, "“出生日期”须在"),
    Probe("date", "birth-30-february", {"birth_date": "2019-02-30"}, "出生日期"),
    Probe("date", "birth-five-digit-year", {"birth_date": "99999-01-01"}, "出生日期"),
    Probe("date", "birth-zeros", {"birth_date": "0000-00-00"}, "出生日期"),
    Probe("sql", "birth-or-1-1", {"birth_date": "' OR 1=1--"}, "出生日期"),
    Probe("sql", "passport-or-1-1", {"id_number": "' OR 1=1--"}, "只能包含字母、数字、括号和连字符"),
    Probe("script", "passport-script", {"id_number": "<svg/onload=alert(1)>"}, MARKUP),
    Probe("path", "passport-traversal", {"id_number": "../../etc/passwd"}, "只能包含字母、数字、括号和连字符"),
    Probe("id", "unknown-document-type", {"id_type": "admin"}, "请选择证件类型"),
    Probe("id", "sex-neither", {"sex": "X"}, "请选择学生性别"),
]


@pytest.fixture(scope="module")
def parent_client(app):
    return parent_login(app)


def _add_child(client, fields):
    return post(client, "/my/children/add", fields)


@pytest.mark.parametrize("probe", CHILD_IDS, ids=str)
def test_child_id_numbers(app, engine, parent_client, probe):
    refused(app, engine, lambda p: _add_child(parent_client, {"name": "张小花", "id_type": "resident_id",
                                                              "id_number": p.payload}), probe)


@pytest.mark.parametrize("probe", CHILD_NAMES, ids=str)
def test_child_names(app, engine, parent_client, probe):
    refused(app, engine, lambda p: _add_child(parent_client, {"name": p.payload, "id_type": "resident_id",
                                                              "id_number": next_id(dt.date(2020, 3, 1))}), probe)


@pytest.mark.parametrize("probe", CHILD_OTHER, ids=str)
def test_child_other_documents(app, engine, parent_client, probe):
    refused(app, engine, lambda p: _add_child(parent_client, {**PASSPORT, **p.payload}), probe)


# --- the parents' form: the steps of an application ------------------------------------------


@pytest.fixture(scope="module")
def draft(app, engine, parent_client):
    """A draft application of the module's parent, with its channel chosen."""
    _, number = add_child(parent_client, dt.date(2020, 3, 1))
    consent(parent_client)
    with Session(engine) as session:
        period = session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
        child_id = session.execute(text("SELECT id FROM child WHERE id_number = :n"), {"n": number}).scalar_one()
        assert start(parent_client, child_id, period.id).status_code == 302
        application = session.scalar(select(Application).where(Application.child_id == child_id))
        channel = period.channels[0]
        assert post(parent_client, f"/my/a/{application.id}/channel", {"channel_id": channel.id}).status_code == 302
        sections = [s.section for s in channel.sections]
        material = channel.materials[0].material_type_id
        assert {"household", "guardians"} <= set(sections), sections
        return {"id": application.id, "material": material}


SECTION_STEPS = [
    Probe("date", "registered-1800", ("household", "registered_on", "1800-01-01"), "须在"),
    Probe("date", "registered-2099", ("household", "registered_on", "2099-12-31"), "须在"),
    Probe("date", "registered-30-february", ("household", "registered_on", "2023-02-30"), "请按 年-月-日 填写日期"),
    Probe("date", "registered-month-13", ("household", "registered_on", "2023-13-01"), "请按 年-月-日 填写日期"),
    Probe("date", "registered-zeros", ("household", "registered_on", "0000-00-00"), "请按 年-月-日 填写日期"),
    Probe("date", "registered-exponent", ("household", "registered_on", "1e10"), "请按 年-月-日 填写日期"),
    Probe("sql", "registered-or-1-1", ("household", "registered_on", "' OR 1=1--"), "请按 年-月-日 填写日期"),
    Probe("script", "householder-script", ("household", "householder", "<script>alert(1)</script>"), MARKUP),
    Probe("formula", "householder-cmd", ("household", "householder", "=cmd|' /C calc'!A0"), FORMULA),
    Probe("sql", "householder-drop", ("household", "householder", "王'; DROP TABLE application;--"), NOT_NAME),
    Probe("oversized", "address-201", ("household", "address", "长" * 201), "不能超过 200 个字"),
    Probe("script", "address-iframe", ("household", "address", "<iframe src=//evil.example>"), MARKUP),
    Probe("script", "address-template", ("household", "address", "{{config.items()}}"), MARKUP),
    Probe("formula", "address-at", ("household", "address", "@SUM(A1:A9)"), FORMULA),
    Probe("name", "address-escape", ("household", "address", "楚江街道\x1b[2J"), CONTROL),
    Probe("script", "guardian-name-bold", ("guardians", "g0_name", "<b>刘芳</b>"), MARKUP),
    Probe("sql", "guardian-name-union", ("guardians", "g0_name", "刘芳' UNION SELECT * FROM child"), NOT_NAME),
    Probe("id", "guardian-id-check", ("guardians", "g0_id_number", wrong_check(next_id(dt.date(1990, 2, 2)))), "校验码"),
    Probe("id", "guardian-id-child-sized", ("guardians", "g0_id_number", "123"), "应为18位"),
    Probe("sql", "guardian-phone-or", ("guardians", "g0_phone", "13912340000' OR '1'='1"), "请填写手机或固定电话号码"),
    Probe("oversized", "guardian-phone-10000", ("guardians", "g0_phone", "1" * 10_000), "不能超过 100 个字"),
    Probe("formula", "guardian-phone-plus", ("guardians", "g0_phone", "+8613912340000"), FORMULA),
    Probe("name", "guardian-relation", ("guardians", "g0_relation", "admin"), "请从选项中选择"),
]


@pytest.mark.parametrize("probe", SECTION_STEPS, ids=str)
def test_application_steps(app, engine, parent_client, draft, probe):
    section, field, value = probe.payload

    def send(p):
        base = section_values(section) if section != "guardians" else {**GUARDIAN, "g0_id_number": next_id(dt.date(1990, 2, 2))}
        return post(parent_client, f"/my/a/{draft['id']}/{section}", {**base, field: value})

    refused(app, engine, send, probe)


PNG = tiny_png()
FILES = [
    Probe("file", "exe-named-png", ("proof.png", b"MZ\x90\x00\x03" + b"\x00" * 200), "只接受以下文件类型"),
    Probe("file", "html-named-jpg", ("proof.jpg", b"<html><script>alert(1)</script></html>"), "只接受以下文件类型"),
    Probe("file", "svg-with-script", ("proof.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), "只接受以下文件类型"),
    Probe("file", "png-then-script", ("proof.png", PNG[:-12] + b"<script>alert(1)</script>" + PNG[-12:]), "网页代码"),
    Probe("file", "pdf-with-javascript", ("proof.pdf", b"%PDF-1.4\n1 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n%%EOF\n"), "网页代码"),
    Probe("file", "png-signature-only", ("proof.png", PNG[:8]), "不完整或已损坏"),
    Probe("file", "jpeg-header-only", ("proof.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64), "不完整或已损坏"),
    Probe("file", "pdf-without-end", ("proof.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n"), "不完整或已损坏"),
    Probe("file", "empty", ("proof.png", b""), "文件是空的"),
    Probe("oversized", "file-over-the-cap", ("big.pdf", b"%PDF-" + b"0" * (5121 * 1024) + b"%%EOF"), "文件超过 5120 KB"),
    Probe("path", "file-name-traversal", ("../../etc/passwd.png", PNG), "不能包含文件夹路径"),
    Probe("path", "file-name-windows", ("..\\..\\boot.png", PNG), "不能包含文件夹路径"),
    Probe("path", "file-name-absolute", ("/etc/cron.d/x.png", PNG), "不能包含文件夹路径"),
    Probe("path", "file-name-nul", ("proof\x00.php.png", PNG), "不能包含文件夹路径"),
    Probe("path", "file-name-dotfile", (".htaccess", PNG), "不能包含文件夹路径"),
    Probe("script", "file-name-script", ("<script>alert(1)</script>.png", PNG), "不能包含文件夹路径"),
    Probe("name", "file-name-escape", ("proof\x1b[31m.png", PNG), "不能包含文件夹路径"),
]


@pytest.mark.parametrize("probe", FILES, ids=str)
def test_uploads(app, engine, parent_client, draft, probe):
    name, data = probe.payload

    def send(p):
        return post(parent_client, f"/my/a/{draft['id']}/upload",
                    {"material_type_id": draft["material"], "file": (io.BytesIO(data), name)},
                    content_type="multipart/form-data", follow_redirects=True)

    refused(app, engine, send, probe, statuses=(200,))


@pytest.mark.parametrize("probe", [
    Probe("id", "material-not-asked", "99999999", "不需要此材料"),
    Probe("sql", "material-or-1-1", "1 OR 1=1", "不需要此材料"),
], ids=str)
def test_upload_to_a_material_not_asked_for(app, engine, parent_client, draft, probe):
    def send(p):
        return post(parent_client, f"/my/a/{draft['id']}/upload",
                    {"material_type_id": p.payload, "file": (io.BytesIO(PNG), "proof.png")}, content_type="multipart/form-data",
                    follow_redirects=True)

    refused(app, engine, send, probe, statuses=(200, 400))


PUBLIC_OTHER = [
    Probe("oversized", "body-over-the-request-limit", "body", "文件或表单过大"),
    Probe("oversized", "5000-form-fields", "fields", "文件或表单过大"),
    Probe("sql", "sign-in-phone-or-1-1", "' OR 1=1--", "手机号"),
    Probe("oversized", "sign-in-phone-10000-digits", "1" * 10_000, "手机号"),
    Probe("script", "sign-in-phone-script", "<script>alert(1)</script>", "手机号"),
    Probe("path", "application-id-20-digits", "/my/a/99999999999999999999/preview", "页面不存在"),
    Probe("path", "application-id-negative", "/my/a/-1/preview", "页面不存在"),
    Probe("path", "application-id-traversal", "/my/a/..%2F..%2Fadmin/preview", "页面不存在"),
    Probe("path", "static-traversal", "/static/..%2F..%2Fconfig.py", "页面不存在"),
    Probe("path", "static-encoded-dots", "/static/%2e%2e/%2e%2e/run.py", "页面不存在"),
]


@pytest.mark.parametrize("probe", PUBLIC_OTHER, ids=str)
def test_public_bodies_sign_in_and_paths(app, engine, parent_client, probe):
    client = parent_client

    def send(p):
        if p.payload == "body":
            big = io.BytesIO(b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10))
            return post(client, "/my/children/add", {"name": "张小花", "file": (big, "x.png")}, content_type="multipart/form-data")
        if p.payload == "fields":
            return post(client, "/my/children/add", {f"f{i}": "x" for i in range(5000)}, content_type="multipart/form-data")
        if p.payload.startswith("/"):
            return client.get(p.payload)
        anonymous = app.test_client()
        return anonymous.post("/signin", data={"phone": p.payload, "csrf_token": csrf_token(anonymous, "/signin")})

    refused(app, engine, send, probe, statuses=(400, 404, 413))
