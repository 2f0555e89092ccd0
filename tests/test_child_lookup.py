"""学生信息查询 (Anyi's three outcomes) in a period that turns it on: found and confirmed, found
but the guardians appealed, not found and registered; district staff decide the requests."""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from app.services.ids import make_resident_id
from tests.conftest import parent_login
from tests.public_helpers import add_child, consent, next_id, post, start, tiny_png
from tests.test_registry import taojiang  # noqa: F401  (fixture)


def _family(app, in_register: bool):
    """A Taojiang family whose period looks children up; the child is on the register or not."""
    from app.extensions import db
    from app.models import Child, EnrollmentPeriod
    from app.services import registry

    birth = dt.date(2020, 3, 1)
    parent = parent_login(app)
    _, number = add_child(parent, birth, number=next_id(birth, "430922"))
    consent(parent)
    child = db.session.scalar(select(Child).where(Child.id_number == number))
    period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "TJ-P1"))
    period.child_lookup = True
    if in_register:
        father, mother = (make_resident_id("430922", born, sequence) for born, sequence in  # the sex digit: odd for a man
                          ((dt.date(1988, 5, 1), int(number[-4:-1]) * 2 % 1000 + 1), (dt.date(1990, 7, 1), int(number[-4:-1]) * 2 % 1000)))
        rows = (f"身份证号,姓名,户号,户籍地址,迁入日期,与户主关系\n{father},李大明,HH{number[-6:]},桃花江镇1号,2015-01-01,户主\n"
                f"{mother},周小兰,HH{number[-6:]},桃花江镇1号,2015-01-01,妻\n"
                f"{number},{child.name},HH{number[-6:]},桃花江镇1号,2020-03-10,子\n")
        registry.import_extract(db.session, "household", period.year, "household.csv", rows.encode())
    db.session.commit()
    return parent, child, period, number


def _registration_sent(app):
    """A family whose child is not on the register, with an 入学登记 and both its materials sent."""
    parent, child, period, number = _family(app, in_register=False)
    base = f"/my/lookup/{child.id}/{period.id}"
    post(parent, base, {"id_number": number})
    post(parent, f"{base}/request", {"birth_certificate": (io.BytesIO(tiny_png()), "birth.png"),
                                     "household_book": (io.BytesIO(tiny_png()), "hukou.png")}, content_type="multipart/form-data")
    return parent, child, period, number


def _guardians_step(parent, application_location):
    """Choose a category with a guardians step and open it; the page and the step's address."""
    from app.extensions import db
    from app.models import Application, Channel

    application = db.session.get(Application, int(application_location.split("/my/a/")[1].split("/")[0]))
    channel = db.session.scalar(select(Channel).where(Channel.period_id == application.period_id, Channel.code == "FC"))
    base = f"/my/a/{application.id}"
    assert post(parent, f"{base}/channel", {"channel_id": channel.id}).status_code == 302
    return parent.get(f"{base}/guardians").get_data(as_text=True), f"{base}/guardians"


def _lookup(child, period):
    from app.extensions import db
    from app.services import child_lookup

    db.session.expire_all()
    return child_lookup.find(db.session, child.id, period.id)


def test_found_and_confirmed_opens_the_application(taojiang):  # noqa: F811
    from app.extensions import db
    from app.models import Application

    parent, child, period, number = _family(taojiang, in_register=True)
    response = post(parent, "/my/apply", {"child_id": child.id, "period_id": period.id})
    assert "/my/lookup/" in response.headers["Location"]  # no application before the lookup
    assert db.session.scalar(select(Application).where(Application.child_id == child.id)) is None
    base = f"/my/lookup/{child.id}/{period.id}"
    wrong = post(parent, base, {"id_number": next_id(dt.date(2020, 4, 1), "430922")})
    assert wrong.status_code == 400 and "这不是所选学生的身份证号" in wrong.get_data(as_text=True)
    assert post(parent, base, {"id_number": number}).status_code == 302
    page = parent.get(base).get_data(as_text=True)
    assert "与实际情况相符" in page and "李*明" in page and number not in page  # masked
    confirmed = post(parent, f"{base}/confirm", {})
    assert "/my/a/" in confirmed.headers["Location"]
    again = post(parent, f"{base}/confirm", {})  # a double click resumes the same draft
    assert again.headers["Location"] == confirmed.headers["Location"]
    assert len(db.session.scalars(select(Application).where(Application.child_id == child.id)).all()) == 1


def test_the_guardians_step_is_filled_in_from_the_register_once_confirmed(taojiang):  # noqa: F811
    """系统自动提取学生以及监护人的户籍信息: the confirmed members, in full, with the phones left to add."""
    from app.extensions import db
    from app.models import AuditLog, Child

    parent, child, period, number = _family(taojiang, in_register=True)
    base = f"/my/lookup/{child.id}/{period.id}"
    post(parent, "/my/apply", {"child_id": child.id, "period_id": period.id})
    post(parent, base, {"id_number": number})
    page, step = _guardians_step(parent, post(parent, f"{base}/confirm", {}).headers["Location"])
    assert "已根据户籍信息填写" in page and "李大明" in page and "周小兰" in page and "桃花江镇1号" in page
    assert page.index('value="father" selected') < page.index('value="mother" selected')
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "read:registry", AuditLog.detail.like("guardians%")))
    ids = __import__("re").findall(r'name="g(\d)_id_number"[^>]*value="(\d{17}[\dX])"', page)
    form = {"g0_relation": "father", "g0_name": "李大明", "g0_id_number": ids[0][1], "g0_phone": "13800001111",
            "g0_household_address": "桃花江镇1号", "g1_relation": "mother", "g1_name": "周小兰", "g1_id_number": ids[1][1],
            "g1_phone": "13800002222", "g1_household_address": "桃花江镇1号"}
    assert post(parent, step, form).status_code == 302
    db.session.expire_all()
    assert sorted(g.name for g in db.session.get(Child, child.id).guardians) == ["周小兰", "李大明"]
    again = parent.get(step).get_data(as_text=True)  # what the family saved, not the register again
    assert "13800002222" in again and "已根据户籍信息填写" not in again


def test_guardian_appeal_waits_for_district_staff_then_continues(taojiang):  # noqa: F811
    from app.extensions import db
    from app.models import Application, Message
    from app.services import child_lookup
    from app.services.clock import local_now

    parent, child, period, number = _family(taojiang, in_register=True)
    base = f"/my/lookup/{child.id}/{period.id}"
    post(parent, base, {"id_number": number})
    empty = post(parent, f"{base}/request", {"statement": ""})  # nobody ticked, nothing said
    assert empty.status_code == 400 and "请说明" in empty.get_data(as_text=True)
    assert 'name="kept" value="0" checked' not in empty.get_data(as_text=True)  # the page keeps what was ticked
    missing = post(parent, f"{base}/request", {"statement": "单亲家庭"})
    assert missing.status_code == 400 and "户口本" in missing.get_data(as_text=True)
    assert _lookup(child, period).status == "looked_up" and not _lookup(child, period).files
    sent = post(parent, f"{base}/request", {"statement": "单亲家庭", "kept": "0",  # the father only
                                            "household_book": (io.BytesIO(tiny_png()), "hukou.png")},
                content_type="multipart/form-data")
    assert sent.status_code == 302 and _lookup(child, period).status == "pending"
    assert "/my/lookup/" in post(parent, "/my/apply", {"child_id": child.id, "period_id": period.id}).headers["Location"]  # waiting
    lookup = _lookup(child, period)
    refused = None
    try:
        child_lookup.decide(db.session, lookup.id, False, "", 1, local_now())
    except child_lookup.LookupRefused as error:
        refused = str(error.message)
    assert refused == "A reason is required." or "原因" in refused
    db.session.rollback()
    child_lookup.decide(db.session, lookup.id, True, "", 1, local_now())
    try:  # a second reviewer on the same request
        child_lookup.decide(db.session, lookup.id, False, "重复", 1, local_now())
        raise AssertionError("decided twice")
    except child_lookup.LookupRefused:
        db.session.rollback()
    assert db.session.scalar(select(Message).where(Message.account_id == child.account_id, Message.title == "学生信息审核通过"))
    opened = start(parent, child.id, period.id).headers["Location"]
    assert "/my/a/" in opened
    assert db.session.scalar(select(Application).where(Application.child_id == child.id)) is not None
    page, _ = _guardians_step(parent, opened)  # the approved appeal's guardians: the mother was left out
    assert "李大明" in page and "周小兰" not in page


def test_not_found_is_registered_returned_and_sent_again(taojiang):  # noqa: F811
    from app.extensions import db
    from app.services import child_lookup
    from app.services.clock import local_now

    parent, child, period, number = _family(taojiang, in_register=False)
    base = f"/my/lookup/{child.id}/{period.id}"
    post(parent, base, {"id_number": number})
    page = parent.get(base).get_data(as_text=True)
    assert "未查询到学生信息" in page and "入学登记" in page
    assert post(parent, f"{base}/confirm", {}).status_code == 302 and _lookup(child, period).status == "looked_up"
    files = {"birth_certificate": (io.BytesIO(tiny_png()), "birth.png"), "household_book": (io.BytesIO(tiny_png()), "hukou.png")}
    assert post(parent, f"{base}/request", files, content_type="multipart/form-data").status_code == 302
    lookup = _lookup(child, period)
    assert lookup.request == "registration" and len(lookup.files) == 2
    child_lookup.decide(db.session, lookup.id, False, "出生证明不清晰。", 1, local_now())
    assert "出生证明不清晰" in parent.get(base).get_data(as_text=True)
    again = post(parent, f"{base}/request", {"birth_certificate": (io.BytesIO(tiny_png()), "birth2.png")}, content_type="multipart/form-data")
    assert again.status_code == 302
    lookup = _lookup(child, period)
    assert lookup.status == "pending" and sorted(f.file_name for f in lookup.files) == ["birth2.png", "hukou.png"]


def test_district_staff_decide_in_the_admin_and_school_reviewers_may_not(taojiang):  # noqa: F811
    from app.extensions import db
    from app.models import AuditLog, School
    from tests.conftest import csrf_token, login

    parent, child, period, number = _registration_sent(taojiang)
    base = f"/my/lookup/{child.id}/{period.id}"
    lookup = _lookup(child, period)
    page = f"/childlookupmodelview/show/{lookup.id}"
    school = db.session.scalar(select(School).order_by(School.code))
    reviewer = login(taojiang.test_client(), f"reviewer_{school.code}")
    assert reviewer.get("/childlookupmodelview/list/").status_code in (302, 403)
    assert reviewer.get(page).status_code in (302, 403)
    county_it = login(taojiang.test_client(), "county_it")
    assert county_it.get(page).status_code == 200
    refused = county_it.post(f"/childlookupmodelview/decide/{lookup.id}",
                             data={"csrf_token": csrf_token(county_it, page), "decision": "approve"})
    assert refused.status_code in (302, 403) and _lookup(child, period).status == "pending"
    bureau = login(taojiang.test_client(), "bureau_reviewer")
    listed = bureau.get("/childlookupmodelview/list/").get_data(as_text=True)
    assert "入学登记" in listed and number not in listed
    shown = bureau.get(page).get_data(as_text=True)
    assert "出生医学证明" in shown or "出生证明" in shown
    file_id = lookup.files[0].id
    assert bureau.get(f"/childlookupmodelview/file/{lookup.id}/{file_id}").data == tiny_png()
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "read:lookup_file"))
    returned = bureau.post(f"/childlookupmodelview/decide/{lookup.id}",
                           data={"csrf_token": csrf_token(bureau, page), "decision": "return", "note": ""}, follow_redirects=True)
    assert "原因" in returned.get_data(as_text=True) and _lookup(child, period).status == "pending"
    approved = bureau.post(f"/childlookupmodelview/decide/{lookup.id}",
                           data={"csrf_token": csrf_token(bureau, page), "decision": "approve"}, follow_redirects=True)
    assert _lookup(child, period).status == "approved" and approved.status_code == 200
    twice = bureau.post(f"/childlookupmodelview/decide/{lookup.id}",
                        data={"csrf_token": csrf_token(bureau, page), "decision": "return", "note": "重复"}, follow_redirects=True)
    assert "已处理" in twice.get_data(as_text=True) and _lookup(child, period).status == "approved"


def test_lookups_of_past_cycles_are_purged_with_their_materials(taojiang):  # noqa: F811
    from app.extensions import db
    from app.models import AuditLog, ChildLookup

    parent, child, period, number = _registration_sent(taojiang)
    base = f"/my/lookup/{child.id}/{period.id}"
    keys = [f.storage_key for f in _lookup(child, period).files]
    storage = taojiang.extensions["ruxue_storage"]
    assert len(keys) == 2 and all(storage.exists(k) for k in keys)
    runner = taojiang.test_cli_runner()
    kept = runner.invoke(args=["registry", "purge", str(period.year)])  # this cycle stays
    assert "0 child lookups purged" in kept.output and _lookup(child, period) is not None
    gone = runner.invoke(args=["registry", "purge", str(period.year + 1)])
    assert gone.exit_code == 0 and "1 child lookups purged" in gone.output, gone.output
    db.session.expire_all()
    assert db.session.query(ChildLookup).count() == 0 and not any(storage.exists(k) for k in keys)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "child_lookup:purge"))
    page = parent.get(base).get_data(as_text=True)  # the family may look the child up again next cycle
    assert "查询" in page


def test_district_staffs_list_reads_the_requests_by_their_index(taojiang):  # noqa: F811
    """Every looked-up child of a city has a lookup row; the list shows only the few requests,
    longest waiting first, read from their own index rather than by sorting the whole table."""
    from sqlalchemy import event, text

    from app.extensions import db
    from tests.conftest import login

    _registration_sent(taojiang)
    bureau = login(taojiang.test_client(), "bureau_reviewer")
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if "FROM child_lookup" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert "入学登记" in bureau.get("/childlookupmodelview/list/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert seen, "the list page read no page of lookups"
    statement, parameters = seen[0]
    with db.engine.connect() as connection:
        raw = connection.connection.cursor()
        if db.engine.dialect.name == "postgresql":
            raw.execute("SET enable_seqscan = off")  # may the index serve this query at all?
            raw.execute("EXPLAIN " + statement, parameters)
        else:
            raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = " ".join(str(part) for row in raw.fetchall() for part in row)
        connection.rollback()
    assert "ix_child_lookup_requests" in plan, plan
