"""A school reviewer sees only applications of their own schools, by every way in."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import Application, ApplicationChoice, ApplicationEvent, Child, School
from tests.conftest import csrf_token


def _school_id(db_session, code="SM-X5"):
    return db_session.scalar(select(School.id).where(School.code == code))


def _in_scope(db_session):
    school = _school_id(db_session)
    rows = db_session.scalars(select(Application)).all()
    return {
        a.id
        for a in rows
        if a.status != "draft" and (any(c.school_id == school for c in a.choices) or a.allocated_school_id == school)
    }


def _out_of_scope(db_session):
    scoped = _in_scope(db_session)
    return [a for a in db_session.scalars(select(Application)) if a.id not in scoped]


def _list_count(client, url):
    html = client.get(url).get_data(as_text=True)
    match = re.search(r"</strong>\s*(\d+)\s*</div>", html)
    if match is None:  # an empty list shows no count
        assert "<table" not in html or "rowid" not in html
        return 0
    return int(match.group(1))


def test_fixture_has_applications_on_both_sides(db_session):
    assert len(_in_scope(db_session)) > 3
    assert len(_out_of_scope(db_session)) > 3


def test_list_shows_only_own_schools(school_client, bureau_client, db_session):
    total = db_session.query(Application).filter(Application.status != "draft").count()  # drafts are the families' own
    assert _list_count(school_client, "/applicationmodelview/list/?psize_ApplicationModelView=100") == len(_in_scope(db_session))
    assert _list_count(bureau_client, "/applicationmodelview/list/") == total


def test_drafts_are_hidden_from_school_reviewers(school_client, db_session):
    import datetime as dt

    from app.models import EnrollmentPeriod
    from app.services.ids import make_resident_id

    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    child = Child(name="草稿测试", id_number=make_resident_id("430726", dt.date(2020, 3, 3), 901), id_type="resident_id")
    draft = Application(number="DRAFT-0001", child=child, period=period, status="draft")
    draft.choices = [ApplicationChoice(school_id=_school_id(db_session), rank=1)]
    db_session.add(draft)
    db_session.commit()
    assert school_client.get(f"/applicationmodelview/show/{draft.id}").status_code == 404
    draft.status = "submitted"
    db_session.commit()
    assert school_client.get(f"/applicationmodelview/show/{draft.id}").status_code == 200


def test_show_of_other_school_is_not_found(school_client, db_session):
    other = _out_of_scope(db_session)[0]
    own = db_session.get(Application, sorted(_in_scope(db_session))[0])
    assert school_client.get(f"/applicationmodelview/show/{other.id}").status_code == 404
    response = school_client.get(f"/applicationmodelview/show/{own.id}")
    assert response.status_code == 200
    assert own.number in response.get_data(as_text=True)


def test_api_is_scoped(school_client, bureau_client, db_session):
    response = school_client.get("/api/v1/applications/?q=(page_size:100)")
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == len(_in_scope(db_session))
    assert {r["id"] for r in body["result"]} <= _in_scope(db_session)
    other = _out_of_scope(db_session)[0]
    assert school_client.get(f"/api/v1/applications/{other.id}").status_code == 404
    assert bureau_client.get(f"/api/v1/applications/{other.id}").status_code == 200


def test_export_is_scoped_and_masked(school_client, db_session):
    response = school_client.get("/applicationmodelview/export.csv")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).strip().splitlines()
    assert len(lines) - 1 == len(_in_scope(db_session))
    text = "\n".join(lines)
    for child in db_session.scalars(select(Child)):
        assert child.id_number not in text


def test_related_tables_are_scoped(school_client, db_session):
    scoped = _in_scope(db_session)
    expected = db_session.query(ApplicationEvent).filter(ApplicationEvent.application_id.in_(scoped)).count()
    assert _list_count(school_client, "/applicationeventmodelview/list/") == expected


def _submitted(db_session, ids):
    return [a for a in db_session.scalars(select(Application).where(Application.id.in_(ids))) if a.status == "submitted"]


def test_bulk_action_outside_scope_changes_nothing(school_client, db_session):
    mine = _submitted(db_session, _in_scope(db_session))[0]
    theirs = [a for a in _out_of_scope(db_session) if a.status == "submitted"][0]
    events_before = db_session.query(ApplicationEvent).count()
    response = school_client.post(
        "/applicationmodelview/action_post",
        data={"action": "start_review", "rowid": [str(mine.id), str(theirs.id)], "csrf_token": csrf_token(school_client)},
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, mine.id).status == "submitted"
    assert db_session.get(Application, theirs.id).status == "submitted"
    assert db_session.query(ApplicationEvent).count() == events_before


def test_bulk_action_needs_csrf(school_client, db_session):
    mine = _submitted(db_session, _in_scope(db_session))[0]
    response = school_client.post("/applicationmodelview/action_post", data={"action": "start_review", "rowid": [str(mine.id)]})
    assert response.status_code == 400
    db_session.expire_all()
    assert db_session.get(Application, mine.id).status == "submitted"


def test_bulk_action_inside_scope_moves_and_records(school_client, db_session):
    mine = _submitted(db_session, _in_scope(db_session))[-1]
    response = school_client.post(
        "/applicationmodelview/action_post",
        data={"action": "start_review", "rowid": [str(mine.id)], "csrf_token": csrf_token(school_client)},
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, mine.id).status == "in_review"
    event = db_session.scalars(
        select(ApplicationEvent).where(ApplicationEvent.application_id == mine.id).order_by(ApplicationEvent.id.desc())
    ).first()
    assert (event.from_status, event.to_status) == ("submitted", "in_review")


@pytest.mark.parametrize("view", ["applicationmodelview", "childmodelview", "guardianmodelview"])
def test_lists_mask_id_numbers(bureau_client, db_session, view):
    html = bureau_client.get(f"/{view}/list/?psize_{view.replace('modelview', '').title()}ModelView=100").get_data(as_text=True)
    numbers = [c.id_number for c in db_session.scalars(select(Child))]
    assert not [n for n in numbers if n in html]
    assert re.search(r"\d{6}\*{8}\d{3}[\dX]", html)


def test_reviewer_assignment_is_data(county_it_client, db_session, app):
    """County IT assigns a reviewer to a second school; the reviewer then sees its applications."""
    from app.extensions import appbuilder
    from app.models import ReviewerSchool

    with app.app_context():
        user = appbuilder.sm.find_user(username="reviewer_SM-X1")
        x1 = _school_id(db_session, "SM-X1")
        x2 = _school_id(db_session, "SM-X2")
    response = county_it_client.post(
        "/reviewerschoolmodelview/add",
        data={"user": str(user.id), "school": str(x2), "csrf_token": csrf_token(county_it_client)},
    )
    assert response.status_code == 302
    rows = db_session.scalars(select(ReviewerSchool.school_id).where(ReviewerSchool.user_id == user.id)).all()
    assert set(rows) == {x1, x2}
    chose = {c.application_id for c in db_session.scalars(select(ApplicationChoice).where(ApplicationChoice.school_id.in_([x1, x2])))}
    allocated = {a.id for a in db_session.scalars(select(Application).where(Application.allocated_school_id.in_([x1, x2])))}
    drafts = {a.id for a in db_session.scalars(select(Application).where(Application.status == "draft"))}
    from tests.conftest import login

    client = login(app.test_client(), "reviewer_SM-X1")
    assert _list_count(client, "/applicationmodelview/list/") == len((chose | allocated) - drafts)


def test_single_action_from_detail_page_is_scoped(school_client, db_session):
    theirs = [a for a in _out_of_scope(db_session) if a.status == "submitted"][-1]
    token = csrf_token(school_client)
    response = school_client.post(f"/applicationmodelview/action/start_review/{theirs.id}", data={"csrf_token": token})
    assert response.status_code == 404
    assert school_client.get(f"/applicationmodelview/action/start_review/{theirs.id}").status_code == 405
    db_session.expire_all()
    assert db_session.get(Application, theirs.id).status == "submitted"
