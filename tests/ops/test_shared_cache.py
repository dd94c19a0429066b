"""Rate limits and lockouts hold across server processes: on PostgreSQL the cache is the database
cache, whose table every `doudi migrate` creates; a count made by one process is seen by another."""

import runpy
import sqlite3

import pytest
from django.core.exceptions import ImproperlyConfigured
from test_operations import _doudi

import doudi.settings

DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"


def _settings(monkeypatch, tmp_path, **env):
    monkeypatch.delenv("DOUDI_CACHE", raising=False)
    monkeypatch.setenv("DOUDI_VAR_DIR", str(tmp_path / "var"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(doudi.settings.__file__)


def test_postgresql_uses_the_shared_database_cache_and_sqlite_memory(monkeypatch, tmp_path):
    pg = _settings(monkeypatch, tmp_path, DATABASE_URL="postgres://doudi@db.example:5432/doudi")
    assert pg["CACHES"]["default"] == {"BACKEND": DATABASE_CACHE, "LOCATION": "doudi_cache"}
    assert pg["AXES_CACHE"] == "default" and pg["AXES_HANDLER"].endswith("AxesDatabaseHandler")
    embedded = _settings(monkeypatch, tmp_path, DATABASE_URL="")
    assert embedded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    chosen = _settings(monkeypatch, tmp_path, DATABASE_URL="", DOUDI_CACHE="database")
    assert chosen["CACHES"]["default"]["BACKEND"] == DATABASE_CACHE
    with pytest.raises(ImproperlyConfigured):
        _settings(monkeypatch, tmp_path, DOUDI_CACHE="redis")


def test_migrate_creates_the_cache_table_and_processes_share_counts(tmp_path):
    env = {"DOUDI_VAR_DIR": str(tmp_path / "var"), "DOUDI_CACHE": "database"}
    assert _doudi("migrate", "-v0", tmp_path=tmp_path, env_extra=env).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "doudi.sqlite3") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert "doudi_cache" in tables
    # Two processes, as two gunicorn workers would be: the second sees the first one's count.
    count = "from django.core.cache import cache; cache.add('hits', 0); print(cache.incr('hits'))"
    outputs = [_doudi("shell", "-c", count, tmp_path=tmp_path, env_extra=env) for _ in range(2)]
    assert [o.stdout.split()[-1] for o in outputs] == ["1", "2"], [o.stderr for o in outputs]
    # A second migrate finds the table and leaves it (and its counts) alone.
    assert _doudi("migrate", "-v0", tmp_path=tmp_path, env_extra=env).returncode == 0
    assert _doudi("shell", "-c", count, tmp_path=tmp_path, env_extra=env).stdout.split()[-1] == "3"


@pytest.mark.django_db
def test_on_postgresql_the_limits_count_in_the_database_cache():
    from django.core.cache import caches
    from django.db import connection

    cache = caches["default"]
    if connection.vendor != "postgresql":
        pytest.skip(reason="PostgreSQL not available (this run uses SQLite)")
    assert type(cache).__name__ == "DatabaseCache"
    with connection.cursor() as cursor:  # the test database was built by doudi's migrate
        cursor.execute("SELECT count(*) FROM doudi_cache")
        before = cursor.fetchone()[0]
    cache.set("probe", 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM doudi_cache")
        assert cursor.fetchone()[0] > before
