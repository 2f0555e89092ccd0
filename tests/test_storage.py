"""Document storage: local folder and S3 over real HTTP (moto's server), staff access, the browser."""
from __future__ import annotations

import hashlib
import urllib.request

import pytest
from sqlalchemy import select

from app.storage import LocalStorage, S3Storage, UploadError, check_upload, new_key
from tests.parent_flow import tiny_png

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    store = S3Storage("ruxue-test", s3_endpoint, "us-east-1", "test", "test")
    try:
        store.client.create_bucket(Bucket="ruxue-test")
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return store


@pytest.mark.parametrize(
    "data,kind", [(tiny_png(), "png"), (PDF, "pdf"), (JPEG, "jpeg")]
)
def test_type_comes_from_the_bytes(data, kind):
    checked = check_upload("scan.bin", data, "jpeg,png,pdf", 100)
    assert checked.kind == kind and checked.sha256 == hashlib.sha256(data).hexdigest()


def test_a_png_named_pdf_is_still_a_png_and_refused_where_only_pdf_is_accepted():
    with pytest.raises(UploadError):
        check_upload("contract.pdf", tiny_png(), "pdf", 100)


def test_keys_are_random_and_never_the_name():
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100 and all(len(k) == 32 for k in keys)


def test_local_round_trip_and_no_paths(tmp_path):
    store = LocalStorage(tmp_path)
    key = new_key()
    store.save(key, PDF, "application/pdf")
    assert store.read(key) == PDF and store.exists(key)
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ValueError):
        store.save("../../etc/passwd", b"x", "text/plain")


def test_s3_round_trip_over_http(s3):
    key = new_key()
    s3.save(key, PDF, "application/pdf")
    assert s3.read(key) == PDF and s3.exists(key)
    head = s3.client.head_object(Bucket="ruxue-test", Key=key)
    assert head["ContentType"] == "application/pdf"
    url = s3.presigned_url(key, seconds=60)
    assert "X-Amz-Expires=60" in url or "Expires=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == PDF
    s3.delete(key)
    assert not s3.exists(key)


def test_upload_through_the_service_to_s3_records_hash(app, s3, db_session):
    from app.models import Application, Attachment
    from app.services import uploads

    application = db_session.scalar(select(Application).where(Application.channel_id.is_not(None)).limit(1))
    material = application.channel.materials[0]
    before = db_session.query(Attachment).filter_by(application_id=application.id).count()
    attachment = uploads.add_attachment(db_session, s3, application, material.material_type_id, "户口簿.png", tiny_png())
    assert attachment.storage_key != "户口簿.png" and len(attachment.storage_key) == 32
    assert attachment.sha256 == hashlib.sha256(tiny_png()).hexdigest()
    assert s3.read(attachment.storage_key) == tiny_png()
    with pytest.raises(UploadError):
        uploads.add_attachment(db_session, s3, application, material.material_type_id, "x.gif", b"GIF89a")
    assert db_session.query(Attachment).filter_by(application_id=application.id).count() == before + 1
    uploads.remove_attachment(db_session, s3, application, attachment.id)
    assert not s3.exists(attachment.storage_key)


def _attachment_for(app, db_session, school_code: str, inside: bool):
    """An attachment (stored locally) of an application that does or does not list the school."""
    from app.models import Application, ApplicationChoice, School
    from app.services import uploads

    school = db_session.scalar(select(School).where(School.code == school_code))
    listed = select(ApplicationChoice.application_id).where(ApplicationChoice.school_id == school.id)
    query = select(Application).where(Application.status != "draft", Application.channel_id.is_not(None))
    query = query.where(Application.id.in_(listed) if inside else Application.id.not_in(listed))
    application = db_session.scalar(query.limit(1))
    material = application.channel.materials[0]
    return uploads.add_attachment(db_session, app.extensions["ruxue_storage"], application, material.material_type_id, "scan.pdf", PDF)


def test_staff_file_route_is_scoped(app, db_session, school_client, bureau_client, county_it_client):
    mine = _attachment_for(app, db_session, "SM-X5", inside=True)
    theirs = _attachment_for(app, db_session, "SM-X5", inside=False)
    response = school_client.get(f"/attachmentmodelview/file/{mine.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert school_client.get(f"/attachmentmodelview/file/{theirs.id}").status_code == 404
    assert bureau_client.get(f"/attachmentmodelview/file/{theirs.id}").status_code == 200
    assert app.test_client().get(f"/attachmentmodelview/file/{mine.id}").status_code in (302, 401, 403)


def test_staff_file_route_redirects_to_a_presigned_s3_url(app, db_session, bureau_client, s3):
    from app.models import Application
    from app.services import uploads

    application = db_session.scalar(select(Application).where(Application.channel_id.is_not(None)).limit(1))
    material = application.channel.materials[0]
    attachment = uploads.add_attachment(db_session, s3, application, material.material_type_id, "a.pdf", PDF)
    local = app.extensions["ruxue_storage"]
    app.extensions["ruxue_storage"] = s3
    try:
        response = bureau_client.get(f"/attachmentmodelview/file/{attachment.id}")
    finally:
        app.extensions["ruxue_storage"] = local
    assert response.status_code == 302
    with urllib.request.urlopen(response.headers["Location"]) as fetched:
        assert fetched.read() == PDF


def test_storage_browser_only_for_county_it(app, db_session, role_clients):
    attachment = _attachment_for(app, db_session, "SM-X5", inside=True)
    for role, allowed in (("Admin", True), ("CountyIT", True), ("BureauReviewer", False), ("SchoolReviewer", False)):
        response = role_clients[role].get("/storage/files/")
        assert response.status_code == (200 if allowed else 403), role
    html = role_clients["CountyIT"].get(f"/storage/files/b/{attachment.storage_key[:2]}").get_data(as_text=True)
    assert attachment.storage_key in html
    assert app.test_client().get("/storage/files/").status_code == 403
    menu = role_clients["CountyIT"].get("/admin/").get_data(as_text=True)
    assert "/storage/files/" in menu and "证明材料存储" in menu
    assert "/storage/files/" not in role_clients["SchoolReviewer"].get("/admin/").get_data(as_text=True)


def test_storage_browser_cannot_change_files(app, county_it_client):
    from tests.conftest import csrf_token

    response = county_it_client.post("/storage/files/delete/", data={"path": "x", "csrf_token": csrf_token(county_it_client)})
    assert response.status_code in (302, 403, 404)
    assert county_it_client.get("/storage/files/upload/").status_code in (302, 403, 404)


def test_an_s3_outage_answers_busy_and_leaves_nothing_half_written(app, parent, db_session, caplog):
    """The store goes down between two uploads (its server really stops): the parent reads the
    busy page with Retry-After, no attachment row is left without its file, and removing a file
    still works (the row goes; the file left behind is logged by key)."""
    from moto.server import ThreadedMotoServer

    from app.models import Application, Attachment
    from tests.public_helpers import post, upload
    from tests.test_public_apply import _started

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    store = S3Storage("ruxue-outage", f"http://{host}:{port}", "us-east-1", "test", "test", connect_timeout=1, read_timeout=2)
    store.client.create_bucket(Bucket="ruxue-outage")
    local = app.extensions["ruxue_storage"]
    app.extensions["ruxue_storage"] = store
    try:
        application = _started(parent, db_session)
        post(parent, f"/my/a/{application.id}/channel", {"channel_id": application.period.channels[0].id})
        db_session.expire_all()
        material = db_session.get(Application, application.id).channel.materials[0]
        assert upload(parent, application, material.material_type_id).status_code == 302
        kept = db_session.scalar(select(Attachment).where(Attachment.application_id == application.id))
        assert parent.get(f"/my/a/{application.id}/file/{kept.id}").data == tiny_png()
        server.stop()

        busy = upload(parent, application, material.material_type_id)
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert "系统繁忙，请稍后再试" in busy.get_data(as_text=True)
        assert db_session.query(Attachment).filter_by(application_id=application.id).count() == 1
        shown = parent.get(f"/my/a/{application.id}/file/{kept.id}")
        assert shown.status_code == 503 and "系统繁忙" in shown.get_data(as_text=True)
        assert parent.get(f"/my/a/{application.id}/materials").status_code == 200  # the form itself still works
        removed = post(parent, f"/my/a/{application.id}/file/{kept.id}/delete")
        assert removed.status_code in (302, 303)
        assert db_session.query(Attachment).filter_by(application_id=application.id).count() == 0
        assert kept.storage_key in caplog.text and "unavailable" in caplog.text
        assert application.child.id_number not in caplog.text
    finally:
        app.extensions["ruxue_storage"] = local
        server.stop()


def test_the_storage_browser_answers_busy_when_s3_is_down(app):
    """County IT opens the storage browser while the bucket's server refuses connections."""
    import socket

    from app import create_app
    from tests.conftest import SuiteConfig, _buffered_clients, login

    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        refused = probe.getsockname()[1]

    class S3Down(SuiteConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]  # the suite's database and users
        STORAGE_BACKEND = "s3"
        S3_BUCKET = "ruxue-down"
        S3_ENDPOINT_URL = f"http://127.0.0.1:{refused}"
        S3_ACCESS_KEY_ID = S3_SECRET_ACCESS_KEY = "test"
        S3_CONNECT_TIMEOUT = 1

    down = _buffered_clients(create_app(S3Down))
    county_it = login(down.test_client(), "county_it")
    response = county_it.get("/storage/files/")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "系统繁忙，请稍后再试" in response.get_data(as_text=True)
