import pytest

from benefits.support import _fast_password_hashing, _fresh_cache  # noqa: F401


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


@pytest.fixture
def two_months(transactional_db):
    """The payroll world (tests/payments/world.py) paid in March 2020, then changed and paid in April."""
    from reports.world import build_two_months

    return build_two_months()
