"""County IT sets a county up through the generated forms; catchments from both sides."""
from __future__ import annotations

import datetime as dt

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
    assert "已有相同“学校”、“社区/村”的记录" in response.get_data(as_text=True)
    assert "UNIQUE" not in response.get_data(as_text=True) and "IntegrityError" not in response.get_data(as_text=True)


def _refused(client, url, data, words):
    """The form is refused with a Chinese message naming the fields, no SQL, nothing stored."""
    response = client.post(url, data={**data, "csrf_token": csrf_token(client)}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-2000:]
    for word in words:
        assert word in html, html[-3000:]
    for raw in ("IntegrityError", "UNIQUE", "constraint", "INSERT INTO", "CHECK"):
        assert raw not in html
    return html


def test_duplicate_channel_code_material_and_section_are_refused(county_it_client, db_session):
    from app.models import Channel, ChannelMaterial, ChannelSection

    channel = db_session.scalar(select(Channel).order_by(Channel.id))
    count = db_session.query(Channel).count()
    _refused(county_it_client, "/channelmodelview/add",
             {"period": str(channel.period_id), "code": channel.code, "name": "重复类别", "priority": "3"},
             ["已有相同“招生批次”、“代码”的记录"])
    assert db_session.query(Channel).count() == count
    material = db_session.scalar(select(ChannelMaterial).order_by(ChannelMaterial.id))
    count = db_session.query(ChannelMaterial).count()
    _refused(county_it_client, "/channelmaterialmodelview/add",
             {"channel": str(material.channel_id), "material_type": str(material.material_type_id), "position": "9"},
             ["已有相同“报名类别”、“证明材料”的记录"])
    assert db_session.query(ChannelMaterial).count() == count
    section = db_session.scalar(select(ChannelSection).order_by(ChannelSection.id))
    count = db_session.query(ChannelSection).count()
    _refused(county_it_client, "/channelsectionmodelview/add",
             {"channel": str(section.channel_id), "form_section": str(section.form_section.id), "position": "9"},
             ["已有相同“报名类别”"])
    assert db_session.query(ChannelSection).count() == count


_PERIOD = {"code": "FORM-P", "name": "表单测试批次", "year": "2027", "stage": "primary", "grade": "1",
           "entry_kind": "new", "ownership": "public", "opens_at": "2027-06-01 08:00:00",
           "closes_at": "2027-06-10 18:00:00", "choice_count": "1", "withdrawal_limit": "0",
           "submit_wait_seconds": "0", "allocation_mechanism": "first_choice_first",
           "priority_keys": "channel,birth,lottery"}


def test_period_closing_before_opening_is_refused(county_it_client, db_session):
    from app.models import EnrollmentPeriod

    _refused(county_it_client, "/enrollmentperiodmodelview/add", {**_PERIOD, "closes_at": "2027-05-01 08:00:00"},
             ["“截止时间”必须晚于“开放时间”"])
    assert db_session.query(EnrollmentPeriod).filter_by(code="FORM-P").count() == 0


def test_period_stage_offers_only_what_the_database_takes(county_it_client, db_session):
    from app.models import EnrollmentPeriod

    html = county_it_client.get("/enrollmentperiodmodelview/add").get_data(as_text=True)
    assert 'value="primary"' in html and 'value="nine_year"' not in html
    response = county_it_client.post("/enrollmentperiodmodelview/add",
                                     data={**_PERIOD, "stage": "nine_year", "csrf_token": csrf_token(county_it_client)})
    assert response.status_code == 200 and "CHECK" not in response.get_data(as_text=True)  # not a valid choice
    assert db_session.query(EnrollmentPeriod).filter_by(code="FORM-P").count() == 0


def test_period_dates_out_of_bounds_are_refused(county_it_client, db_session):
    from app.models import EnrollmentPeriod

    for opens in ("1800-06-01 08:00:00", "2099-06-01 08:00:00"):
        _refused(county_it_client, "/enrollmentperiodmodelview/add",
                 {**_PERIOD, "opens_at": opens, "closes_at": opens.replace("06-01", "06-10")}, ["“开放时间”须在"])
    assert db_session.query(EnrollmentPeriod).filter_by(code="FORM-P").count() == 0


def test_edit_that_would_duplicate_is_refused_and_the_row_unchanged(county_it_client, db_session):
    first, second = db_session.scalars(select(School).order_by(School.id).limit(2)).all()
    _refused(county_it_client, f"/schoolmodelview/edit/{second.id}",
             {"district": str(second.district_id), "code": first.code, "name": second.name, "stage": second.stage,
              "ownership": second.ownership, "seats": str(second.seats)}, ["已经存在"])  # FAB's own check, by the field
    db_session.expire_all()
    assert db_session.get(School, second.id).code != first.code


def test_a_refused_edit_shows_the_form_as_typed(county_it_client, db_session):
    """A rule checked before the write (here the period's order of dates) refuses the edit with its
    message and gives the form back with what was typed, the row unchanged."""
    from app.models import EnrollmentPeriod

    period = db_session.scalar(select(EnrollmentPeriod).order_by(EnrollmentPeriod.id))
    name = period.name
    html = _refused(county_it_client, f"/enrollmentperiodmodelview/edit/{period.id}",
                    {**_PERIOD, "code": period.code, "name": "改过的名称", "closes_at": "2027-05-01 08:00:00"},
                    ["“截止时间”必须晚于“开放时间”"])
    assert 'value="改过的名称"' in html
    db_session.expire_all()
    assert db_session.get(EnrollmentPeriod, period.id).name == name


def test_dates_use_the_browser_s_own_inputs_and_read_both_spellings(county_it_client, db_session):
    """FAB's date picker emptied a date typed by hand; the browser's inputs keep it, and the
    spelling a script or a spreadsheet gives (2027-06-01 08:00:00) is read as well."""
    from app.models import EnrollmentPeriod

    html = county_it_client.get("/enrollmentperiodmodelview/add").get_data(as_text=True)
    assert 'type="datetime-local"' in html and 'name="opens_at"' in html and 'type="date"' in html
    for code, opens in (("FORM-T", "2027-06-01T08:00:00"), ("FORM-S", "2027-06-01 08:00:00"), ("FORM-M", "2027-06-01T08:00")):
        response = county_it_client.post("/enrollmentperiodmodelview/add", data={
            **_PERIOD, "code": code, "opens_at": opens, "closes_at": "2027-06-10T18:00:00", "birth_from": "2020-09-01",
            "csrf_token": csrf_token(county_it_client)})
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == code))
        assert period.opens_at == dt.datetime(2027, 6, 1, 8, 0) and period.birth_from == dt.date(2020, 9, 1)
    edit = county_it_client.get(f"/enrollmentperiodmodelview/edit/{period.id}").get_data(as_text=True)
    assert 'value="2027-06-01T08:00:00"' in edit
    for stored in db_session.scalars(select(EnrollmentPeriod).where(EnrollmentPeriod.code.in_(("FORM-T", "FORM-S", "FORM-M")))):
        db_session.delete(stored)  # the rest of the suite sees the demo's periods only
    db_session.commit()
