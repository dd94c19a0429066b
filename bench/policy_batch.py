"""P1 — evaluate R1–R6 for 1,000,000 households (~2.5M persons) for one period.

    python bench/policy_batch.py [--households 1000000] [--period 2020-03] [--seed 20200313] [--write-docs]

Generates a random population in memory, columnar (vectorised numpy, fixed seed), evaluates every rule
a few times and prints wall-clock and CPU time of each evaluation and the process's peak resident
memory, once with numpy's defaults and once with NUMPY_MADVISE_HUGEPAGE=0, each in a fresh process.
Target: ≤ 1.0 s, ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchdocs import DOCS, write_section  # bench/ is the script's directory, first on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from doudi.policy import Period, Population, evaluate, load_defaults  # noqa: E402

DISTRICTS = np.array(
    [500101, 500102, 500103, 500104, 500105, 500106, 500107, 500108, 500109, 500110, 500111, 500112, 500113]
    + [500114, 500115, 500116, 500117, 500118, 500119, 500120, 500151, 500152, 500153, 500154, 500155, 500156]
    + [500229, 500230, 500231, 500233, 500235, 500236, 500237, 500238, 500240, 500241, 500242, 500243],
    dtype=np.int64,
)

HEADING = "## P1 — policy engine, 1M households"


def generate(households: int, seed: int) -> Population:
    """A random population shaped like a city's: ~2.5 persons per household, a few percent in each scheme."""
    rng = np.random.default_rng(seed)
    size = rng.choice(np.arange(1, 7), size=households, p=[0.25, 0.3, 0.2, 0.15, 0.07, 0.03])
    person_household = np.repeat(np.arange(households, dtype=np.int64), size)
    persons = len(person_household)

    def sometimes(share: float, n: int = persons) -> np.ndarray:
        return rng.random(n) < share

    def fen(high_yuan: int, share: float) -> np.ndarray:
        return np.where(sometimes(share), rng.integers(0, high_yuan * 100, persons), 0)

    enrolled = sometimes(0.08, households)
    categories = np.zeros(persons, dtype=np.uint8)
    for bit, share in enumerate((0.01, 0.003, 0.002, 0.005, 0.03)):  # tekun, orphan, de facto, hardship, poor
        categories |= sometimes(share).astype(np.uint8) << np.uint8(bit)
    confirmed = np.datetime64("2020-01-15") + rng.integers(0, 90, persons).astype("timedelta64[D]")
    confirmed = np.where(sometimes(0.002), confirmed, np.datetime64("NaT"))
    discharged = np.where(
        sometimes(0.8), confirmed + rng.integers(3, 70, persons).astype("timedelta64[D]"), None
    )
    died = np.where(sometimes(0.03), confirmed + rng.integers(1, 40, persons).astype("timedelta64[D]"), None)
    wage = fen(4000, 0.5)
    return Population(
        household_id=np.arange(1, households + 1, dtype=np.int64),
        household_district=DISTRICTS[rng.integers(0, len(DISTRICTS), households)],
        household_urban=sometimes(0.55, households),
        household_enrolled=enrolled,
        household_last_amount_fen=np.where(enrolled, rng.integers(100, 1800, households) * 100, 0),
        household_deposits_fen=(rng.exponential(20_000, households) * 100).astype(np.int64),
        household_vehicles=(rng.random(households) < 0.2).astype(np.int64),
        household_houses=rng.integers(0, 3, households),
        person_id=np.arange(1, persons + 1, dtype=np.int64),
        person_household=person_household,
        person_birth_date=np.datetime64("1930-01-01")
        + rng.integers(0, 33_000, persons).astype("timedelta64[D]"),
        person_wage_fen=wage,
        person_counted_income_fen=wage + fen(1500, 0.2) + fen(800, 0.15),
        person_work=rng.integers(0, 4, persons).astype(np.int8),
        person_categories=categories,
        person_orphan_institutional=sometimes(0.3),
        person_covid_confirmed_on=confirmed,
        person_covid_discharged_on=discharged.astype("datetime64[D]"),
        person_covid_died_on=died.astype("datetime64[D]"),
    )


def cpu_seconds() -> float:
    """User + system CPU time of this process: what the evaluation costs, whatever else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


SETTINGS = {
    "numpy default (huge pages madvised)": {},
    "NUMPY_MADVISE_HUGEPAGE=0": {"NUMPY_MADVISE_HUGEPAGE": "0"},
}


def measure(households: int, period_text: str, seed: int, repeat: int) -> dict[str, Any]:
    """Generate, then evaluate ``repeat`` times in this process; the first evaluation is the cold one."""
    params = load_defaults()
    started = time.perf_counter()
    population = generate(households, seed)
    generated = time.perf_counter() - started
    rss_before = peak_rss_mb()
    period = Period.parse(period_text)
    times, cpu_times = [], []
    for _ in range(repeat):
        cpu_started, started = cpu_seconds(), time.perf_counter()
        result = evaluate(population, period, params)
        times.append(round(time.perf_counter() - started, 3))
        cpu_times.append(round(cpu_seconds() - cpu_started, 3))
        total_yuan = int(result["total"].sum()) // 100
        del result
    return {
        "households": population.households,
        "persons": population.persons,
        "period": str(period),
        "generate_s": round(generated, 2),
        "wall_s": times,
        "cpu_s": cpu_times,
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_rss_before_evaluation_mb": round(rss_before),
        "total_yuan": total_yuan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--period", default="2020-03")
    parser.add_argument("--seed", type=int, default=20200313)
    parser.add_argument("--repeat", type=int, default=3, help="evaluations per process; the first is cold")
    parser.add_argument("--write-docs", action="store_true", help=f"write the figures into {DOCS}")
    parser.add_argument(
        "--in-process", action="store_true", help="measure here, print JSON (used internally)"
    )
    args = parser.parse_args()
    options = ["--households", str(args.households), "--period", args.period, "--seed", str(args.seed),
               "--repeat", str(args.repeat)]  # fmt: skip
    if args.in_process:
        print(json.dumps(measure(args.households, args.period, args.seed, args.repeat)))
        return
    figures = {}
    for name, env in SETTINGS.items():
        # a fresh process per setting: the first evaluation in a process is the one that pays for memory
        child = subprocess.run(
            [sys.executable, __file__, "--in-process", *options],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        figures[name] = json.loads(child.stdout)
        print(name, json.dumps(figures[name]))
    if args.write_docs:
        write_docs(figures)


def write_docs(figures: dict[str, dict[str, Any]]) -> None:
    """Replace (or add) this benchmark's section of docs/benchmarks.md, leaving the others alone."""
    first = next(iter(figures.values()))
    settings = list(figures)

    def row(label: str, cell: Any, target: str = "") -> str:
        return f"| {label} | " + " | ".join(str(cell(f)) for f in figures.values()) + f" | {target} |"

    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/policy_batch.py --write-docs` on {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, numpy {np.__version__}: {first['households']:,} households / "
            f"{first['persons']:,} persons generated in memory (seed fixed), R1–R6 evaluated "
            f"{len(first['wall_s'])} times for {first['period']} in a fresh process per setting. The machine is "
            "shared (load average "
            + " / ".join(str(f["load_average"]) for f in figures.values())
            + " while measuring): wall-clock time includes waiting for a core, CPU time does not.",
            "",
            "| measure | " + " | ".join(settings) + " | target |",
            "|---|" + "---|" * len(settings) + "---|",
            row("compute, first evaluation in the process (cold), wall clock", lambda f: f"{f['wall_s'][0]} s",
                "≤ 1.0 s"),
            row("the same, CPU time (user + system)", lambda f: f"{f['cpu_s'][0]} s"),
            row("compute, later evaluations, wall clock", lambda f: f"{min(f['wall_s'][1:], default='–')} s (best)"),
            row("later evaluations, CPU time", lambda f: " / ".join(f"{t}" for t in f["cpu_s"][1:]) + " s"),
            row("peak RSS of the process (generation included)", lambda f: f"{f['peak_rss_mb']} MB", "≤ 1 GB"),
            row("peak RSS before the first evaluation", lambda f: f"{f['peak_rss_before_evaluation_mb']} MB"),
            row("total paid in the month", lambda f: f"{f['total_yuan']:,} yuan"),
            "",
            "The first evaluation in a process is the slow one: numpy asks the kernel for transparent huge",
            "pages for its large arrays, and with `defrag=madvise` (this machine) the first touch of that",
            "memory may compact memory synchronously — system time the later evaluations do not pay. A worker",
            "that runs the batch once per process (payroll, what-if) should set `NUMPY_MADVISE_HUGEPAGE=0`.",
            "",
        ]
    )  # fmt: skip
    write_section(HEADING, section)


if __name__ == "__main__":
    main()
