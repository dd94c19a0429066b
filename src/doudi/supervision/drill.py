"""The lists behind the dashboard's figures (drill-down): per kind, the same filter as the figure applied
to the rows, shown a page at a time and exported whole to Excel — personal data masked in both."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from doudi.core.excel import DATE, INTEGER, MONEY_FEN, Column
from doudi.core.masking import mask_id_number, mask_name
from doudi.core.text import clean_text
from doudi.intake.flows import flow_for
from doudi.intake.models import CaseType
from doudi.payments.models import LineStatus, PayScheme
from doudi.policy.periods import Period
from doudi.regions.models import Region
from doudi.supervision import dashboard, figures
from doudi.supervision.models import Check, FindingState


@dataclass
class DrillSpec:
    kind: str
    title: str
    headers: Sequence[str | Column]
    rows: Any  # a queryset or a list
    render: Callable[[Any], list[Any]]
    query: str
    summary: list[tuple[str, Any, bool]] = field(default_factory=list)
    money_columns: tuple[int, ...] = ()
    # The page a row's first cell opens (the finding behind a finding's row), if any.
    link: Callable[[Any], str] | None = None

    @property
    def count(self) -> int:
        return (
            self.rows.count()
            if hasattr(self.rows, "count") and not isinstance(self.rows, list)
            else len(self.rows)
        )

    @property
    def filename(self) -> str:
        return f"supervision-{self.kind}-{datetime.date.today():%Y%m%d}.xlsx"

    def linked_rows(self, objects: Iterable[Any]) -> list[tuple[str, list[Any]]]:
        """(the first cell's link or "", the cells) of each row of a page."""
        return [(self.link(o) if self.link else "", self.render(o)) for o in objects]

    def export_rows(self) -> Iterable[list[Any]]:
        source = self.rows.iterator(chunk_size=2000) if hasattr(self.rows, "iterator") else self.rows
        return (self.render(o) for o in source)


def _flag(request: HttpRequest, name: str) -> bool:
    return clean_text(request.GET.get(name, "")) == "1"


def _choice(request: HttpRequest, name: str, allowed: Iterable[str]) -> str:
    value = clean_text(request.GET.get(name, ""))
    return value if value in set(allowed) else ""


def spec_for(
    kind: str, request: HttpRequest, region: Region, month: Period, today: datetime.date
) -> DrillSpec:
    user = request.user
    base = {"region": region.code, "month": str(month)}
    if kind == "cases":
        case_type = _choice(request, "case_type", CaseType.values)
        flow = flow_for(case_type) if case_type else None
        states = set(flow.states) if flow else {clean_text(request.GET.get("state", ""))[:32]}
        state = _choice(request, "state", states)
        overdue = _flag(request, "overdue")
        rows = dashboard.case_list(
            user, region, today=today, state=state, case_type=case_type, overdue=overdue
        )

        def case_row(c):
            f = flow_for(c.case_type)
            return [
                c.tracking_number,
                c.get_case_type_display(),
                str(f.states.get(c.state, c.state)) if f else c.state,
                c.region.name,
                mask_name(c.display_name),
                c.due_on,
                bool(c.due_on and c.due_on < today),
            ]

        query = {**base, "case_type": case_type, "state": state, "overdue": "1" if overdue else ""}
        return DrillSpec(
            kind,
            _("逾期案件") if overdue else _("在办案件"),
            [
                _("受理编号"),
                _("案件类型"),
                _("状态"),
                _("责任单位"),
                _("申请人"),
                Column(_("办理期限"), DATE),
                _("逾期"),
            ],
            rows,
            case_row,
            urlencode({k: v for k, v in query.items() if v}),
        )
    if kind == "payments":
        scheme = _choice(request, "scheme", PayScheme.values)
        rows = dashboard.payment_list(user, region, month, scheme=scheme)
        statuses = dict(LineStatus.choices)
        schemes = dict(PayScheme.choices)

        def line_row(line):
            return [
                line.ref,
                str(schemes.get(line.scheme, line.scheme)),
                line.region.name,
                mask_name(line.person.name),
                mask_id_number(line.person.id_number),
                line.amount_fen,
                str(statuses.get(line.status, line.status)),
                line.arrears_seq > 0,
            ]

        from django.db.models import Count, Q, Sum

        sums = rows.aggregate(n=Count("pk", filter=Q(arrears_seq=0)), fen=Sum("amount_fen"))
        return DrillSpec(
            kind,
            _("发放明细"),
            [
                _("流水号"),
                _("发放项目"),
                _("村社区"),
                _("收款人"),
                _("身份证号"),
                Column(_("金额（元）"), MONEY_FEN),
                _("状态"),
                _("补发差额"),
            ],
            rows,
            line_row,
            urlencode({k: v for k, v in {**base, "scheme": scheme}.items() if v}),
            summary=[
                (_("发放笔数（不含补发差额）"), sums["n"] or 0, False),
                (_("应发金额"), sums["fen"] or 0, True),
            ],
            money_columns=(5,),
        )
    if kind == "coverage":
        rows = dashboard.coverage_list(user, region, month)
        covered = clean_text(request.GET.get("covered", ""))
        if covered in ("0", "1"):
            rows = rows.filter(covered=covered == "1")

        def poor_row(p):
            return [mask_name(p.name), mask_id_number(p.id_number), p.region.name, bool(p.covered)]

        return DrillSpec(
            kind,
            _("建档立卡贫困人口"),
            [_("姓名"), _("身份证号"), _("村社区"), _("享受救助")],
            rows,
            poor_row,
            urlencode({**base, **({"covered": covered} if covered in ("0", "1") else {})}),
        )
    if kind == "findings":
        state = _choice(request, "state", FindingState.values)
        open_only = _flag(request, "open")
        rows = dashboard.finding_list(user, region, state=state, open_only=open_only)
        checks, states = dict(Check.choices), dict(FindingState.choices)

        def finding_row(f):
            return [
                f.key,
                str(checks.get(f.check_code, f.check_code)),
                f.month,
                f.region.name,
                f.amount_fen,
                str(states.get(f.state, f.state)),
            ]

        return DrillSpec(
            kind,
            _("问题线索"),
            [
                _("线索编号"),
                _("检查项目"),
                _("所属月份"),
                _("村社区"),
                Column(_("涉及金额（元）"), MONEY_FEN),
                _("状态"),
            ],
            rows,
            finding_row,
            urlencode(
                {k: v for k, v in {**base, "state": state, "open": "1" if open_only else ""}.items() if v}
            ),
            money_columns=(4,),
            link=lambda f: reverse("supervision:finding", args=[f.pk]),
        )
    # contacts
    refreshed = figures.contacts_freshness()
    day = datetime.date.fromisoformat(refreshed.stamp) if refreshed else today
    rows_list = dashboard.contact_list(user, region, day)

    def contact_row(r):
        return [
            mask_name(r.person.name),
            r.person.region.name,
            r.category_labels,
            r.last_contact,
            r.due,
            r.overdue_days,
        ]

    return DrillSpec(
        kind,
        _("探访逾期"),
        [
            _("姓名"),
            _("村社区"),
            _("类别"),
            Column(_("上次探访"), DATE),
            Column(_("应探访日期"), DATE),
            Column(_("逾期天数"), INTEGER),
        ],
        rows_list,
        contact_row,
        urlencode(base),
        summary=[(_("统计日期"), day, False)],
    )
