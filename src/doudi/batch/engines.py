"""Where a batch job runs: DuckDB in this process, or Apache Spark (local[N] or a cluster).

An engine gives the job three things, the same on both:

- `ibis`: an Ibis backend, so the relational part (joins, numbering, totals) is written once;
- `write(expr, path, partition_by)`: an Ibis expression written as hive-partitioned Parquet
  (``path/district=500101/….parquet``);
- `map_partitions(keys, function, schema, path)`: `function(key) -> Arrow table` for every partition
  key, the results written as Parquet partitioned by district. DuckDB calls it in this process one
  key after another; Spark runs it in its Python workers through `mapInArrow` (one task per key), so
  the function — the numpy rules — is the same code on both.

Paths may be local directories or, on Spark, any file system URI Spark and pyarrow both read
(hdfs://, s3a:// with pyarrow's s3://); `read_partition` reads one key's files with pyarrow.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PartitionFunction = Callable[[str], pa.Table]


def _fs(path: str) -> tuple[pafs.FileSystem, str]:
    if "://" in path and not path.startswith("file://"):
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), path.removeprefix("file://")


def remove(path: str) -> None:
    fs, where = _fs(path)
    if fs.get_file_info(where).type != pafs.FileType.NotFound:
        fs.delete_dir(where)


def read_partition(path: str, key: str, column: str = "district") -> pa.Table:
    """The rows of one partition (``path/column=key``) as one Arrow table, without the key column;
    empty (no columns) when the partition does not exist."""
    fs, where = _fs(f"{path.rstrip('/')}/{column}={key}")
    if fs.get_file_info(where).type == pafs.FileType.NotFound:
        return pa.table({})
    return ds.dataset(where, filesystem=fs, format="parquet").to_table()


def read_dataset(path: str, schema: pa.Schema, column: str = "district") -> pa.Table:
    """A hive-partitioned dataset as one table of `schema`, the partition column as text (not inferred)."""
    if not has_files(path):
        return schema.empty_table()
    fs, where = _fs(path)
    partitioning = ds.partitioning(pa.schema([(column, pa.string())]), flavor="hive")
    table = ds.dataset(where, filesystem=fs, format="parquet", partitioning=partitioning).to_table()
    return table.select(schema.names).cast(schema)


def partition_keys(path: str, column: str = "district") -> list[str]:
    """The keys of a hive-partitioned directory (``path/column=key``), sorted."""
    fs, where = _fs(path)
    infos = fs.get_file_info(pafs.FileSelector(where, allow_not_found=True))
    prefix = f"{column}="
    return sorted(
        i.base_name.removeprefix(prefix)
        for i in infos
        if i.type == pafs.FileType.Directory and i.base_name.startswith(prefix)
    )


def has_files(path: str) -> bool:
    """Whether a written dataset holds any Parquet file (an empty result leaves none, or only _SUCCESS)."""
    fs, where = _fs(path)
    infos = fs.get_file_info(pafs.FileSelector(where, recursive=True, allow_not_found=True))
    return any(i.type == pafs.FileType.File and i.base_name.endswith(".parquet") for i in infos)


def _empty(schema: pa.Schema) -> Any:
    import ibis

    return ibis.memtable(schema.empty_table())


class DuckDBEngine:
    """The embedded default: Ibis on an in-memory DuckDB, partitions computed in this process."""

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str = "1GB") -> None:
        import ibis

        self.ibis = ibis.duckdb.connect(threads=threads or os.cpu_count() or 1, memory_limit=memory_limit)

    def read(self, path: str, *, partitioned: bool = False, schema: pa.Schema | None = None) -> Any:
        """A Parquet file, or with `partitioned` a hive-partitioned dataset (`schema`: its columns, the
        partition column included, for when an empty result left no file)."""
        if schema is not None and not has_files(path):
            return _empty(schema)
        if partitioned:
            return self.ibis.read_parquet(
                f"{path.rstrip('/')}/**/*.parquet", hive_partitioning=True, hive_types_autocast=False
            )
        return self.ibis.read_parquet(path)

    def write(self, expr: Any, path: str, partition_by: tuple[str, ...] = ("district",)) -> None:
        remove(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if partition_by:
            self.ibis.to_parquet(expr, path, partition_by=partition_by, compression="zstd")
        else:
            self.ibis.to_parquet(expr, path, compression="zstd")

    def to_arrow(self, expr: Any) -> pa.Table:
        return expr.to_pyarrow()

    def map_partitions(
        self, keys: list[str], function: PartitionFunction, schema: pa.Schema, path: str
    ) -> None:
        remove(path)
        for key in keys:
            table = function(key)
            if table.num_rows:
                directory = Path(path) / f"district={key}"
                directory.mkdir(parents=True, exist_ok=True)
                pq.write_table(table.select(schema.names).cast(schema), directory / "part-0.parquet")

    def close(self) -> None:
        self.ibis.disconnect()


_SESSION: Any = None


def spark_session(master: str | None = None, *, shuffle_partitions: int | None = None) -> Any:
    """The process's SparkSession (created once). `master`: local[N] here; on a cluster spark-submit
    sets it and this only attaches to the running session."""
    global _SESSION
    from pyspark.sql import SparkSession

    if _SESSION is not None and _SESSION._sc._jsc is not None:
        return _SESSION
    builder = SparkSession.builder.appName("doudi-batch")
    if master:
        builder = builder.master(master)
        # Local workers run this interpreter (its packages); a cluster sets its own (docs/scale.md).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions or 8))
        .config("spark.sql.session.timeZone", "UTC")
        # Partition directories are text (district codes, months), never inferred as numbers.
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkEngine:
    """Apache Spark: Ibis on its PySpark backend, partitions computed by `mapInArrow` in the workers."""

    name = "spark"

    def __init__(self, session: Any = None, *, master: str | None = None) -> None:
        import ibis

        self.session = session or spark_session(master or os.environ.get("DOUDI_SPARK_MASTER") or None)
        self.ibis = ibis.pyspark.connect(self.session)

    def read(self, path: str, *, partitioned: bool = False, schema: pa.Schema | None = None) -> Any:
        if schema is not None and not has_files(path):
            return _empty(schema)
        return self.ibis.read_parquet(path)

    def _frame(self, expr: Any) -> Any:
        self.ibis._run_pre_execute_hooks(expr)  # registers in-memory tables (an empty result's), as ibis does
        return self.session.sql(self.ibis.compile(expr))

    def write(self, expr: Any, path: str, partition_by: tuple[str, ...] = ("district",)) -> None:
        writer = self._frame(expr).write.mode("overwrite").option("compression", "zstd")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(path)

    def to_arrow(self, expr: Any) -> pa.Table:
        return self._frame(expr).toArrow()

    def map_partitions(
        self, keys: list[str], function: PartitionFunction, schema: pa.Schema, path: str
    ) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        out = pa.schema([*schema, pa.field("district", pa.string())])

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for key in batch.column("key").to_pylist():
                    table = function(key).select(schema.names).cast(schema)
                    table = table.append_column("district", pa.repeat(pa.scalar(key), table.num_rows))
                    yield from table.to_batches(max_chunksize=100_000)

        frame = self.session.createDataFrame([(k,) for k in keys], "key string")
        # A few tasks per core, each computing several districts in one reused Python worker.
        tasks = max(min(len(keys), 2 * self.session.sparkContext.defaultParallelism), 1)
        frame = frame.repartition(tasks, "key")
        result = frame.mapInArrow(run, from_arrow_schema(out))
        result.write.mode("overwrite").partitionBy("district").parquet(path)

    def close(self) -> None:
        """The session stays: one per process (spark-submit's, or the tests')."""


def engine(name: str, **options: Any) -> DuckDBEngine | SparkEngine:
    if name == "spark":
        return SparkEngine(**options)
    if name == "duckdb":
        return DuckDBEngine(**options)
    raise ValueError(f"unknown batch engine {name!r}")


def clean(path: str) -> None:
    """Remove a local output directory left by an earlier run (a URI is left to the cluster's tools)."""
    if "://" not in path:
        shutil.rmtree(path, ignore_errors=True)
