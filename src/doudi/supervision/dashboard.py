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


def _by_child(qs: QuerySet, path_field: str, children: list[Region], **aggregates: Any) -> dict[str, dict]:
    """Aggregates of `qs` per child region: grouped by the prefix of the rows' region path as long as the
    children's paths (codes of one level have one length), then matched to the children."""
    out: dict[str, dict] = {}
    lengths = {len(c.path) for c in children}
    by_path = {c.path: c.code for c in children}
    for length in lengths:
        rows = (
            qs.annotate(_prefix=Substr(path_field, 1, length))
            .values("_prefix")
            .annotate(**aggregates)
            .order_by()
        )
        for row in rows:
            code = by_path.get(row.pop("_prefix"))
            if code is not None:
                out[code] = row
    return out


def cases_in(user: User, region: Region) -> QuerySet[Case]:
    return Case.objects.visible_to(user).filter(region__path__startswith=region.path)


def findings_in(user: User, region: Region) -> QuerySet[Finding]:
    return Finding.objects.visible_to(user).filter(region__path__startswith=region.path)


def dashboard(user: User, region: Region, month: Period, *, today: datetime.date | None = None) -> Dashboard:
    """The dashboard of `region` (callers check the user may see it) for `month`."""
    today = today or _today()
    children = child_rows(region)
    rows = {c.code: Row(c) for c in children}

    cases = cases_in(user, region).filter(closed_at__isnull=True)
    for code, r in _by_child(
        cases, "region__path", children, n=Count("pk"), late=Count("pk", filter=Q(due_on__lt=today))
    ).items():
        rows[code].open_cases, rows[code].overdue = r["n"], r["late"]

    month_rows = MonthFigure.objects.filter(month=str(month), region__path__startswith=region.path)
    for code, r in _by_child(
        month_rows,
        "region__path",
        children,
        due=Sum("due_fen"),
        paid=Sum("paid_fen"),
    ).items():
        rows[code].due_fen, rows[code].paid_fen = int(r["due"] or 0), int(r["paid"] or 0)

    coverage = CoverageFigure.objects.filter(month=str(month), region__path__startswith=region.path)
    for code, r in _by_child(
        coverage, "region__path", children, poor=Sum("poor"), covered=Sum("covered")
    ).items():
        rows[code].poor, rows[code].covered = int(r["poor"] or 0), int(r["covered"] or 0)

    open_findings = findings_in(user, region).filter(state__in=OPEN_STATES)
    for code, r in _by_child(
        open_findings, "region__path", children, n=Count("pk"), fen=Sum("amount_fen")
    ).items():
        rows[code].findings_open, rows[code].findings_fen = r["n"], int(r["fen"] or 0)

    contacts = ContactFigure.objects.filter(region__path__startswith=region.path)
    for code, r in _by_child(contacts, "region__path", children, n=Sum("overdue")).items():
        rows[code].contacts_overdue = int(r["n"] or 0)

    total = Row(region)
    for row in rows.values():
        total.add(row)
    refreshed = figures.contacts_freshness()
    board = Dashboard(
        region=region,
        month=month,
        today=today,
        rows=list(rows.values()),
        total=total,
        cases_by_state=_cases_by_state(cases, today),
        payments_by_scheme=_payments_by_scheme(month_rows),
        findings_by_state=_findings_by_state(findings_in(user, region)),
        freshness=figures.freshness(str(month)),
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


def _cases_by_state(cases: QuerySet[Case], today: datetime.date) -> list[dict[str, Any]]:
    types = dict(CaseType.choices)
    out = []
    for r in (
        cases.values("case_type", "state")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(due_on__lt=today)))
        .order_by("case_type", "state")
    ):
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


def _payments_by_scheme(rows: QuerySet[MonthFigure]) -> list[dict[str, Any]]:
    labels = dict(PayScheme.choices)
    out = []
    for r in (
        rows.values("scheme")
        .annotate(n=Sum("recipients"), persons=Sum("persons"), due=Sum("due_fen"), paid=Sum("paid_fen"))
        .order_by("scheme")
    ):
        out.append(
            {
                "scheme": r["scheme"],
                "label": str(labels.get(r["scheme"], r["scheme"])),
                "n": int(r["n"] or 0),
                "persons": int(r["persons"] or 0),
                "due_fen": int(r["due"] or 0),
                "paid_fen": int(r["paid"] or 0),
            }
        )
    return out


def _findings_by_state(findings: QuerySet[Finding]) -> list[dict[str, Any]]:
    labels = dict(FindingState.choices)
    return [
        {
            "state": r["state"],
            "label": str(labels.get(r["state"], r["state"])),
            "n": r["n"],
            "fen": int(r["fen"] or 0),
        }
        for r in findings.values("state").annotate(n=Count("pk"), fen=Sum("amount_fen")).order_by("state")
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
