"""生源类别 derived by the period's category rules (county data): shown on the preview and the
receipt, stored at submission, refused where a rule cannot apply, and used by allocation."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.public_helpers import post, section_values, submit
from tests.test_conditional_materials import EXAMPLES, _GRANDPARENT, _anyi_application, anyi  # noqa: F401


def _category(html: str) -> str | None:
    found = re.search(r'<dd id="category">([^<]*)</dd>', html)
    return found.group(1) if found else None


def test_anyi_s_category_follows_the_answers_on_the_preview_and_is_kept_at_submission(anyi):
    from app.extensions import db
    from app.models import Application
    from tests.public_helpers import fill

    client, application, channel, community, school_id = _anyi_application(anyi, "FC")
    token = fill(client, application, [school_id], community.id, channel.id)
    base = f"/my/a/{application.id}"
    assert _category(client.get(f"{base}/preview").get_data(as_text=True)) == "一类生源（房户一致）"
    # going back: the register is elsewhere, so it is a home without the household
    answers = {**section_values("property"), "household_here": "no"}
    assert post(client, f"{base}/property", answers).status_code == 302
    preview = client.get(f"{base}/preview").get_data(as_text=True)
    assert _category(preview) == "二类生源（有房无户）"
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    assert submit(client, application, token).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Application, application.id)
    assert stored.status == "submitted" and stored.category.code == "A2"
    receipt = client.get(f"{base}?receipt=1").get_data(as_text=True)
    assert _category(receipt) == "二类生源（有房无户）"
    from flask_babel import force_locale

    from app.services import categories

    with anyi.test_request_context("/"), force_locale("en"):  # an English reader reads the English name
        assert categories.shown(db.session, stored) == "Category 2: a home in the zone, registered elsewhere"


def test_the_grandparents_basis_reads_whether_the_kinship_still_needs_the_district_s_review(anyi):
    from tests.public_helpers import fill, next_id

    client, application, channel, community, school_id = _anyi_application(anyi, "ZF")
    fill(client, application, [school_id], community.id, channel.id)
    base = f"/my/a/{application.id}"
    answers = {**_GRANDPARENT, "grandparent_id": next_id(dt.date(1958, 5, 1)), "same_register": "no"}
    assert post(client, f"{base}/grand_property", answers).status_code == 302
    assert _category(client.get(f"{base}/preview").get_data(as_text=True)) == "三类生源（（外）祖父母房产，隔代亲属关系待区县审核）"
    answers["same_register"] = "yes"
    assert post(client, f"{base}/grand_property", answers).status_code == 302
    assert _category(client.get(f"{base}/preview").get_data(as_text=True)) == "三类生源（（外）祖父母房产）"


def test_a_change_after_submission_moves_the_application_to_the_category_its_answers_now_fit(app, db_session):
    """Shimen lets a family change a submitted application until the close; a date rule decides."""
    from app.models import Application, CategoryRule, EnrollmentPeriod
    from tests.conftest import parent_login
    from tests.public_helpers import fill
    from tests.test_family_pages import _token
    from tests.test_public_apply import _community, _school, _started

    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    rules = [CategoryRule(period=period, code="EARLY", name_zh="早迁入户籍", name_en="Registered early", rank=1, position=1,
                          conditions="household.registered_on <= {year-1}-12-31"),
             CategoryRule(period=period, code="LATE", name_zh="其他", name_en="Others", rank=2, position=2, conditions="")]
    db_session.add_all(rules)
    db_session.commit()
    try:
        parent = parent_login(app)
        application = _started(parent, db_session)
        fill(parent, application, [_school(db_session, "SM-X5").id], _community(db_session).id)
        base = f"/my/a/{application.id}"
        assert _category(parent.get(f"{base}/preview").get_data(as_text=True)) == "早迁入户籍"  # registered 2019-05-01
        assert submit(parent, application, _token(parent, application)).status_code == 302
        db_session.expire_all()
        assert db_session.get(Application, application.id).category.code == "EARLY"
        later = {**section_values("household"), "registered_on": f"{period.year}-03-01"}
        assert post(parent, f"{base}/household", later).status_code == 302
        db_session.expire_all()
        stored = db_session.get(Application, application.id)
        assert stored.status == "submitted" and stored.category.code == "LATE"
        assert _category(parent.get(base).get_data(as_text=True)) == "其他"
    finally:
        db_session.rollback()
        for rule in db_session.scalars(select(CategoryRule).where(CategoryRule.period_id == period.id)):
            db_session.delete(rule)
        db_session.commit()


@pytest.mark.parametrize("conditions,words", [
    ("channel = XX", "该批次没有报名类别 XX"),
    ("property.owner_nam = guardian", "没有表单分组含有字段 property.owner_nam"),
    ("channel <= FC", "比较报名类别，请使用 = 或 !="),
    ("property.owner <= {year}-01-01", "不是日期字段"),
    ("household.registered_on <= 2026-13-01", "不是日期"),
    ("just words", "不是“左边 = 值”的格式"),
])
def test_a_rule_that_cannot_apply_is_refused_in_the_admin_with_nothing_stored(anyi, conditions, words):
    from app.extensions import db
    from app.models import CategoryRule, EnrollmentPeriod
    from tests.conftest import PASSWORD, login

    client = login(anyi.test_client(), "county_it", PASSWORD)
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "AY-P1"))
    before = db.session.query(CategoryRule).count()
    assert client.get("/categoryrulemodelview/add").status_code == 200
    answer = client.post("/categoryrulemodelview/add", data={
        "csrf_token": csrf_token(client, "/categoryrulemodelview/add"), "period": period.id, "code": "BAD", "name_zh": "坏规则",
        "name_en": "", "rank": "1", "position": "9", "conditions": conditions}, follow_redirects=True)
    assert answer.status_code in (200, 400) and words in answer.get_data(as_text=True)
    assert db.session.query(CategoryRule).count() == before


def test_a_county_file_with_a_rule_that_cannot_apply_is_refused_by_sheet_row_and_column(anyi, tmp_path):
    import json

    from app.extensions import db
    from app.models import CategoryRule
    from app.services import county_io

    document = json.loads((EXAMPLES / "anyi.json").read_text(encoding="utf-8"))
    document["category_rules"][1]["conditions"] = "channel = FC\nproperty.househld_here = yes"
    path = tmp_path / "anyi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    before = {r.code: r.conditions for r in db.session.scalars(select(CategoryRule))}
    with pytest.raises(county_io.CountyImportError) as refused:
        county_io.import_file(db.session, path)
    text = str(refused.value)
    assert "生源类别规则" in text and "property.househld_here" in text and "条件" in text
    db.session.rollback()
    assert {r.code: r.conditions for r in db.session.scalars(select(CategoryRule))} == before


def test_allocation_by_category_places_category_1_before_an_older_child_of_category_2(anyi):
    from app.extensions import db
    from app.models import Application, CategoryRule, EnrollmentPeriod
    from app.services import allocation, allocation_runs

    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "AY-P1"))
    assert allocation_runs.keys_of(period)[0] == "category"
    client, first, channel, community, school_id = _anyi_application(anyi, "FC")
    from tests.public_helpers import fill

    token = fill(client, first, [school_id], community.id, channel.id)
    assert submit(client, first, token).status_code == 302
    db.session.expire_all()
    first = db.session.get(Application, first.id)
    rules = {r.code: r for r in db.session.scalars(select(CategoryRule).where(CategoryRule.period_id == period.id))}
    assert first.category_id == rules["A1"].id
    [found] = allocation_runs.applicants(db.session, period, allocation_runs.keys_of(period), Application.id == first.id)
    assert found.category_rank == 1
    older_of_category_2 = allocation.Applicant(id=0, number="0", choices=found.choices, channel_priority=1,
                                               birth_date=dt.date(2019, 9, 1), category_rank=2)
    keys = allocation_runs.keys_of(period)
    school = found.choices[0]
    assert allocation.priority_key(found, school, keys, 5) < allocation.priority_key(older_of_category_2, school, keys, 1)
