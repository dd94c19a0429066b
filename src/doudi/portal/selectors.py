"""Reads of the citizen portal: the region tree for the address selects, a case's status in citizen
language, and (for the console) the message outbox.

The citizen's view of a case leaves out everything internal: no staff names, no comments, no
referrals, no staff attachments; refusal reasons are shown because the applicant is owed them in
writing (条例第18条), missing items because they are told to the applicant at once (条例第17条).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.intake.flows import NOTICE_ACCEPTANCE, NOTICE_DECISION, NOTICE_MISSING, NOTICE_REFUSAL, flow_for
from doudi.intake.models import Case, CaseTransition, TransferStatus
from doudi.portal.models import OutboxMessage
from doudi.regions.models import Region, RegionLevel


def districts() -> QuerySet[Region]:
    return Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code")


def children_of(code: str, level: int) -> QuerySet[Region]:
    """The townships of a district / the villages of a township (public: region names are not personal)."""
    return Region.objects.filter(parent_id=code, level=level).order_by("code")


def village_chain(code: str) -> tuple[Region | None, Region | None, Region | None]:
    """(district, township, village) of a village code, for re-showing a submitted form."""
    village = (
        Region.objects.select_related("parent__parent").filter(code=code, level=RegionLevel.VILLAGE).first()
    )
    if village is None:
        return None, None, None
    township = village.parent
    return (township.parent if township else None), township, village


@dataclass
class Step:
    on: datetime.date
    title: str
    detail: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class CitizenStatus:
    case: Case
    scheme: str
    state: str
    is_open: bool
    due_on: datetime.date | None
    paused: bool
    steps: list[Step]
    missing: list[str]
    deferred: list[Any]
    uploaded: list[str]
    upload_choices: list[tuple[str, str]]
    decision: dict | None = None
    # The notices the case issued to the applicant, newest first: (ledger seq, title, kind).
    notices: list[tuple[int, str, str]] = field(default_factory=list)


# Titles of the steps as the applicant reads them; other actions fall back to the flow's label.
CITIZEN_TITLES = {
    "open": gettext_lazy("提交申请"),
    "accept": gettext_lazy("已受理"),
    "request_missing": gettext_lazy("需要补充材料"),
    "supplement": gettext_lazy("材料已补齐，重新进入受理"),
    "reject": gettext_lazy("不予受理"),
    "withdraw": gettext_lazy("申请已撤回"),
    "approve": gettext_lazy("已批准"),
    "refuse": gettext_lazy("不予批准"),
    "close": gettext_lazy("已办结"),
    # dibao (低保)
    "economic_data": gettext_lazy("核实家庭经济状况"),
    "evaluate": gettext_lazy("按政策评估"),
    "township_review": gettext_lazy("乡镇（街道）审核"),
    "skip_deliberation": gettext_lazy("疫情防控期间不开展民主评议，在网上公示"),
    "start_deliberation": gettext_lazy("民主评议"),
    "record_deliberation": gettext_lazy("民主评议已完成"),
    "republish": gettext_lazy("复核公示"),
    "uphold_objection": gettext_lazy("公示期间的异议经核实成立，重新调查"),
    "dismiss_objection": gettext_lazy("公示期间的异议经核实不成立"),
    "end_publicity": gettext_lazy("公示期满，报区县审批"),
    "reinvestigate": gettext_lazy("重新调查"),
    # temporary assistance, 一事一议, children
    "assess": gettext_lazy("核定救助金额"),
    "approve_township": gettext_lazy("已批准"),
    "refuse_township": gettext_lazy("不予批准"),
    "reassess": gettext_lazy("重新核定"),
    "escalate": gettext_lazy("转为“一事一议”，由区县集体研究"),
    "propose": gettext_lazy("提出救助方案"),
    "decide": gettext_lazy("区县集体研究决定给予救助"),
    "decline": gettext_lazy("区县集体研究决定不予救助"),
    "record_commitment": gettext_lazy("已登记个人承诺，材料后补"),
    "document_received": gettext_lazy("补交的材料已收到"),
    "deferred_document_received": gettext_lazy("补交的材料已收到"),
}


# A workflow's own words where an action name means something else there (by flow, then action).
FLOW_TITLES = {
    ("change_report", "economic_data"): gettext_lazy("核实变化情况"),
    ("change_report", "evaluate"): gettext_lazy("重新核定低保金"),
    ("change_report", "reinvestigate"): gettext_lazy("重新核实"),
    ("change_report", "decide"): gettext_lazy("区县作出决定"),
    ("change_report", "apply_deferred"): gettext_lazy("疫情防控期间结束，执行决定"),
}


def _title(flow: Any, t: CaseTransition) -> str:
    if (flow.name, t.action) in FLOW_TITLES:
        return str(FLOW_TITLES[(flow.name, t.action)])
    if t.action in CITIZEN_TITLES:
        return str(CITIZEN_TITLES[t.action])
    act = flow.action(t.action)
    return str(act.label) if act else flow.state_label(t.to_state)


def citizen_status(case: Case, *, today: datetime.date | None = None) -> CitizenStatus:
    today = today or timezone.localdate()
    flow = flow_for(case.case_type)
    steps: list[Step] = []
    notices: list[tuple[int, str, str]] = []
    for t in case.transitions.order_by("seq"):
        act = flow.action(t.action)
        step = Step(timezone.localdate(t.at), _title(flow, t))
        if act is not None and act.notice:
            notices.insert(0, (t.seq, notice_title(act.notice, t.to_state), act.notice))
        if act is not None and act.notice in (NOTICE_REFUSAL,) and t.reason:
            step.detail = t.reason
        if act is not None and act.notice == NOTICE_MISSING:
            step.lines = list(t.data.get("items") or [])
        steps.append(step)
    for transfer in case.transfers.select_related("to_region").filter(status=TransferStatus.ACCEPTED):
        steps.append(
            Step(
                timezone.localdate(transfer.responded_at or transfer.requested_at),
                _("转由%(unit)s办理") % {"unit": transfer.to_region.name},
            )
        )
    steps.sort(key=lambda s: s.on)
    missing = list(case.missing_items or []) if case.state == "awaiting_documents" else []
    deferred = []
    if (case.details or {}).get("deferred_documents"):
        from doudi.intake.workflows import children

        deferred = children.deferred_checklist(case, today)
    uploaded = list(case.attachments.filter(uploaded_by__isnull=True).values_list("label", flat=True))
    choices = [(i.key, i.label) for i in deferred if i.status != "received"]
    choices += [(f"missing-{n}", item) for n, item in enumerate(case.missing_items or []) if missing]
    choices.append(("other", _("其他补充材料")))
    decision = (case.details or {}).get("decision") if case.state in ("approved", "closed") else None
    if decision and not decision.get("amount"):
        decision = None
    return CitizenStatus(
        decision=decision,
        case=case,
        scheme=case.get_case_type_display(),
        state=flow.state_label(case.state),
        is_open=case.is_open,
        due_on=case.due_on,
        paused=case.sla_paused_since is not None,
        steps=steps,
        missing=missing,
        deferred=deferred,
        uploaded=uploaded,
        upload_choices=choices if case.is_open else [],
        notices=notices,
    )


def notice_title(kind: str, to_state: str) -> str:
    """The printed notice's name, as the citizen's list shows it."""
    if kind == NOTICE_ACCEPTANCE:
        return _("受理通知书")
    if kind == NOTICE_MISSING:
        return _("补正材料一次性告知书")
    if kind == NOTICE_DECISION:
        return _("审批决定书")
    return _("不予受理通知书") if to_state == "rejected" else _("不予批准通知书")


def citizen_transition(case: Case, seq: int) -> CaseTransition | None:
    """One ledger entry of the citizen's own case that printed a notice (None for any other)."""
    t = CaseTransition.objects.select_related("by__region").filter(case=case, seq=seq).first()
    act = flow_for(case.case_type).action(t.action) if t is not None else None
    return t if act is not None and act.notice else None


def citizen_change(case: Case, pk: int) -> Any:
    """One later change (减发、停发、恢复、退出、金额变化) of an enrolment the citizen's case decided."""
    from doudi.benefits.selectors import changes_for_citizen

    return next((c for c in changes_for_citizen(case) if c.pk == pk), None)


# --- 发放记录: the household's payments ---------------------------------------------------------------------

PAYMENT_MONTHS = 24  # two years of months on a phone page; older ones at the village


@dataclass
class CitizenPayment:
    month: str
    scheme: str
    amount_fen: int
    status: str
    status_label: str
    account: str  # masked (6222 **** **** 1234), with the bank's name
    reason: str = ""  # why it failed or is held, in plain words
    advice: str = ""  # what to do
    settled_on: datetime.date | None = None

    @property
    def amount_known(self) -> bool:
        """A line held because its amount cannot be computed yet (no district standard, no price index)
        carries 0: the citizen is told the amount is to be set, never "0.00 元"."""
        return not (self.status == "held" and self.amount_fen == 0)


# Why a line is held (暂缓发放), in the citizen's words, and what to do about it.
HELD_REASONS = {
    "no_account": (
        gettext_lazy("尚未登记收款账户（一卡通或社保卡）"),
        gettext_lazy("请带身份证和银行卡到村（社区）或乡镇（街道）登记收款账户，登记后补发。"),
    ),
    "district_standard": (
        gettext_lazy("区县尚未确定发放标准"),
        gettext_lazy("标准确定后发放，无需办理任何手续。"),
    ),
    "index_missing": (
        gettext_lazy("当月价格指数尚未公布"),
        gettext_lazy("价格指数公布后发放，无需办理任何手续。"),
    ),
}
FAILED_ADVICE = gettext_lazy(
    "账户问题，请带身份证和银行卡到村（社区）或乡镇（街道）更正收款账户，更正后补发。"
)
STATUS_ADVICE = {
    "pending": gettext_lazy("已列入发放名册，审核后报送银行。"),
    "issued": gettext_lazy("已报送银行，一般几个工作日内到账。"),
}


def _payment_lines(case: Case) -> Any:
    """The lines of the enrolments this case decided (the household's 低保金, or the one person's 特困/
    儿童 allowance, in the months enrolled), the case's own one-off payment (临时救助, 一事一议, 先行救助)
    and the applicant's own person payments — never another member's. Only lines of a computed payroll (a run still computing may be redone)."""
    from django.db.models import Q

    from doudi.benefits.models import PERSON_LEVEL, Enrolment
    from doudi.payments.models import ONE_OFF_SCHEMES, PaymentLine, RunStatus

    match = Q(pk__in=[])
    for e in Enrolment.objects.filter(decision_case=case):
        one = Q(scheme=e.scheme, beneficiary_id=e.person_id if e.scheme in PERSON_LEVEL else e.household_id)
        one &= Q(month__gte=f"{e.from_month:%Y-%m}")
        if e.end_month:
            one &= Q(month__lte=f"{e.end_month:%Y-%m}")
        match |= one
    match |= Q(scheme__in=ONE_OFF_SCHEMES, beneficiary_id=case.pk)  # this case's one-off payment
    if case.applicant_id:
        match |= Q(person_id=case.applicant_id)
    return PaymentLine.objects.filter(match, run__status=RunStatus.COMPUTED).order_by(
        "-month", "scheme", "pk"
    )


def citizen_payments(case: Case) -> list[CitizenPayment]:
    """发放记录 for the citizen who proved the case is theirs: month, scheme, amount, where it stands
    (待发放/已报送银行/已到账/发放失败/暂缓发放, with the reason and what to do), the account masked."""
    from doudi.core.masking import mask_account_number
    from doudi.payments.models import Bank, LineStatus, PayScheme

    lines = list(_payment_lines(case)[: PAYMENT_MONTHS * 3])
    banks = dict(Bank.objects.filter(code__in={x.bank_code for x in lines}).values_list("code", "name"))
    rows = []
    for line in lines:
        scheme = str(PayScheme(line.scheme).label) if line.scheme in PayScheme.values else line.scheme
        if line.arrears_seq:  # the difference an arrears run pays for that month (补发差额)
            scheme = _("%(scheme)s（补发差额）") % {"scheme": scheme}
        row = CitizenPayment(
            month=line.month,
            scheme=scheme,
            amount_fen=line.amount_fen,
            status=line.status,
            status_label=str(LineStatus(line.status).label),
            account=" ".join(
                x for x in (banks.get(line.bank_code, ""), mask_account_number(line.account_number)) if x
            ),
            advice=str(STATUS_ADVICE.get(line.status, "")),
        )
        if line.status == LineStatus.PAID and line.settled_at:
            row.settled_on = timezone.localdate(line.settled_at)
        elif line.status == LineStatus.FAILED:
            row.reason = line.failure_reason or _("银行退回")
            row.advice = str(FAILED_ADVICE)
        elif line.status == LineStatus.HELD:
            reason, advice = HELD_REASONS.get(
                line.flag, (gettext_lazy("待核实"), gettext_lazy("如有疑问请拨打求助热线。"))
            )
            row.reason, row.advice = str(reason), str(advice)
        rows.append(row)
    return rows


def outbox(limit: int = 200) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.select_related("case").order_by("-created_at", "-id")[:limit]
