"""Each role gets 200 where allowed and 403/404 where not, on every view and the REST API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token

SETUP_VIEWS = [
    "districtmodelview",
    "streetmodelview",
    "communitymodelview",
    "schoolmodelview",
    "catchmentmodelview",
    "schoolneighbourmodelview",
    "enrollmentperiodmodelview",
    "channelmodelview",
    "channelmaterialmodelview",
    "channelsectionmodelview",
    "formsectionmodelview",
    "formfieldmodelview",
    "fieldrulemodelview",
    "formsectionversionmodelview",
    "materialtypemodelview",
    "noticemodelview",
    "reviewerschoolmodelview",
]
APPLICATION_VIEWS = ["applicationmodelview", "applicationeventmodelview", "attachmentmodelview"]
FAMILY_VIEWS = ["parentaccountmodelview", "childmodelview", "guardianmodelview", "messagemodelview"]

# role -> which groups it may list
CAN_LIST = {
    "Admin": {"setup", "applications", "families", "county"},
    "CountyIT": {"setup", "applications", "families", "county"},
    "BureauReviewer": {"setup_read", "applications", "families"},
    "SchoolReviewer": {"applications"},
}


def _groups(view):
    if view in APPLICATION_VIEWS:
        return {"applications"}
    if view in FAMILY_VIEWS:
        return {"families"}
    if view == "reviewerschoolmodelview":
        return {"setup"}
    return {"setup", "setup_read"}


@pytest.mark.parametrize("role", list(CAN_LIST))
@pytest.mark.parametrize("view", SETUP_VIEWS + APPLICATION_VIEWS + FAMILY_VIEWS)
def test_list_pages_by_role(role_clients, role, view):
    allowed = bool(_groups(view) & CAN_LIST[role])
    response = role_clients[role].get(f"/{view}/list/")
    assert response.status_code == (200 if allowed else 403), (role, view)


@pytest.mark.parametrize("view", SETUP_VIEWS + APPLICATION_VIEWS)
def test_anonymous_is_sent_to_login(anon_client, view):
    response = anon_client.get(f"/{view}/list/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login/" in response.headers["Location"]


@pytest.mark.parametrize(
    "role,status",
    [("Admin", 200), ("CountyIT", 200), ("BureauReviewer", 403), ("SchoolReviewer", 403)],
)
def test_setup_add_form_only_for_county_it(role_clients, role, status):
    assert role_clients[role].get("/schoolmodelview/add").status_code == status


@pytest.mark.parametrize("role,status", [("CountyIT", 403), ("BureauReviewer", 403), ("SchoolReviewer", 403)])
def test_applications_cannot_be_edited_or_deleted_through_generic_crud(role_clients, db_session, role, status):
    from app.models import Application

    number_id = db_session.scalar(select(Application.id).limit(1))
    client = role_clients[role]
    assert client.get(f"/applicationmodelview/edit/{number_id}").status_code in (status, 404)
    token = csrf_token(client)
    response = client.post(f"/applicationmodelview/delete/{number_id}", data={"csrf_token": token})
    assert response.status_code in (status, 404)
    assert db_session.get(Application, number_id) is not None


@pytest.mark.parametrize(
    "role,status",
    [("Admin", 200), ("CountyIT", 200), ("BureauReviewer", 403), ("SchoolReviewer", 403)],
)
def test_county_page_by_role(role_clients, role, status):
    assert role_clients[role].get("/county/").status_code == status
    assert role_clients[role].get("/county/export.json").status_code == status


def test_security_menus_are_admin_only(role_clients):
    assert role_clients["Admin"].get("/users/list/").status_code == 200
    for role in ("CountyIT", "BureauReviewer", "SchoolReviewer"):
        assert role_clients[role].get("/users/list/").status_code == 403
        assert role_clients[role].get("/roles/list/").status_code == 403


WRITABLE_SETUP = [v for v in SETUP_VIEWS if v != "formsectionversionmodelview"]


@pytest.mark.parametrize("role", ["Admin", "CountyIT", "BureauReviewer", "SchoolReviewer"])
def test_published_section_versions_are_written_by_nobody(role_clients, role):
    """A version is what applications were filled under: it is made by publishing, never typed."""
    assert role_clients[role].get("/formsectionversionmodelview/add").status_code == 403


@pytest.mark.parametrize("view", WRITABLE_SETUP)
@pytest.mark.parametrize(
    "role,status",
    [("Admin", 200), ("CountyIT", 200), ("BureauReviewer", 403), ("SchoolReviewer", 403)],
)
def test_setup_add_pages_by_role(role_clients, view, role, status):
    assert role_clients[role].get(f"/{view}/add").status_code == status


@pytest.mark.parametrize("view", [v for v in SETUP_VIEWS if v != "reviewerschoolmodelview"])
@pytest.mark.parametrize(
    "role,status",
    [("CountyIT", 200), ("BureauReviewer", 200), ("SchoolReviewer", 403)],
)
def test_setup_show_pages_by_role(role_clients, view, role, status):
    assert role_clients[role].get(f"/{view}/show/1").status_code == status


@pytest.mark.parametrize("role", ["BureauReviewer", "SchoolReviewer"])
def test_delete_of_setup_row_refused_for_reviewers(role_clients, db_session, role):
    from app.models import Notice

    notice = db_session.scalar(select(Notice).limit(1))
    client = role_clients[role]
    response = client.post(f"/noticemodelview/delete/{notice.id}", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403
    assert db_session.get(Notice, notice.id) is not None


def test_delete_without_csrf_token_is_refused(county_it_client, db_session):
    from app.models import Notice

    notice = db_session.scalar(select(Notice).limit(1))
    assert county_it_client.post(f"/noticemodelview/delete/{notice.id}").status_code == 400
    assert db_session.get(Notice, notice.id) is not None


def test_family_tables_are_read_only_for_county_it(county_it_client):
    assert county_it_client.get("/childmodelview/add").status_code == 403
    assert county_it_client.get("/guardianmodelview/edit/1").status_code == 403


@pytest.mark.parametrize(
    "role,page,act",
    [("Admin", 200, True), ("BureauReviewer", 200, True), ("CountyIT", 200, False), ("SchoolReviewer", 403, False)],
)
def test_allocation_page_by_role(role_clients, db_session, role, page, act):
    from app.models import AllocationRun

    client = role_clients[role]
    assert client.get("/allocation/").status_code == page
    before = db_session.query(AllocationRun).count()
    response = client.post("/allocation/simulate", data={"period": 1, "seed": f"seed-{role}", "csrf_token": csrf_token(client)})
    assert response.status_code == (302 if act else 403)
    assert db_session.query(AllocationRun).count() == before + (1 if act else 0)
