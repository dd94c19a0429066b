"""监管统计: the aggregate tables the supervisors' pages read (docs/supervision.md).

A month's payment lines are millions of rows; a dashboard must answer in a few hundred milliseconds.
So the figures are summed once per month — per township, scheme and area, by the monthly report's own
queries (`reports.selectors.grouped_figures`) — into `MonthFigure` and `CoverageFigure`, and the care
contacts overdue per township into `ContactFigure`. Pages then read a few thousand rows.

When: `refresh_month` after a payroll is computed or a bank return loaded (the pages see from the
`stamp` that newer runs or returns exist, say so, and enqueue the refresh), `doudi figures` from the
command line or the nightly job, and the 刷新统计 button of the dashboard.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from doudi.payments.models import HOUSEHOLD_SCHEMES, PayrollRun, ReturnImport, RunStatus
from doudi.policy.periods import Period
from doudi.regions.models import Region, RegionLevel
from doudi.reports.selectors import MEMBER_SCHEMES, STATUSES, grouped_figures
from doudi.supervision.models import ContactFigure, CoverageFigure, FigureRefresh, MonthFigure

CONTACTS = "contacts"

# Every region mapped to the township holding it; a district or the city node (lines of one-off
# payments decided there) to itself: a join of the small region table with itself.
TOWNSHIP_KEYS = (
    "SELECT v.code AS place, t.code AS row_code FROM regions_region t "
    "JOIN regions_region v ON v.path LIKE t.path || '%%' WHERE t.level = %s "
    "UNION ALL SELECT v.code AS place, v.code AS row_code FROM regions_region v WHERE v.level < %s"
)


def district_of(region: Region) -> str:
    """The district code of a region (the city node: its own code)."""
    parts = [p for p in region.path.split("/") if p]
    return parts[1] if len(parts) > 1 else region.code


def source_stamp() -> str:
    """What the figures are computed from: the latest computed payroll run and bank return."""
    run = PayrollRun.objects.filter(status=RunStatus.COMPUTED).aggregate(at=Max("computed_at"), n=Max("pk"))
    returns = ReturnImport.objects.aggregate(n=Max("pk"))
    at = run["at"].isoformat() if run["at"] else "-"
    return f"runs:{run['n'] or 0}@{at}|returns:{returns['n'] or 0}"


def months_with_payroll() -> list[str]:
    return sorted(set(PayrollRun.objects.filter(status=RunStatus.COMPUTED).values_list("month", flat=True)))


@transaction.atomic
def refresh_month(month: Period) -> FigureRefresh:
    """Recompute one month's figures from its payment lines (replacing the month's rows)."""
    started = time.perf_counter()
    stamp = source_stamp()
    regions = {r.code: r for r in Region.objects.filter(level__lte=RegionLevel.TOWNSHIP)}
    payments, coverage = grouped_figures(TOWNSHIP_KEYS, [RegionLevel.TOWNSHIP, RegionLevel.TOWNSHIP], month)
    MonthFigure.objects.filter(month=str(month)).delete()
    CoverageFigure.objects.filter(month=str(month)).delete()
    rows = []
    for code, scheme, area, count, persons, due, *rest in payments:
        status_fen = dict(zip(STATUSES, rest[: len(STATUSES)], strict=True))
        region = regions[code]
        rows.append(
            MonthFigure(
                month=str(month),
                region=region,
                district=district_of(region),
                scheme=scheme,
                area=area or "",
                recipients=count,
                # As the report counts persons: 低保 the size paid on, a person scheme its lines,
                # another household scheme (丧葬救助) none.
                persons=persons
                if scheme in MEMBER_SCHEMES
                else (0 if scheme in HOUSEHOLD_SCHEMES else count),
                due_fen=due,
                paid_fen=status_fen["paid"],
                issued_fen=status_fen["issued"],
                pending_fen=status_fen["pending"],
                held_fen=status_fen["held"],
                failed_fen=status_fen["failed"],
                new=rest[len(STATUSES)],
            )
        )
    MonthFigure.objects.bulk_create(rows, batch_size=2000)
    CoverageFigure.objects.bulk_create(
        [
            CoverageFigure(
                month=str(month),
                region=regions[code],
                district=district_of(regions[code]),
                poor=poor,
                covered=covered,
            )
            for code, poor, covered in coverage
        ],
        batch_size=2000,
    )
    _analyze(MonthFigure, CoverageFigure)
    refresh, _ = FigureRefresh.objects.update_or_create(
        month=str(month),
        defaults={
            "stamp": stamp,
            "computed_at": timezone.now(),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return refresh


def _analyze(*models: Any) -> None:
    """PostgreSQL: the statistics of the tables just rewritten, now — a month's rows were all replaced,
    and until autovacuum's analyze the planner believes the old row counts. At 1,000,000 households
    that made the dashboards join 4,112 figure rows to the regions by 4,112 index look-ups (12,416
    buffers) instead of one hash join (239; docs/benchmarks.md S2). A few thousand rows: milliseconds."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def township_code(region: Region) -> str:
    """The township holding a region (a region above townships: itself)."""
    parts = [p for p in region.path.split("/") if p]
    return parts[2] if len(parts) > 2 else region.code


@transaction.atomic
def refresh_contacts(day: datetime.date) -> FigureRefresh:
    """Count the people whose care contact is overdue on `day` (care's schedule), per township."""
    from doudi.care.selectors import contact_schedule

    started = time.perf_counter()
    counts: dict[str, int] = defaultdict(int)
    for row in contact_schedule(day, overdue_only=True):
        counts[township_code(row.person.region)] += 1
    regions = {r.code: r for r in Region.objects.filter(code__in=list(counts))}
    ContactFigure.objects.all().delete()
    ContactFigure.objects.bulk_create(
        [
            ContactFigure(day=day, region=regions[c], district=district_of(regions[c]), overdue=n)
            for c, n in counts.items()
        ]
    )
    _analyze(ContactFigure)
    refresh, _ = FigureRefresh.objects.update_or_create(
        month=CONTACTS,
        defaults={
            "stamp": day.isoformat(),
            "computed_at": timezone.now(),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return refresh


def refresh_all(*, day: datetime.date | None = None, only_stale: bool = True) -> list[FigureRefresh]:
    """Every month with a computed payroll (only those whose figures are behind, by default), and the
    contact figures of `day`."""
    stamp = source_stamp()
    done = {f.month: f.stamp for f in FigureRefresh.objects.all()}
    out = [
        refresh_month(Period.parse(m))
        for m in months_with_payroll()
        if not only_stale or done.get(m) != stamp
    ]
    out.append(refresh_contacts(day or timezone.localdate()))
    return out


@dataclass(frozen=True)
class Freshness:
    """How current a month's figures are, for the page's note."""

    computed_at: datetime.datetime | None
    stale: bool  # newer payroll runs or bank returns exist (or never computed)


def freshness(month: str) -> Freshness:
    return _freshness(FigureRefresh.objects.filter(month=month).first())


def _freshness(refresh: FigureRefresh | None) -> Freshness:
    if refresh is None:
        return Freshness(None, True)
    return Freshness(refresh.computed_at, refresh.stamp != source_stamp())


def contacts_freshness() -> FigureRefresh | None:
    return FigureRefresh.objects.filter(month=CONTACTS).first()


def freshness_and_contacts(month: str) -> tuple[Freshness, FigureRefresh | None]:
    """`freshness(month)` and `contacts_freshness()` with one read of the refreshes (the dashboard)."""
    refreshes = {f.month: f for f in FigureRefresh.objects.filter(month__in=(month, CONTACTS))}
    return _freshness(refreshes.get(month)), refreshes.get(CONTACTS)


def sum_fields(rows: Any, fields: tuple[str, ...]) -> dict[str, int]:
    out = dict.fromkeys(fields, 0)
    for r in rows:
        for f in fields:
            out[f] += getattr(r, f) if not isinstance(r, dict) else r[f]
    return out
