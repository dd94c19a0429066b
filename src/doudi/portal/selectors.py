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

from doudi.intake.flows import NOTICE_MISSING, NOTICE_REFUSAL, flow_for
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


def _title(flow: Any, t: CaseTransition) -> str:
    if t.action in CITIZEN_TITLES:
        return str(CITIZEN_TITLES[t.action])
    act = flow.action(t.action)
    return str(act.label) if act else flow.state_label(t.to_state)


def citizen_status(case: Case, *, today: datetime.date | None = None) -> CitizenStatus:
    today = today or timezone.localdate()
    flow = flow_for(case.case_type)
    steps: list[Step] = []
    for t in case.transitions.order_by("seq"):
        act = flow.action(t.action)
        step = Step(timezone.localdate(t.at), _title(flow, t))
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
    )


def outbox(limit: int = 200) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.select_related("case").order_by("-created_at", "-id")[:limit]
