"""Synthetic population (Foundation): generate 1,000,000 households and load them into PostgreSQL.

    python bench/synth.py [--households 1000000] [--seed 2020] [--reset] [--keep-indexes] [--out DIR]
                          [--database-url postgres://postgres@127.0.0.1:5432/doudi_bench] [--write-docs]

Creates the database if missing and migrates it, generates the population in memory
(doudi.registry.synth.generate_population), loads it with load_population (binary COPY, one
transaction) and prints generation seconds, load seconds, rows per table and the peak resident
memory of this process. Targets: generation ≤ 30 s, load ≤ 60 s on the 2-core machine.

The population stays loaded for the other benchmarks (payroll, verification, web). A database that
already holds people is not touched unless --reset is given, which empties the registry tables
(TRUNCATE … CASCADE: everything that points at people goes too) and removes the townships and
villages nothing else refers to, before loading.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

from benchdocs import DOCS, write_section  # bench/ is the script's directory, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
HEADING = "## Synthetic population (Foundation)"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/doudi_bench"


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # kB on Linux


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reset", action="store_true", help="empty the registry tables first")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="load with all indexes and foreign keys in place"
    )
    parser.add_argument("--out", help="also write the Parquet files here (not timed)")
    parser.add_argument("--write-docs", action="store_true", help=f"update '{HEADING}' in docs/benchmarks.md")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import IntegrityError, connection, transaction

    from doudi.regions.models import Region
    from doudi.registry import synth
    from doudi.registry.models import Household, Membership, Person, PersonCategory

    call_command("migrate", verbosity=0)
    tables = [m._meta.db_table for m in (Household, Person, Membership, PersonCategory)]
    with connection.cursor() as c:
        c.execute(f'SELECT COUNT(*) FROM "{Person._meta.db_table}"')
        present = c.fetchone()[0]
        if present and not args.reset:
            sys.exit(
                f"{args.database_url} already holds {present:,} people; pass --reset to empty the registry first"
            )
        if present:
            c.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            print(f"emptied the registry ({present:,} people)")
    if args.reset:
        # Townships and villages of an earlier run at another scale may carry other names; drop them
        # unless something else still points at them.
        try:
            with transaction.atomic(), connection.cursor() as c:
                c.execute(f'DELETE FROM "{Region._meta.db_table}" WHERE level >= 3')
        except IntegrityError:
            print("kept the existing townships and villages: other records refer to them")

    t = time.perf_counter()
    population = synth.generate_population(args.households, seed=args.seed)
    generate_s = time.perf_counter() - t
    rss_generate = peak_rss_mb()
    print(
        f"generated {population.households.num_rows:,} households, {population.persons.num_rows:,} persons, "
        f"{population.regions.num_rows:,} regions in {generate_s:.1f} s (peak RSS {rss_generate} MB)"
    )
    if args.out:
        synth.write_population(population, args.out)
        print(f"wrote {args.out}")

    t = time.perf_counter()
    marks: list[tuple[str, float]] = []

    def progress(message: str) -> None:
        marks.append((message.split(" (")[0], time.perf_counter() - t))
        print(f"  {message}")

    load_avg = [round(os.getloadavg()[0], 1)]
    counts = synth.load_population(
        population, progress=progress, defer_indexes=False if args.keep_indexes else None
    )
    load_s = time.perf_counter() - t
    load_avg.append(round(os.getloadavg()[0], 1))
    at = dict(marks)
    stages = {
        "validate the tables, check the IDs against the database": at.get(
            "no resident ID already registered", 0
        ),
        "add regions, build the columns, drop indexes, COPY the four tables": at.get("categories written", 0)
        - at.get("no resident ID already registered", 0),
        "rebuild indexes and foreign keys": at.get(
            "indexes and constraints rebuilt", at.get("categories written", 0)
        )
        - at.get("categories written", 0),
        "commit, ANALYZE": load_s
        - at.get("indexes and constraints rebuilt", at.get("categories written", 0)),
    }
    rss_load = peak_rss_mb()
    rows = {}
    with connection.cursor() as c:
        for table in tables:
            c.execute(f'SELECT COUNT(*) FROM "{table}"')
            rows[table] = c.fetchone()[0]
        c.execute("SELECT version()")
        pg_version = c.fetchone()[0].split(" on ")[0]
    print(
        f"loaded in {load_s:.1f} s (peak RSS {rss_load} MB): "
        + ", ".join(f"{t} {n:,}" for t, n in rows.items())
    )
    figures = dict(
        households=population.households.num_rows, persons=population.persons.num_rows,
        regions=population.regions.num_rows, categories=counts["categories"], generate_s=round(generate_s, 1),
        load_s=round(load_s, 1), rss_generate_mb=rss_generate, rss_load_mb=rss_load, rows=rows,
        deferred=not args.keep_indexes, pg=pg_version, stages={k: round(v, 1) for k, v in stages.items()},
        load_avg=load_avg,
    )  # fmt: skip
    if args.write_docs:
        write_docs(figures)
        print(f"updated {DOCS}")


def write_docs(f: dict) -> None:
    """Replace (or add) this benchmark's section of docs/benchmarks.md, leaving the others alone."""
    import numpy as np
    import pyarrow as pa

    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/synth.py --write-docs` on {os.cpu_count()} cores (shared), Python "
            f"{platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}, {f['pg']} on "
            "127.0.0.1. `doudi.registry.synth.generate_population` draws the population in memory (vectorised, "
            "seed 2020); `load_population` writes it into the Django tables in one transaction by binary COPY "
            "built with Arrow (no per-row Python), ids in one block per table"
            + (
                ", secondary indexes and foreign keys dropped and rebuilt"
                if f["deferred"]
                else ", all indexes kept"
            )
            + ", then ANALYZE.",
            "",
            "| measure | figure | target |",
            "|---|---|---|",
            f"| generate {f['households']:,} households / {f['persons']:,} persons / {f['regions']:,} regions "
            f"| {f['generate_s']} s | ≤ 30 s |",
            f"| load into PostgreSQL (validate, check IDs, COPY, rebuild indexes, commit, analyze) "
            f"| {f['load_s']} s | ≤ 60 s |",
            "| rows written | " + ", ".join(f"{t} {n:,}" for t, n in f["rows"].items()) + " | |",
            f"| peak RSS after generating / after loading | {f['rss_generate_mb']} MB / {f['rss_load_mb']} MB | |",
            "",
            f"The machine is shared with other work (1-minute load average {f['load_avg'][0]} when the load "
            f"started, {f['load_avg'][1]} when it ended): wall-clock times include waiting for a core. "
            "Where the load's time goes:",
            "",
            "| stage | seconds |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in f["stages"].items()],
            "",
            "Index handling, measured at 100,000 households (250,000 persons), the two settings alternated "
            "twice on the same data (load average ~4.5): with every index and foreign key in place the load "
            "took 6.8 / 7.9 s (the deferred foreign-key checks alone take seconds at commit); dropping the "
            "secondary indexes, unique constraints and foreign keys and rebuilding them after the COPY took "
            "2.7 / 2.7 s. Keeping only the indexes whose column arrives in order (ids, household ids) made "
            "no measurable difference. `load_population` therefore drops and rebuilds them when it brings "
            "≥ 100,000 people and at least half as many as the table already holds; smaller loads (the demo) "
            "keep them. Most of the rebuild is the text indexes of the registry schema (name, id_number, "
            "region_id, each also with a `varchar_pattern_ops` twin) sorted under the database's C.UTF-8 "
            "collation. SQLite loads with executemany in 50,000-row chunks in one transaction (2,000 "
            "households in ~0.4 s).",
            "",
        ]
    )
    write_section(HEADING, section)


if __name__ == "__main__":
    main()
