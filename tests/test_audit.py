"""The audit trail is complete: set-up changes from every door, exports, storage-browser reads."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import AuditLog, School
from tests.conftest import csrf_token
from tests.test_api import _token


def _rows_since(db_session, last_id: int, action_like: str = "%"):
    db_session.expire_all()
    return db_session.scalars(select(AuditLog).where(AuditLog.id > last_id, AuditLog.action.like(action_like))
                              .order_by(AuditLog.id)).all()


def _last_id(db_session) -> int:
    return db_session.scalar(select(func.coalesce(func.max(AuditLog.id), 0)))


def test_a_school_added_changed_and_deleted_in_the_admin_is_in_the_trail(county_it_client, admin_client, db_session):
    start = _last_id(db_session)
    token = csrf_token(county_it_client)
    response = county_it_client.post("/schoolmodelview/add", data={
        "district": "1", "code": "AUD-1", "name": "审计测试小学", "stage": "primary", "ownership": "public",
        "seats": "45", "csrf_token": token})
    assert response.status_code == 302
    school_id = db_session.scalar(select(School.id).where(School.code == "AUD-1"))
    response = county_it_client.post(f"/schoolmodelview/edit/{school_id}", data={
        "district": "1", "code": "AUD-1", "name": "审计测试小学", "stage": "primary", "ownership": "public",
        "seats": "60", "csrf_token": token})
    assert response.status_code == 302
    assert county_it_client.post(f"/schoolmodelview/delete/{school_id}", data={"csrf_token": token}).status_code == 302
    rows = _rows_since(db_session, start, "setup:%")
    assert [r.action for r in rows] == ["setup:add", "setup:update", "setup:delete"]
    assert all(r.actor == "county_it" and r.address and r.object.startswith(f"school {school_id}") for r in rows[1:])
    assert "seats" in rows[1].detail and "name" not in rows[1].detail  # only what changed
    listing = admin_client.get("/auditlogmodelview/list/").get_data(as_text=True)
    assert "设置变更（修改）" in listing and "设置变更（删除）" in listing


def test_changes_through_the_api_are_in_the_trail(app, db_session):
    start = _last_id(db_session)
    client = app.test_client()
    headers = _token(app, "county_it")
    body = {"district": 1, "code": "AUD-API", "name": "接口审计小学", "stage": "primary", "ownership": "public", "seats": 45}
    school_id = client.post("/api/v1/schools/", json=body, headers=headers).get_json()["id"]
    client.put(f"/api/v1/schools/{school_id}", json={"seats": 90}, headers=headers)
    client.delete(f"/api/v1/schools/{school_id}", headers=headers)
    rows = _rows_since(db_session, start, "setup:%")
    assert [(r.action, r.actor) for r in rows] == [("setup:add", "county_it"), ("setup:update", "county_it"),
                                                   ("setup:delete", "county_it")]


def test_a_refused_change_leaves_no_audit_row(county_it_client, db_session):
    start = _last_id(db_session)
    response = county_it_client.post("/schoolmodelview/add", data={
        "district": "1", "code": "AUD-NEG", "name": "负学位", "stage": "primary", "ownership": "public",
        "seats": "-5", "csrf_token": csrf_token(county_it_client)})
    assert response.status_code == 200  # the form again, with its message
    assert db_session.scalar(select(School).where(School.code == "AUD-NEG")) is None
    assert _rows_since(db_session, start, "setup:%") == []


def test_a_county_file_import_is_recorded_as_counts(app, db_session):
    from app.extensions import db
    from app.services import county_io

    with app.app_context():
        doc = county_io.export_rows(db.session)
        template = doc["schools"][0]
        doc["schools"] += [{**template, "code": f"AUD-F{i}", "name": f"导入审计学校{i}"} for i in range(60)]
        start = _last_id(db_session)
        county_io.import_rows(db.session, county_io.read_json(county_io.to_json(doc)))
    rows = [r for r in _rows_since(db_session, start, "setup:%") if r.object.startswith("school")]
    # one row for the sixty, not sixty rows (the suite's review windows, set to the microsecond,
    # come back from the file to the second: those periods show as changed, one row each)
    assert [(r.action, r.object, r.detail) for r in rows] == [("setup:add", "school", "60 rows")]
    with app.app_context():
        db.session.query(School).filter(School.code.like("AUD-F%")).delete(synchronize_session=False)
        db.session.commit()


def test_every_export_is_in_the_trail(bureau_client, db_session):
    start = _last_id(db_session)
    assert bureau_client.get("/applicationmodelview/export.csv?_flt_0_status=submitted").status_code == 200
    assert bureau_client.get("/applicationmodelview/export.xlsx").status_code == 200
    rows = _rows_since(db_session, start, "export:%")
    assert [r.action for r in rows] == ["export:csv", "export:xlsx"]
    assert rows[0].actor == "bureau_reviewer" and "rows" in rows[0].detail and "_flt_0_status=submitted" in rows[0].detail


def test_a_storage_browser_download_is_audited(app, db_session, county_it_client):
    from tests.test_storage import PDF, _attachment_for

    attachment = _attachment_for(app, db_session, "SM-X5", inside=True)
    start = _last_id(db_session)
    key = attachment.storage_key
    response = county_it_client.get(f"/storage/files/download/{key[:2]}/{key}")
    assert response.status_code == 200 and response.get_data() == PDF
    rows = _rows_since(db_session, start, "read:storage")
    assert len(rows) == 1 and rows[0].object == f"application {attachment.application_id}" and rows[0].actor == "county_it"


def test_the_purge_deletes_only_what_is_past_the_retention_in_batches(app, db_session):
    import datetime as dt

    from app.errors import UserError
    from app.extensions import db
    from app.services import audit
    from app.services.clock import local_now

    now = local_now()
    old = [AuditLog(at=now - dt.timedelta(days=200), actor="system", action="login", object=f"purge-old-{i}")
           for i in range(7)]
    young = AuditLog(at=now - dt.timedelta(days=170), actor="system", action="login", object="purge-young")
    db_session.add_all([*old, young])
    db_session.commit()
    with app.app_context():
        assert audit.purgeable(db.session, now) >= 7
        batches = list(audit.purge(db.session, now, batch=3))
    assert batches[:2] == [3, 3] and sum(batches) >= 7 and all(b <= 3 for b in batches)
    objects = set(db_session.scalars(select(AuditLog.object).where(AuditLog.object.like("purge-%"))))
    assert objects == {"purge-young"}
    assert db_session.scalar(select(AuditLog).where(AuditLog.action == "audit:purge").order_by(AuditLog.id.desc()))
    with app.app_context(), pytest.raises(UserError):
        next(audit.purge(db.session, now, days=30))


def test_the_purge_command_refuses_a_shorter_retention(app):
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--days", "30"])
    assert result.exit_code == 1 and "180" in result.output
    result = app.test_cli_runner().invoke(args=["audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "older than 180 days deleted" in result.output
