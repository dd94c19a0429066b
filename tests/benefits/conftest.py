from benefits.support import _fast_password_hashing, _fresh_cache, frozen_today, officers  # noqa: F401

# The re-check fixtures (households with consent, department extracts), for the re-check's outcomes.
from verification.conftest import consent, data_dir, load, township_a, write_extract  # noqa: F401
from verification.conftest import make_household as recheck_household  # noqa: F401
