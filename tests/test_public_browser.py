"""Each seed county's main parent flow end to end in headless Chromium on a phone screen."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.test_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# county, area code, period, channel, community, child's birth date
COUNTIES = [
    ("shimen", "430726", "2026年城区小学一年级新生入学", "有户有房", "宝塔社区", dt.date(2020, 3, 5)),
    ("taojiang", "430922", "桃花江镇小学一年级新生报名", "父母在城区有房产的子女", "株木潭社区", dt.date(2019, 12, 1)),
    ("dengfeng", "410185", "2026年登封市城区小学一年级新生信息采集", "城区新生信息采集", "玉溪社区", dt.date(2020, 1, 20)),
    ("anyi", "360123", "2026年安义县城区小学一年级网上预报", "使用不动产权证入学", "阳湖村", dt.date(2019, 10, 8)),
]


@pytest.fixture
def county_server(fresh_app):
    def start(county):
        from app.extensions import db
        from app.services import demo
        from app.services.clock import local_now

        demo.load_county(db.session, county)
        demo.open_periods_now(db.session, local_now())
        demo.create_staff(fresh_app.extensions["appbuilder"].sm, db.session, "pw-123456")
        server = make_server("127.0.0.1", 0, fresh_app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    started = []
    yield start
    for server in started:
        server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.mark.parametrize("county,area,period,channel,community,birth", COUNTIES, ids=[c[0] for c in COUNTIES])
def test_parent_main_flow(county_server, fresh_app, phone_page, county, area, period, channel, community, birth):
    from app.extensions import db
    from app.models import Application, Attachment
    from tests.parent_flow import ParentFlow

    base = county_server(county)
    flow = ParentFlow(phone_page, base, county, fresh_app.extensions["ruxue_sms"], area)
    phone_page.goto(base + "/")
    flow.shot("home")
    flow.login("13700001111")
    flow.add_child("李小雨", birth, 321)
    flow.start(period)
    steps = flow.fill_steps(channel=channel, community=community)
    assert steps[:3] == ["channel", "community", "choices"] and steps[-1] == "preview"
    flow.submit()
    text = phone_page.inner_text("main")
    application = db.session.scalar(select(Application).order_by(Application.id.desc()))
    assert application.status == "submitted"
    assert application.number in text
    assert application.channel.name == channel and application.community.name == community
    assert db.session.query(Attachment).filter_by(application_id=application.id).count() >= 1
    phone_page.goto(base + "/my")
    assert application.number in phone_page.inner_text("main")
    flow.shot("my-list")
