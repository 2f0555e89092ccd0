"""The admin panel in real headless Chromium: log in, read lists in Chinese, switch language."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, SCHOOL_REVIEWER

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def base_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url, locale="zh-CN")
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    context.close()


def _login(page, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_county_it_sees_schools_in_chinese_then_english(page, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    _login(page, "county_it")
    page.goto("/schoolmodelview/list/")
    assert page.locator("th", has_text="学位数").count() == 1
    assert page.get_by_text("石门县第五完全小学").count() >= 1
    assert page.get_by_text("区域与学校").count() >= 1  # menu category
    page.screenshot(path=str(ARTIFACTS / "admin-schools-zh.png"), full_page=True)
    page.goto("/lang/en")
    page.goto("/schoolmodelview/list/")
    assert page.locator("th", has_text="Seats").count() == 1
    page.screenshot(path=str(ARTIFACTS / "admin-schools-en.png"))
    page.goto("/lang/zh")
    assert all(url.startswith(base_url) for url in page.requests), "admin pages must load nothing from the internet"


def test_school_reviewer_menu_and_masked_list(page):
    _login(page, SCHOOL_REVIEWER)
    page.goto("/applicationmodelview/list/")
    assert page.locator("th", has_text="学生证件号码").count() == 1
    assert "********" in page.inner_text("table.table-bordered")
    assert page.get_by_text("招生设置").count() == 0  # set-up menu hidden from a school reviewer
    page.screenshot(path=str(ARTIFACTS / "admin-applications-reviewer.png"), full_page=True)


def test_county_import_page_renders(page):
    _login(page, "county_it")
    page.goto("/county/")
    assert page.get_by_text("导出 Excel").count() == 1
    page.screenshot(path=str(ARTIFACTS / "admin-county.png"))
