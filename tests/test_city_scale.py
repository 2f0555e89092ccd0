"""The bureau's screens at a city's size: statements per page, exports that stream exactly their
list, no 500 from any list URL, formulas kept as text."""
from __future__ import annotations

import csv
import io
import re
import threading

import pytest
from sqlalchemy import event, func, select

from app.models import Application, Channel, Child, ExportJob
from tests.conftest import csrf_token, login

LIST = "/applicationmodelview/list/"


def statements(engine, call):
    """(response, SQL statements the request ran)."""
    seen = []

    def count(*_):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return response, len(seen)


@pytest.mark.parametrize("size", [25, 100])
def test_the_list_costs_a_few_statements_at_any_page_size(engine, bureau_client, school_client, size):
    for client in (bureau_client, school_client):
        response, n = statements(engine, lambda: client.get(f"{LIST}?psize_ApplicationModelView={size}"))
        assert response.status_code == 200
        assert n <= 10, n


def test_the_dashboard_aggregates_in_a_few_statements(engine, bureau_client, db_session):
    from app.models import EnrollmentPeriod

    period = db_session.scalar(select(EnrollmentPeriod.id).where(EnrollmentPeriod.code == "SM-P1"))
    for url in ("/dashboard/", f"/dashboard/?period={period}"):
        response, n = statements(engine, lambda: bureau_client.get(url))
        assert response.status_code == 200 and n <= 10, (url, n)


def test_the_dashboard_counts_once_per_minute_and_says_when(app, engine, bureau_client, db_session):
    from app.extensions import cache

    def clear():  # the suite's app's own cache: other tests build apps of their own
        with app.app_context():
            cache.clear()

    clear()
    first, counted = statements(engine, lambda: bureau_client.get("/dashboard/"))
    again, reused = statements(engine, lambda: bureau_client.get("/dashboard/"))
    assert first.status_code == again.status_code == 200
    assert reused <= counted - 4, (counted, reused)  # the four GROUP BY statements are not run again
    stamp = re.search(r"统计于 (\d\d:\d\d:\d\d)", first.get_data(as_text=True))
    assert stamp and stamp.group(1) in again.get_data(as_text=True)
    assert "最多每 60 秒重新统计一次" in again.get_data(as_text=True)
    clear()  # the next count sees what changed since
    assert statements(engine, lambda: bureau_client.get("/dashboard/"))[1] == counted


def test_a_long_list_counts_up_to_its_limit(app, bureau_client, db_session):
    visible = db_session.scalar(select(func.count()).where(Application.status != "draft"))
    limit = 10
    assert visible > 3 * limit
    app.config["LIST_COUNT_LIMIT"] = limit
    try:
        html = bureau_client.get(f"{LIST}?psize_ApplicationModelView=5").get_data(as_text=True)
        assert re.search(r"</strong>\s*10\+", html), "the count says there are more than the limit"
        page2 = bureau_client.get(f"{LIST}?psize_ApplicationModelView=5&page_ApplicationModelView=1")
        assert page2.status_code == 200 and len(re.findall(r'name="rowid"', page2.get_data(as_text=True))) == 5
        app.config["LIST_COUNT_LIMIT"] = visible + 5
        html = bureau_client.get(LIST).get_data(as_text=True)
        assert re.search(rf"</strong>\s*{visible}\s*<", html), "under the limit the count is exact"
    finally:
        app.config["LIST_COUNT_LIMIT"] = 1000


def test_the_apps_postgresql_connections_run_without_jit(engine, monkeypatch):
    from config import engine_options

    assert engine_options("postgresql://x@h/db")["connect_args"]["options"] == "-c jit=off"
    kept = engine_options("postgresql://x@h/db?options=-csearch_path%3Dmine")["connect_args"]["options"]
    assert kept == "-csearch_path=mine -c jit=off"  # the URL's own options still apply
    monkeypatch.setenv("DB_JIT", "server")
    assert "options" not in engine_options("postgresql://x@h/db")["connect_args"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"


def test_dashboard_counts_match_the_table(app, db_session):
    from app.services.dashboard import figures

    with app.app_context():
        data = figures(db_session)
    by_status = dict(db_session.execute(select(Application.status, func.count()).where(Application.status != "draft")
                                        .group_by(Application.status)).all())
    assert dict(data.statuses) == by_status
    assert sum(n for _, n in data.per_day) == db_session.scalar(
        select(func.count()).where(Application.status != "draft", Application.submitted_at.is_not(None)))
    assert sum(sum(c.values()) for c in data.channels.values()) == sum(by_status.values())


@pytest.mark.parametrize("query", [
    "_flt_2_allocated_school=abc",
    "_flt_1_flags=abc",
    "_flt_0_submitted_at=not-a-date",
    "_flt_99_status=x",
    "_flt_0_nonexistent=1",
    "_oc_ApplicationModelView=number;select 1&_od_ApplicationModelView=asc",
    "_oc_ApplicationModelView=number&_od_ApplicationModelView=sideways",
    "page_ApplicationModelView=99999999999999999999",
    "page_ApplicationModelView=-1",
    "psize_ApplicationModelView=abc",
])
def test_no_list_url_gives_a_500(bureau_client, query):
    response = bureau_client.get(f"{LIST}?{query}", follow_redirects=True)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and 'class="alert' in html  # a message says what was ignored


def test_page_size_is_clamped(bureau_client, db_session):
    html = bureau_client.get(f"{LIST}?psize_ApplicationModelView=-5", follow_redirects=True).get_data(as_text=True)
    rows = len(re.findall(r'name="rowid"', html))
    assert 1 <= rows <= 100
    html = bureau_client.get(f"{LIST}?psize_ApplicationModelView=100000").get_data(as_text=True)
    assert len(re.findall(r'name="rowid"', html)) <= 100


def _csv_rows(response):
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))[1:]


def test_exports_hold_exactly_their_own_filters_even_at_the_same_time(app, db_session):
    """Two users export at once with different filters; each file is its own list."""
    bureau, county_it = login(app.test_client(), "bureau_reviewer"), login(app.test_client(), "county_it")
    rejected = db_session.scalar(select(func.count()).where(Application.status == "rejected"))
    every = db_session.scalar(select(func.count()).where(Application.status != "draft"))
    index = _status_filter_index(app)
    results = {}

    def run(name, client, url):
        for _ in range(5):
            results.setdefault(name, []).append(len(_csv_rows(client.get(url))))

    threads = [threading.Thread(target=run, args=("filtered", county_it, f"/applicationmodelview/export.csv?_flt_{index}_status=rejected")),
               threading.Thread(target=run, args=("all", bureau, "/applicationmodelview/export.csv"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["filtered"] == [rejected] * 5 and results["all"] == [every] * 5


def _status_filter_index(app) -> int:
    from app.extensions import appbuilder
    from app.views.review import ApplicationModelView

    view = next(v for v in appbuilder.baseviews if isinstance(v, ApplicationModelView))
    names = [type(f).__name__ for f in view._new_filters()._all_filters["status"]]
    return names.index("FilterEqual")


def test_an_export_runs_a_fixed_number_of_statements(engine, bureau_client):
    response, n = statements(engine, lambda: bureau_client.get("/applicationmodelview/export.csv"))
    assert response.status_code == 200 and len(_csv_rows(response)) > 50
    assert n <= 10, n


def test_formulas_in_names_stay_text(app, db_session, bureau_client):
    from openpyxl import load_workbook

    application = db_session.scalar(select(Application).where(Application.status == "submitted").limit(1))
    child = db_session.get(Child, application.child_id)
    name, child.name = child.name, '=HYPERLINK("http://evil.example","点我")'
    db_session.commit()
    try:
        rows = _csv_rows(bureau_client.get("/applicationmodelview/export.csv"))
        cell = next(r[1] for r in rows if r[0] == application.number)
        assert cell.startswith("'=HYPERLINK")
        book = load_workbook(io.BytesIO(bureau_client.get("/applicationmodelview/export.xlsx").data))
        sheet = book.active
        row = next(r for r in sheet.iter_rows() if r[0].value == application.number)
        assert row[1].data_type == "s" and row[1].value.startswith("=HYPERLINK")  # text, not a live formula
    finally:
        child.name = name
        db_session.commit()


def test_a_large_export_becomes_a_job_with_progress_and_a_file_for_its_owner_only(app, db_session):
    from app.services import worker

    bureau, school = login(app.test_client(), "bureau_reviewer"), login(app.test_client(), "reviewer_SM-X5")
    app.config["EXPORT_INLINE_ROWS"] = {"csv": 10, "xlsx": 10}
    try:
        response = bureau.get("/applicationmodelview/export.xlsx")
    finally:
        app.config["EXPORT_INLINE_ROWS"] = {"csv": 250_000, "xlsx": 20_000}
    assert response.status_code == 302 and "/exports/" in response.headers["Location"]
    job_url = response.headers["Location"]
    assert "等待" in bureau.get(job_url).get_data(as_text=True)
    assert school.get(job_url).status_code == 404
    with app.app_context():
        from app.extensions import db

        done = worker.run_once(db.session, worker.Schedule(), clock=0.0)
        db.session.remove()
    assert done["exports"] == 1
    db_session.expire_all()
    job = db_session.scalar(select(ExportJob).order_by(ExportJob.id.desc()).limit(1))
    assert job.state == "done" and job.done == job.total > 10
    page = bureau.get(job_url).get_data(as_text=True)
    assert "下载" in page
    file = bureau.get(f"{job_url}/file")
    assert file.status_code == 200 and file.data[:2] == b"PK"
    assert school.get(f"{job_url}/file").status_code == 404


def test_school_reviewers_list_uses_an_exists_scope(app):
    from app.services import scope

    sql = str(select(Application.id).where(scope.visible_condition(1)).compile())
    assert "EXISTS" in sql and "application.status != " in sql


@pytest.mark.parametrize("url", ["/applicationmodelview/export.csv", "/auditlogmodelview/export.csv"])
def test_a_streamed_export_gives_its_database_connection_back(engine, admin_client, url):
    """A stream that ran on a closed view's session kept its connection (and on PostgreSQL an open
    transaction) until garbage collection: at a city's size the pool runs dry."""
    before = engine.pool.checkedout()
    response = admin_client.get(url)
    assert response.status_code == 200 and len(response.data) > 100
    assert engine.pool.checkedout() == before
