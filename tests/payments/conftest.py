import pytest

from benefits.support import _fast_password_hashing, _fresh_cache, officers  # noqa: F401


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


@pytest.fixture
def world(transactional_db):
    """Transactional: on PostgreSQL the payroll reads and writes through its own (ADBC) connection,
    which sees only committed rows."""
    from payments.world import build_world

    return build_world()
