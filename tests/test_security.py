"""Headers on every response, same-origin redirects, CSRF on the API, no unused FAB routes, error
pages in the user's language."""
from __future__ import annotations

import io
import re

import pytest

from config import TestConfig
from tests.conftest import csrf_token, login


def _csp(response) -> dict:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/", "/signin", "/lookup", "/login/"])
def test_every_page_carries_the_security_headers(anon_client, url):
    response = anon_client.get(url)
    csp = _csp(response)
    assert csp["frame-ancestors"] == ["'none'"] and "'unsafe-inline'" not in csp["script-src"]
    assert any(v.startswith("'nonce-") for v in csp["script-src"])
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_staff_pages_and_the_api_carry_them_too(bureau_client, admin_client):
    for response in (bureau_client.get("/applicationmodelview/list/"), admin_client.get("/api/v1/districts/")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_inline_scripts_run_only_with_the_nonce(bureau_client):
    response = bureau_client.get("/applicationmodelview/list/")
    nonce = next(v for v in _csp(response)["script-src"] if v.startswith("'nonce-"))[7:-1]
    scripts = re.findall(r"<script([^>]*)>", response.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)


def test_hsts_in_production_only(tmp_path, anon_client):
    from tests.test_production import _production_app

    production = _production_app(tmp_path)
    assert "max-age=31536000" in production.test_client().get("/", base_url="https://enroll.example").headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in anon_client.get("/").headers


@pytest.mark.parametrize("referer", [
    "http://evil.example//evil.example/x", "http://evil.example/\\evil.example", "//evil.example", "javascript:alert(1)",
])
def test_switching_language_never_leaves_the_site(anon_client, referer):
    response = anon_client.get("/language/en", headers={"Referer": referer})
    location = response.headers["Location"]
    assert response.status_code == 302 and location == "/", location
    anon_client.get("/language/zh")


def test_the_api_changes_nothing_with_the_cookie_alone(admin_client, db_session):
    from app.models import District

    district = db_session.query(District).first()
    refused = admin_client.put(f"/api/v1/districts/{district.id}", json={"name": "被篡改"})
    assert refused.status_code == 400
    db_session.expire_all()
    assert db_session.get(District, district.id).name != "被篡改"
    accepted = admin_client.put(f"/api/v1/districts/{district.id}", json={"name": district.name},
                                headers={"X-CSRFToken": csrf_token(admin_client)})
    assert accepted.status_code == 200


def test_fab_download_route_is_gone(admin_client):
    response = admin_client.get("/attachmentmodelview/download/secret.pdf")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_error_pages_speak_the_users_language_and_lead_back(anon_client, school_client):
    page = anon_client.get("/no/such/page")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "页面不存在" in html and 'href="/"' in html and "Not Found" not in html
    staff = school_client.get("/countysetupview/")
    html = staff.get_data(as_text=True)
    assert staff.status_code in (403, 404) and ("没有权限" in html or "页面不存在" in html) and "/admin/" in html
    api = anon_client.get("/api/v1/no-such-resource/")
    assert api.status_code == 404 and api.is_json
    wrong = anon_client.put("/signin")
    assert wrong.status_code == 405 and "不能以这种方式使用此页面" in wrong.get_data(as_text=True)


def test_an_expired_form_says_so(app):
    from tests.conftest import parent_login

    parent = parent_login(app)
    response = parent.post("/my/children/add", data={"name": "张三", "csrf_token": "stale"})
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)


def test_a_too_large_upload_is_refused_with_a_page(app, parent, db_session):
    from tests.test_public_apply import _started

    application = _started(parent, db_session)
    big = io.BytesIO(b"\x89PNG" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    response = parent.post(f"/my/a/{application.id}/upload", data={"material_type_id": 1, "file": (big, "big.png"),
                                                                   "csrf_token": csrf_token(parent)},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "过大" in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_polite_page_and_a_log_line(tmp_path):
    from app import create_app

    class Fresh(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'x.db'}"

    application = create_app(Fresh)

    @application.route("/boom")
    def boom():
        raise RuntimeError("secret detail 430726201603077215")

    response = application.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出现错误" in html
    assert "Traceback" not in html and "secret detail" not in html and "430726" not in html


@pytest.mark.parametrize("role", ["Admin", "CountyIT", "BureauReviewer", "SchoolReviewer"])
def test_every_menu_link_a_role_sees_opens(role_clients, role):
    """A menu shows exactly what the role can open: every link in the menus and the navbar answers 200."""
    client = role_clients[role]
    html = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'<a[^>]+href="(/[^"#?]*)"', html))
    skip = ("/logout", "/lang/", "/static/", "/language/")
    links = {link for link in links if not link.startswith(skip)}
    assert len(links) >= (3 if role == "SchoolReviewer" else 10), links
    failed = {link: client.get(link, follow_redirects=True).status_code for link in sorted(links)}
    assert {link: code for link, code in failed.items() if code != 200} == {}
    userinfo = client.get("/users/userinfo/")
    assert userinfo.status_code == 200
