from benefits.support import _fast_password_hashing, _fresh_cache, frozen_today, officers  # noqa: F401
