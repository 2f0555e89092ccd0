"""学生信息查询 in a real browser: Anyi's three outcomes, and district staff deciding in the admin."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.parent_flow import ARTIFACTS, ParentFlow, go_back, new_page, staff_page, tiny_png
from tests.public_helpers import next_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PERIOD = "2026年安义县城区小学一年级网上预报"


def _register(rows):
    from app.extensions import db
    from app.services import registry

    text = "身份证号,姓名,户号,迁入日期,与户主关系\n" + "".join(",".join(r) + "\n" for r in rows)
    registry.import_extract(db.session, "household", 2026, "户籍.csv", text.encode("utf-8"))


def _decide(staff, base, child, decision, note=""):
    staff.goto(base + "/childlookupmodelview/list/")
    staff.locator("tr", has_text=child).locator("a[href*='/show/']").first.click()
    if note:
        staff.fill("#note", note)
    staff.click(f"button[value={decision}]")
    assert "已处理，已通知家长" in staff.inner_text("body")


def _family(browser, base, sms, name, phone, child, number):
    """A family signs in, adds the child with this ID number, applies and is sent to the lookup."""
    flow = ParentFlow(new_page(browser), base, name, sms, "360123")
    flow.login(phone)
    page = flow.page
    page.goto(base + "/my/children/add")
    page.fill("#name", child)
    page.fill("#id_number", number)
    page.click("main form button")
    flow.start(PERIOD, through_lookup=False)
    assert "/my/lookup/" in page.url and "学生信息查询" in page.inner_text("main")
    page.fill("#id_number", number)
    page.click("main form button")
    return flow


def test_anyi_child_lookup_three_outcomes(county_server, fresh_app, browser, tmp_path):
    from app.extensions import db
    from app.models import EnrollmentPeriod

    base = county_server("anyi")
    db.session.query(EnrollmentPeriod).filter_by(code="AY-P1").update({"child_lookup": True})
    db.session.commit()
    sms = fresh_app.extensions["ruxue_sms"]
    birth = dt.date(2020, 3, 1)
    matched, appealed, unknown = (next_id(birth, "360123") for _ in range(3))
    _register([(next_id(dt.date(1988, 1, 1), "360123"), "王建国", "H1", "2016-01-01", "户主"),
               (matched, "王小明", "H1", "2020-03-05", "子"),
               (next_id(dt.date(1990, 1, 1), "360123"), "赵丽", "H2", "2016-01-01", "户主"),
               (next_id(dt.date(1989, 1, 1), "360123"), "钱多", "H2", "2016-01-01", "夫"),
               (appealed, "钱小红", "H2", "2020-03-05", "女")])
    proof = tmp_path / "户口本.png"
    proof.write_bytes(tiny_png())

    # 1. found and right: confirmed, the application opens
    one = _family(browser, base, sms, "anyi-lookup-match", "13700006101", "王小明", matched)
    page = one.page
    text = page.inner_text("main")
    assert "已查询到学生户籍信息" in text and "王*明" in text and "王*国" in text and matched not in text
    one.shot("found")
    page.click("text=与实际情况相符")
    assert "/my/a/" in page.url
    go_back(page)  # back to the lookup and confirm again: the same application
    page.reload()
    assert "已确认" in page.inner_text("main")
    page.click("text=继续报名")
    assert "/my/a/" in page.url

    # 2. found, guardians not right: an appeal, approved by district staff in the admin
    two = _family(browser, base, sms, "anyi-lookup-appeal", "13700006102", "钱小红", appealed)
    page = two.page
    page.click("text=与实际情况不符")
    page.click("text=提交审核")  # nothing said, nothing sent: refused, nothing stored
    assert "请说明" in page.inner_text("main")
    page.locator("label.choice", has_text="钱*").locator("input").uncheck()
    page.fill("#statement", "父母离异，由母亲监护")
    page.set_input_files("#file-household_book", str(proof))
    two.shot("appeal")
    page.click("text=提交审核")
    assert "等待区县审核" in page.inner_text("main")
    staff = staff_page(browser, base, "bureau_reviewer")
    _decide(staff, base, "钱小红", "approve")
    staff.screenshot(path=str(ARTIFACTS / "child-lookup-staff-approved.png"), full_page=True)
    page.reload()
    assert "区县审核已通过" in page.inner_text("main")
    page.click("text=继续报名")
    assert "/my/a/" in page.url
    two._channel(channel="使用不动产权证入学")  # the guardians step: the approved guardian, from the register
    page.goto(page.url.rsplit("/", 1)[0] + "/guardians")
    assert "已根据户籍信息填写" in page.inner_text("main")
    assert page.input_value("#g0_name") == "赵丽" and page.input_value("#g1_name") == ""  # 钱多 was left out
    two.shot("guardians-from-register")

    # 3. not found: 入学登记, returned with a reason, sent again, approved
    three = _family(browser, base, sms, "anyi-lookup-register", "13700006103", "孙小北", unknown)
    page = three.page
    assert "未查询到学生信息" in page.inner_text("main")
    three.shot("not-found")
    page.click("a.button:has-text('入学登记')")
    page.set_input_files("#file-birth_certificate", str(proof))
    page.set_input_files("#file-household_book", str(proof))
    page.click("text=提交审核")
    assert "等待区县审核" in page.inner_text("main")
    _decide(staff, base, "孙小北", "return", "出生证明照片不清晰。")
    page.reload()
    assert "出生证明照片不清晰" in page.inner_text("main")
    page.click("text=修改并重新提交")
    page.set_input_files("#file-birth_certificate", str(proof))
    page.click("text=提交审核")
    assert "等待区县审核" in page.inner_text("main")
    _decide(staff, base, "孙小北", "approve")
    page.reload()
    page.click("text=继续报名")
    assert "/my/a/" in page.url
    three.shot("continued")
