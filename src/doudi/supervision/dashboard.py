"""监管看板: the municipal and district supervisors' dashboard — cases by state and overdue, payments,
coverage of the registered poor, findings and care contacts overdue, per region below the one shown —
and the lists behind each figure (drill-down), each exportable to Excel.

Every figure is read cheaply: payments and coverage from the month's aggregate rows (`figures.py`),
contacts overdue from the last refresh, cases and findings by indexed counts grouped by the child region
(a prefix of the region path). A list behind a figure applies the same filter to the rows themselves, so
its length is the figure.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Case as CaseWhen
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr
from django.utils import timezone

from doudi.intake.flows import flow_for
from doudi.intake.models import Case, CaseType
from doudi.payments.models import HOUSEHOLD_SCHEMES, PaymentLine, PayScheme
from doudi.policy.periods import Period
from doudi.regions.models import Region, RegionLevel
from doudi.registry.models import Category, Membership, Person, PersonCategory
from doudi.reports.selectors import PERSON_SCHEMES
from doudi.supervision import figures
from doudi.supervision.models import (
    OPEN_STATES,
    ContactFigure,
    CoverageFigure,
    Finding,
    FindingState,
    MonthFigure,
)

if TYPE_CHECKING:
    from doudi.accounts.models import User

# The dashboard shows the city (rows: districts) or a district (rows: townships); figures are kept per
# township, so a township's own dashboard would have no rows below it.
DASHBOARD_LEVELS = (RegionLevel.MUNICIPALITY, RegionLevel.DISTRICT)


def _today() -> datetime.date:
    return timezone.localdate()


@dataclass
class Row:
    region: Region
    open_cases: int = 0
    overdue: int = 0
    due_fen: int = 0
    paid_fen: int = 0
    poor: int = 0
    covered: int = 0
    findings_open: int = 0
    findings_fen: int = 0
    contacts_overdue: int = 0

    def add(self, other: Row) -> None:
        for name in (
            "open_cases",
            "overdue",
            "due_fen",
            "paid_fen",
            "poor",
            "covered",
            "findings_open",
            "findings_fen",
            "contacts_overdue",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def coverage(self) -> str:
        if not self.poor:
            return "—"
        return f"{100 * self.covered / self.poor:.1f}"


@dataclass
class Dashboard:
    region: Region
    month: Period
    today: datetime.date
    rows: list[Row]
    total: Row
    cases_by_state: list[dict[str, Any]]
    payments_by_scheme: list[dict[str, Any]]
    findings_by_state: list[dict[str, Any]]
    freshness: figures.Freshness
    contacts_day: datetime.date | None
    charts: dict[str, Any] = field(default_factory=dict)


def child_rows(region: Region) -> list[Region]:
    return list(Region.objects.filter(parent=region).order_by("code")) or [region]


def _by_child(
    qs: QuerySet, path_field: str, children: list[Region], *group: str, **aggregates: Any
) -> tuple[list[tuple[str, dict]], list[dict]]:
    """Aggregates of `qs` per child region (and per `group` fields), in one query per length of the
    children's paths (codes of one level have one length: one query): grouped by the prefix of the rows'
    region path, then matched to the children.

    Returns (child code, row) for the groups under a child, and every group of the first query — all the
    rows of `qs` once, those of no child included — for the breakdowns summed over `group`."""
    under: list[tuple[str, dict]] = []
    everything: list[dict] = []
    by_path = {c.path: c.code for c in children}
    for i, length in enumerate(sorted({len(c.path) for c in children})):
        rows = (
            qs.annotate(_prefix=Substr(path_field, 1, length))
            .values("_prefix", *group)
            .annotate(**aggregates)
            .order_by()
        )
        for row in rows:
            code = by_path.get(row.pop("_prefix"))
            if code is not None:
                under.append((code, row))
            if i == 0:
                everything.append(row)
    return under, everything


def cases_in(user: User, region: Region) -> QuerySet[Case]:
    return Case.objects.visible_to(user).filter(region__path__startswith=region.path)


def findings_in(user: User, region: Region) -> QuerySet[Finding]:
    return Finding.objects.visible_to(user).filter(region__path__startswith=region.path)


def dashboard(user: User, region: Region, month: Period, *, today: datetime.date | None = None) -> Dashboard:
    """The dashboard of `region` (callers check the user may see it) for `month`.

    One grouped query per table (S2, docs/benchmarks.md): the open cases per child, type and state give
    both the rows' figures and the cases by state; the month's figures per child and scheme both the
    rows' payments and the payments by scheme; the findings per child and state both the open findings
    and the findings by state."""
    today = today or _today()
    children = child_rows(region)
    rows = {c.code: Row(c) for c in children}

    cases = cases_in(user, region).filter(closed_at__isnull=True)
    under, every = _by_child(
        cases,
        "region__path",
        children,
        "case_type",
        "state",
        # Counted by a column the open cases' index holds (never null), not by the key: the index
        # answers without reading the table (intake.Case's case_open_by_region).
        n=Count("state"),
        late=Count("state", filter=Q(due_on__lt=today)),
    )
    for code, r in under:
        rows[code].open_cases += r["n"]
        rows[code].overdue += r["late"]
    cases_by_state = _cases_by_state(every)

    month_rows = MonthFigure.objects.filter(month=str(month), region__path__startswith=region.path)
    under, every = _by_child(
        month_rows,
        "region__path",
        children,
        "scheme",
        n=Sum("recipients"),
        persons=Sum("persons"),
        due=Sum("due_fen"),
        paid=Sum("paid_fen"),
    )
    for code, r in under:
        rows[code].due_fen += int(r["due"] or 0)
        rows[code].paid_fen += int(r["paid"] or 0)
    payments_by_scheme = _payments_by_scheme(every)

    coverage = CoverageFigure.objects.filter(month=str(month), region__path__startswith=region.path)
    for code, r in _by_child(coverage, "region__path", children, poor=Sum("poor"), covered=Sum("covered"))[0]:
        rows[code].poor, rows[code].covered = int(r["poor"] or 0), int(r["covered"] or 0)

    under, every = _by_child(
        findings_in(user, region), "region__path", children, "state", n=Count("pk"), fen=Sum("amount_fen")
    )
    for code, r in under:
        if r["state"] in OPEN_STATES:
            rows[code].findings_open += r["n"]
            rows[code].findings_fen += int(r["fen"] or 0)
    findings_by_state = _findings_by_state(every)

    contacts = ContactFigure.objects.filter(region__path__startswith=region.path)
    for code, r in _by_child(contacts, "region__path", children, n=Sum("overdue"))[0]:
        rows[code].contacts_overdue = int(r["n"] or 0)

    total = Row(region)
    for row in rows.values():
        total.add(row)
    fresh, refreshed = figures.freshness_and_contacts(str(month))
    board = Dashboard(
        region=region,
        month=month,
        today=today,
        rows=list(rows.values()),
        total=total,
        cases_by_state=cases_by_state,
        payments_by_scheme=payments_by_scheme,
        findings_by_state=findings_by_state,
        freshness=fresh,
        contacts_day=datetime.date.fromisoformat(refreshed.stamp) if refreshed else None,
    )
    board.charts = {
        "payments": {
            "labels": [r.region.name for r in board.rows],
            "current": [r.due_fen / 100 for r in board.rows],
            "previous": [r.paid_fen / 100 for r in board.rows],
        },
        "cases": {
            "labels": [r.region.name for r in board.rows],
            "current": [r.open_cases for r in board.rows],
            "previous": [r.overdue for r in board.rows],
        },
    }
    return board


def _summed(groups: list[dict], keys: tuple[str, ...], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The groups summed over everything but `keys`, ordered by them."""
    out: dict[tuple, dict[str, Any]] = {}
    for g in groups:
        k = tuple(g[key] for key in keys)
        row = out.setdefault(k, {**dict(zip(keys, k, strict=True)), **dict.fromkeys(fields, 0)})
        for f in fields:
            row[f] += int(g[f] or 0)
    return [out[k] for k in sorted(out)]


def _cases_by_state(groups: list[dict]) -> list[dict[str, Any]]:
    types = dict(CaseType.choices)
    out = []
    for r in _summed(groups, ("case_type", "state"), ("n", "late")):
        flow = flow_for(r["case_type"])
        label = flow.states.get(r["state"], r["state"]) if flow else r["state"]
        out.append(
            {
                "case_type": r["case_type"],
                "type_label": str(types.get(r["case_type"], r["case_type"])),
                "state": r["state"],
                "state_label": str(label),
                "n": r["n"],
                "late": r["late"],
            }
        )
    return out


def _payments_by_scheme(groups: list[dict]) -> list[dict[str, Any]]:
    labels = dict(PayScheme.choices)
    return [
        {
            "scheme": r["scheme"],
            "label": str(labels.get(r["scheme"], r["scheme"])),
            "n": r["n"],
            "persons": r["persons"],
            "due_fen": r["due"],
            "paid_fen": r["paid"],
        }
        for r in _summed(groups, ("scheme",), ("n", "persons", "due", "paid"))
    ]


def _findings_by_state(groups: list[dict]) -> list[dict[str, Any]]:
    labels = dict(FindingState.choices)
    return [
        {"state": r["state"], "label": str(labels.get(r["state"], r["state"])), "n": r["n"], "fen": r["fen"]}
        for r in _summed(groups, ("state",), ("n", "fen"))
    ]


# --- the lists behind the figures ----------------------------------------------------------------------


def case_list(
    user: User,
    region: Region,
    *,
    today: datetime.date,
    state: str = "",
    case_type: str = "",
    overdue: bool = False,
) -> QuerySet[Case]:
    """The open cases behind a figure (all open, one type and state, or overdue)."""
    qs = cases_in(user, region).filter(closed_at__isnull=True)
    if case_type:
        qs = qs.filter(case_type=case_type)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(due_on__lt=today)
    return qs.select_related("region", "applicant").order_by("due_on", "pk")


def payment_list(user: User, region: Region, month: Period, *, scheme: str = "") -> QuerySet[PaymentLine]:
    """The month's payment lines behind a payments figure (own lines and arrears top-ups)."""
    qs = PaymentLine.objects.visible_to(user).filter(month=str(month), region__path__startswith=region.path)
    if scheme:
        qs = qs.filter(scheme=scheme)
    return qs.select_related("person", "region").order_by("district", "region_id", "scheme", "beneficiary_id")


def coverage_list(user: User, region: Region, month: Period) -> QuerySet:
    """The registered poor (建档立卡) of the month behind the coverage figure, each with whether a scheme
    covers them — the report's rule (reports/selectors.py `_coverage`) written for one person at a time."""
    first, last = month.first_day, month.last_day
    poor = (
        PersonCategory.objects.filter(category=Category.REGISTERED_POOR, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .values("person_id")
    )
    own = PaymentLine.objects.filter(
        beneficiary_id=OuterRef("pk"), scheme__in=list(PERSON_SCHEMES), month=str(month)
    )
    household_line = PaymentLine.objects.filter(
        beneficiary_id=OuterRef("household_id"), scheme__in=list(HOUSEHOLD_SCHEMES), month=str(month)
    )
    member = (
        Membership.objects.filter(person_id=OuterRef("pk"), joined_on__lte=last)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=last))
        .filter(Exists(household_line))
    )
    return (
        Person.objects.visible_to(user)
        .filter(pk__in=poor, merged_into__isnull=True, region__path__startswith=region.path)
        .annotate(
            covered=CaseWhen(When(Q(Exists(own)) | Q(Exists(member)), then=Value(True)), default=Value(False))
        )
        .select_related("region")
        .order_by("region_id", "pk")
    )


def finding_list(
    user: User, region: Region, *, state: str = "", open_only: bool = False
) -> QuerySet[Finding]:
    qs = findings_in(user, region)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("region", "person").order_by("-found_at", "-pk")


def contact_list(user: User, region: Region, day: datetime.date) -> list:
    """The people whose care contact was overdue on `day` (the refresh's day) in the region."""
    from doudi.care.selectors import contact_schedule

    return [
        r
        for r in contact_schedule(day, user=user, overdue_only=True)
        if r.person.region.path.startswith(region.path)
    ]
