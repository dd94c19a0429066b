"""Fixtures for the rescue tests: officers, station staff and patrol reporters in districts A and B,
a station in each."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(regions, make_user):
    r = regions
    spec = {
        "a_station": (r.a, "rescue_station"),
        "a_district": (r.a, "district_officer"),
        "a_patrol": (r.a_t, "patrol_reporter"),
        "b_district": (r.b, "district_officer"),
        "city_admin": (r.city, "municipal_admin"),
        "auditor": (r.city, "auditor"),
    }
    return type("Staff", (), {name: make_user(name, region, role) for name, (region, role) in spec.items()})


@pytest.fixture
def stations(regions, staff):
    from doudi.rescue.services import register_station

    return type(
        "Stations",
        (),
        {
            "a": register_station(
                by=staff.a_district, name="万州区救助管理站", region=regions.a, capacity=100
            ),
            "b": register_station(
                by=staff.b_district, name="涪陵区救助管理站", region=regions.b, capacity=50
            ),
        },
    )
