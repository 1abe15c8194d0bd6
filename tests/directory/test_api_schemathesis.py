"""schemathesis against the JSON API's OpenAPI description (issue 7's fuzzing).

The description is the one the site serves (/api/v1/openapi.json), loaded from the
Django WSGI application itself; every operation is called in-process with inputs
generated from it — valid and invalid (wrong types, out-of-range numbers, odd strings,
missing parameters) — on a small real directory. schemathesis's checks: no server
error, status codes and content types the description declares, response bodies valid
against its schemas, and the right status for inputs the description forbids.
"""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def directory(db, tmp_path):
    """A generated directory of 1,500 establishments (Paris and its suburbs)."""
    path = tmp_path / "stock.csv"
    call_command("generate_sirene", rows=1500, seed=7, out=str(path),
                 departements="75,92,93,94", no_progress=True, verbosity=0)
    call_command("import_sirene", str(path), verbosity=0)


@pytest.fixture
def in_process_requests():
    """Requests go straight to the WSGI application, inside the test's transaction: keep
    the connection open across them (what Django's test client does too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_openapi_description(case, directory, in_process_requests):
    case.call_and_validate()
