"""County IT imports the departments' extracts through the admin page in a real browser."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.parent_flow import ARTIFACTS, staff_page
from tests.public_helpers import next_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_county_it_imports_an_extract_sees_a_bad_one_refused_and_withdraws_it(county_server, browser, tmp_path):
    from app.extensions import db
    from app.models import RegistryBatch

    base = county_server("taojiang")
    page = staff_page(browser, base, "county_it")
    page.goto(base + "/registry/")
    assert "还没有导入数据" in page.inner_text("body")

    bad = tmp_path / "户籍-错误.csv"
    bad.write_text("公民身份号码,姓名,户号,迁入日期\n43092220200101123,甲,H1,2019-05-01\n", encoding="utf-8")
    page.select_option("#source", "household")
    page.set_input_files("#file", str(bad))
    page.click("form[enctype] button[type=submit]")
    errors = page.locator("table.ruxue-errors")
    assert "文件有错误，未导入任何数据" in page.inner_text("body") and "公民身份号码" in errors.inner_text()
    assert db.session.query(RegistryBatch).count() == 0
    page.screenshot(path=str(ARTIFACTS / "registry-01-refused.png"), full_page=True)

    good = tmp_path / "户籍.csv"
    good.write_text("公民身份号码,姓名,户号,迁入日期\n" + next_id(dt.date(2020, 1, 1), "430922") + ",甲,H1,2019-05-01\n",
                    encoding="utf-8")
    page.goto(base + "/registry/")
    page.select_option("#source", "household")
    page.set_input_files("#file", str(good))
    page.click("form[enctype] button[type=submit]")
    assert "已导入2026年度户籍数据1条" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "registry-02-imported.png"), full_page=True)
    page.click("a[href*='/registry/withdraw/']")
    assert "撤回第1批数据" in page.inner_text("body")
    page.click("text=返回")  # changing one's mind withdraws nothing
    db.session.expire_all()
    assert db.session.scalar(select(RegistryBatch.withdrawn_at)) is None
    page.click("a[href*='/registry/withdraw/']")
    page.click("form[action*='/registry/withdraw/'] button.btn-danger")
    assert "该批数据已撤回" in page.inner_text("body")
    db.session.expire_all()
    assert db.session.scalar(select(RegistryBatch.withdrawn_at)) is not None
    assert page.locator("a[href*='/registry/withdraw/']").count() == 0  # nothing left to withdraw twice
