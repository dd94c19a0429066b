"""督查: everything an inspection visit to a district asks for, on one page — recipients and amounts by
scheme over the last twelve months, the findings and their status, overdue cases, 公示 coverage of the
decisions — and the case files drawn at random for a desk check.

The draw (随机抽查) is reproducible and recorded: the population is the district's decided cases of the
chosen types decided in the chosen dates, in id order (its SHA-256 kept); the files are
`random.Random(seed).sample(population, size)` — Python's documented, version-stable seeding of a
string — so anyone with the seed and the same population draws the same files again (`replay`). Who
drew, when, the seed and the files are an insert-only `SampleDraw` row and an audit entry.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.audit.services import record
from doudi.core.fields import raise_field_errors, require
from doudi.core.text import clean_text
from doudi.disclosure.models import Publication
from doudi.intake.models import Case, CaseType
from doudi.payments.models import PayScheme
from doudi.policy.periods import Period
from doudi.regions.models import Region, RegionLevel
from doudi.supervision.figures import months_with_payroll
from doudi.supervision.models import OPEN_STATES, Check, Finding, FindingState, MonthFigure, SampleDraw
from doudi.supervision.roles import OVERSIGHT_ROLES

if TYPE_CHECKING:
    from doudi.accounts.models import User

# The case files a desk check draws from: the decided assistance cases.
DRAW_TYPES = (
    CaseType.DIBAO,
    CaseType.TEKUN,
    CaseType.CHILDREN,
    CaseType.TEMPORARY,
    CaseType.CASE_BY_CASE,
    CaseType.FIRST_AID,
)
NOT_DECIDED = ("withdrawn", "rejected")  # closed without a decision on the merits
# Decisions 条例第18条 requires to be published first.
PUBLISHED_TYPES = (CaseType.DIBAO, CaseType.TEKUN)
MAX_SAMPLE = 200
MAX_SPAN_DAYS = 3 * 366
SEED_RE = re.compile(r"[0-9A-Za-z_-]{1,32}")


# --- the draw ------------------------------------------------------------------------------------------


def population(
    district: Region, case_types: list[str], date_from: datetime.date, date_to: datetime.date
) -> list[int]:
    """The ids, in order, of the district's cases of `case_types` decided from `date_from` to `date_to`."""
    return list(
        Case.objects.filter(
            region__path__startswith=district.path,
            case_type__in=case_types,
            closed_at__date__gte=date_from,
            closed_at__date__lte=date_to,
        )
        .exclude(state__in=NOT_DECIDED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def population_hash(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def sample(ids: list[int], seed: str, size: int) -> list[int]:
    """The files drawn: the same seed and population always give the same files, in the same order."""
    return random.Random(seed).sample(ids, min(size, len(ids)))


def _date(errors: dict[str, str], name: str, raw: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(clean_text(raw))
    except ValueError:
        errors[name] = _("请填写有效日期（YYYY-MM-DD）。")
        return None


def can_draw(user: User, district: Region) -> bool:
    return (
        user.has_role(*OVERSIGHT_ROLES)
        and user.region is not None
        and district.path.startswith(user.region.path)
    )


def draw_sample(
    *,
    by: User,
    district: Region,
    case_types: list[Any],
    date_from: Any,
    date_to: Any,
    size: Any,
    seed: Any = "",
) -> SampleDraw:
    """随机抽查: draw and record the files; a blank seed is made at random (and recorded)."""
    require(can_draw(by, district) and district.level == RegionLevel.DISTRICT)
    errors: dict[str, str] = {}
    types = sorted({clean_text(t) for t in case_types})
    if not types or not set(types) <= {str(t) for t in DRAW_TYPES}:
        errors["case_types"] = _("请选择案件类型。")
    start, end = _date(errors, "date_from", date_from), _date(errors, "date_to", date_to)
    if start and end and (end < start or (end - start).days > MAX_SPAN_DAYS):
        errors["date_to"] = _("截止日期应不早于起始日期，且相隔不超过三年。")
    size_text = clean_text(size)
    n = int(size_text) if re.fullmatch(r"[0-9]{1,4}", size_text) else 0
    if not 1 <= n <= MAX_SAMPLE:
        errors["size"] = _("抽取数应为 1 至 %(n)s 之间的整数。") % {"n": MAX_SAMPLE}
    seed_text = clean_text(seed) or secrets.token_hex(8)
    if not SEED_RE.fullmatch(seed_text):
        errors["seed"] = _("随机种子只能包含字母、数字、下划线和连字符，最多32个字符。")
    raise_field_errors(errors)
    assert start is not None and end is not None
    ids = population(district, types, start, end)
    if not ids:
        raise_field_errors({"date_to": _("该时段内没有符合条件的已决定案卷。")})
    chosen = sample(ids, seed_text, n)
    draw = SampleDraw.objects.create(
        district=district,
        seed=seed_text,
        case_types=types,
        date_from=start,
        date_to=end,
        population=len(ids),
        population_sha256=population_hash(ids),
        size=len(chosen),
        case_ids=chosen,
        drawn_by=by,
        drawn_by_label=by.byline,
        drawn_at=timezone.now(),
    )
    record(
        actor=by,
        action="create",
        obj=draw,
        region_path=district.path,
        after={
            "seed": seed_text,
            "case_types": types,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "population": len(ids),
            "population_sha256": draw.population_sha256,
            "case_ids": chosen,
        },
        reason="supervision desk-check draw",
    )
    return draw


@dataclass(frozen=True)
class Replay:
    population_same: bool  # the population today hashes as it did at the draw
    files_same: bool  # the seed draws the recorded files from today's population


def replay(draw: SampleDraw) -> Replay:
    ids = population(draw.district, list(draw.case_types), draw.date_from, draw.date_to)
    return Replay(
        population_same=population_hash(ids) == draw.population_sha256,
        files_same=sample(ids, draw.seed, draw.size) == list(draw.case_ids),
    )


def draws_for(user: User, district: Region) -> QuerySet[SampleDraw]:
    return SampleDraw.objects.visible_to(user).filter(district=district).select_related("drawn_by")


def drawn_cases(user: User, draw: SampleDraw) -> list[Case]:
    """The drawn files in draw order (those the user may see)."""
    cases = {
        c.pk: c
        for c in Case.objects.visible_to(user)
        .filter(pk__in=list(draw.case_ids))
        .select_related("region", "applicant")
    }
    return [cases[pk] for pk in draw.case_ids if pk in cases]


# --- the inspection page ----------------------------------------------------------------------------------


@dataclass
class Inspection:
    district: Region
    today: datetime.date
    months: list[str]
    schemes: list[tuple[str, str]]
    by_month: dict[str, dict[str, dict[str, int]]]  # month → scheme → {recipients, due_fen, paid_fen}
    month_totals: dict[str, dict[str, int]]
    findings: list[dict[str, Any]]
    findings_open: int
    overdue_count: int
    overdue: list[Case]
    disclosure: dict[str, int]
    chart: dict[str, Any]

    @property
    def table(self) -> list[dict[str, Any]]:
        """The months' rows: per scheme its figures (None: no line that month), and the totals."""
        return [
            {
                "month": m,
                "cells": [self.by_month.get(m, {}).get(s) for s, _label in self.schemes],
                "total": self.month_totals[m],
            }
            for m in self.months
        ]

    @property
    def disclosure_rate(self) -> str:
        decided = self.disclosure["decided"]
        return f"{100 * self.disclosure['full'] / decided:.1f}" if decided else "—"


def _months(latest: str | None, count: int = 12) -> list[str]:
    if latest is None:
        return []
    last = Period.parse(latest)
    return [str(last.shift(-i)) for i in range(count - 1, -1, -1)]


def disclosure_coverage(district: Region, since: datetime.date, until: datetime.date) -> dict[str, int]:
    """公示 of the district's dibao and 特困 approvals decided from `since` to `until`: decided; with a
    publication that ran its full period before the decision (not withdrawn, ended before the decision
    day); with publication cut short; with none at all."""
    published = Publication.objects.filter(case=OuterRef("pk"))
    full = published.filter(withdrawn_at__isnull=True, end_date__lt=OuterRef("_decided"))
    cases = (
        Case.objects.filter(
            region__path__startswith=district.path,
            case_type__in=PUBLISHED_TYPES,
            state="approved",
            closed_at__date__gte=since,
            closed_at__date__lte=until,
        )
        .annotate(_decided=TruncDate("closed_at"))
        .annotate(any_publication=Exists(published), full_publication=Exists(full))
    )
    counts = cases.aggregate(
        decided=Count("pk"),
        full=Count("pk", filter=Q(full_publication=True)),
        none=Count("pk", filter=Q(any_publication=False)),
    )
    counts = {k: int(v or 0) for k, v in counts.items()}
    counts["short"] = counts["decided"] - counts["full"] - counts["none"]
    return counts


def inspection(user: User, district: Region, *, today: datetime.date | None = None) -> Inspection:
    """The inspection page of a district (callers check the user may see it)."""
    today = today or timezone.localdate()
    computed = months_with_payroll()
    months = _months(computed[-1] if computed else None)
    labels = dict(PayScheme.choices)
    by_month: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    totals: dict[str, dict[str, int]] = {m: {"due_fen": 0, "paid_fen": 0} for m in months}
    seen: set[str] = set()
    for r in (
        MonthFigure.objects.visible_to(user)
        .filter(district=district.code, month__in=months)
        .values("month", "scheme")
        .annotate(n=Sum("recipients"), due=Sum("due_fen"), paid=Sum("paid_fen"))
    ):
        by_month[r["month"]][r["scheme"]] = {
            "recipients": int(r["n"] or 0),
            "due_fen": int(r["due"] or 0),
            "paid_fen": int(r["paid"] or 0),
        }
        totals[r["month"]]["due_fen"] += int(r["due"] or 0)
        totals[r["month"]]["paid_fen"] += int(r["paid"] or 0)
        seen.add(r["scheme"])
    schemes = [
        (s, str(labels.get(s, s)))
        for s in [*PayScheme.values, *sorted(seen - set(PayScheme.values))]
        if s in seen
    ]

    findings_qs = Finding.objects.visible_to(user).filter(region__path__startswith=district.path)
    checks, states = dict(Check.choices), dict(FindingState.choices)
    findings = [
        {
            "check": r["check_code"],
            "check_label": str(checks.get(r["check_code"], r["check_code"])),
            "state": r["state"],
            "state_label": str(states.get(r["state"], r["state"])),
            "n": r["n"],
            "fen": int(r["fen"] or 0),
        }
        for r in findings_qs.values("check_code", "state")
        .annotate(n=Count("pk"), fen=Sum("amount_fen"))
        .order_by("check_code", "state")
    ]
    overdue_qs = (
        Case.objects.visible_to(user)
        .filter(region__path__startswith=district.path, closed_at__isnull=True, due_on__lt=today)
        .select_related("region", "applicant")
        .order_by("due_on", "pk")
    )
    since = Period.parse(months[0]).first_day if months else today.replace(year=today.year - 1)
    return Inspection(
        district=district,
        today=today,
        months=months,
        schemes=schemes,
        by_month=dict(by_month),
        month_totals=totals,
        findings=findings,
        findings_open=findings_qs.filter(state__in=OPEN_STATES).count(),
        overdue_count=overdue_qs.count(),
        overdue=list(overdue_qs[:20]),
        disclosure=disclosure_coverage(district, since, today),
        chart={
            "labels": months,
            "current": [totals[m]["due_fen"] / 100 for m in months],
            "previous": [totals[m]["paid_fen"] / 100 for m in months],
        },
    )
