"""Fixtures for the portal tests: a clean rate-limit cache, uploads in a temp dir, valid ID numbers,
and posting a complete application."""

import datetime

import pytest
from django.core.cache import cache

from benefits.support import frozen_today, officers  # noqa: F401  (the dibao-to-payment tests)
from portal.helpers import id_number


@pytest.fixture(autouse=True)
def _portal_env(settings, tmp_path, db):  # db: on PostgreSQL the cache is a table
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    cache.clear()


@pytest.fixture
def application(regions):
    """The POST data of a complete dibao application (override keys per test)."""

    def make(**overrides):
        data = {
            "applicant_name": "张伟",
            "applicant_id_number": id_number(),
            "applicant_phone": "13800138000",
            "district": regions.a.code,
            "township": regions.a_t.code,
            "village": regions.a_v.code,
            "applicant_income": "800",
            "reason": "因疫情停工，家庭收入明显下降，无法维持基本生活。",
            "consent": "on",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "10",
            "members-0-name": "李娜",
            "members-0-id_number": id_number(birth=datetime.date(1987, 9, 9), seq=2),
            "members-0-relation": "spouse",
            "members-0-income": "0",
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return make


@pytest.fixture
def freeze(monkeypatch):
    """Pin timezone.now (Asia/Shanghai): call with a datetime or a date (10:00 that day)."""
    import zoneinfo

    from django.utils import timezone

    def set_now(moment):
        if not isinstance(moment, datetime.datetime):
            moment = datetime.datetime(moment.year, moment.month, moment.day, 10)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_now


@pytest.fixture
def fresh_parameters():
    """The parameters in force are cached by a stamp of the stored rows (count, last id); a rolled-back
    test can leave the same stamp with other rows (ids restart on SQLite), so start from a fresh cache."""
    from doudi.parameters.selectors import invalidate_parameter_cache

    invalidate_parameter_cache()
    yield
    invalidate_parameter_cache()
