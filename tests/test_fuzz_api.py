"""The REST API fuzzed from its own OpenAPI description (schemathesis): no input gives a 500.

On an app and database of its own (the Shimen demo, as the suite's), because the fuzzer posts,
changes and deletes whatever the description allows and the rest of the suite must not see it.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import PASSWORD, separate_app

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("RUXUE_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from app.extensions import appbuilder, db
    from app.services import demo

    with separate_app(tmp_path_factory.mktemp("fuzz"), "fuzz") as application:
        demo.load_county(db.session, "shimen")
        demo.create_staff(appbuilder.sm, db.session, PASSWORD)
        reviewer = appbuilder.sm.find_user(username="bureau_reviewer")
        demo.make_applications(db.session, 30, reviewer.id, seed=3, storage=application.extensions["ruxue_storage"])
        yield application


def _bearer(application, username: str) -> dict:
    answer = application.test_client().post("/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db", "refresh": False})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {"Authorization": "Bearer " + answer.get_json()["access_token"]}


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_app):
    return _bearer(fuzz_app, "county_it")


@pytest.fixture(scope="module")
def api_schema(fuzz_app, fuzz_headers):
    return schemathesis.openapi.from_wsgi("/api/v1/_openapi", fuzz_app, headers=fuzz_headers)


def test_no_api_input_gives_a_server_error(api_schema, fuzz_headers):
    """Every operation of the description, EXAMPLES generated inputs each (bodies, paths, query
    strings of every shape the description allows and many it does not)."""
    from hypothesis import given

    failures: list = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20  # the description lists the API; an empty one would prove nothing

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=fuzz_headers)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.body, case.query, response.status_code,
                                 response.text[:300]))

        run()
    assert failures == [], failures[:5]
