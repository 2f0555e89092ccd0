"""A fifth, made-up county set up entirely through the admin in real Chromium (issue #13): places,
a school, a period, a channel, a new form section with a date rule, a months rule and a condition;
then a parent applies through it on a phone, meets each rule's message, corrects it and submits;
the county file of that set-up imports into a fresh database and gives the same form."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.parent_flow import ARTIFACTS, ParentFlow

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "pw-123456"
YEAR = dt.date.today().year


@pytest.fixture
def server(fresh_app):
    from app.extensions import db
    from app.services import demo

    demo.create_staff(fresh_app.extensions["appbuilder"].sm, db.session, PASSWORD)
    running = make_server("127.0.0.1", 0, fresh_app, threaded=True)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{running.server_port}"
    running.shutdown()


def _admin_add(page, base, view, values: dict):
    """Fill FAB's add form as a person does (select2 keeps the native select underneath)."""
    page.goto(f"{base}/{view}/add")
    for name, value in values.items():
        field = page.locator(f"[name={name}]").first
        a_date = field.get_attribute("type") in ("date", "datetime-local")
        tag = field.evaluate("e => e.tagName")
        if tag == "SELECT":
            field.select_option(label=value[1], force=True) if isinstance(value, tuple) else field.select_option(value, force=True)
        elif field.get_attribute("type") == "checkbox":
            field.set_checked(bool(value), force=True)
        else:
            field.fill(value)
            if a_date:
                page.keyboard.press("Tab")  # leaving the field keeps what was typed
                assert field.input_value() == value, (name, field.input_value())
    page.locator("form#model_form button[type=submit], form button[type=submit]").first.click()
    page.wait_for_load_state("domcontentloaded")
    problems = [e.inner_text() for e in page.locator(".alert, .help-block, .text-danger, .has-error").all()]
    return page.inner_text("body"), problems


def _added(answer):
    text, problems = answer
    assert "记录已添加" in text or "Added Row" in text, [p for p in problems if p.strip()] or text[-2500:]


def test_a_fifth_county_built_in_the_admin_takes_a_parent_through_its_own_rules(server, fresh_app, browser, tmp_path):
    from app.extensions import db
    from app.models import Application, FormSection
    from app.services import county_io, forms

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    staff.set_default_timeout(15000)
    staff.goto(server + "/login/")
    staff.fill("input[name=username]", "county_it")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("input[type=submit], button[type=submit]")
    staff.wait_for_load_state("networkidle")

    _added(_admin_add(staff, server, "districtmodelview", {"code": "990101", "name": "新城区"}))
    _added(_admin_add(staff, server, "streetmodelview", {"code": "XC-1", "district": ("label", "新城区"), "name": "新城街道"}))
    _added(_admin_add(staff, server, "communitymodelview", {"code": "XC-1-1", "street": ("label", "新城街道"), "name": "幸福社区"}))
    _added(_admin_add(staff, server, "schoolmodelview", {"district": ("label", "新城区"), "code": "XC-S1", "name": "新城第一小学",
                                                         "stage": "primary", "ownership": "public", "seats": "90"}))
    _added(_admin_add(staff, server, "catchmentmodelview", {"school": ("label", "新城第一小学"), "community": ("label", "幸福社区"),
                                                            "kind": "sole"}))
    # seconds other than :00, which a datetime-local field shows without them (the same time, another text)
    opens = dt.datetime.now().replace(second=30, microsecond=0) - dt.timedelta(days=1)
    _added(_admin_add(staff, server, "enrollmentperiodmodelview", {
        "code": "XC-P1", "name": "新城区小学一年级报名", "year": str(YEAR), "stage": "primary", "grade": "1", "entry_kind": "new",
        "ownership": "public", "opens_at": f"{opens:%Y-%m-%dT%H:%M:%S}",
        "closes_at": f"{opens + dt.timedelta(days=20):%Y-%m-%dT%H:%M:%S}", "birth_from": f"{YEAR - 7}-09-01",
        "birth_to": f"{YEAR - 6}-08-31", "choice_count": "1", "withdrawal_limit": "1", "submit_wait_seconds": "0",
        "allocation_mechanism": "first_choice_first", "priority_keys": "channel,birth,lottery"}))
    _added(_admin_add(staff, server, "channelmodelview", {"period": ("label", "新城区小学一年级报名"), "code": "HJ",
                                                          "name": "户籍生", "priority": "1"}))
    # the new section: a basis choice, a date rule, a months rule and a field asked only for one answer
    _added(_admin_add(staff, server, "formsectionmodelview", {"code": "xc_household", "title_zh": "新城户籍信息",
                                                              "title_en": "Xincheng household", "kind": "fields", "position": "30"}))
    section = "新城户籍信息 (xc_household)"
    _added(_admin_add(staff, server, "formfieldmodelview", {
        "section": ("label", section), "key": "basis", "label_zh": "入学依据", "kind": "choice", "required": True, "max_len": "20", "position": "1",
        "choices": "own|本人户籍|Own household\ngrand|祖辈户籍|Grandparents' household"}))
    _added(_admin_add(staff, server, "formfieldmodelview", {
        "section": ("label", section), "key": "moved_in", "label_zh": "户籍迁入时间", "kind": "date", "required": True, "max_len": "20", "position": "2"}))
    _added(_admin_add(staff, server, "formfieldmodelview", {
        "section": ("label", section), "key": "insured_since", "label_zh": "社保缴纳起始日期", "kind": "date", "required": True, "max_len": "20",
        "position": "3"}))
    _added(_admin_add(staff, server, "formfieldmodelview", {
        "section": ("label", section), "key": "grand_name", "label_zh": "祖辈姓名", "kind": "name", "required": True, "max_len": "30", "position": "4",
        "show_if": "basis", "show_values": "grand"}))
    _added(_admin_add(staff, server, "fieldrulemodelview", {
        "field": ("label", "xc_household.moved_in"), "kind": "on_or_before", "value": "{year}-03-01", "position": "1",
        "message_zh": "户籍须在当年3月1日前迁入新城区。", "message_en": "The household must have moved in by 1 March."}))
    _added(_admin_add(staff, server, "fieldrulemodelview", {
        "field": ("label", "xc_household.insured_since"), "kind": "months_in_window", "value": "{year}-01-01",
        "value2": "{year}-06-30", "number": "6", "position": "1",
        "message_zh": "须连续缴纳当年1月至6月社保。", "message_en": "Insurance January to June is needed."}))
    _added(_admin_add(staff, server, "channelsectionmodelview", {"channel": ("label", "户籍生"),
                                                                 "form_section": ("label", section), "position": "1"}))
    # the preview shows it as a parent will, before any parent does
    staff.goto(server + "/formsectionmodelview/list/")
    section_id = db.session.scalar(select(FormSection.id).where(FormSection.code == "xc_household"))
    staff.goto(f"{server}/formsectionmodelview/preview/{section_id}")
    assert "户籍迁入时间" in staff.inner_text("body")
    staff.screenshot(path=str(ARTIFACTS / "fifth-county-preview.png"), full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.set_default_timeout(15000)
    flow = ParentFlow(phone, server, "fifth", fresh_app.extensions["ruxue_sms"], area="430726")
    flow.login("13700005555")
    flow.add_child("新小宝", dt.date(YEAR - 7, 10, 10), 555)
    flow.start("新城区小学一年级报名")
    for step in range(5):
        here = phone.url.rstrip("/").split("/")[-1]
        if here == "xc_household":
            break
        getattr(flow, "_" + here)(community="幸福社区")
    assert phone.url.endswith("/xc_household")
    assert not phone.locator("#f-grand_name").is_visible()  # asked only for grandparents' household
    phone.select_option("#basis", "grand")
    assert phone.locator("#f-grand_name").is_visible()
    phone.fill("#moved_in", f"{YEAR}-04-01")
    phone.fill("#insured_since", f"{YEAR}-02-01")
    phone.click("main form button >> nth=0")
    text = phone.inner_text("main")
    assert "户籍须在当年3月1日前迁入新城区。" in text and "须连续缴纳当年1月至6月社保。" in text
    assert "必填" in text  # the grandparent's name, asked for this answer
    flow.shot("rules")
    phone.fill("#moved_in", f"{YEAR - 1}-12-01")
    phone.fill("#insured_since", f"{YEAR - 1}-11-01")
    phone.fill("#grand_name", "新老爷")
    phone.click("main form button >> nth=0")
    assert phone.url.endswith("/preview"), phone.inner_text("main")[:800]
    assert "新老爷" in phone.inner_text("main")
    flow.submit()
    application = db.session.scalar(select(Application).order_by(Application.id.desc()))
    db.session.refresh(application)
    assert application.status == "submitted"
    assert application.section_data["xc_household"]["grand_name"] == "新老爷"

    # the set-up travels: its county file gives the same form in a fresh database
    exported = county_io.to_json(county_io.export_rows(db.session))
    made_here = forms.definition(db.session.scalar(select(FormSection).where(FormSection.code == "xc_household")))
    from tests.conftest import separate_app

    with separate_app(tmp_path, "fifth_copy"):
        from app.extensions import db as copy_db

        county_io.import_rows(copy_db.session, county_io.read_json(exported))
        copied = copy_db.session.scalar(select(FormSection).where(FormSection.code == "xc_household"))
        assert forms.definition(copied) == made_here
        assert json.loads(exported)["field_rules"]
