import pytest


@pytest.fixture
def admin(regions, make_user):
    """市民政管理员, the only role that stores parameter values."""
    return make_user("muni_admin", regions.city, "municipal_admin")


@pytest.fixture
def officer(regions, make_user):
    return make_user("district_officer_a", regions.a, "district_officer")


@pytest.fixture(autouse=True)
def _fresh_parameter_cache():
    # Row ids restart after a rolled-back test on SQLite: never let a set cached by an earlier test
    # survive into the next one.
    from doudi.parameters.selectors import invalidate_parameter_cache

    invalidate_parameter_cache()
    yield
    invalidate_parameter_cache()
