"""Payment lines partitioned by month on PostgreSQL (payments/partitions.py, docs/scale.md): the month's
payroll lands in its own partition, a one-month query reads that partition alone, the migration keeps
every row, and a payroll killed while loading its partition resumes to the uninterrupted result."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from doudi.payments import partitions, services
from doudi.payments.models import PaymentLine
from doudi.policy.periods import Period

ROOT = Path(__file__).resolve().parents[2]
MARCH, APRIL = Period.parse("2020-03"), Period.parse("2020-04")


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(reason="needs PostgreSQL: the partitioning is PostgreSQL's (SQLite keeps one table)")


@pytest.fixture(autouse=True)
def _no_month_partition_left(_postgres_only, world):
    """A test's flush empties the lines but keeps their partitions: each test starts without them."""
    with connection.cursor() as c:
        for name in partitions_of_lines():
            if name != partitions.DEFAULT:
                c.execute(f"DROP TABLE {name}")


def compute(month):
    return services.compute_run(services.freeze_run(month=month))


def partitions_of_lines() -> dict[str, str]:
    """partition → its bound, as PostgreSQL lists them."""
    with connection.cursor() as c:
        c.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [partitions.PARENT],
        )
        return dict(c.fetchall())


def rows_in(table: str) -> int:
    with connection.cursor() as c:
        c.execute(f"SELECT count(*) FROM {table}")
        return c.fetchone()[0]


def checksum() -> tuple[int, str]:
    """Row count and an MD5 over every column of every line, in id order."""
    with connection.cursor() as c:
        c.execute(
            f"SELECT count(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {partitions.PARENT} t"
        )
        return c.fetchone()


def test_the_months_payroll_is_loaded_into_its_own_partition_with_the_parents_indexes(world):
    assert partitions_of_lines() == {partitions.DEFAULT: "DEFAULT"}
    march = compute(MARCH)
    april = compute(APRIL)
    assert partitions_of_lines() == {
        partitions.DEFAULT: "DEFAULT",
        "payments_paymentline_p202003": "FOR VALUES IN ('2020-03')",
        "payments_paymentline_p202004": "FOR VALUES IN ('2020-04')",
    }
    assert rows_in("payments_paymentline_p202003") == march.line_count > 0
    assert rows_in("payments_paymentline_p202004") == april.line_count > 0
    assert rows_in(partitions.DEFAULT) == 0
    with connection.cursor() as c:
        # The indexes built after the load are the parent's (attached), not extra copies.
        c.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indexrelid "
            "WHERE x.indrelid = 'payments_paymentline_p202003'::regclass"
        )
        attached = c.fetchone()[0]
        c.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'payments_paymentline_p202003'::regclass")
        assert attached == c.fetchone()[0] == len(partitions.CONSTRAINTS) + len(partitions.INDEXES)
    # The keys hold across the partition as on the plain table: a second line for the same key fails.
    line = PaymentLine.objects.filter(run=march).first()
    line.pk, line.ref = None, "X"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()
    # Computing again adds nothing; the partition is left alone.
    assert services.compute_run(march).line_count == march.line_count
    assert rows_in("payments_paymentline_p202003") == march.line_count


def test_a_month_left_half_indexed_by_a_killed_attempt_is_written_again_whole(world):
    """The index lanes commit each index as they build it: a payroll killed among them leaves a table,
    not attached, with some of its indexes. The next attempt drops it and writes the month whole."""
    run = services.freeze_run(month=MARCH)
    name = partitions.partition_name(str(MARCH))
    with connection.cursor() as c:
        partitions.create_staging(c, str(MARCH))
        c.execute(f"CREATE UNIQUE INDEX {name}_pkey ON {name} (id, month)")
    assert name not in partitions_of_lines()
    again = services.compute_run(run)
    assert partitions_of_lines()[name] == "FOR VALUES IN ('2020-03')"
    assert rows_in(name) == again.line_count > 0
    with connection.cursor() as c:
        c.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('p', 'u') ORDER BY conname",
            [name],
        )
        keys = dict(c.fetchall())
    assert keys == {
        f"{name}_key": "UNIQUE (beneficiary_id, scheme, month, arrears_seq)",
        f"{name}_pkey": "PRIMARY KEY (id, month)",
        f"{name}_ref": "UNIQUE (ref, month)",
    }


def test_a_one_month_query_reads_only_that_months_partition(world):
    compute(MARCH)
    compute(APRIL)
    with connection.cursor() as c:
        c.execute(
            "EXPLAIN SELECT scheme, count(*), sum(amount_fen) FROM payments_paymentline "
            "WHERE month = '2020-04' GROUP BY scheme"
        )
        plan = "\n".join(row[0] for row in c.fetchall())
    assert "payments_paymentline_p202004" in plan
    assert "payments_paymentline_p202003" not in plan and partitions.DEFAULT not in plan


def test_lines_of_a_month_without_partition_go_to_the_default_and_are_still_paid_once(world):
    march = compute(MARCH)
    line = PaymentLine.objects.filter(run=march, scheme="dibao").first()
    line.pk, line.ref, line.month = None, "Y", "2019-12"
    line.save()
    assert rows_in(partitions.DEFAULT) == 1
    line.pk, line.ref = None, "Z"
    with pytest.raises(IntegrityError), transaction.atomic():  # one_payment_per_month in the default too
        line.save()


def test_a_one_off_payment_is_refused_a_second_time_in_another_month_partition(world):
    march = compute(MARCH)
    line = PaymentLine.objects.filter(run=march).first()
    line.pk, line.ref, line.scheme, line.beneficiary_id = None, "T1", "temporary", 990_001
    line.save()
    line.pk, line.ref, line.month = None, "T2", "2020-04"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()
    # Deleted, the case may be paid again (a killed run's lines are removed before it is recomputed).
    PaymentLine.objects.filter(ref="T1").delete()
    line.save()
    assert PaymentLine.objects.filter(scheme="temporary", beneficiary_id=990_001).count() == 1
    with connection.cursor() as c, pytest.raises(IntegrityError), transaction.atomic():
        c.execute("UPDATE payments_paymentline SET beneficiary_id = 990002 WHERE ref = 'T2'")


def test_the_migration_keeps_every_line_both_ways(world):
    from django.core.management import call_command

    compute(MARCH)
    compute(APRIL)
    before = checksum()
    assert before[0] > 0
    try:
        call_command("migrate", "payments", "0006", verbosity=0)
        with connection.cursor() as c:
            assert not partitions.is_partitioned(c)
        assert checksum() == before
        call_command("migrate", "payments", verbosity=0)
    finally:
        call_command("migrate", "payments", verbosity=0)
    with connection.cursor() as c:
        assert partitions.is_partitioned(c)
    assert checksum() == before
    assert set(partitions_of_lines()) == {
        partitions.DEFAULT,
        "payments_paymentline_p202003",
        "payments_paymentline_p202004",
    }
    # New lines take ids after the kept ones.
    run = compute(Period.parse("2020-05"))
    assert PaymentLine.objects.filter(run=run).order_by("id").first().id > max(
        PaymentLine.objects.exclude(run=run).values_list("id", flat=True)
    )


def test_a_payroll_killed_while_loading_its_partition_resumes_to_the_uninterrupted_result(world, tmp_path):
    """kill -9 inside the loading transaction: nothing of the partition is left; computed again, the
    lines are those of an uninterrupted run (compared with April's own computation after)."""
    run = services.freeze_run(month=MARCH)
    flag = tmp_path / "paused"
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    from django.conf import settings

    env = os.environ | {
        "DATABASE_URL": url,
        "DOUDI_DATA_DIR": str(settings.DOUDI_DATA_DIR),
        "DOUDI_PAYROLL_PAUSE_AFTER": "1",
        "DOUDI_PAYROLL_PAUSE_FLAG": str(flag),
        "PYTHONPATH": str(ROOT / "src"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "doudi", "payroll", "compute", "--month", str(MARCH)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no pause"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert "payments_paymentline_p202003" not in partitions_of_lines()
    assert PaymentLine.objects.filter(month=str(MARCH)).count() == 0
    again = services.compute_run(run)
    got = sorted(
        PaymentLine.objects.filter(run=again).values_list("ref", "scheme", "beneficiary_id", "amount_fen")
    )
    assert len(got) == again.line_count > 0
    assert rows_in("payments_paymentline_p202003") == again.line_count
    # The uninterrupted computation of the same snapshot (payroll.compute, nothing killed).
    from doudi.payments import payroll

    computed = payroll.compute(services.data_dir() / again.snapshot, MARCH).lines
    expected = sorted(
        zip(
            *(computed.column(n).to_pylist() for n in ("ref", "scheme", "beneficiary_id", "amount_fen")),
            strict=True,
        )
    )
    assert got == expected
