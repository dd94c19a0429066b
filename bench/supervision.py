"""S1 — the supervision checks over a month's payroll on PostgreSQL (issue 12: all checks ≤ 20 s at
1,000,000 households).

    python bench/supervision.py [--households 1000000] [--month 2020-03] [--db doudi_bench_supervision]
                                [--fresh] [--write-docs] [--plant 100]

Set-up (not timed, its figures printed): bench/payroll.py's province (population, enrolments, bank,
accounts; reused when already there), the month's payroll frozen and computed by `payments.services`
when not computed yet, then `--plant` cases of each kind by SQL on distinct lines: a second household's
低保 paid to the same head, a line from another district, a death in the registry, a 特困 line to a
member counted in a 低保 household, two unrelated households sharing an account, a staff member's
declared relative whose enrolment they approved, an amount changed after computing, an amount override
without a reason. (Late payment and 公示 need decided cases, which the bench province does not have: their
queries still run over every enrolment and line of the month.)

Timed: `services.run_checks` — every check, and filing what it finds — first with no finding filed yet,
then again (nothing new may be filed). Figures per check: seconds of its query, seconds of filing, found.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import sys
import time
from pathlib import Path

from benchdocs import write_section  # bench/ is the script's directory, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## S1 — supervision checks"
TARGET_S = 20.0


def _payroll_bench():
    spec = importlib.util.spec_from_file_location("bench_payroll", ROOT / "bench" / "payroll.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _payroll_bench()


def compute_month(month: str) -> dict:
    from doudi.payments.models import PayrollRun, RunStatus
    from doudi.payments.services import compute_run, freeze_run
    from doudi.policy.periods import Period

    run = PayrollRun.objects.filter(month=month, round=0, status=RunStatus.COMPUTED).first()
    if run is None:
        t = time.perf_counter()
        run = compute_run(freeze_run(month=Period.parse(month)))
        print(f"payroll {month} computed in {time.perf_counter() - t:.1f} s")
    return {"lines": run.line_count, "total_yuan": run.total_fen // 100}


def plant(month: str, n: int) -> dict:
    """n cases of each kind the bench province can hold, on distinct paying 低保 lines (idempotent)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from doudi.regions.models import Region
    from doudi.supervision.models import StaffRelative

    staff, _ = get_user_model().objects.get_or_create(
        username="bench_approver", defaults={"region": Region.objects.filter(level=1).first()}
    )
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_plant")
        c.execute(
            "CREATE TEMPORARY TABLE bench_plant AS SELECT row_number() OVER (ORDER BY ref) AS k, * "
            "FROM payments_paymentline WHERE month = %s AND scheme = 'dibao' AND arrears_seq = 0 "
            "AND status <> 'held' AND ref NOT LIKE '99%%' ORDER BY ref LIMIT %s",
            [month, 9 * n],
        )
        kinds = {
            name: i * n
            for i, name in enumerate(
                [
                    "twice",
                    "district",
                    "death",
                    "tekun",
                    "shared_a",
                    "shared_b",
                    "relative",
                    "amount",
                    "override",
                ]
            )
        }

        def rows(kind: str) -> str:
            return f"(SELECT * FROM bench_plant WHERE k > {kinds[kind]} AND k <= {kinds[kind] + n})"

        copy = (
            "INSERT INTO payments_paymentline (run_id, ref, issue_run_id, month, scheme, beneficiary_id, household_id,"
            " person_id, region_id, district, amount_fen, change, decision, flag, status, bank_code, account_number,"
            " holder_name, computed_fen, explanation, attempts, failure_code, failure_reason, arrears_seq) "
        )
        # A second household's 低保 to the same head (new households, same village).
        c.execute(
            "INSERT INTO registry_household (region_id, area_type, address, deposits_fen, vehicles, houses,"
            " dibao_enrolled, created_at, updated_at, boats, claims_fen, disability_vehicles, farming,"
            " farming_cash_income_fen, farming_direct_costs_fen, farming_in_kind_income_fen, securities_fen)"
            " SELECT region_id, 'urban', 'bench-twin-' || k, 0, 0, 0, false,"
            f" now(), now(), 0, 0, 0, false, 0, 0, 0, 0 FROM {rows('twice')} p WHERE NOT EXISTS (SELECT 1 FROM registry_household h"
            " WHERE h.address = 'bench-twin-' || p.k)"
        )
        c.execute(
            copy
            + "SELECT p.run_id, '99' || lpad(p.k::text, 18, '0'), p.issue_run_id, p.month, 'dibao', h.id, h.id,"
            " p.person_id, p.region_id, p.district, p.amount_fen, 'new', '', '', 'pending', p.bank_code,"
            " '7' || lpad(p.k::text, 18, '0'), p.holder_name, p.amount_fen, '', 0, '', '', 0"
            f" FROM {rows('twice')} p JOIN registry_household h ON h.address = 'bench-twin-' || p.k"
            " ON CONFLICT DO NOTHING"
        )
        # A covid line from another district to the same person.
        c.execute(
            copy
            + "SELECT p.run_id, '98' || lpad(p.k::text, 18, '0'), p.issue_run_id, p.month, 'covid', p.person_id,"
            " p.household_id, p.person_id, r.code, left(r.code, 6), 100000, 'new', '', '', 'pending', p.bank_code,"
            " '8' || lpad(p.k::text, 18, '0'), p.holder_name, 100000, '', 0, '', '', 0"
            f" FROM {rows('district')} p CROSS JOIN LATERAL (SELECT code FROM regions_region WHERE level = 4"
            " AND left(code, 6) <> p.district ORDER BY code LIMIT 1) r ON CONFLICT DO NOTHING"
        )
        c.execute(
            f"UPDATE registry_person SET covid_died_on = DATE %s - 20 WHERE id IN (SELECT person_id FROM {rows('death')} x)",
            [month + "-01"],
        )
        c.execute(
            copy
            + "SELECT p.run_id, '97' || lpad(p.k::text, 18, '0'), p.issue_run_id, p.month, 'tekun', p.person_id,"
            " p.household_id, p.person_id, p.region_id, p.district, 71000, 'new', '', '', 'pending', p.bank_code,"
            " '9' || lpad(p.k::text, 18, '0'), p.holder_name, 71000, '', 0, '', '', 0"
            f" FROM {rows('tekun')} p ON CONFLICT DO NOTHING"
        )
        c.execute(
            "UPDATE payments_paymentline l SET account_number = a.account_number FROM "
            f"{rows('shared_a')} a JOIN {rows('shared_b')} b ON b.k = a.k + {n} WHERE l.id = b.id"
        )
        c.execute(
            "UPDATE benefits_enrolment e SET approved_by_id = %s FROM "
            f"{rows('relative')} p WHERE e.scheme = 'dibao' AND e.household_id = p.beneficiary_id",
            [staff.pk],
        )
        c.execute(f"SELECT person_id FROM {rows('relative')} x")
        persons = [r[0] for r in c.fetchall()]
        c.execute(
            "UPDATE payments_paymentline l SET amount_fen = l.computed_fen + 1234 FROM "
            f"{rows('amount')} p WHERE l.id = p.id AND l.flag = ''"
        )
        c.execute(
            "INSERT INTO benefits_enrolmentchange (enrolment_id, kind, effective_month, at, by_label, before, after,"
            " reason) SELECT e.id, 'amount', DATE '2019-06-01', now(), 'bench', '{\"monthly_amount\": 100}',"
            f" '{{\"monthly_amount\": 150}}', '' FROM {rows('override')} p JOIN benefits_enrolment e"
            " ON e.scheme = 'dibao' AND e.household_id = p.beneficiary_id"
            " WHERE NOT EXISTS (SELECT 1 FROM benefits_enrolmentchange x WHERE x.enrolment_id = e.id)"
        )
        c.execute("DROP TABLE bench_plant")
    known = set(StaffRelative.objects.filter(staff=staff).values_list("person_id", flat=True))
    StaffRelative.objects.bulk_create(
        [
            StaffRelative(
                staff=staff, person_id=p, relation="sibling", declared_at=timezone.now(), declared_by=staff
            )
            for p in persons
            if p not in known
        ]
    )
    return {"planted_each": n}


def timed(month: str) -> dict:
    from django.db import connection

    from doudi.supervision.models import CheckRun, Finding, FindingTransition, Recovery, Repayment
    from doudi.supervision.services import run_checks

    # A first run files everything anew.
    with connection.cursor() as c:
        for model in (Repayment, Recovery, FindingTransition, Finding, CheckRun):
            c.execute(f"DELETE FROM {model._meta.db_table}")
        c.execute("ANALYZE")
    load = round(os.getloadavg()[0], 1)
    t = time.perf_counter()
    first = run_checks(month, trigger="bench")
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    again = run_checks(month, trigger="bench")
    again_s = time.perf_counter() - t
    return {
        "first_s": round(first_s, 2),
        "again_s": round(again_s, 2),
        "first": first.results,
        "again": again.results,
        "new_on_rerun": sum(r["new"] for r in again.results.values()),
        "findings": Finding.objects.count(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_average": load,
        "load_average_after": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--month", default="2020-03")
    parser.add_argument("--db", default="doudi_bench_supervision")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--plant", type=int, default=100, help="cases planted of each kind")
    args = parser.parse_args()
    os.environ.setdefault("DOUDI_DATA_DIR", str(ROOT / "var" / "bench" / args.db))
    P.V.SERVER = P.SERVER
    P.V.create_database(args)
    P.setup_env(args)
    figures = P.set_up(args)
    figures |= compute_month(args.month)
    figures |= plant(args.month, args.plant)
    for k, v in figures.items():
        print(f"{k}: {v}")
    result = timed(args.month)
    print(
        f"{'check':<20} {'found':>9} {'query s':>8} {'filing s':>8} | again: {'query s':>8} {'filing s':>8}"
    )
    from doudi.supervision.checks import CHECKS

    for name in CHECKS:
        r, a = result["first"][name], result["again"][name]
        print(
            f"{name:<20} {r['found']:>9,} {r['seconds']:>8.3f} {r.get('read_seconds', 0):>8.3f} {r['file_seconds']:>8.3f} | "
            f"{a['seconds']:>15.3f} {a['file_seconds']:>8.3f}"
        )
    for k in (
        "first_s",
        "again_s",
        "new_on_rerun",
        "findings",
        "peak_rss_mb",
        "load_average",
        "load_average_after",
    ):
        print(f"{k}: {result[k]}")
    if args.write_docs:
        write_docs(figures, result, args)


def write_docs(setup: dict, result: dict, args) -> None:
    from doudi.supervision.checks import CHECKS

    rows = [
        f"| {name} | {r['found']:,} | {r['seconds']} s | {r['file_seconds']} s | "
        f"{result['again'][name]['seconds'] + result['again'][name]['file_seconds']:.3f} s |"
        for name, r in ((name, result["first"][name]) for name in CHECKS)
    ]
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/supervision.py --households {args.households} --write-docs` on {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, PostgreSQL on loopback: bench/payroll.py's province of "
            f"{setup['households']:,} households / {setup['persons']:,} persons, month {args.month} "
            f"({setup['lines']:,} payment lines), {args.plant} planted cases of each kind the province can hold. "
            f"The machine is shared: its 1-minute load average was {result['load_average']} when the timed run "
            f"began, {result['load_average_after']} after it.",
            "",
            "| check | found | query | filing (first run) | query + filing again |",
            "|---|---|---|---|---|",
            *rows,
            f"| **all checks, first run (nothing filed yet)** | {sum(r['found'] for r in result['first'].values()):,} "
            f"| **{result['first_s']} s** | | target ≤ {TARGET_S:.0f} s |",
            f"| all checks again | new findings: {result['new_on_rerun']} | {result['again_s']} s | | adds nothing |",
            "",
            f"Peak RSS of the process: {result['peak_rss_mb']} MB.",
            "",
        ]
    )
    write_section(HEADING, section)


if __name__ == "__main__":
    sys.exit(main())
