"""S2 — the supervisors' pages (监管看板, 督查, 资金拨付进度, 年度公告) on PostgreSQL at 1,000,000 households.

    python bench/dashboards.py [--households 1000000] [--db doudi_bench_dash] [--fresh] [--requests 60]
                               [--write-docs]

Set-up (not timed as S2; its figures are printed): the monthly report's benchmark world (bench/reports.py:
the P2 recipient province COPY-loaded, two months of payment lines written by SQL), then 10 % of the
households with a case (dibao, 特困, 临时救助, 投诉举报; a third open, a third of those overdue, the rest
decided in 2020), 5,000 findings, an allocation per district and scheme, and the supervision figures
refreshed (`doudi figures`: both months and the care contacts, timed).

S2 (timed): each page requested through Django's test client (the whole view: middleware, session, the
queries, the template) by a municipal supervisor and a district supervisor — warm-up, then `--requests`
requests per page; p50, p95 and the slowest, in milliseconds. Target: p95 ≤ 300 ms for each page.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

from benchdocs import write_section  # bench/ is the script's directory, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## S2 — supervision dashboards"
sys.path.insert(0, str(ROOT / "src"))


def _reports_bench():
    spec = importlib.util.spec_from_file_location("bench_reports", ROOT / "bench" / "reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R = _reports_bench()


def plant(figures: dict) -> None:
    """Cases, findings, allocations and users, once (skipped when the cases exist)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from doudi.accounts.models import User
    from doudi.accounts.services import create_staff_user
    from doudi.intake.models import Case
    from doudi.regions.models import Region
    from doudi.supervision.models import Allocation, CheckRun, Finding

    if Case.objects.exists():
        print("cases reused")
        return
    t = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SELECT id, region_id FROM registry_household WHERE id % 10 = 0 ORDER BY id")
        households = c.fetchall()
    types = ("dibao", "tekun", "temporary", "complaint")
    now = timezone.now()
    decided_at = timezone.make_aware(dt.datetime(2020, 3, 15, 10))
    batch = []
    for i, (hid, region) in enumerate(households):
        open_ = i % 3 == 0
        batch.append(
            Case(
                tracking_number=f"B{i:09d}",
                case_type=types[i % 4],
                channel="walk_in",
                state="accepted" if open_ else "approved",
                region_id=region,
                household_id=hid,
                summary="bench",
                filed_at=decided_at,
                due_on=dt.date(2020, 3, 1) if open_ and i % 9 == 0 else dt.date(2099, 1, 1),
                closed_at=None if open_ else decided_at,
            )
        )
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    run = CheckRun.objects.create(month="2020-03", trigger="command", started_at=now)
    villages = list(Region.objects.filter(level=4).values_list("code", "path")[:5000])
    Finding.objects.bulk_create(
        Finding(
            key=f"bench:{i}",
            check_code="paid_twice",
            month="2020-03",
            region_id=code,
            district=path.split("/")[1],
            amount_fen=10_000,
            state=("open", "assigned", "confirmed", "explained")[i % 4],
            first_run=run,
            last_run=run,
            found_at=now,
        )
        for i, (code, path) in enumerate(villages)
    )
    city = Region.objects.get(parent__isnull=True)
    finance = create_staff_user(
        username="bench_fin", password="x-Bench-2020", region=city, roles=["municipal_finance"]
    )
    Allocation.objects.bulk_create(
        Allocation(
            district=d,
            scheme=s,
            year=2020,
            amount_fen=1_000_000_000,
            basis="bench",
            status="active",
            proposed_by=finance,
            proposed_at=now,
        )
        for d in Region.objects.filter(level=2)
        for s in ("dibao", "tekun", "price_subsidy")
    )
    district = Region.objects.filter(level=2).order_by("code").first()
    if not User.objects.filter(username="bench_city").exists():
        create_staff_user(
            username="bench_city", password="x-Bench-2020", region=city, roles=["municipal_supervisor"]
        )
        create_staff_user(
            username="bench_district", password="x-Bench-2020", region=district, roles=["district_supervisor"]
        )
    with connection.cursor() as c:
        c.execute("ANALYZE")
    figures["plant_s"] = round(time.perf_counter() - t, 1)
    figures["cases"] = len(households)


def refresh(figures: dict) -> None:
    from django.utils import timezone

    from doudi.policy.periods import Period
    from doudi.supervision import figures as supervision_figures

    if not supervision_figures.freshness("2020-03").stale and supervision_figures.contacts_freshness():
        print("figures reused")
        return
    for month in ("2020-02", "2020-03"):
        t = time.perf_counter()
        supervision_figures.refresh_month(Period.parse(month))
        figures[f"refresh_{month}_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    supervision_figures.refresh_contacts(timezone.localdate())
    figures["refresh_contacts_s"] = round(time.perf_counter() - t, 1)


def timed(args) -> dict:
    from django.conf import settings
    from django.test import Client

    from doudi.accounts.models import User
    from doudi.supervision.models import MonthFigure

    settings.ALLOWED_HOSTS = ["*"]
    city, district = User.objects.get(username="bench_city"), User.objects.get(username="bench_district")
    code = district.region.code
    pages = [
        ("dashboard, city", city, "/console/supervision/dashboard/", {"month": "2020-03"}),
        ("dashboard, district", district, "/console/supervision/dashboard/", {"month": "2020-03"}),
        ("funds, city", city, "/console/supervision/funds/", {"year": "2020"}),
        ("funds, district", district, "/console/supervision/funds/", {"year": "2020"}),
        ("inspection, district", city, "/console/supervision/inspection/", {"district": code}),
        ("annual report, district", district, "/console/supervision/annual/", {"year": "2020"}),
        ("overdue cases list, district", district, "/console/supervision/dashboard/cases/", {"overdue": "1"}),
    ]
    result: dict = {"pages": {}, "load_before": round(os.getloadavg()[0], 1)}
    for name, user, url, query in pages:
        client = Client()
        client.force_login(user)
        for _ in range(3):
            assert client.get(url, query, secure=True).status_code == 200, name
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            response = client.get(url, query, secure=True)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
        times.sort()
        result["pages"][name] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "max": round(times[-1], 1),
        }
        print(name, result["pages"][name])
    result["figure_rows"] = MonthFigure.objects.count()
    result["load_after"] = round(os.getloadavg()[0], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--db", default="doudi_bench_dash")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    R.V.SERVER = R.SERVER
    R.V.create_database(args)
    R.setup_env(args)
    figures = R.set_up(args)
    plant(figures)
    refresh(figures)
    print(figures)
    result = timed(args)
    if args.write_docs:
        write_docs(figures, result)


def write_docs(figures: dict, result: dict) -> None:
    lines = figures["lines"]
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/dashboards.py --write-docs` on PostgreSQL, {figures['households']:,} households (the "
            f"report benchmark's world: {lines['2020-02']:,} + {lines['2020-03']:,} payment lines), "
            f"{figures.get('cases', 'the')} cases, 5,000 findings, 2 shared cores. Each page through Django's "
            "test client (middleware, session, queries, template), after a warm-up, by a municipal and a "
            "district supervisor:",
            "",
            "| page | p50 (ms) | p95 (ms) | slowest (ms) |",
            "|---|---|---|---|",
            *(f"| {name} | {v['p50']} | {v['p95']} | {v['max']} |" for name, v in result["pages"].items()),
            "",
            f"Target p95 ≤ 300 ms. The pages read the aggregate tables (`supervision.MonthFigure`, "
            f"{result['figure_rows']:,} rows for the two months; `CoverageFigure`, `ContactFigure`), filled by "
            f"`doudi figures` with the monthly report's own queries: 2020-02 in {figures.get('refresh_2020-02_s')} s, "
            f"2020-03 in {figures.get('refresh_2020-03_s')} s, care contacts in {figures.get('refresh_contacts_s')} s "
            "(set-up, not per request). Cases and findings are counted live, grouped by the prefix of the "
            f"region path. Load average {result['load_before']} → {result['load_after']} during the run.",
            "",
        ]
    )
    write_section(HEADING, section)


if __name__ == "__main__":
    main()
