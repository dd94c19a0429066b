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


@pytest.fixture
def population(tmp_path, settings):
    """A synthetic population of 120 households under DOUDI_DATA_DIR/synth."""
    from doudi.registry import synth

    settings.DOUDI_DATA_DIR = tmp_path
    synth.write_population(synth.generate_population(120, seed=7), tmp_path / "synth")
    return tmp_path / "synth"


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
