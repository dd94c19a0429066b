"""Shared fixtures: a small region tree and staff users bound to its nodes."""

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# No timed assertions: on the shared machine (load 15+ on 2 cores) Hypothesis's per-example deadline and its
# "input generation is slow" check fail rules that are right (tests/care/test_children.py failed so once).
hypothesis_settings.register_profile("doudi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("doudi")


@pytest.fixture
def regions(db):
    """市 → two districts → a township each → a village each (plus a second village in A)."""
    from region_tree import build_regions

    return build_regions()


@pytest.fixture
def make_user(db):
    from doudi.accounts.services import create_staff_user

    def make(username, region, role="district_officer", password="Doudi-test-2020"):
        return create_staff_user(username=username, password=password, region=region, roles=[role])

    return make


@pytest.fixture(autouse=True)
def _audit_guard_for_flush(request):
    """Transactional tests end with a flush that must empty the audit table: lift the append-only
    guard just for that flush and restore it for the next test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )
    if not transactional:
        yield
        return
    from django.db import connection

    from doudi.audit.guards import install_guard, remove_guard

    request.getfixturevalue("transactional_db")
    install_guard(connection)
    yield
    remove_guard(connection)


@pytest.fixture(autouse=True, scope="session")
def _reports_read_the_primary():
    """The PostgreSQL run names a replica alias that mirrors the test database (make test-postgres),
    but a mirror is another connection and cannot see a test's uncommitted rows: reports read the
    primary in every test but the router's own (tests/core/test_replica.py turns this back on)."""
    from django.conf import settings

    settings.DOUDI_REPLICA_READS = False
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (Chinese): a test that switches to English must not
    leak it into the next test run by the same worker."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
