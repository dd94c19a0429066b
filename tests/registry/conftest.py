"""Registry fixtures: officers at several levels of the shared region tree."""

import pytest


@pytest.fixture
def district_a(regions, make_user):
    return make_user("reg_district_a", regions.a, "district_officer")


@pytest.fixture
def district_b(regions, make_user):
    return make_user("reg_district_b", regions.b, "district_officer")


@pytest.fixture
def city_admin(regions, make_user):
    return make_user("reg_city_admin", regions.city, "municipal_admin")


@pytest.fixture
def supervisor(regions, make_user):
    return make_user("reg_supervisor", regions.city, "municipal_supervisor")
