"""One SparkSession (local[2]) for the whole test session; skipped only where no Java runtime exists."""

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on this machine: Apache Spark needs one (Java 17)")
    from doudi.batch.engines import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_engine(spark):
    from doudi.batch.engines import SparkEngine

    return SparkEngine(spark)


@pytest.fixture
def duckdb_engine():
    from doudi.batch.engines import DuckDBEngine

    engine = DuckDBEngine(threads=2)
    yield engine
    engine.close()
