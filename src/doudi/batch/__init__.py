"""One batch code path, two engines: the whole-population jobs on DuckDB (default) or Apache Spark.

    inputs (the frozen Parquet snapshot) → Parquet partitioned by month and district (the joins that
    give every row its district: Ibis, compiled for the engine) → the numpy rules applied to each
    district's partition through Arrow (on DuckDB: in this process; on Spark: `mapInArrow`, one task
    per district) → outputs as Parquet partitioned by month and district, renumbered and totalled in
    Ibis → read back by the Django code that writes them (payments.services).

The rules are the same numpy functions on both engines (payments.payroll.compute_lines); only where
they run changes. No database: `python -m doudi.batch` (and `spark-submit` of doudi/batch/job.py) reads
and writes Parquet only (Django is configured, never connected: the one-off awards are its workflows'). Layout and engine setting: docs/scale.md.
"""

from __future__ import annotations

import os

ENGINES = ("duckdb", "spark")


def engine_name(explicit: str | None = None) -> str:
    """The engine to use: `explicit` (a command's --engine), else DOUDI_BATCH_ENGINE, else duckdb."""
    name = (explicit or os.environ.get("DOUDI_BATCH_ENGINE") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise ValueError(f"batch engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return name
