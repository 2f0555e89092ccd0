"""The demo command fills an empty database with a seed county, staff and applications."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.services.ids import parse_resident_id


@pytest.mark.parametrize("county", ["taojiang", "anyi"])
def test_demo_loads_county_staff_and_applications(fresh_app, county):
    from app.extensions import db
    from app.models import Application, ApplicationEvent, Child, ReviewerSchool, School

    result = fresh_app.test_cli_runner().invoke(args=["demo", county, "--applications", "40"])
    assert result.exit_code == 0, result.output
    assert f"{county}: loaded; 40 synthetic applications" in result.output
    schools = db.session.scalars(select(School)).all()
    names = re.findall(r"^\s+(\S+)\s+(\S+)\s+(\S+)$", result.output, re.M)
    usernames = {n[0] for n in names}
    assert {"admin", "county_it", "bureau_reviewer"} | {f"reviewer_{s.code}" for s in schools} == usernames
    assert all(len(pw) >= 10 for _, _, pw in names)
    assert db.session.query(ReviewerSchool).count() == len(schools)
    statuses = {a.status for a in db.session.scalars(select(Application))}
    assert {"draft", "submitted", "in_review", "approved"} <= statuses
    for child in db.session.scalars(select(Child)):
        parsed = parse_resident_id(child.id_number)
        assert parsed.birth_date == child.birth_date and parsed.sex == child.sex
    submitted = [a for a in db.session.scalars(select(Application)) if a.status != "draft"]
    for application in submitted:
        events = db.session.query(ApplicationEvent).filter_by(application_id=application.id).count()
        assert events >= 1
        assert len({c.school_id for c in application.choices}) == len(application.choices) <= application.period.choice_count


def test_demo_with_password_and_refusal_on_non_empty_database(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["demo", "dengfeng", "--password", "same-pass-1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("same-pass-1") >= 3
    client = fresh_app.test_client()
    from tests.conftest import login

    login(client, "county_it", "same-pass-1")
    assert client.get("/schoolmodelview/list/").status_code == 200
    again = runner.invoke(args=["demo", "dengfeng"])
    assert again.exit_code == 1
    assert "empty database" in again.output


def test_demo_refuses_unknown_county(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["demo", "atlantis"])
    assert result.exit_code == 1 and "unknown county" in result.output


def test_sync_roles_creates_the_configured_roles(fresh_app):
    from app.extensions import appbuilder

    result = fresh_app.test_cli_runner().invoke(args=["sync-roles"])
    assert result.exit_code == 0
    for name in ("Admin", "CountyIT", "BureauReviewer", "SchoolReviewer", "Public"):
        assert appbuilder.sm.find_role(name) is not None


def test_anyi_demo_applicants_were_looked_up_and_some_families_wait_for_district_review(fresh_app):
    """学生信息查询 is on in Anyi's county file: every demo applicant has a settled lookup (found and
    confirmed, or registered and approved), and appeals and registrations wait in the admin."""
    from app.extensions import db
    from app.models import Application, ChildLookup

    result = fresh_app.test_cli_runner().invoke(args=["demo", "anyi", "--applications", "40"])
    assert result.exit_code == 0, result.output
    lookups = {(x.child_id, x.period_id): x for x in db.session.scalars(select(ChildLookup))}
    for application in db.session.scalars(select(Application)):
        assert lookups[(application.child_id, application.period_id)].status in ("confirmed", "approved")
    found = [x for x in lookups.values() if x.status == "confirmed"]
    assert found and all(x.record["members"] and "*" in x.record["child"]["name"] for x in found)
    waiting = {x.request for x in lookups.values() if x.status == "pending"}
    assert waiting == {"appeal", "registration"}
    assert all(x.files for x in lookups.values() if x.status == "pending")
    assert f"{len(lookups)} child lookups" in result.output
