import pytest

from benefits.support import _fast_password_hashing, _fresh_cache  # noqa: F401


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"
