"""Deployment checks and backups."""

import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _doudi(*args, env_extra=None, tmp_path=None):
    # A deployment's environment: none of the test run's own switches (the browser tests allow
    # async-unsafe calls, which check --deploy rightly refuses).
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "doudi", *args],
        cwd=tmp_path or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _doudi(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        env_extra={
            "DOUDI_HTTPS": "1",
            "SECRET_KEY": "x" * 60 + "production-secret-for-the-test",
            "ALLOWED_HOSTS": "doudi.example.gov.cn",
            "DOUDI_VAR_DIR": str(tmp_path / "var"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_dev_secret_is_generated_once_and_kept(tmp_path):
    env = {"DOUDI_VAR_DIR": str(tmp_path / "var")}
    _doudi("check", tmp_path=tmp_path, env_extra=env)
    first = (tmp_path / "var" / "secret_key").read_text()
    _doudi("check", tmp_path=tmp_path, env_extra=env)
    assert (tmp_path / "var" / "secret_key").read_text() == first and len(first) >= 50


def test_sqlite_backup_is_a_consistent_copy(tmp_path):
    var = tmp_path / "var"
    env = {"DOUDI_VAR_DIR": str(var)}
    assert _doudi("migrate", "-v0", tmp_path=tmp_path, env_extra=env).returncode == 0
    result = _doudi("backup", "--out", str(tmp_path / "bk"), tmp_path=tmp_path, env_extra=env)
    assert result.returncode == 0, result.stderr
    (archive,) = (tmp_path / "bk").glob("doudi-backup-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extract("database.sqlite3", tmp_path, filter="data")
    with sqlite3.connect(tmp_path / "database.sqlite3") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        journal = con.execute("pragma journal_mode").fetchone()[0]
    assert {"registry_person", "audit_auditentry", "django_migrations"} <= tables
    assert journal in {"wal", "delete"}


def test_embedded_database_runs_in_wal_mode(tmp_path):
    var = tmp_path / "var"
    assert _doudi("migrate", "-v0", tmp_path=tmp_path, env_extra={"DOUDI_VAR_DIR": str(var)}).returncode == 0
    with sqlite3.connect(var / "doudi.sqlite3") as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_dev_secret_file_is_private(tmp_path):
    _doudi("check", tmp_path=tmp_path, env_extra={"DOUDI_VAR_DIR": str(tmp_path / "var")})
    assert oct((tmp_path / "var" / "secret_key").stat().st_mode & 0o777) == "0o600"
