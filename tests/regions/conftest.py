import pytest


@pytest.fixture
def admin(regions, make_user):
    return make_user("city_admin", regions.city, "municipal_admin")


@pytest.fixture
def officer_a(regions, make_user):
    return make_user("officer_a", regions.a, "district_officer")


@pytest.fixture
def officer_b(regions, make_user):
    return make_user("officer_b", regions.b, "district_officer")
