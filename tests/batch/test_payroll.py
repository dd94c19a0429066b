"""The payroll computed by doudi.batch on DuckDB and on Spark: the lines of payroll.compute, fen by fen.

payroll.compute (the whole snapshot in one process) is the reference; the batch path computes the same
snapshot district by district (Ibis for the joins, numbering and totals; the numpy rules per
partition) on DuckDB and on Spark local[2], and both must give exactly its lines, 停发 lines and totals.
"""

import io

import pyarrow as pa
import pytest

from doudi.batch import engines
from doudi.batch import payroll as batch
from doudi.payments import payroll
from doudi.policy.periods import Period

pytestmark = pytest.mark.spark
MONTH = Period.parse("2020-04")


def _stopped(table: pa.Table) -> list[tuple]:
    return sorted(
        zip(*(table.column(n).to_pylist() for n in ("district", "scheme", "amount_fen")), strict=True)
    )


def assert_same(reference: payroll.Computed, run: batch.BatchRun) -> None:
    expected = batch.lines_of(reference.lines)
    lines = batch.read_lines(run)
    assert lines.num_rows == expected.num_rows == run.lines
    for name in expected.column_names:  # column by column: a difference names its column
        assert lines.column(name).equals(expected.column(name)), name
    assert sum(lines.column("amount_fen").to_pylist()) == sum(expected.column("amount_fen").to_pylist())
    stopped = engines.read_dataset(run.stopped_path, batch.STOPPED_SCHEMA)
    assert _stopped(stopped) == _stopped(reference.stopped)
    totals = batch.totals_dict(engines.read_dataset(run.totals_path, batch.TOTALS_SCHEMA))
    assert totals == payroll.batch_summaries(reference.lines, reference.stopped)
    assert run.in_window == reference.in_window


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The month's payroll snapshot of a 100,000-household synthetic population, and its reference lines."""
    from doudi.batch.synth import freeze_snapshot
    from doudi.registry.synth import generate_population

    directory = tmp_path_factory.mktemp("payroll") / "snapshot"
    freeze_snapshot(generate_population(100_000, seed=2020), MONTH, directory)
    return directory, payroll.compute(directory, MONTH)


def test_on_100000_households_duckdb_and_spark_give_the_lines_of_the_whole_snapshot(
    synthetic, duckdb_engine, spark_engine, tmp_path
):
    snapshot, reference = synthetic
    assert reference.lines.num_rows > 20_000
    assert reference.stopped.num_rows and reference.in_window  # 停发 lines and a window are exercised
    on_duckdb = batch.run(snapshot, MONTH, str(tmp_path / "duckdb"), duckdb_engine)
    assert_same(reference, on_duckdb)
    on_spark = batch.run(snapshot, MONTH, str(tmp_path / "spark"), spark_engine)
    assert_same(reference, on_spark)


def test_the_output_is_parquet_partitioned_by_month_and_district(synthetic, duckdb_engine, tmp_path):
    snapshot, reference = synthetic
    run = batch.run(snapshot, MONTH, str(tmp_path), duckdb_engine)
    assert run.base == f"{tmp_path}/payroll/month=2020-04"
    districts = engines.partition_keys(run.lines_path)
    assert districts == sorted(set(reference.lines.column("district").to_pylist()))
    one = engines.read_partition(run.lines_path, districts[0])
    assert "district" not in one.column_names and one.num_rows
    assert engines.partition_keys(f"{run.base}/input/persons") == districts


# --- the payroll's test world, through the database ---------------------------------------------------

WORLD_MONTH = Period.parse("2020-03")


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    """The payroll tests' world (tests/payments/world.py: households of every scheme, accounts, last
    month's lines) with its month frozen. Transactional: on PostgreSQL the payroll reads through ADBC,
    which sees only committed rows."""
    from doudi.payments import services
    from payments.world import build_world

    settings.DOUDI_DATA_DIR = tmp_path / "data"
    settings.DOUDI_BATCH_DIR = str(tmp_path / "batch")
    build_world()
    return services.freeze_run(month=WORLD_MONTH)


def test_on_the_world_both_engines_give_the_lines_and_the_command_writes_them(world, spark_engine, tmp_path):
    """The world's snapshot through payroll.compute, the DuckDB batch and the Spark batch; then `doudi
    payroll compute --engine spark` writes the same lines to the database (one world: it is slow to build)."""
    from django.core.management import call_command

    from doudi.batch.engines import DuckDBEngine
    from doudi.payments import services
    from doudi.payments.models import PaymentLine, RunStatus

    snapshot = services.data_dir() / world.snapshot
    reference = payroll.compute(snapshot, WORLD_MONTH)
    assert reference.lines.num_rows
    duck = DuckDBEngine(threads=2)
    try:
        assert_same(reference, batch.run(snapshot, WORLD_MONTH, str(tmp_path / "duckdb"), duck))
    finally:
        duck.close()
    assert_same(reference, batch.run(snapshot, WORLD_MONTH, str(tmp_path / "spark"), spark_engine))

    call_command("payroll", "compute", "--month", str(WORLD_MONTH), "--engine", "spark", stdout=io.StringIO())
    world.refresh_from_db()
    assert world.status == RunStatus.COMPUTED
    columns = ("ref", "beneficiary_id", "scheme", "amount_fen", "status", "flag")
    written = list(PaymentLine.objects.filter(run=world).order_by("ref").values_list(*columns))
    assert written == list(zip(*(reference.lines.column(n).to_pylist() for n in columns), strict=True))
