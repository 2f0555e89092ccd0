"""County IT sets a county up through the generated forms; catchments from both sides."""
from __future__ import annotations

from sqlalchemy import select

from app.models import Catchment, Community, School
from tests.conftest import csrf_token


def test_add_school_with_optional_fields_left_empty(county_it_client, db_session):
    response = county_it_client.post(
        "/schoolmodelview/add",
        data={"district": "1", "code": "FORM-1", "name": "表单测试小学", "stage": "primary", "ownership": "public",
              "seats": "45", "csrf_token": csrf_token(county_it_client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    school = db_session.scalar(select(School).where(School.code == "FORM-1"))
    assert school.seats == 45 and school.accepts_underage is False and school.address == ""


def test_enum_columns_are_pickers_and_words(county_it_client):
    html = county_it_client.get("/schoolmodelview/add").get_data(as_text=True)
    assert '<option value="nine_year">九年一贯制学校</option>' in html
    listing = county_it_client.get("/schoolmodelview/list/").get_data(as_text=True)
    assert "九年一贯制学校" in listing and ">nine_year<" not in listing


def test_catchments_are_editable_from_school_and_community_pages(county_it_client, db_session):
    school = db_session.scalar(select(School).where(School.code == "SM-X5"))
    community = db_session.scalar(select(Community).where(Community.name == "宝塔社区"))
    school_page = county_it_client.get(f"/schoolmodelview/show/{school.id}").get_data(as_text=True)
    community_page = county_it_client.get(f"/communitymodelview/show/{community.id}").get_data(as_text=True)
    assert "招生范围" in school_page and "宝塔社区" in school_page
    assert "石门县第五完全小学" in community_page
    assert f"/catchmentmodelview/add?_flt_0_school={school.id}" in school_page
    assert f"/catchmentmodelview/add?_flt_0_community={community.id}" in community_page
    other = db_session.scalar(select(Community).where(Community.name == "观山社区"))
    response = county_it_client.post(
        f"/catchmentmodelview/add?_flt_0_school={school.id}",
        data={"school": str(school.id), "community": str(other.id), "kind": "shared", "csrf_token": csrf_token(county_it_client)},
    )
    assert response.status_code == 302
    row = db_session.scalar(select(Catchment).where(Catchment.school_id == school.id, Catchment.community_id == other.id))
    assert row.kind == "shared"


def test_duplicate_catchment_is_refused_with_a_message(county_it_client, db_session):
    existing = db_session.scalar(select(Catchment))
    count = db_session.query(Catchment).count()
    response = county_it_client.post(
        "/catchmentmodelview/add",
        data={"school": str(existing.school_id), "community": str(existing.community_id), "kind": "sole",
              "csrf_token": csrf_token(county_it_client)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert db_session.query(Catchment).count() == count
