"""Form sections as data (issue #13): the rule engine, the migrated built-in sections, versions,
the admin that edits them, the county file that carries them, and a parent meeting their rules."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.services import sections as engine
from app.services.sections import Context, Field, Rule, Section, SectionError
from tests.conftest import csrf_token, parent_login
from tests.public_helpers import add_child, consent, post, start

TODAY = dt.date(2026, 5, 1)


def _errors(section, form, **context):
    with force_locale("zh"):
        try:
            engine.clean_section(section, form, Context(today=TODAY, year=2026, **context))
        except SectionError as error:
            return {k: str(v) for k, v in error.errors.items()}
    return {}


def _one(kind="text", rules=(), **field):
    return Section("t", "测试", fields=(Field("a", "甲", kind=kind, rules=tuple(rules), **field),
                                         Field("b", "乙", required=False)))


# --- the engine -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, value, value2, number, good, bad, message", [
    ("length", "", "", 3, "abc", "ab", "至少"),
    ("pattern", r"[A-Z]\d{4}", "", None, "A1234", "a1234", "格式"),
    ("on_or_before", "{year}-02-01", "", None, "2026-02-01", "2026-02-02", "2026-02-01"),
    ("on_or_after", "{year-1}-09-01", "", None, "2025-09-01", "2025-08-31", "2025-09-01"),
    ("on_or_after", "today", "", None, "2026-05-01", "2026-04-30", "2026-05-01"),
    ("months_in_window", "{year}-02-01", "{year}-06-30", 5, "2026-02-01", "2026-03-01", "5"),
])
def test_each_rule_kind_accepts_the_good_answer_and_refuses_the_bad_with_its_message(app, kind, value, value2, number, good, bad, message):
    field_kind = "date" if kind.startswith(("on_", "months")) else "text"
    section = _one(field_kind, [Rule(kind, value, value2, number)])
    with app.app_context():
        assert _errors(section, {"a": good}) == {}
        refused = _errors(section, {"a": bad})
    assert list(refused) == ["a"] and message in refused["a"], refused


def test_whole_number_bounds_and_the_county_s_own_message_in_each_language(app):
    section = _one("int", [Rule("min", number=5, message_zh="职工社保至少缴纳5个月。", message_en="At least 5 months."), Rule("max", number=60)])
    with app.app_context():
        assert _errors(section, {"a": "4"}) == {"a": "职工社保至少缴纳5个月。"}
        assert "60" in _errors(section, {"a": "61"})["a"]
        assert _errors(section, {"a": "12"}) == {}
        with force_locale("en"):
            try:
                engine.clean_section(section, {"a": "4"}, Context(today=TODAY))
            except SectionError as error:
                assert str(error.errors["a"]) == "At least 5 months."


def test_matches_a_guardian_and_differs_from_another_field(app):
    section = Section("t", "测试", fields=(
        Field("owner", "产权人", kind="name", rules=(Rule("matches_guardian", "name"),)),
        Field("holder_id", "证件号", kind="text", rules=(Rule("differs_from", "other"),)),
        Field("other", "另一号码", kind="text"),
    ))
    guardians = [{"name": "刘芳", "id_number": "x"}]
    with app.app_context():
        assert _errors(section, {"owner": "刘芳", "holder_id": "1", "other": "2"}, guardians=guardians) == {}
        refused = _errors(section, {"owner": "王五", "holder_id": "1", "other": "1"}, guardians=guardians)
    assert set(refused) == {"owner", "holder_id"} and "监护人" in refused["owner"]


def test_a_field_shown_only_for_an_answer_is_neither_required_nor_kept_otherwise(app):
    section = Section("t", "测试", fields=(
        Field("basis", "依据", kind="choice", choices=(("own", "自有房产", "Own"), ("grand", "祖辈房产", "Grandparents'"))),
        Field("grand_name", "祖辈姓名", kind="name", show_if="basis", show_values=("grand",)),
    ))
    with app.app_context():
        assert _errors(section, {"basis": "own"}) == {}
        assert engine.clean_section(section, {"basis": "own", "grand_name": "李四"}, Context(today=TODAY)) == {"basis": "own"}
        assert list(_errors(section, {"basis": "grand"})) == ["grand_name"]


def test_rules_that_could_not_be_applied_are_refused_when_saved(app):
    text, date = Field("a", "甲"), Field("d", "日期", kind="date")
    with app.app_context(), force_locale("zh"):
        for rule, field in [(Rule("on_or_before", "{year}-13-01"), date), (Rule("on_or_before", "soon"), date),
                            (Rule("pattern", "[unclosed"), text), (Rule("min", number=1), text),
                            (Rule("on_or_after", "today"), text), (Rule("length"), text),
                            (Rule("matches_guardian", "phone"), text), (Rule("differs_from", "a"), text)]:
            with pytest.raises(engine.RuleSettingError):
                engine.check_rule(rule, field, {"a", "d"})


# --- the migrated sections and their versions ---------------------------------------------------


def test_the_built_in_sections_are_migrated_with_their_keys_as_version_one(app, db_session):
    from app.models import FormSection, FormSectionVersion
    from app.services import forms

    seed = {d["code"]: d for d in forms.seed_documents()}
    stored = {s.code: s for s in db_session.scalars(select(FormSection))}
    assert set(seed) <= set(stored)
    for code, doc in seed.items():
        assert [f.key for f in stored[code].fields] == [f["key"] for f in doc["fields"]]
        first = db_session.scalar(select(FormSectionVersion).where(FormSectionVersion.section_code == code, FormSectionVersion.version == 1))
        assert first is not None and first.definition["fields"] == doc["fields"]
        # the rows give back exactly the frozen document: nothing is re-published on its own
        assert forms._same(first.definition, forms.definition(stored[code]))


def _county_it(app):
    from tests.conftest import PASSWORD, login

    return login(app.test_client(), "county_it", PASSWORD)


@pytest.fixture
def dengfeng(fresh_app):
    from app.extensions import appbuilder, db
    from app.services import demo
    from app.services.clock import local_now
    from tests.conftest import PASSWORD

    from app.models import Notice

    demo.load_county(db.session, "dengfeng")
    demo.open_periods_now(db.session, local_now())
    demo.create_staff(appbuilder.sm, db.session, PASSWORD)
    for notice in db.session.scalars(select(Notice).where(Notice.kind == "agreement")):
        notice.wait_seconds = 0  # the 30-second read is tested in test_family_pages
    db.session.commit()
    return fresh_app


def _dengfeng_application(app, birth=dt.date(2020, 3, 1)):
    from app.extensions import db
    from app.models import Application, Channel, Child, EnrollmentPeriod

    client = parent_login(app)
    _, number = add_child(client, birth)
    consent(client)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "DF-P1"))
    assert start(client, child.id, period.id).status_code == 302
    application = db.session.scalar(select(Application).where(Application.child_id == child.id))
    channel = db.session.scalar(select(Channel).where(Channel.period_id == period.id))
    assert post(client, f"/my/a/{application.id}/channel", {"channel_id": channel.id}).status_code == 302
    return client, application


def _p1_channel():
    from app.extensions import db
    from app.models import Channel, EnrollmentPeriod

    return db.session.scalar(select(Channel).join(EnrollmentPeriod).where(EnrollmentPeriod.code == "DF-P1"))


# address_community: the first community of the fresh county (Dengfeng picks addresses to the village)
_EMPLOYMENT = {"employer": "登封市某商贸有限公司", "address": "少林街道某路1号", "address_community": "1", "insured_months": "5"}


def test_dengfeng_asks_five_months_of_employee_insurance_february_to_june_from_its_county_file(dengfeng):
    from app.extensions import db
    from app.models import Application

    client, application = _dengfeng_application(dengfeng)
    url = f"/my/a/{application.id}/employment"
    refused = post(client, url, {**_EMPLOYMENT, "insured_since": "2026-03-01"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "2月至6月职工社保" in html
    db.session.expire_all()
    assert "employment" not in (db.session.get(Application, application.id).section_data or {})
    assert post(client, url, {**_EMPLOYMENT, "insured_since": "2026-01-15"}).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Application, application.id)
    assert stored.section_data["employment"]["insured_since"] == "2026-01-15"
    assert stored.section_versions["employment"] == 2  # the county file's rule made version 2
    # the same rule on the business section, which Dengfeng's file extends with the date
    assert "2月至6月职工社保" in post(client, f"/my/a/{application.id}/business",
                                   {"business_name": "某店", "licence_no": "9241", "licensed_on": "2020-01-01",
                                    "address": "嵩阳街道", "insured_since": "2026-04-01"}).get_data(as_text=True)


def test_editing_a_section_makes_a_version_and_a_filled_application_keeps_its_labels(dengfeng):
    from app.extensions import db
    from app.models import FormField, FormSection

    client, application = _dengfeng_application(dengfeng)
    assert post(client, f"/my/a/{application.id}/employment", {**_EMPLOYMENT, "insured_since": "2026-01-15"}).status_code == 302
    field = db.session.scalar(select(FormField).join(FormSection).where(FormSection.code == "employment", FormField.key == "employer"))
    staff = _county_it(dengfeng)
    answer = staff.post(f"/formfieldmodelview/edit/{field.id}", data={
        "section": str(field.section_id), "key": "employer", "label_zh": "就业单位全称", "label_en": "Employer, full name",
        "kind": "text", "required": "y", "max_len": "100", "position": "1", "csrf_token": csrf_token(staff)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    assert db.session.scalar(select(FormSection.version).where(FormSection.code == "employment")) == 3
    # a parent filling the section now reads the new label
    assert "就业单位全称" in client.get(f"/my/a/{application.id}/employment").get_data(as_text=True)
    # the reviewer reads the filled application with the labels it was given under
    from app.models import Application

    with dengfeng.test_request_context():
        from app.services import forms

        seen = forms.answered(db.session, db.session.get(Application, application.id))["employment"]
    assert seen.version == 2 and seen.fields[0].label_zh == "务工单位"


def test_county_it_builds_a_section_whose_rule_a_parent_then_meets(dengfeng):
    from app.extensions import db
    from app.models import Channel, ChannelSection, FormField, FormSection

    staff = _county_it(dengfeng)
    token = csrf_token(staff)
    assert staff.post("/formsectionmodelview/add", data={"code": "points", "title_zh": "积分信息", "title_en": "Points",
                                                          "kind": "fields", "position": "20", "csrf_token": token}).status_code == 302
    section = db.session.scalar(select(FormSection).where(FormSection.code == "points"))
    assert staff.post("/formfieldmodelview/add", data={"section": str(section.id), "key": "moved_in", "label_zh": "户籍迁入时间",
                                                        "kind": "date", "required": "y", "max_len": "20", "position": "1",
                                                        "csrf_token": token}).status_code == 302
    field = db.session.scalar(select(FormField).where(FormField.key == "moved_in"))
    # a rule that could not be applied is refused with its message, and nothing is stored
    bad = staff.post("/fieldrulemodelview/add", data={"field": str(field.id), "kind": "on_or_before", "value": "{year}-02-30",
                                                       "position": "1", "csrf_token": token}, follow_redirects=True)
    import re as _re
    assert "不是日期" in bad.get_data(as_text=True), _re.findall(r'(?s)class="alert[^>]*>(.*?)</div>', bad.get_data(as_text=True))
    assert staff.post("/fieldrulemodelview/add", data={"field": str(field.id), "kind": "on_or_before", "value": "{year}-02-01",
                                                        "message_zh": "户籍须在当年2月1日前迁入。", "position": "1",
                                                        "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(FormSection.version).where(FormSection.code == "points")) == 3
    db.session.add(ChannelSection(channel=_p1_channel(), section="points", position=30))
    db.session.commit()
    client, application = _dengfeng_application(dengfeng)
    url = f"/my/a/{application.id}/points"
    assert "户籍迁入时间" in client.get(url).get_data(as_text=True)
    assert "户籍须在当年2月1日前迁入。" in post(client, url, {"moved_in": "2026-03-01"}).get_data(as_text=True)
    assert post(client, url, {"moved_in": "2025-12-01"}).status_code == 302


def test_the_fields_other_parts_read_cannot_be_deleted(dengfeng):
    from app.extensions import db
    from app.models import FormField, FormSection

    field = db.session.scalar(select(FormField).join(FormSection).where(FormSection.code == "guardians", FormField.key == "name"))
    staff = _county_it(dengfeng)
    html = staff.post(f"/formfieldmodelview/delete/{field.id}", data={"csrf_token": csrf_token(staff)},
                      follow_redirects=True).get_data(as_text=True)
    assert "必须保留" in html
    db.session.expire_all()
    assert db.session.get(FormField, field.id) is not None


def test_a_county_file_with_a_rule_that_cannot_apply_changes_nothing(dengfeng):
    from app.extensions import db
    from app.models import FieldRule, FormSectionVersion
    from app.services import county_io

    before = (db.session.query(FieldRule).count(), db.session.query(FormSectionVersion).count())
    doc = {"format": "ruxue-county/1", "field_rules": [
        {"section": "household", "field": "registered_on", "position": 1, "kind": "on_or_before", "value": "next spring"}]}
    with force_locale("zh"), pytest.raises(county_io.CountyImportError) as refused:
        county_io.import_rows(db.session, county_io.read_json(json.dumps(doc)))
    assert "next spring" in str(refused.value) and "表单" in str(refused.value)
    assert (db.session.query(FieldRule).count(), db.session.query(FormSectionVersion).count()) == before


@pytest.mark.parametrize("role, status", [("Admin", 200), ("CountyIT", 200), ("BureauReviewer", 403), ("SchoolReviewer", 403)])
def test_only_county_it_edits_sections(role_clients, db_session, role, status):
    from app.models import FormSection

    client = role_clients[role]
    assert client.get("/formsectionmodelview/add").status_code == status
    if status == 403:
        answer = client.post("/formsectionmodelview/add", data={"code": "perm_test", "title_zh": "权限测试", "kind": "fields",
                                                                 "position": "1", "csrf_token": csrf_token(client)})
        assert answer.status_code == 403
        assert db_session.scalar(select(FormSection).where(FormSection.code == "perm_test")) is None


def test_the_preview_shows_a_section_on_a_phone_frame_and_tries_answers_without_storing(dengfeng):
    from app.extensions import db
    from app.models import FormSection, FormSectionVersion

    section = db.session.scalar(select(FormSection).where(FormSection.code == "employment"))
    staff = _county_it(dengfeng)
    url = f"/formsectionmodelview/preview/{section.id}"
    assert f'href="{url}"' in staff.get(f"/formsectionmodelview/show/{section.id}").get_data(as_text=True)
    page = staff.get(url).get_data(as_text=True)
    assert "max-width:390px" in page and "务工单位" in page and 'name="insured_since"' in page
    versions = db.session.query(FormSectionVersion).count()
    tried = staff.post(url, data={**_EMPLOYMENT, "insured_since": "2026-04-01", "csrf_token": csrf_token(staff, url)})
    assert tried.status_code == 200 and "2月至6月职工社保" in tried.get_data(as_text=True)
    assert "每项回答均符合" in staff.post(url, data={**_EMPLOYMENT, "insured_since": f"{dt.date.today().year}-01-01",
                                                  "csrf_token": csrf_token(staff, url)}).get_data(as_text=True)
    assert db.session.query(FormSectionVersion).count() == versions


def test_a_conditional_field_is_hidden_by_css_until_its_answer_is_picked(dengfeng):
    from app.extensions import db
    from app.models import Channel, ChannelSection, FormSection
    from app.services import forms

    doc = {"code": "basis", "title_zh": "入学依据", "kind": "fields", "fields": [
        {"key": "basis", "label_zh": "依据", "kind": "choice", "choices": [["own", "自有房产", "Own"], ["grand", "祖辈房产", "Grandparents'"]]},
        {"key": "grand_name", "label_zh": "祖辈姓名", "kind": "name", "show_if": "basis", "show_values": "grand"},
        {"key": "home", "label_zh": "现住址", "kind": "address"}]}
    kinship = {"code": "kinship", "title_zh": "祖孙关系", "kind": "fields", "show_if": "basis.basis", "show_values": "grand",
               "fields": [{"key": "proof_no", "label_zh": "亲属关系证明编号", "kind": "text"}]}
    for n, section_doc in enumerate((doc, kinship)):
        forms.publish(db.session, forms.add_from_document(db.session, section_doc, position=30 + n))
    channel = _p1_channel()
    db.session.add_all([ChannelSection(channel=channel, section="basis", position=40),
                        ChannelSection(channel=channel, section="kinship", position=41)])
    db.session.commit()
    client, application = _dengfeng_application(dengfeng)
    page = client.get(f"/my/a/{application.id}/basis").get_data(as_text=True)
    assert "#f-grand_name{display:none}" in page
    assert 'form:has(#basis option[value="grand"]:checked) #f-grand_name{display:block}' in page
    from app.models import Community

    community = db.session.scalar(select(Community).order_by(Community.id))
    home = {"home": "1号楼201", "home_community": str(community.id)}
    no_village = post(client, f"/my/a/{application.id}/basis", {"basis": "own", "home": "1号楼201"}).get_data(as_text=True)
    assert "请选择村或社区。" in no_village and f'<option value="{community.id}"' in no_village
    assert post(client, f"/my/a/{application.id}/basis", {"basis": "own", **home}).status_code == 302
    assert f"{community.name} 1号楼201" in client.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    # the kinship section is asked only for grandparents' property
    assert client.get(f"/my/a/{application.id}/kinship").status_code == 302
    assert "亲属关系证明编号" not in client.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    assert "祖辈姓名" in post(client, f"/my/a/{application.id}/basis", {"basis": "grand"}).get_data(as_text=True)
    assert post(client, f"/my/a/{application.id}/basis", {"basis": "grand", "grand_name": "李四", **home}).status_code == 302
    assert "亲属关系证明编号" in client.get(f"/my/a/{application.id}/kinship").get_data(as_text=True)
    assert post(client, f"/my/a/{application.id}/kinship", {"proof_no": "QS-001"}).status_code == 302
    # going back and choosing another basis takes the kinship section, and its answers, off the form
    back = client.get(f"/my/a/{application.id}/basis").get_data(as_text=True)
    assert "仅当“依据”为祖辈房产时填写。" in back
    assert post(client, f"/my/a/{application.id}/basis", {"basis": "own", **home}).status_code == 302
    db.session.expire_all()
    from app.models import Application

    again = db.session.get(Application, application.id)
    assert "kinship" not in again.section_data and "kinship" not in again.section_versions
    assert "QS-001" not in client.get(f"/my/a/{application.id}/preview").get_data(as_text=True)
    assert db.session.scalar(select(FormSection.version).where(FormSection.code == "basis")) == 1


def test_codes_and_keys_that_would_break_a_page_or_a_condition_are_refused(app):
    from app.models import FormField, FormSection
    from app.services import forms

    with app.test_request_context(), force_locale("zh"):
        for code, key, max_len in (("a.b", "ok", 10), ("ok", "x-y", 10), ("ok", "1st", 10), ("ok", "fine", 0), ("ok", "fine", 5000)):
            section = FormSection(code=code, title_zh="测试", kind="fields", show_if="", show_values="")
            section.fields = [FormField(key=key, label_zh="甲", kind="text", required=True, max_len=max_len, choices="",
                                        show_if="", show_values="")]
            assert forms.problems(section), (code, key, max_len)
        good = FormSection(code="ok_1", title_zh="测试", kind="fields", show_if="", show_values="")
        good.fields = [FormField(key="fine_1", label_zh="甲", kind="text", required=True, max_len=10, choices="", show_if="", show_values="")]
        assert forms.problems(good) == []


def test_a_section_s_code_stays_once_saved(dengfeng):
    from app.extensions import db
    from app.models import FormSection

    section = db.session.scalar(select(FormSection).where(FormSection.code == "employment"))
    staff = _county_it(dengfeng)
    html = staff.post(f"/formsectionmodelview/edit/{section.id}", data={
        "code": "work", "title_zh": section.title_zh, "kind": "fields", "position": "5", "csrf_token": csrf_token(staff)},
        follow_redirects=True).get_data(as_text=True)
    assert "代码保存后不能修改" in html
    db.session.expire_all()
    assert db.session.get(FormSection, section.id).code == "employment"


def test_two_people_saving_one_section_at_once_get_two_versions_not_an_error(dengfeng, monkeypatch):
    from sqlalchemy.orm import Session as PlainSession

    from app.extensions import db
    from app.models import FormSection, FormSectionVersion
    from app.services import forms

    section = db.session.scalar(select(FormSection).where(FormSection.code == "household"))
    before = section.version
    real_publish, calls = forms.publish, []

    def publish_while_someone_else_does(session, item):
        version = real_publish(session, item)
        if not calls:  # the other editor commits the same number first
            with PlainSession(db.engine) as other:
                other.add(FormSectionVersion(section_code="household", version=version,
                                             definition={**forms.definition(item), "version": version, "title_zh": "别人"}))
                other.commit()
        calls.append(version)
        return version

    monkeypatch.setattr(forms, "publish", publish_while_someone_else_does)
    section.title_zh = "户籍信息（新）"
    db.session.commit()  # the admin saved the row; publishing comes after
    assert forms.publish_committed(db.session, section) == before + 2
    assert calls == [before + 1, before + 2]
    numbers = db.session.scalars(select(FormSectionVersion.version).where(FormSectionVersion.section_code == "household")).all()
    assert sorted(numbers)[-2:] == [before + 1, before + 2]
