"""The REST API: JWT login, OpenAPI document, role permissions and scope."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, SCHOOL_REVIEWER


def _token(app, username):
    response = app.test_client().post(
        "/api/v1/security/login",
        json={"username": username, "password": PASSWORD, "provider": "db", "refresh": False},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": "Bearer " + response.get_json()["access_token"]}


def test_wrong_password_gets_401(app):
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": "county_it", "password": "nope", "provider": "db"}
    )
    assert response.status_code == 401


def test_openapi_document_lists_the_resources(app):
    assert app.test_client().get("/api/v1/_openapi").status_code == 401
    response = app.test_client().get("/api/v1/_openapi", headers=_token(app, SCHOOL_REVIEWER))
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for resource in ("districts", "streets", "communities", "schools", "catchments", "periods", "channels", "material_types", "applications"):
        assert f"/api/v1/{resource}/" in paths, resource


@pytest.mark.parametrize("resource", ["districts", "streets", "communities", "schools", "catchments", "periods", "channels", "material_types"])
def test_county_it_reads_setup(app, resource):
    client = app.test_client()
    response = client.get(f"/api/v1/{resource}/", headers=_token(app, "county_it"))
    assert response.status_code == 200
    assert response.get_json()["count"] > 0


def test_county_it_writes_a_school_and_reviewers_cannot(app):
    client = app.test_client()
    body = {"district": 1, "code": "API-1", "name": "接口测试小学", "stage": "primary", "ownership": "public", "seats": 45}
    assert client.post("/api/v1/schools/", json=body, headers=_token(app, "bureau_reviewer")).status_code == 403
    assert client.post("/api/v1/schools/", json=body, headers=_token(app, SCHOOL_REVIEWER)).status_code == 403
    response = client.post("/api/v1/schools/", json=body, headers=_token(app, "county_it"))
    assert response.status_code == 201, response.get_data(as_text=True)
    school_id = response.get_json()["id"]
    response = client.put(f"/api/v1/schools/{school_id}", json={"seats": 90}, headers=_token(app, "county_it"))
    assert response.status_code == 200
    assert client.get(f"/api/v1/schools/{school_id}", headers=_token(app, "county_it")).get_json()["result"]["seats"] == 90
    assert client.delete(f"/api/v1/schools/{school_id}", headers=_token(app, "county_it")).status_code == 200


def test_check_constraint_refuses_negative_seats(app):
    client = app.test_client()
    body = {"district": 1, "code": "API-2", "name": "负学位小学", "stage": "primary", "ownership": "public", "seats": -1}
    response = client.post("/api/v1/schools/", json=body, headers=_token(app, "county_it"))
    assert response.status_code in (400, 422)
    assert client.get("/api/v1/schools/?q=(filters:!((col:code,opr:eq,value:API-2)))", headers=_token(app, "county_it")).get_json()["count"] == 0


def test_applications_are_read_only_in_the_api(app):
    client = app.test_client()
    headers = _token(app, "bureau_reviewer")
    assert client.get("/api/v1/applications/", headers=headers).status_code == 200
    assert client.post("/api/v1/applications/", json={}, headers=headers).status_code in (404, 405)
    assert client.get("/api/v1/applications/", headers=_token(app, SCHOOL_REVIEWER)).status_code == 200


def test_school_reviewer_cannot_read_setup_api(app):
    response = app.test_client().get("/api/v1/schools/", headers=_token(app, SCHOOL_REVIEWER))
    assert response.status_code == 403


def test_api_shows_masked_child_ids_only(app):
    body = app.test_client().get("/api/v1/applications/", headers=_token(app, "bureau_reviewer")).get_json()
    first = body["result"][0]
    assert "********" in first["child_id_masked"]
    assert "child" not in first and "id_number" not in str(first)


def test_ids_that_name_nothing_or_cannot_exist_are_refused_in_words(app):
    from app.extensions import db
    from app.models import Catchment

    client = app.test_client()
    headers = _token(app, "county_it")
    with app.app_context():
        before = db.session.query(Catchment).count()
    for body in ({"community": 99999, "school": 99999}, {"community": 2 ** 70, "school": 1}):
        response = client.post("/api/v1/catchments/", json=body, headers=headers)
        assert response.status_code in (400, 422), (body, response.status_code)
    assert client.get(f"/api/v1/schools/{2 ** 70}", headers=headers).status_code in (404, 422)
    with app.app_context():
        assert db.session.query(Catchment).count() == before
