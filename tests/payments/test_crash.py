"""A payroll killed (kill -9) mid-run and started again gives exactly the uninterrupted result: the
same lines, the same totals and byte-identical bank files.

Two copies of one frozen world (SQLite files): A is computed in a subprocess that is killed while it
writes its lines, then computed again; B is computed without interruption. Both then go through the
approval tiers and write their bank files, by the `doudi payroll` commands."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2020-03"


def _env(base: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DATABASE_URL=f"sqlite:///{base / 'db.sqlite3'}",
        DOUDI_VAR_DIR=str(base / "var"),
        DOUDI_DATA_DIR=str(base / "data"),
        PYTHONPATH=str(ROOT / "src"),
        **extra,
    )
    return env


def _doudi(base: Path, *args, check=True, **extra):
    result = subprocess.run(
        [sys.executable, "-m", "doudi", *args],
        cwd=base,
        env=_env(base, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _lines(base: Path) -> list[tuple]:
    con = sqlite3.connect(base / "db.sqlite3")
    try:
        return con.execute(
            "SELECT ref, scheme, beneficiary_id, person_id, amount_fen, status, flag, account_number, standard_fen, size, income_fen, computed_fen, enrolled_fen, explanation "
            "FROM payments_paymentline ORDER BY ref"
        ).fetchall()
    finally:
        con.close()


def _helper(base: Path, *args) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "payments" / "seed_world.py"), *args],
        cwd=base,
        env=_env(base),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def _approve_and_issue(base: Path) -> dict[str, bytes]:
    _helper(base, "approve", MONTH)  # the three tiers of both districts (tested in test_payroll.py)
    _doudi(base, "payroll", "files", "--month", MONTH, "--user", "finance")
    return {p.name: p.read_bytes() for p in sorted((base / "data" / "bankfiles").rglob("*")) if p.is_file()}


def test_a_killed_payroll_resumes_to_the_uninterrupted_result(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    _doudi(a, "migrate", "-v0")
    _helper(a, "seed", "40")
    _doudi(a, "payroll", "freeze", "--month", MONTH)
    shutil.copytree(a, b)

    flag = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-m", "doudi", "payroll", "compute", "--month", MONTH],
        cwd=a,
        env=_env(a, DOUDI_PAYROLL_PAUSE_AFTER="1", DOUDI_PAYROLL_PAUSE_FLAG=str(flag)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):  # the subprocess writes the flag once lines are written (not committed)
            if flag.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), "the computation never reached the pause"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert _lines(a) == []  # killed inside the transaction: nothing half-written

    resumed = _doudi(a, "payroll", "compute", "--month", MONTH)
    assert "lines" in resumed.stdout
    _doudi(b, "payroll", "compute", "--month", MONTH)
    lines_a, lines_b = _lines(a), _lines(b)
    assert lines_a == lines_b and len(lines_a) > 80
    assert len({(s, ben) for _, s, ben, *_ in lines_a}) == len(lines_a)  # no duplicate line

    files_a, files_b = _approve_and_issue(a), _approve_and_issue(b)
    assert files_a == files_b and len(files_a) == 2
    again = _doudi(a, "payroll", "compute", "--month", MONTH)
    assert "nothing added" in again.stdout
