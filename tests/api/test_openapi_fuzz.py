"""Schemathesis over the OpenAPI document: no input makes the API answer 5xx, and every answer
(status code, content type, body) conforms to the schema the API publishes."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the database connection when a request starts and finishes unless it runs under
    the test client; these requests go through the plain WSGI handler, so do what the test client does (the
    test's transaction lives on that connection)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def auth_headers(admin, token_for):
    # A municipal administrator's token: the fuzzer reaches the write paths too, not only the 401s.
    return {"Authorization": f"Bearer {token_for(admin)}"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, auth_headers):
    # Not checked: that every schema-valid request succeeds. The contract and the services apply rules
    # a JSON Schema cannot say (year 0000, duplicate ids across households, a discharge before the
    # confirmation, a district code that is not a district) and answer them with a documented 422.
    case.call_and_validate(
        headers=auth_headers, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
