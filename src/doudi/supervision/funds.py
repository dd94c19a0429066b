"""资金拨付进度 (五): what the city allocates to each district per scheme and year, what the district has
disbursed against it month by month, and a warning when the spending will pass the allocation before
the year ends.

- Allocations (`Allocation`) are entered by one finance officer and approved by another (maker-checker),
  in exact fen; every step is audited.
- Disbursed (已拨付) in a month = the month's 应发 of the district's payment lines for the scheme, every
  status, arrears included in the month they are owed for — the monthly report's 应发 — read from the
  aggregate table (`MonthFigure`), never from the lines.
- The projection rule (`project`), stated on the page: see PROJECTION_RULE.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.fields import clean_field_text, raise_field_errors, require
from doudi.core.scoping import get_visible_or_404
from doudi.core.templatetags.doudi import yuan
from doudi.core.text import clean_text
from doudi.payments.models import PayScheme
from doudi.policy.money import round_half_up
from doudi.regions.models import Region, RegionLevel
from doudi.supervision.figures import months_with_payroll
from doudi.supervision.models import Allocation, AllocationStatus, MonthFigure

if TYPE_CHECKING:
    from doudi.accounts.models import User

# Who enters and approves allocations (maker and checker must be two people).
ALLOCATION_ROLES = ("municipal_finance", "municipal_admin")
MAX_ALLOCATION_FEN = 10**15  # ten trillion yuan: far above any budget line, far below bigint
BASIS_MAX = 200
YUAN_RE = re.compile(r"[0-9]{1,16}(\.[0-9]{1,2})?")
RECENT_MONTHS = 3

YEAR_ERROR = gettext_lazy("年度应为 2000 至 2100 之间的四位年份。")
PROPOSED_MESSAGE = gettext_lazy("资金下达已录入，待另一名财务人员复核后生效。")
APPROVED_MESSAGE = gettext_lazy("资金下达已复核生效。")
REJECTED_MESSAGE = gettext_lazy("资金下达已驳回。")

PROJECTION_RULE = gettext_lazy(
    "预计全年支出 = 截至最近一个已生成花名册月份的累计应发 + 最近3个月（不足3个月按已有月份）月均应发 × 剩余月数；"
    "预计全年支出超过下达金额即预警，并给出预计超支的月份；累计应发已超过下达金额为“已超支”。"
)


# --- allocations (maker-checker) ---------------------------------------------------------------------


def can_allocate(user: User) -> bool:
    return (
        user.is_authenticated
        and user.has_role(*ALLOCATION_ROLES)
        and user.region is not None
        and user.region.level == RegionLevel.MUNICIPALITY
    )


def parse_yuan(errors: dict[str, str], field_name: str, raw: Any) -> int:
    """Yuan as typed (up to two decimals, thousands separators allowed) → exact fen."""
    text = clean_text(raw).replace(",", "").replace("，", "")
    if not text:
        errors[field_name] = _("请填写此项。")
        return 0
    if not YUAN_RE.fullmatch(text):
        errors[field_name] = _("请填写金额（元），最多两位小数。")
        return 0
    value = Decimal(text)
    fen = int(value * 100)
    if fen < 0 or fen > MAX_ALLOCATION_FEN:
        errors[field_name] = _("金额应在 0 至 %(max)s 元之间。") % {"max": f"{MAX_ALLOCATION_FEN // 100:,}"}
    return fen


def _year(errors: dict[str, str], raw: Any) -> int:
    text = clean_text(raw)
    if not re.fullmatch(r"[0-9]{4}", text) or not 2000 <= int(text) <= 2100:
        errors["year"] = str(YEAR_ERROR)
        return 0
    return int(text)


@transaction.atomic
def propose_allocation(
    *, by: User, district_code: Any, scheme: Any, year: Any, amount: Any, basis: Any
) -> Allocation:
    """录入资金下达: a new budget line (or a change of the one in force), waiting for a second officer."""
    require(can_allocate(by))
    errors: dict[str, str] = {}
    code = clean_text(district_code)
    district = Region.objects.filter(code=code, level=RegionLevel.DISTRICT).first()
    if district is None or not district.path.startswith(by.region.path):
        errors["district"] = _("请选择区县。")
    scheme_code = clean_text(scheme)
    if scheme_code not in PayScheme.values:
        errors["scheme"] = _("请选择资金项目。")
    year_value = _year(errors, year)
    fen = parse_yuan(errors, "amount", amount)
    basis_text = clean_field_text(errors, "basis", basis, required=True, max_length=BASIS_MAX)
    raise_field_errors(errors)
    try:
        with transaction.atomic():
            allocation = Allocation.objects.create(
                district=district,
                scheme=scheme_code,
                year=year_value,
                amount_fen=fen,
                basis=basis_text,
                proposed_by=by,
                proposed_at=timezone.now(),
            )
    except IntegrityError:
        raise Conflict(_("该区县该项目该年度已有一笔待复核的资金下达，请先复核。")) from None
    record(
        actor=by,
        action="create",
        obj=allocation,
        region_path=district.path,
        after={"district": district.code, "scheme": scheme_code, "year": year_value, "amount_fen": fen},
        reason=basis_text,
    )
    return allocation


@transaction.atomic
def decide_allocation(*, by: User, pk: int, approve: bool, note: Any = "") -> Allocation:
    """复核: another finance officer approves (the line in force for the district, scheme and year
    becomes `superseded`) or rejects (with a note) a pending allocation."""
    require(can_allocate(by))
    allocation = get_visible_or_404(Allocation.objects.select_for_update(), by, pk=pk)
    if allocation.status != AllocationStatus.PENDING:
        raise Conflict(_("该笔资金下达已复核。"))
    if allocation.proposed_by_id == by.pk:
        raise Conflict(_("录入人不能复核自己录入的资金下达。"))
    errors: dict[str, str] = {}
    note_text = clean_field_text(errors, "note", note, required=not approve, max_length=300)
    raise_field_errors(errors)
    now = timezone.now()
    before = None
    if approve:
        current = (
            Allocation.objects.select_for_update()
            .filter(
                district=allocation.district,
                scheme=allocation.scheme,
                year=allocation.year,
                status=AllocationStatus.ACTIVE,
            )
            .first()
        )
        if current is not None:
            before = {"amount_fen": current.amount_fen, "id": current.pk}
            current.status = AllocationStatus.SUPERSEDED
            current.save(update_fields=["status"])
    allocation.status = AllocationStatus.ACTIVE if approve else AllocationStatus.REJECTED
    allocation.decided_by, allocation.decided_at, allocation.decision_note = by, now, note_text
    allocation.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record(
        actor=by,
        action="approve" if approve else "reject",
        obj=allocation,
        region_path=allocation.district.path,
        before=before,
        after={"status": allocation.status, "amount_fen": allocation.amount_fen},
        reason=note_text,
    )
    return allocation


def pending_allocations(user: User):
    return (
        Allocation.objects.visible_to(user)
        .filter(status=AllocationStatus.PENDING)
        .select_related("district", "proposed_by")
        .order_by("proposed_at", "pk")
    )


HISTORY_SHOWN = 30


def allocation_history(user: User, year: int):
    """The year's allocations, latest first (the page shows the latest HISTORY_SHOWN; each step is also
    in the audit log)."""
    return (
        Allocation.objects.visible_to(user)
        .filter(year=year)
        .select_related("district", "proposed_by", "decided_by")
        .order_by("-proposed_at", "-pk")
    )


# --- the projection -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    spent_fen: int  # cumulative to `through`
    monthly_fen: int  # the recent monthly average (rounded half up to the fen)
    projected_fen: int  # the year's projected total
    exceeded: bool  # spent already passes the allocation
    warning: bool  # projected passes the allocation (or already passed)
    exceed_month: int | None  # the first month projected (or seen) to pass it


def project(monthly: list[int], through: int, allocation_fen: int | None) -> Projection | None:
    """The rule of PROJECTION_RULE. `monthly[i]` is month i+1's spending; `through` is the last month
    with a computed payroll (1–12); months after it are not looked at. None without data (through 0)."""
    if through < 1:
        return None
    through = min(through, 12)
    spent = sum(monthly[:through])
    recent = monthly[max(0, through - RECENT_MONTHS) : through]
    rate = Fraction(sum(recent), len(recent))
    projected = spent + round_half_up(rate * (12 - through))
    exceeded = allocation_fen is not None and spent > allocation_fen
    exceed_month = None
    if allocation_fen is not None:
        running = 0
        for i in range(through):
            running += monthly[i]
            if running > allocation_fen:
                exceed_month = i + 1
                break
        if exceed_month is None and rate > 0:
            # The first later month k with spent + rate × (k − through) > allocation.
            k = through + int((allocation_fen - spent) / rate) + 1
            exceed_month = k if k <= 12 else None
    return Projection(
        spent_fen=spent,
        monthly_fen=round_half_up(rate),
        projected_fen=projected,
        exceeded=exceeded,
        warning=allocation_fen is not None and (exceeded or projected > allocation_fen),
        exceed_month=exceed_month,
    )


# --- the progress page ------------------------------------------------------------------------------------


@dataclass
class FundRow:
    district: Region
    scheme: str
    scheme_label: str
    allocation_fen: int | None
    monthly: list[int]
    projection: Projection | None

    @property
    def remaining_fen(self) -> int | None:
        if self.allocation_fen is None or self.projection is None:
            return self.allocation_fen
        return self.allocation_fen - self.projection.spent_fen

    @property
    def percent(self) -> Decimal | None:
        """Spent as a percentage of the allocation, one decimal (None without one or at 0)."""
        if not self.allocation_fen or self.projection is None:
            return None
        return (Decimal(100 * self.projection.spent_fen) / self.allocation_fen).quantize(Decimal("0.1"))

    def html(self, through: int) -> str:
        """The row as HTML, built here: a template loop over forty districts' schemes and months is most
        of the page's time. Names are escaped; the rest are figures."""
        p = self.projection
        months = "".join(
            f'<td class="text-end">{yuan(fen) if i < through else "—"}</td>'
            for i, fen in enumerate(self.monthly)
        )
        not_allocated = _("未下达")
        allocated = (
            f'<span class="text-muted">{escape(not_allocated)}</span>'
            if self.allocation_fen is None
            else yuan(self.allocation_fen)
        )
        if p is not None and p.exceeded:
            overspent = _("已超支")
            badge = f'<span class="badge text-bg-danger">{escape(overspent)}</span>'
        elif p is not None and p.warning:
            text = _("预计%(m)s月超支") % {"m": p.exceed_month} if p.exceed_month else _("预计超支")
            badge = f'<span class="badge text-bg-warning">{escape(text)}</span>'
        else:
            badge = ""
        remaining = self.remaining_fen
        warn = ' class="table-warning"' if p is not None and p.warning else ""
        return mark_safe(  # noqa: S308 — names escaped above, the rest are numbers
            f'<tr data-district="{escape(self.district.code)}" data-scheme="{escape(self.scheme)}"'
            f"{warn}>"
            f'<th scope="row">{escape(self.district.name)}</th><td>{escape(self.scheme_label)}</td>'
            f'<td class="text-end">{allocated}</td>{months}'
            f'<td class="text-end">{yuan(p.spent_fen) if p else "—"}</td>'
            f'<td class="text-end">{self.percent if self.percent is not None else "—"}</td>'
            f'<td class="text-end">{yuan(remaining) if remaining is not None else "—"}</td>'
            f'<td class="text-end">{yuan(p.projected_fen) if p else "—"}</td><td>{badge}</td></tr>'
        )


@dataclass
class FundProgress:
    year: int
    through: int  # last month of the year with a computed payroll (0: none yet)
    rows: list[FundRow] = field(default_factory=list)

    @property
    def warnings(self) -> list[FundRow]:
        return [r for r in self.rows if r.projection and r.projection.warning]

    @property
    def months(self) -> list[int]:
        return list(range(1, 13))

    @property
    def table_html(self) -> str:
        return mark_safe("".join(r.html(self.through) for r in self.rows))  # noqa: S308 — built escaped


def _through(year: int) -> int:
    months = [int(m[5:7]) for m in months_with_payroll() if m.startswith(f"{year}-")]
    return max(months, default=0)


def fund_progress(user: User, year: int, *, district: Region | None = None) -> FundProgress:
    """Per district (of the user's subtree, or the one given) and scheme: allocation, spending per month,
    projection and warning. Read from `MonthFigure` (a few thousand rows) and the allocations."""
    through = _through(year)
    figures = MonthFigure.objects.visible_to(user).filter(month__startswith=f"{year}-")
    allocations = Allocation.objects.visible_to(user).filter(year=year, status=AllocationStatus.ACTIVE)
    if district is not None:
        figures = figures.filter(district=district.code)
        allocations = allocations.filter(district=district)
    spent: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 12)
    for row in figures.values("district", "scheme", "month").annotate(due=Sum("due_fen")):
        spent[row["district"], row["scheme"]][int(row["month"][5:7]) - 1] += int(row["due"] or 0)
    allocated = {(a.district_id, a.scheme): a.amount_fen for a in allocations}
    keys = set(spent) | set(allocated)
    names = {r.code: r for r in Region.objects.filter(code__in={k[0] for k in keys})}
    labels = dict(PayScheme.choices)
    order = {s: i for i, s in enumerate(PayScheme.values)}
    rows = [
        FundRow(
            district=names[d],
            scheme=s,
            scheme_label=str(labels.get(s, s)),
            allocation_fen=allocated.get((d, s)),
            monthly=spent[d, s] if (d, s) in spent else [0] * 12,
            projection=project(spent[d, s] if (d, s) in spent else [0] * 12, through, allocated.get((d, s))),
        )
        for d, s in sorted(keys, key=lambda k: (k[0], order.get(k[1], 99), k[1]))
        if d in names
    ]
    return FundProgress(year=year, through=through, rows=rows)


def default_year() -> int:
    """The year of the latest computed payroll (this year before any)."""
    months = months_with_payroll()
    return int(months[-1][:4]) if months else timezone.localdate().year


def year_from(raw: Any) -> int | None:
    text = clean_text(raw)
    if not text:
        return default_year()
    if re.fullmatch(r"[0-9]{4}", text) and 2000 <= int(text) <= 2100:
        return int(text)
    return None
