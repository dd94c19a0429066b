import pytest

from console.population import build_population


@pytest.fixture
def population(regions, make_user):
    return build_population(regions, make_user)


@pytest.fixture
def officer_a(regions, make_user):
    return make_user("officer_a", regions.a, "district_officer")


@pytest.fixture
def client_a(client, officer_a):
    client.force_login(officer_a)
    return client
