"""The batch jobs' entry point, for `python -m doudi.batch` and `spark-submit` (docs/scale.md).

    python -m doudi.batch payroll --snapshot DIR --month YYYY-MM --out ROOT [--engine duckdb|spark]
    spark-submit --master yarn --py-files doudi.zip "$(python -c 'import doudi.batch.job as j; print(j.__file__)')" \
        payroll --snapshot hdfs:///doudi/payroll/2020-04-r0 --month 2020-04 --out hdfs:///doudi/batch --engine spark

Prints one JSON object: where the outputs are, how many lines, the stage timings. Needs no database
(the snapshot is what `doudi payroll freeze` wrote; `doudi payroll compute --engine spark` runs the same
job and writes its lines to the database).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from doudi.batch import ENGINES, engine_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doudi.batch", description=__doc__.splitlines()[0])
    jobs = parser.add_subparsers(dest="job", required=True)
    p = jobs.add_parser("payroll", help="the month's payment lines from a frozen payroll snapshot")
    p.add_argument("--snapshot", required=True, help="the snapshot directory (payments.payroll.freeze)")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--out", required=True, help="root of the outputs: a local path or a cluster URI")
    p.add_argument("--engine", choices=ENGINES, default=None, help="default: DOUDI_BATCH_ENGINE, else duckdb")
    p.add_argument("--master", default=None, help="Spark master when not run by spark-submit (local[2])")
    args = parser.parse_args(argv)

    # One-off payments are awarded by doudi's workflows, which import Django models: configured, never
    # connected (the job reads and writes Parquet only).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django

    django.setup()
    from doudi.batch import engines
    from doudi.batch import payroll as batch
    from doudi.policy.periods import Period

    name = engine_name(args.engine)
    engine = engines.engine(name, **({"master": args.master} if name == "spark" else {}))
    run = batch.run(args.snapshot, Period.parse(args.month), args.out, engine)
    print(
        json.dumps(
            {
                "engine": name,
                "lines": run.lines,
                "in_window": run.in_window,
                "output": {"lines": run.lines_path, "stopped": run.stopped_path, "totals": run.totals_path},
                "timings_s": run.timings,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
