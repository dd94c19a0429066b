"""Issue 14 part 5 (P6): the payroll computation on Spark local[2] at growing scale, and a projection.

For each size (default 1M, 2M, 4M households) a synthetic population is drawn (doudi.registry.synth),
its month's payroll snapshot frozen (doudi.batch.synth, as `doudi payroll freeze` writes it), and the
payroll computed by doudi.batch on Spark local[2] (and, for the comparison, `payroll.compute` in one
process — the DuckDB default). Printed per size: households, lines, seconds per stage, seconds per
million households; then the projection for 45 million households: the Spark run's per-district
(partition) cost × 45M / the households measured, and how many 2-core executors finish within 1 hour.

The re-check is not yet on the batch path (docs/scale.md): only the payroll is measured here.

    PYTHONPATH=src .venv/bin/python bench/spark_scale.py --sizes 1000000,2000000,4000000 [--write-docs]

Run it on a quiet machine (the figures are wall-clock); it prints the load average with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchdocs import DOCS, write_section  # bench/ is the script's directory, first on sys.path

NATIONAL = 45_000_000


def measure(households: int, month: str, work: Path) -> dict:
    from doudi.batch import engines
    from doudi.batch import payroll as batch
    from doudi.batch.synth import freeze_snapshot
    from doudi.payments import payroll
    from doudi.policy.periods import Period
    from doudi.registry.synth import generate_population

    period = Period.parse(month)
    snapshot = work / f"snapshot-{households}"
    started = time.perf_counter()
    freeze_snapshot(generate_population(households, seed=2020), period, snapshot)
    prepared = time.perf_counter() - started

    started = time.perf_counter()
    reference = payroll.compute(snapshot, period)
    in_process = time.perf_counter() - started
    lines = reference.lines.num_rows
    del reference

    engine = engines.SparkEngine(master="local[2]")
    started = time.perf_counter()
    run = batch.run(snapshot, period, str(work / f"batch-{households}"), engine)
    on_spark = time.perf_counter() - started
    assert run.lines == lines, (run.lines, lines)
    districts = len(engines.partition_keys(run.lines_path))
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.rmtree(work / f"batch-{households}", ignore_errors=True)
    return {
        "households": households,
        "lines": lines,
        "districts": districts,
        "snapshot_s": round(prepared, 1),
        "in_process_s": round(in_process, 1),
        "spark_s": round(on_spark, 1),
        "spark_stages_s": run.timings,
        "spark_s_per_million": round(on_spark / households * 1e6, 1),
        "load_average": os.getloadavg()[0],
    }


def project(results: list[dict]) -> dict:
    """45M households from the largest run: its per-household cost (local[2] = 2 cores) scaled
    linearly (the growth between sizes shows whether that holds), and the 2-core executors for ≤ 1 h."""
    largest = max(results, key=lambda r: r["households"])
    core_seconds = largest["spark_s"] * 2 / largest["households"] * NATIONAL
    executors = max(1, int(-(-core_seconds // (2 * 3600))))
    return {
        "from_households": largest["households"],
        "core_hours_45m": round(core_seconds / 3600, 1),
        "two_core_executors_for_1h": executors,
        "in_process_hours_45m": round(largest["in_process_s"] / largest["households"] * NATIONAL / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,2000000,4000000")
    parser.add_argument("--month", default="2020-04")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    parser.add_argument("--write-docs", action="store_true", help=f"write the figures into {DOCS}")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django

    django.setup()  # configured, never connected: the one-off awards are doudi's workflows
    work = Path(args.work or tempfile.mkdtemp(prefix="spark_scale_"))
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(size, args.month, work)
        print(json.dumps(result), flush=True)
        results.append(result)
    projection = project(results)
    print(json.dumps(projection), flush=True)
    if args.write_docs:
        write_docs(results, projection)


def write_docs(results: list[dict], projection: dict) -> None:
    rows = "\n".join(
        f"| {r['households']:,} | {r['lines']:,} | {r['districts']} | {r['spark_s']} | "
        f"{r['spark_stages_s'].get('partition')} / {r['spark_stages_s'].get('evaluate')} / "
        f"{r['spark_stages_s'].get('number')} / {r['spark_stages_s'].get('totals')} | "
        f"{r['spark_s_per_million']} | {r['in_process_s']} | {r['load_average']:.1f} |"
        for r in results
    )
    section = f"""## P6: the payroll on Spark local[2], projected to 45 million households

`PYTHONPATH=src .venv/bin/python bench/spark_scale.py --write-docs` (issue 14 part 5; the monthly re-check
is not yet on the batch path). Synthetic population → the month's payroll snapshot → doudi.batch on
Spark `local[2]` (stages: partition by district in Ibis / the rules per district via `mapInArrow` /
流水号 and 停发 in Ibis / totals), against `payroll.compute` in one process (the DuckDB default).

| households | lines | districts | Spark s | stages s | Spark s per 1M | one process s | load |
|---|---|---|---|---|---|---|---|
{rows}

Projection from {projection["from_households"]:,} households, linear in households: 45M households take
{projection["core_hours_45m"]} core-hours on Spark — {projection["two_core_executors_for_1h"]} two-core
executors finish them within one hour (plus the driver's staging of the snapshot); one process would take
{projection["in_process_hours_45m"]} h and needs the whole province in memory.

"""
    write_section("## P6: the payroll on Spark", section)


if __name__ == "__main__":
    sys.exit(main())
