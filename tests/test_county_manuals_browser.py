"""What each county's manual asks beyond the main flow, walked in headless Chromium on a phone:
Shimen's 暂存, 招生范围 and 调剂, Dengfeng's agreement, states and 删除, Anyi's grandparents' basis."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.services.ids import make_resident_id
from tests.parent_flow import ParentFlow, go_back, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _step(page) -> str:
    return page.url.rstrip("/").split("/")[-1]


def _latest(child_name):
    from app.extensions import db
    from app.models import Application, Child

    db.session.expire_all()
    return db.session.scalar(select(Application).join(Child).where(Child.name == child_name)
                             .order_by(Application.id.desc()))


def test_shimen_keeps_a_half_filled_step_shows_the_catchment_and_places_an_underage_child(county_server, fresh_app, browser):
    from app.extensions import db
    from app.models import EnrollmentPeriod
    from app.services.clock import local_now

    base = county_server("shimen")
    page = new_page(browser)
    flow = ParentFlow(page, base, "shimen-manual", fresh_app.extensions["ruxue_sms"])
    page.goto(base + "/")
    assert "各校招生咨询电话" in page.inner_text("main")
    flow.login("13700005001")
    flow.add_child("钱小雪", dt.date(2020, 4, 4), 501)
    picker = page.locator("select[name=period_id]").first
    assert picker.input_value() == ""  # nothing preselected: the parent picks the public or the private school
    flow.start("2026年城区小学一年级新生入学")
    flow._channel(channel="有户有房")
    flow._community(community="宝塔社区")
    assert _step(page) == "choices"
    catchment = page.inner_text("main")
    assert "招生范围" in catchment and "宝塔社区" in catchment.split("招生范围", 1)[1]
    flow.shot("catchment")
    flow._choices()

    # 暂存: a half-filled section is kept as typed, unchecked, and comes back after a reload
    section = _step(page)
    first = page.locator("main form input:not([type=hidden])").first
    first.fill("宝塔街道澧浦路3号")
    page.click("text=暂存")
    assert "已暂存" in page.inner_text("main")
    page.reload()
    assert page.locator("main form input:not([type=hidden])").first.input_value() == "宝塔街道澧浦路3号"
    assert "以下为暂存内容，尚未保存" in page.inner_text("main")
    flow.shot("kept")
    assert section not in (_latest("钱小雪").section_data or {})

    # the second time it is saved whole and checked, then the flow goes on to the preview
    steps = flow.fill_steps()
    assert steps[0] == section and steps[-1] == "preview"
    flow.submit()
    application = _latest("钱小雪")
    assert application.status == "submitted"
    page.goto(base + "/my")
    listing = page.inner_text("main")
    assert "正在审核中" in listing and "报名截止" in listing
    flow.shot("my-list")

    # 不足龄: the zone school takes none, so the bureau's placement is offered in its place
    underage = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1U"))
    underage.opens_at = local_now() - dt.timedelta(hours=1)
    db.session.commit()
    flow.add_child("钱小雨", dt.date(2020, 10, 15), 502)
    flow.start("2026年城区小学不足龄儿童入学", child="钱小雨")
    flow._channel()
    flow._community(community="澧阳社区")
    text = page.inner_text("main")
    assert "可申请调剂到次近或再次近有学位的公办学校" in text
    offered = page.locator("#choice_1 option").all_inner_texts()
    assert any("教育局调剂" in option for option in offered), offered
    flow.shot("underage-placement")
    flow._choices()
    assert _latest("钱小雨").choices[0].school.code != "SM-X1"


def test_dengfeng_agreement_ages_states_edit_and_delete(county_server, fresh_app, browser):
    from app.extensions import db
    from app.models import Notice

    base = county_server("dengfeng")
    agreement = db.session.scalar(select(Notice).where(Notice.code == "DF-N1"))
    agreement.wait_seconds = 4  # the 30 s of the county's file are walked by the main flow
    db.session.commit()
    page = new_page(browser)
    flow = ParentFlow(page, base, "dengfeng-manual", fresh_app.extensions["ruxue_sms"], "410185")
    flow.login("13700005101", agree=False)
    assert "/my/consent" in page.url
    button = page.locator("#agree")
    assert button.inner_text() == "我已阅读并继续" and button.is_disabled()
    assert "4" in page.locator("#wait").inner_text()
    flow.shot("agreement-waiting")
    page.check("input[name=agree]")
    page.locator("#agree:not([disabled])").wait_for(timeout=10000)
    page.click("#agree")
    assert "/my/consent" not in page.url

    # ages the period cannot take are refused when the child is added, in the manual's words
    flow.add_child("孙小小", dt.date(2021, 3, 1), 511)
    assert "学生年龄不足，无须采集" in page.inner_text("main")
    flow.shot("too-young")
    flow.add_child("孙大大", dt.date(2012, 3, 1), 512)
    assert "学生年龄超过上学年龄，请确认是否填写有误" in page.inner_text("main")
    flow.add_child("孙中中", dt.date(2016, 3, 1), 514)  # between grade 1's and grade 7's windows
    assert "学生年龄不符合今年任何批次的要求" in page.inner_text("main")
    flow.add_child("孙小禾", dt.date(2020, 1, 20), 513)
    flow.start("2026年登封市城区小学一年级新生信息采集")
    flow.fill_steps(channel="城区新生信息采集", community="玉溪社区")
    flow.submit()
    application = _latest("孙小禾")
    assert application.status == "submitted"

    # 审核中 with 修改 and 删除; a change after submission goes on the timeline
    page.goto(base + "/my")
    card = page.locator("main section.card", has_text=application.number)
    assert "审核中" in card.inner_text() and card.locator("text=删除").count() == 1
    card.locator("text=修改信息").click()
    page.goto(f"{base}/my/a/{application.id}/household")
    address = page.locator("#address")
    address.fill("嵩阳街道中岳大街72号")
    page.click("main form button >> nth=0")
    page.goto(f"{base}/my/a/{application.id}")
    assert "提交后修改：户籍信息" in page.inner_text("main")
    flow.shot("amended-timeline")

    # 删除 is asked first; 返回 deletes nothing; confirmed, the child may start again
    page.goto(base + "/my")
    page.locator("main section.card", has_text=application.number).locator("text=删除").click()
    assert "确定删除报名" in page.inner_text("main")
    flow.shot("delete-confirm")
    page.click("text=返回")
    assert _latest("孙小禾").status == "submitted"
    page.locator("main section.card", has_text=application.number).locator("text=删除").click()
    page.click("main form button.danger")
    assert f"报名（{application.number}）已删除。" in page.inner_text("main")
    assert _latest("孙小禾").status == "withdrawn"
    flow.shot("deleted")
    # going back to the question: asked again it is not; the parent reads why
    go_back(page)
    assert "该报名已删除或已撤回" in page.inner_text("main") and page.locator("button.danger").count() == 0
    assert _latest("孙小禾").status == "withdrawn"
    page.goto(base + "/my")
    flow.start("2026年登封市城区小学一年级新生信息采集")
    assert _latest("孙小禾").status == "draft"


def test_anyi_grandparents_property_asks_the_grandparent_and_the_kinship_proof(county_server, fresh_app, browser):
    base = county_server("anyi")
    page = new_page(browser)
    flow = ParentFlow(page, base, "anyi-grandparents", fresh_app.extensions["ruxue_sms"], "360123")
    flow.login("13700005201")
    flow.add_child("吴小安", dt.date(2019, 10, 8), 521)
    flow.start("2026年安义县城区小学一年级网上预报")
    flow._channel(channel="使用（外）祖父母房产入学")
    groups = page.locator("#community_id optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert any("新建区" in g for g in groups) and any("安义县" in g for g in groups), groups
    flow._community(community="阳湖村")
    flow._choices()
    seen = []
    while _step(page) != "grand_property":
        seen.append(_step(page))
        assert len(seen) < 8, seen
        getattr(flow, "_" + _step(page), flow._section)()
    main = page.inner_text("main")
    assert "（外）祖父母姓名" in main and "（外）祖父母身份证号" in main and "产权人（父母一方）" not in main
    flow.shot("grand-property")

    def grandparent(same_register):
        page.select_option("#relation", "grandfather")
        page.fill("#grandparent_name", "吴建国")
        page.fill("#grandparent_id", make_resident_id("360123", dt.date(1958, 5, 1), 41))
        page.select_option("#kind", "real_estate")
        page.fill("#certificate_no", "赣(2012)安义县不动产权第0001234号")
        page.fill("#address", "龙津镇凤山路8号")
        page.select_option("#same_register", same_register)
        page.click("main form button >> nth=0")

    grandparent("no")  # the register does not show the kinship: the proof is asked
    steps = flow.fill_steps()
    assert "materials" in steps
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/materials")
    assert "隔代亲属关系证明" in page.inner_text("main")
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/preview")
    assert "请上传" not in page.inner_text("main")
    assert page.inner_text("#category") == "三类生源（（外）祖父母房产，隔代亲属关系待区县审核）"  # 生源类别, by the county's rules
    flow.shot("preview-with-proof")

    # going back: the register shows the kinship, so no proof is asked any more
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/grand_property")
    grandparent("yes")
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/materials")
    assert "隔代亲属关系证明" not in page.inner_text("main")
    # and back again: asked once more, and the proof uploaded before still counts
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/grand_property")
    grandparent("no")
    page.goto(f"{base}/my/a/{_latest('吴小安').id}/preview")
    assert "隔代亲属关系证明" in page.inner_text("main")
    flow.submit()
    application = _latest("吴小安")
    assert application.status == "submitted"
    assert application.section_data["grand_property"]["grandparent_name"] == "吴建国"
    assert application.category.code == "A4" and page.inner_text("#category") == application.category.name_zh
    flow.shot("submitted")


def test_taojiang_s_verifiable_channel_shows_what_the_records_confirm(county_server, fresh_app, browser):
    """系统可查验: after the submit the worker compares the household and the property with the
    departments' extracts; the parent reads the outcome under each section."""
    import csv
    import io

    from app.extensions import db
    from app.services import registry, verification

    base = county_server("taojiang")
    page = new_page(browser)
    flow = ParentFlow(page, base, "taojiang-records", fresh_app.extensions["ruxue_sms"], "430922")
    flow.apply("13700005301", "郑小可", dt.date(2020, 2, 2), 531, "桃花江镇小学一年级新生报名",
               channel="父母在城区有房产的子女", community="株木潭社区")
    flow.submit()
    application = _latest("郑小可")
    assert "正在与登记信息核验" in page.inner_text("main")

    def sheet(rows):
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode("utf-8")

    father = application.section_data["guardians"]["guardians"][0]
    registry.import_extract(db.session, "household", 2026, "户籍.csv", sheet([
        ["公民身份号码", "姓名", "户号", "社区", "迁入日期"],
        [application.child.id_number, "郑小可", "H1", "株木潭社区", "2018-09-01"]]))  # the register says another date
    registry.import_extract(db.session, "property", 2026, "房产.csv", sheet([
        ["不动产权证号", "权利人身份证号", "权利人", "坐落", "社区"],
        [application.section_data["property"]["certificate_no"].upper(), father["id_number"], father["name"], "株木潭路1号", "株木潭社区"]]))
    verification.refresh_stale(db.session, registry.source_for(fresh_app, db.session))
    page.reload()
    text = page.inner_text("main")
    assert "与部门登记信息一致" in text  # the property
    assert "与部门登记信息不一致：学生户籍迁入日期（填写：2019-03-01；登记：2018-09-01）" in text
    assert page.locator("p.check.mismatch").count() == 1 and page.locator("p.check.verified").count() == 1
    flow.shot("records-checked")
