"""免证明: the departments' extracts as batches, and verifiable sections checked against them
(or against an HTTP interface with the same fields) after the family submits."""
from __future__ import annotations

import datetime as dt
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, login, parent_login
from tests.public_helpers import fill, next_id, post, submit
from tests.test_family_pages import _taojiang_start


@pytest.fixture
def taojiang(fresh_app):
    from app.extensions import appbuilder, db
    from app.services import demo
    from app.services.clock import local_now

    demo.load_county(db.session, "taojiang")
    demo.open_periods_now(db.session, local_now())
    demo.create_staff(appbuilder.sm, db.session, PASSWORD)
    return fresh_app


def _submitted(app, channel_code="FC", period_code="TJ-P1", birth=dt.date(2020, 3, 1), answers=None):
    """A Taojiang family that applied in a 系统可查验 channel and submitted."""
    from app.extensions import db
    from app.models import Application

    parent, application, period = _taojiang_start(app, period_code, birth)
    channel = next(c for c in period.channels if c.code == channel_code)
    community, schools = _zone(period)
    token = fill(parent, application, schools[:2], community.id, channel.id)
    for section, values in (answers or {}).items():  # answers other than the helpers' defaults
        assert post(parent, f"/my/a/{application.id}/{section}", values).status_code == 302
    if answers:
        import re

        preview = parent.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    assert submit(parent, application, token).status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == "submitted" and application.checks_stale
    return parent, application


def _zone(period):
    """株木潭社区 and its schools of the period's stage (a shared zone: two of them)."""
    from app.extensions import db
    from app.models import Catchment, Community, School

    community = db.session.scalar(select(Community).where(Community.name == "株木潭社区"))
    schools = db.session.scalars(select(Catchment.school_id).join(School, School.id == Catchment.school_id)
                                 .where(Catchment.community_id == community.id, School.stage == period.stage)).all()
    return community, schools


def _mother(application) -> dict:
    return application.section_data["guardians"]["guardians"][0]


def _csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write(",".join(str(v) for v in row) + "\n")
    return out.getvalue().encode("utf-8")


def _extracts(application, registered_on=None, owner_id=None):
    """The household and property extracts as the departments would hand them over for this family."""
    household = _csv([["公民身份号码", "姓名", "户号", "户籍地址", "社区", "迁入日期", "与户主关系", "民族"],
                      [application.child.id_number, application.child.name, "H0001", "桃花江镇株木潭路1号",
                       application.community.name, registered_on or application.section_data["household"]["registered_on"], "子", "汉族"]])
    certificate = application.section_data["property"]["certificate_no"].upper()
    prop = _csv([["certificate_no", "owner_id", "owner_name", "address", "community", "use"],
                 [certificate, owner_id or _mother(application)["id_number"], _mother(application)["name"], "株木潭路1号",
                  application.community.name, "住宅"]])
    return household, prop


def _run_worker(app):
    from app.extensions import db
    from app.services import registry, verification

    with app.app_context():
        return verification.refresh_stale(db.session, registry.source_for(app, db.session))


def test_verified_sections_are_shown_to_the_parent_and_the_reviewer(taojiang):
    from app.extensions import db
    from app.models import Application, AuditLog
    from app.services import registry

    parent, application = _submitted(taojiang)
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "正在与登记信息核验" in page  # the worker has not run yet
    household, prop = _extracts(application)
    registry.import_extract(db.session, "household", 2026, "户籍.csv", household)
    registry.import_extract(db.session, "property", 2026, "房产.csv", prop)
    assert _run_worker(taojiang) == 1
    db.session.expire_all()
    stored = db.session.get(Application, application.id)
    assert {s: c["outcome"] for s, c in stored.checks.items()} == {"household": "verified", "property": "verified"}
    assert not stored.checks_stale
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert page.count("与部门登记信息一致") == 2 and "正在与登记信息核验" not in page
    reviewer = login(taojiang.test_client(), "bureau_reviewer")
    shown = reviewer.get(f"/applicationmodelview/show/{application.id}").get_data(as_text=True)
    assert shown.count('data-check="verified"') == 2
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "registry:read",
                                                    AuditLog.object == f"application {application.id}")) is not None
    assert _run_worker(taojiang) == 0  # nothing stale: the second pass reads nothing


def test_a_field_that_disagrees_and_a_record_that_is_missing_are_named(taojiang):
    from app.extensions import db
    from app.models import Application
    from app.services import registry

    parent, application = _submitted(taojiang)
    household, prop = _extracts(application, registered_on="2021-03-02", owner_id=next_id(dt.date(1980, 1, 1), "430922"))
    registry.import_extract(db.session, "household", 2026, "户籍.csv", household)
    registry.import_extract(db.session, "property", 2026, "房产.csv", prop)
    _run_worker(taojiang)
    db.session.expire_all()
    checks = db.session.get(Application, application.id).checks
    assert {k: v for k, v in checks["household"].items() if k != "answers"} == {
        "outcome": "mismatch", "field": "registered_on", "given": "2019-05-01", "found": "2021-03-02", "source": "household"}
    assert checks["property"]["outcome"] == "mismatch" and checks["property"]["field"] == "owner_name"
    page = parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    assert "与部门登记信息不一致：学生户籍迁入日期（填写：2019-05-01；登记：2021-03-02）" in page
    # another family nobody registered: not found, and the reviewers look at the uploads
    other_parent, other = _submitted(taojiang)
    _run_worker(taojiang)
    db.session.expire_all()
    assert db.session.get(Application, other.id).checks["household"]["outcome"] == "not_found"
    assert "未在部门登记信息中查到" in other_parent.get(f"/my/a/{other.id}").get_data(as_text=True)


def test_a_corrected_and_resubmitted_application_is_checked_again(taojiang):
    """Taojiang: withdraw (撤回), correct the date to the register's, submit again."""
    import re

    from app.extensions import db
    from app.models import Application
    from app.services import registry
    from tests.public_helpers import section_values

    parent, application = _submitted(taojiang)
    household, _ = _extracts(application, registered_on="2021-03-02")
    registry.import_extract(db.session, "household", 2026, "户籍.csv", household)
    _run_worker(taojiang)
    db.session.expire_all()
    assert db.session.get(Application, application.id).checks["household"]["outcome"] == "mismatch"
    assert post(parent, f"/my/a/{application.id}/withdraw", {"confirm": "1"}).status_code == 302
    corrected = {**section_values("household"), "registered_on": "2021-03-02"}
    assert post(parent, f"/my/a/{application.id}/household", corrected).status_code == 302
    preview = parent.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    assert submit(parent, application, token).status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).checks_stale
    assert "正在与登记信息核验" in parent.get(f"/my/a/{application.id}").get_data(as_text=True)
    _run_worker(taojiang)
    db.session.expire_all()
    assert db.session.get(Application, application.id).checks["household"]["outcome"] == "verified"


def test_an_extract_with_any_wrong_row_imports_nothing_and_says_where(taojiang):
    from app.extensions import db
    from app.models import RegistryBatch, RegistryRecord
    from app.services import registry

    good = next_id(dt.date(2020, 1, 1), "430922")
    data = _csv([["身份证号", "姓名", "户号", "迁入日期"],
                 [good, "甲", "H1", "2019-05-01"],
                 ["43092220200101123", "乙", "H2", "2019-05-01"],
                 [good, "丙", "H3", "2019-13-40"],
                 [good, "", "H4", "2019-05-01"]])
    with pytest.raises(registry.RegistryImportError) as refused:
        registry.import_extract(db.session, "household", 2026, "户籍.csv", data)
    where = [(e.row, e.column) for e in refused.value.errors]
    assert where == [(3, "身份证号"), (4, "迁入日期"), (5, "姓名")]
    assert "不是日期" in refused.value.errors[1].message
    db.session.rollback()
    assert db.session.query(RegistryBatch).count() == 0 and db.session.query(RegistryRecord).count() == 0
    missing = _csv([["身份证号", "姓名"], [good, "甲"]])
    with pytest.raises(registry.RegistryImportError) as refused:
        registry.import_extract(db.session, "household", 2026, "户籍.csv", missing)
    assert {e.column for e in refused.value.errors} == {"户号", "迁入日期"}


def test_county_it_imports_compares_and_withdraws_extracts_in_the_admin(taojiang):
    from openpyxl import Workbook

    from app.extensions import db
    from app.models import RegistryBatch, RegistryRecord

    client = login(taojiang.test_client(), "county_it")
    assert client.get("/registry/").status_code == 200

    def workbook(rows):
        book = Workbook()
        sheet = book.active
        sheet.title = "参保"
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    people = [next_id(dt.date(1988, 1, 1), "430922") for _ in range(3)]
    header = ["ID number", "Name", "Employer", "Insured from", "Insured to"]
    first = workbook([header] + [[p, f"人{i}", "桃江县某公司", "2025-09", "2026-06"] for i, p in enumerate(people[:2])])
    second = workbook([header] + [[p, f"人{i}", "桃江县某公司", "2025-09", "2026-06"] for i, p in enumerate(people[1:], 1)])
    for name, data in (("2026-a.xlsx", first), ("2026-b.xlsx", second)):
        answer = client.post("/registry/import", data={"csrf_token": csrf_token(client, "/registry/"), "source": "social_insurance",
                                                        "year": "2026", "file": (io.BytesIO(data), name)},
                             content_type="multipart/form-data")
        assert answer.status_code == 302
    older, newer = db.session.scalars(select(RegistryBatch).order_by(RegistryBatch.id)).all()
    assert (older.row_count, newer.row_count) == (2, 2)
    record = db.session.scalar(select(RegistryRecord).where(RegistryRecord.batch_id == older.id).order_by(RegistryRecord.id))
    assert record.since == dt.date(2025, 9, 1) and record.until == dt.date(2026, 6, 30) and record.detail == {"employer": "桃江县某公司"}
    compared = client.get(f"/registry/compare?older={older.id}&newer={newer.id}").get_data(as_text=True)
    assert "新增1条记录：人2" in compared and "减少1条记录：人0" in compared
    bad = client.post("/registry/import", data={"csrf_token": csrf_token(client, "/registry/"), "source": "social_insurance",
                                                 "year": "2026", "file": (io.BytesIO(b"not a workbook"), "x.xlsx")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "未导入任何数据" in bad.get_data(as_text=True)
    asked = client.post(f"/registry/withdraw/{older.id}", data={"csrf_token": csrf_token(client, "/registry/")})
    assert asked.status_code == 200 and "撤回第" in asked.get_data(as_text=True)  # only asks
    assert db.session.query(RegistryRecord).filter_by(batch_id=older.id).count() == 2
    assert client.post(f"/registry/withdraw/{older.id}", data={"csrf_token": csrf_token(client, "/registry/"),
                                                               "confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RegistryBatch, older.id).withdrawn_at is not None
    assert db.session.query(RegistryRecord).filter_by(batch_id=older.id).count() == 0
    again = client.post(f"/registry/withdraw/{older.id}", data={"csrf_token": csrf_token(client, "/registry/"), "confirm": "1"},
                        follow_redirects=True)
    assert "已撤回" in again.get_data(as_text=True)  # the second time: a message, nothing else


def test_who_may_see_and_import_extracts(taojiang):
    from app.extensions import db
    from app.models import School

    school = db.session.scalar(select(School).order_by(School.code))
    assert login(taojiang.test_client(), f"reviewer_{school.code}").get("/registry/").status_code in (302, 403)
    bureau = login(taojiang.test_client(), "bureau_reviewer")
    assert bureau.get("/registry/").status_code == 200
    refused = bureau.post("/registry/import", data={"csrf_token": csrf_token(bureau, "/registry/"), "source": "household",
                                                     "year": "2026"})
    assert refused.status_code in (302, 403)


def test_extracts_of_past_cycles_are_purged(taojiang):
    from app.extensions import db
    from app.models import RegistryBatch, RegistryRecord
    from app.services import registry

    data = _csv([["身份证号", "姓名", "户号", "迁入日期"], [next_id(dt.date(2019, 1, 1), "430922"), "甲", "H1", "2019-05-01"]])
    registry.import_extract(db.session, "household", 2025, "2025.csv", data)
    kept = registry.import_extract(db.session, "household", 2026, "2026.csv", data)
    assert registry.purge(db.session, 2026) == 1
    assert [b.id for b in db.session.scalars(select(RegistryBatch))] == [kept.id]
    assert db.session.query(RegistryRecord).count() == 1


class _Records(BaseHTTPRequestHandler):
    facts: list = []

    def do_POST(self):  # noqa: N802 - the http.server interface
        asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
        wanted = {(q["source"], q["value"]) for q in asked}
        found = [f for f in self.facts if (f["source"], f.get("person_id")) in wanted or (f["source"], f.get("number")) in wanted]
        body = json.dumps({"facts": found}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


def test_a_data_sharing_interface_answers_the_same_checks_and_an_outage_leaves_them_for_later(taojiang):
    from app.extensions import db
    from app.models import Application

    parent, application = _submitted(taojiang)
    _Records.facts = [
        {"source": "household", "person_id": application.child.id_number, "name": application.child.name,
         "community": application.community.name, "since": application.section_data["household"]["registered_on"]},
        {"source": "property", "number": application.section_data["property"]["certificate_no"].upper(),
         "person_id": _mother(application)["id_number"], "name": _mother(application)["name"]},
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Records)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    taojiang.config.update(REGISTRY_SOURCE="http", REGISTRY_URL=url, REGISTRY_TIMEOUT=2)
    try:
        # the interface is down first: nothing is decided, the application stays to be checked
        server.shutdown()
        server.server_close()
        assert _run_worker(taojiang) == 0
        db.session.expire_all()
        assert db.session.get(Application, application.id).checks_stale
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Records)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        taojiang.config["REGISTRY_URL"] = f"http://127.0.0.1:{server.server_port}"
        assert _run_worker(taojiang) == 1
        db.session.expire_all()
        stored = db.session.get(Application, application.id)
        assert {s: c["outcome"] for s, c in stored.checks.items()} == {"household": "verified", "property": "verified"}
    finally:
        server.shutdown()
        taojiang.config.update(REGISTRY_SOURCE="extracts", REGISTRY_URL="")


def test_reviewers_filter_by_the_check_and_approve_in_one_step_only_what_the_records_confirm(taojiang):
    from app.extensions import db
    from app.models import Application
    from app.services import registry

    _, confirmed = _submitted(taojiang)
    _, differing = _submitted(taojiang)
    rows = []
    for application, date in ((confirmed, None), (differing, "2021-03-02")):
        household, prop = _extracts(application, registered_on=date)
        rows.append((household, prop))
    for n, (household, prop) in enumerate(rows):
        registry.import_extract(db.session, "household", 2026, f"户籍{n}.csv", household)
        registry.import_extract(db.session, "property", 2026, f"房产{n}.csv", prop)
    _run_worker(taojiang)
    db.session.expire_all()
    assert (db.session.get(Application, confirmed.id).checks_outcome, db.session.get(Application, differing.id).checks_outcome) \
        == ("verified", "mismatch")
    from tests.conftest import _review_while_open

    _review_while_open(db.session)  # the period's review window is open
    reviewer = login(taojiang.test_client(), "bureau_reviewer")
    listing = reviewer.get("/applicationmodelview/list/?_flt_0_checks_outcome=verified").get_data(as_text=True)
    assert confirmed.number in listing and differing.number not in listing
    ids = [str(confirmed.id), str(differing.id)]

    def act(name):
        return reviewer.post("/applicationmodelview/action_post",
                             data={"action": name, "rowid": ids, "csrf_token": csrf_token(reviewer, "/applicationmodelview/list/")},
                             follow_redirects=True)

    # not yet in review: nothing is approved, both are left and the reviewer is told
    assert "已通过0条报名；2条留待人工审核" in act("approve_verified").get_data(as_text=True)
    act("start_review")
    answer = act("approve_verified").get_data(as_text=True)
    assert "已通过1条报名；1条留待人工审核" in answer
    db.session.expire_all()
    assert db.session.get(Application, confirmed.id).status == "approved"
    assert db.session.get(Application, differing.id).status == "in_review"
    # the second time: the approved one is not approved twice, the other is still left
    assert "已通过0条报名；2条留待人工审核" in act("approve_verified").get_data(as_text=True)
    shown = reviewer.get(f"/applicationmodelview/show/{differing.id}").get_data(as_text=True)
    assert 'data-check="mismatch"' in shown and "登记：2021-03-02" in shown


def test_a_category_rule_may_read_a_records_check_and_the_worker_derives_it_again(taojiang):
    from app.extensions import db
    from app.models import Application, CategoryRule, EnrollmentPeriod
    from app.services import categories, registry

    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "TJ-P1"))
    confirmed = CategoryRule(period=period, code="R1", name_zh="房产经核验", rank=1, position=1,
                             conditions="channel = FC\nchecks.property = verified")
    other = CategoryRule(period=period, code="R2", name_zh="其他", rank=2, position=2, conditions="")
    for bad in ("checks.propertx = verified", "checks.property = yes", "checks.property <= 2026-01-01"):
        assert categories.problems(db.session, CategoryRule(period=period, code="X", name_zh="x", rank=1, conditions=bad))
    db.session.add_all([confirmed, other])
    db.session.commit()
    parent, application = _submitted(taojiang)
    assert application.category.code == "R2"  # not checked yet
    household, prop = _extracts(application)
    registry.import_extract(db.session, "property", 2026, "房产.csv", prop)
    _run_worker(taojiang)
    db.session.expire_all()
    assert db.session.get(Application, application.id).category.code == "R1"
    assert "房产经核验" in parent.get(f"/my/a/{application.id}").get_data(as_text=True)


def test_a_grade_7_pupil_s_school_is_checked_against_the_student_registry(taojiang):
    from app.extensions import db
    from app.models import Application
    from app.services import registry
    from tests.public_helpers import section_values

    basic = {**section_values("basic"), "previous_school": "桃江县桃花江镇第一完全小学"}
    _, application = _submitted(taojiang, "XC", "TJ-J7", dt.date(2014, 2, 2), {"basic": basic})
    registry.import_extract(db.session, "student_registry", 2026, "学籍.csv", _csv([
        ["身份证号", "姓名", "学校名称", "班级"],
        [application.child.id_number, application.child.name, "桃江县桃花江镇第二完全小学", "六(3)班"]]))
    _run_worker(taojiang)
    db.session.expire_all()
    check = db.session.get(Application, application.id).checks["basic"]
    assert (check["outcome"], check["field"], check["found"]) == ("mismatch", "previous_school", "桃江县桃花江镇第二完全小学")
    # a new grade 1 has no 学籍: its basic section is not checked
    _, first_grade = _submitted(taojiang)
    _run_worker(taojiang)
    db.session.expire_all()
    assert "basic" not in db.session.get(Application, first_grade.id).checks


def test_a_material_the_county_waives_is_not_asked_once_the_records_confirm_its_section(taojiang):
    import re

    from app.extensions import db
    from app.models import Application, ChannelMaterial, EnrollmentPeriod, MaterialType
    from app.services import registry
    from tests.public_helpers import GUARDIAN, section_values, upload

    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "TJ-P1"))
    channel = next(c for c in period.channels if c.code == "FC")
    title = db.session.scalar(select(ChannelMaterial).join(MaterialType).where(
        ChannelMaterial.channel_id == channel.id, MaterialType.code == "property_cert"))
    title.waived_if_verified = "property"
    db.session.commit()
    mother_id = next_id(dt.date(1990, 2, 2))
    registry.import_extract(db.session, "property", 2026, "房产.csv", _csv([
        ["不动产权证号", "权利人身份证号", "权利人", "坐落"], ["湘(2020)桃江县不动产权第0000001号", mother_id, "刘芳", "株木潭路1号"]]))

    parent, application, _ = _taojiang_start(taojiang, "TJ-P1", dt.date(2020, 3, 1))
    base = f"/my/a/{application.id}"
    community, schools = _zone(period)
    post(parent, f"{base}/channel", {"channel_id": channel.id})
    post(parent, f"{base}/community", {"community_id": community.id})
    post(parent, f"{base}/choices", {"choice_1": schools[0], "choice_2": schools[1]})
    for section in [s.section for s in channel.sections]:
        data = {**GUARDIAN, "g0_id_number": mother_id} if section == "guardians" else section_values(section)
        if section == "property":
            data["certificate_no"] = "湘(2020)桃江县不动产权第0000001号"
        assert post(parent, f"{base}/{section}", data).status_code == 302
    for material in channel.materials:
        if material.required and material.material_type.code != "property_cert":
            upload(parent, application, material.material_type_id)
    materials = parent.get(f"{base}/materials").get_data(as_text=True)
    assert "已与部门登记信息核验一致，无需上传。" in materials
    preview = parent.get(f"{base}/preview").get_data(as_text=True)
    assert "请上传" not in preview and "与部门登记信息一致" in preview

    # going back: another certificate the records do not know, so the upload is asked again
    other = {**section_values("property"), "certificate_no": "湘(2020)桃江县不动产权第0009999号"}
    assert post(parent, f"{base}/property", other).status_code == 302
    assert f"请上传“{title.material_type.name}”" in parent.get(f"{base}/preview").get_data(as_text=True)
    assert "无需上传" not in parent.get(f"{base}/materials").get_data(as_text=True)
    # and back again, the second time: confirmed, and it is submitted without the upload
    again = {**other, "certificate_no": "湘(2020)桃江县不动产权第0000001号"}
    assert post(parent, f"{base}/property", again).status_code == 302
    preview = parent.get(f"{base}/preview").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    assert submit(parent, application, token).status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "submitted"
    # a waiver naming a section the records cannot check is refused where it is saved
    from app.errors import UserError
    from app.services import forms

    with pytest.raises(UserError):
        forms.refuse_bad_waiver("sibling")
