"""Materials asked only for some answers, Anyi's bases as its county file sets them, and the REST
resources for fields and rules: the rest of issue #13's low-code form."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, login, parent_login
from tests.public_helpers import GUARDIAN, add_child, consent, fill, next_id, post, start, submit, upload

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def anyi(fresh_app):
    from app.extensions import appbuilder, db
    from app.models import EnrollmentPeriod
    from app.services import demo
    from app.services.clock import local_now

    demo.load_county(db.session, "anyi")
    demo.open_periods_now(db.session, local_now())
    demo.create_staff(appbuilder.sm, db.session, PASSWORD)
    for period in db.session.scalars(select(EnrollmentPeriod)):
        period.submit_wait_seconds = 0  # the 15-second read is tested with the preview, not here
    db.session.commit()
    return fresh_app


def _anyi_application(app, channel_code):
    from app.extensions import db
    from app.models import Application, Catchment, Channel, Child, Community, EnrollmentPeriod

    client = parent_login(app)
    _, number = add_child(client, dt.date(2020, 3, 1))
    consent(client)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "AY-P1"))
    assert start(client, child.id, period.id).status_code == 302
    application = db.session.scalar(select(Application).where(Application.child_id == child.id))
    channel = db.session.scalar(select(Channel).where(Channel.period_id == period.id, Channel.code == channel_code))
    community = db.session.scalar(select(Community).where(Community.code == "AY-LJ-01"))
    school_id = db.session.scalar(select(Catchment.school_id).where(Catchment.community_id == community.id))
    return client, application, channel, community, school_id


def _material_id(code):
    from app.extensions import db
    from app.models import MaterialType

    return db.session.scalar(select(MaterialType.id).where(MaterialType.code == code))


_GRANDPARENT = {"relation": "grandfather", "grandparent_name": "王建国", "kind": "real_estate",
                "certificate_no": "赣(2012)安义县不动产权第0001234号", "address": "龙津镇凤山路8号"}


def test_a_grandparent_s_property_asks_the_grandparent_and_a_kinship_proof_only_when_the_register_does_not_show_it(anyi):
    from app.extensions import db

    client, application, channel, community, school_id = _anyi_application(anyi, "ZF")
    token = fill(client, application, [school_id], community.id, channel.id)
    base = f"/my/a/{application.id}"
    page = client.get(f"{base}/grand_property").get_data(as_text=True)
    assert "（外）祖父母姓名" in page and "（外）祖父母身份证号" in page and "产权人（父母一方）" not in page
    kinship = _material_id("kinship_proof")

    # the register shows the kinship: no proof asked, none accepted
    answers = {**_GRANDPARENT, "grandparent_id": next_id(dt.date(1958, 5, 1)), "same_register": "yes"}
    assert post(client, f"{base}/grand_property", answers).status_code == 302
    materials = client.get(f"{base}/materials").get_data(as_text=True)
    assert "不动产权证" in materials and "隔代亲属关系证明" not in materials
    refused = upload(client, application, kinship, name="kinship.png")
    assert "该报名类别不需要此材料" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "隔代亲属关系证明" not in client.get(f"{base}/preview").get_data(as_text=True)

    # going back: it does not show the kinship, so the proof is asked, required, and stops submission
    answers["same_register"] = "no"
    assert post(client, f"{base}/grand_property", answers).status_code == 302
    assert "隔代亲属关系证明" in client.get(f"{base}/materials").get_data(as_text=True)
    preview = client.get(f"{base}/preview").get_data(as_text=True)
    assert "请上传“隔代亲属关系证明”" in preview
    refused = submit(client, application, token)
    db.session.refresh(application)
    assert application.status == "draft"
    assert upload(client, application, kinship, name="kinship.png").status_code == 302
    import re

    token = re.search(r'name="token" value="([^"]+)"', client.get(f"{base}/preview").get_data(as_text=True)).group(1)
    assert submit(client, application, token).status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted"
    assert application.section_data["grand_property"]["grandparent_name"] == "王建国"


def test_anyi_s_title_basis_offers_titles_only_and_its_contract_basis_asks_the_contract(anyi):
    client, application, channel, community, school_id = _anyi_application(anyi, "FC")
    fill(client, application, [school_id], community.id, channel.id)
    page = client.get(f"/my/a/{application.id}/property").get_data(as_text=True)
    assert "不动产权证" in page and "网签购房合同" not in page and "公租房" not in page and "学生本人" in page

    client, application, channel, community, school_id = _anyi_application(anyi, "HT")
    fill(client, application, [school_id], community.id, channel.id)
    base = f"/my/a/{application.id}"
    assert "网签备案合同编号" in client.get(f"{base}/purchase").get_data(as_text=True)
    answer = post(client, f"{base}/purchase", {"contract_no": "AY2026000123", "signed_on": "2025-06-01",
                                                 "buyer_name": "李四", "address": "龙津镇某小区3栋"})
    assert answer.status_code == 400 and "买受人须是填写的父母（监护人）之一" in answer.get_data(as_text=True)
    answer = post(client, f"{base}/purchase", {"contract_no": "AY2026000123", "signed_on": "2025-06-01",
                                                 "buyer_name": GUARDIAN["g0_name"], "address": "龙津镇某小区3栋"})
    assert answer.status_code == 302


def test_a_material_condition_that_names_no_field_is_refused_in_the_admin_and_in_a_county_file(anyi, tmp_path):
    from app.extensions import db
    from app.models import ChannelMaterial, MaterialType
    from app.services import county_io

    staff = login(anyi.test_client(), "county_it", PASSWORD)
    row = db.session.scalar(select(ChannelMaterial).join(MaterialType).where(MaterialType.code == "kinship_proof"))
    url = f"/channelmaterialmodelview/edit/{row.id}"
    answer = staff.post(url, data={"channel": row.channel_id, "material_type": row.material_type_id, "required": "y",
                                   "show_if": "grand_property.same_registr", "show_values": "no", "position": "4",
                                   "csrf_token": csrf_token(staff, url)})
    assert answer.status_code == 200 and "“显示条件”没有对应任何表单字段" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ChannelMaterial, row.id).show_if == "grand_property.same_register"

    doc = json.loads((EXAMPLES / "anyi.json").read_text(encoding="utf-8"))
    for material in doc["channel_materials"]:
        if material["material"] == "kinship_proof":
            material["show_if"] = "grandparents.same_register"
    path = tmp_path / "anyi.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(county_io.CountyImportError) as refused:
        county_io.import_file(db.session, path)
    text = "\n".join(map(str, refused.value.errors))
    assert "类别所需材料" in text and "显示条件" in text and "grandparents.same_register" in text
    assert db.session.get(ChannelMaterial, row.id).show_if == "grand_property.same_register"


def _token(app, username):
    answer = app.test_client().post("/api/v1/security/login",
                                    json={"username": username, "password": PASSWORD, "provider": "db", "refresh": False})
    return {"Authorization": "Bearer " + answer.get_json()["access_token"]}


def test_fields_and_rules_are_written_through_the_rest_api_with_the_same_checks(anyi):
    from app.extensions import db
    from app.models import FieldRule, FormField, FormSection

    api = anyi.test_client()
    it, bureau = _token(anyi, "county_it"), _token(anyi, "bureau_reviewer")
    section = db.session.scalar(select(FormSection).where(FormSection.code == "household"))
    before = section.version
    body = {"section": section.id, "key": "moved_in", "label_zh": "迁入时间", "kind": "date", "required": False, "position": 9}
    assert api.post("/api/v1/form_fields/", json=body, headers=bureau).status_code == 403
    assert api.get("/api/v1/form_fields/", headers=bureau).status_code == 200
    created = api.post("/api/v1/form_fields/", json=body, headers=it)
    assert created.status_code == 201, created.get_data(as_text=True)
    field_id = created.get_json()["id"]
    db.session.expire_all()
    assert db.session.get(FormSection, section.id).version == before + 1

    bad = {"field": field_id, "kind": "on_or_before", "value": "next spring", "message_zh": "太晚"}
    refused = api.post("/api/v1/field_rules/", json=bad, headers=it)
    assert refused.status_code == 422 and "日期" in refused.get_json()["message"]
    assert db.session.scalar(select(FieldRule).where(FieldRule.field_id == field_id)) is None
    good = {**bad, "value": "{year}-02-01"}
    assert api.post("/api/v1/field_rules/", json=good, headers=it).status_code == 201
    db.session.expire_all()
    assert db.session.get(FormSection, section.id).version == before + 2
    bound = db.session.scalar(select(FormField).join(FormSection).where(FormSection.code == "property", FormField.key == "certificate_no"))
    refused = api.delete(f"/api/v1/form_fields/{bound.id}", headers=it)
    assert refused.status_code == 422 and "certificate_no" in refused.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(FormField, bound.id) is not None


def test_the_address_picker_names_the_district_where_a_county_has_two(anyi):
    """Anyi's file holds a second district of the city platform (新建区): the family picks it."""
    from app.extensions import db
    from app.models import Community, District
    from app.services.applications import communities_by_street, offered_schools

    labels = [label for label, _ in communities_by_street(db.session)]
    assert "新建区 · 长堎街道" in labels and "安义县 · 龙津镇" in labels
    client, application, channel, _, _ = _anyi_application(anyi, "FC")
    base = f"/my/a/{application.id}"
    post(client, f"{base}/channel", {"channel_id": channel.id})
    assert "新建区 · 长堎街道" in client.get(f"{base}/community").get_data(as_text=True)
    community = db.session.scalar(select(Community).where(Community.name == "长堎社区"))
    assert post(client, f"{base}/community", {"community_id": community.id}).status_code == 302
    db.session.expire_all()
    offered = [o.school.name for o in offered_schools(db.session, db.session.get(type(application), application.id))]
    assert offered == ["新建区长堎小学"]
    # one district (its street moved to Anyi, the other district left empty): the groups are the streets alone
    from app.models import Street

    anyi_district = db.session.scalar(select(District).where(District.code == "360123"))
    db.session.scalar(select(Street).where(Street.code == "XJ-CL")).district_id = anyi_district.id
    db.session.commit()
    assert all("·" not in label for label, _ in communities_by_street(db.session))


def test_the_admin_preview_does_not_offer_the_parents_sign_in(anyi):
    from app.extensions import db
    from app.models import FormSection

    section = db.session.scalar(select(FormSection).where(FormSection.code == "grand_property"))
    page = login(anyi.test_client(), "county_it", PASSWORD).get(f"/formsectionmodelview/preview/{section.id}").get_data(as_text=True)
    assert "（外）祖父母姓名" in page and 'href="/signin"' not in page and "返回表单部分" in page
