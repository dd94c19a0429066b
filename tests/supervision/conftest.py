"""Shared fixtures of the supervision tests: the audit review's people; the figures' tests' payroll world
(tests/reports/world.py's two paid months with the figures refreshed) and supervisors bound to the city
and to each district (`supervisors_for` is imported by tests that build their own world)."""

from __future__ import annotations

import pytest

from benefits.support import _fast_password_hashing, _fresh_cache  # noqa: F401


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


@pytest.fixture
def people(regions, make_user):
    r = regions
    return type(
        "People",
        (),
        {
            "sup": make_user("sup", r.city, "municipal_supervisor"),
            "sup_b": make_user("sup_b", r.b, "district_supervisor"),
            "auditor": make_user("auditor", r.city, "auditor"),
            "a_officer": make_user("a_officer", r.a, "district_officer"),
            "a_officer2": make_user("a_officer2", r.a, "district_officer"),
            "b_officer": make_user("b_officer", r.b, "district_officer"),
        },
    )


@pytest.fixture
def paid_world(transactional_db):
    """March and April 2020 paid (tests/reports/world.py), their figures refreshed."""
    from doudi.supervision.figures import refresh_month
    from reports.world import build_two_months

    w = build_two_months()
    refresh_month(w.march)
    refresh_month(w.april)
    return w


def staff(username, region, role):
    from doudi.accounts.services import create_staff_user

    return create_staff_user(username=username, password="Doudi-test-2020", region=region, roles=[role])


@pytest.fixture
def supervisors(regions):
    return supervisors_for(regions)


def supervisors_for(regions):
    """城市监督员, A's and B's district supervisors (区县民政监督员), a
    township officer, and two finance officers (maker and checker)."""
    return type(
        "Supervisors",
        (),
        {
            "city": staff("sup_city", regions.city, "municipal_supervisor"),
            "a": staff("sup_a", regions.a, "district_supervisor"),
            "b": staff("sup_b", regions.b, "district_supervisor"),
            "township": staff("officer_t", regions.a_t, "township_officer"),
            "maker": staff("fin_maker", regions.city, "municipal_finance"),
            "checker": staff("fin_checker", regions.city, "municipal_finance"),
        },
    )
