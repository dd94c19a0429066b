"""年度公告 (条例第30条): a district's annual public report of social assistance — recipients, amounts,
standards, complaints and their handling — generated from the data and printable.

Nothing in it names a person: every figure is a count or a sum. Recipients and amounts come from the
year's aggregate rows (`MonthFigure`, the monthly report's figures); the standards from the policy
parameters in force at the year's end (for the district where a parameter has district values);
complaints (投诉举报) and objections (异议) from the cases filed in the year, and the whistle-blowers'
reports (举报, 条例第34条, `whistle.py`) received in the year for the district — counted by state and
against their time limit, never naming the reporter or the reported.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudi.intake.models import Case, CaseType
from doudi.payments.models import HOUSEHOLD_SCHEMES, PayScheme
from doudi.policy.money import round_half_up
from doudi.regions.models import Region
from doudi.supervision.figures import months_with_payroll
from doudi.supervision.models import MonthFigure, WhistleReport, WhistleState

if TYPE_CHECKING:
    from doudi.accounts.models import User

# The standards published, with how each is read from the parameters.
STANDARDS = (
    ("dibao.standard.urban", _("城市最低生活保障标准（元/人·月）")),
    ("dibao.standard.rural", _("农村最低生活保障标准（元/人·月）")),
    ("tekun.basic_living_ratio", _("特困人员基本生活标准（元/人·月）")),
    ("children.allowance.institutional", _("集中养育孤儿基本生活费（元/人·月）")),
    ("children.allowance.scattered", _("散居孤儿、事实无人抚养儿童基本生活费（元/人·月）")),
)
COMPLAINT_TYPES = (CaseType.COMPLAINT, CaseType.OBJECTION)
# The whistle-blowers' reports' row among the complaints (not a case type).
WHISTLE = "whistle"


@dataclass
class SchemeYear:
    scheme: str
    label: str
    household_scheme: bool
    year_end: int  # households (household scheme) or persons at the year's last month
    year_end_persons: int
    person_months: int  # 全年累计户次/人次
    due_fen: int
    paid_fen: int


@dataclass
class Standard:
    name: str
    label: str
    yuan: Any  # Decimal or int, None when not set
    since: datetime.date | None
    verified: bool


@dataclass
class ComplaintYear:
    case_type: str
    label: str
    filed: int
    closed: int
    on_time: int
    open: int
    open_overdue: int


@dataclass
class AnnualReport:
    district: Region
    year: int
    last_month: str | None
    schemes: list[SchemeYear]
    standards: list[Standard]
    complaints: list[ComplaintYear]
    generated_at: datetime.datetime
    # The year's whistle-blowers' reports by state: (state, label, count), every state listed.
    whistle_by_state: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def due_fen(self) -> int:
        return sum(s.due_fen for s in self.schemes)

    @property
    def paid_fen(self) -> int:
        return sum(s.paid_fen for s in self.schemes)


def _standards(district: Region, on: datetime.date) -> list[Standard]:
    from doudi.parameters.selectors import current_parameters

    params = current_parameters()
    out = []
    for name, label in STANDARDS:
        region = district.code if params[name].region_indexed else None
        value = params.value_at(name, on, region)
        if name == "tekun.basic_living_ratio" and value is not None:
            # R2: the urban standard × the ratio, rounded half up to the yuan.
            urban = params.value_at("dibao.standard.urban", on)
            yuan = round_half_up(urban.ratio * value.ratio) if urban is not None else None
            out.append(Standard(name, str(label), yuan, value.since, value.verified and urban.verified))
            continue
        out.append(
            Standard(
                name,
                str(label),
                value.value if value is not None else None,
                value.since if value is not None else None,
                value.verified if value is not None else False,
            )
        )
    return out


def _complaints(user: User, district: Region, year: int, today: datetime.date) -> list[ComplaintYear]:
    labels = dict(CaseType.choices)
    rows = {
        r["case_type"]: r
        for r in Case.objects.visible_to(user)
        .filter(region__path__startswith=district.path, case_type__in=COMPLAINT_TYPES, filed_at__year=year)
        .values("case_type")
        .annotate(
            filed=Count("pk"),
            closed=Count("pk", filter=Q(closed_at__isnull=False)),
            on_time=Count(
                "pk",
                filter=Q(closed_at__isnull=False)
                & (Q(due_on__isnull=True) | Q(closed_at__date__lte=F("due_on"))),
            ),
            open=Count("pk", filter=Q(closed_at__isnull=True)),
            open_overdue=Count("pk", filter=Q(closed_at__isnull=True, due_on__lt=today)),
        )
        .order_by()
    }
    return [
        ComplaintYear(
            t,
            str(labels[t]),
            **{
                k: int(rows.get(t, {}).get(k) or 0)
                for k in ("filed", "closed", "on_time", "open", "open_overdue")
            },
        )
        for t in COMPLAINT_TYPES
    ]


def _whistle(
    user: User, district: Region, year: int, today: datetime.date
) -> tuple[ComplaintYear, list[tuple[str, str, int]]]:
    """The whistle-blowers' reports received in the year about the district: one query of counts (no
    identity is read), as a complaints row and by state."""
    concluded = Q(state=WhistleState.CONCLUDED)
    counts = (
        WhistleReport.objects.visible_to(user)
        .filter(region__path__startswith=district.path, received_at__year=year)
        .aggregate(
            filed=Count("pk"),
            closed=Count("pk", filter=concluded),
            on_time=Count(
                "pk",
                filter=concluded & (Q(due_on__isnull=True) | Q(concluded_at__date__lte=F("due_on"))),
            ),
            open_overdue=Count("pk", filter=~concluded & Q(due_on__lt=today)),
            **{state: Count("pk", filter=Q(state=state)) for state in WhistleState.values},
        )
    )
    row = ComplaintYear(
        WHISTLE,
        str(_("举报（条例第三十四条）")),
        filed=counts["filed"],
        closed=counts["closed"],
        on_time=counts["on_time"],
        open=counts["filed"] - counts["closed"],
        open_overdue=counts["open_overdue"],
    )
    return row, [(state, str(label), counts[state]) for state, label in WhistleState.choices]


def annual_report(
    user: User, district: Region, year: int, *, today: datetime.date | None = None
) -> AnnualReport:
    """The annual report of a district (callers check the user may see it)."""
    today = today or timezone.localdate()
    months = [m for m in months_with_payroll() if m.startswith(f"{year}-")]
    last = months[-1] if months else None
    figures = MonthFigure.objects.visible_to(user).filter(
        district=district.code, month__startswith=f"{year}-"
    )
    totals = {
        r["scheme"]: r
        for r in figures.values("scheme").annotate(
            n=Sum("recipients"), due=Sum("due_fen"), paid=Sum("paid_fen")
        )
    }
    at_end = {
        r["scheme"]: r
        for r in figures.filter(month=last or "")
        .values("scheme")
        .annotate(n=Sum("recipients"), p=Sum("persons"))
    }
    labels = dict(PayScheme.choices)
    order = {s: i for i, s in enumerate(PayScheme.values)}
    schemes = [
        SchemeYear(
            scheme=s,
            label=str(labels.get(s, s)),
            household_scheme=s in HOUSEHOLD_SCHEMES,
            year_end=int(at_end.get(s, {}).get("n") or 0),
            year_end_persons=int(at_end.get(s, {}).get("p") or 0),
            person_months=int(totals[s]["n"] or 0),
            due_fen=int(totals[s]["due"] or 0),
            paid_fen=int(totals[s]["paid"] or 0),
        )
        for s in sorted(totals, key=lambda s: (order.get(s, 99), s))
    ]
    year_end = datetime.date(year, 12, 31)
    whistle, whistle_by_state = _whistle(user, district, year, today)
    return AnnualReport(
        district=district,
        year=year,
        last_month=last,
        schemes=schemes,
        standards=_standards(district, min(year_end, today) if year == today.year else year_end),
        complaints=[*_complaints(user, district, year, today), whistle],
        generated_at=timezone.now(),
        whistle_by_state=whistle_by_state,
    )
