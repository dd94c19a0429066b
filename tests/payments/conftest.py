from benefits.support import _fast_password_hashing, _fresh_cache, officers  # noqa: F401
