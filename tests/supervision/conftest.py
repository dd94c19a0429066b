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
