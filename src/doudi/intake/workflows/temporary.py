"""临时救助 (一(五)d, 一(三)), 一事一议 (一(五)c), 先行救助 (一(五)e) and the bereavement decision (一(五)b).

Temporary assistance (临时救助, subtypes 急难型 `urgent` / 支出型 `expenditure`): after 受理 the township
or district assesses the amount (核定); the amount routes the decision — up to the district's
**township approval limit** the township approves, above it the district approver, and above the
district's **cap** for the subtype nothing can be approved as ordinary temporary assistance: the case
is escalated to 一事一议. The limit and caps are dated, region-indexed policy parameters
(`temporary.township_approval_limit`, `temporary.cap.urgent`, `temporary.cap.expenditure`; a
district sets its own in the parameters console, the city-wide value applies otherwise) read as in
force on the filing day. Newly impoverished / relapsed farmers (一(三): 受疫情影响致贫/返贫的农户)
are flagged on the case (`details["poverty"]`).

一事一议 (case-by-case): a proposal (amount and the family's situation) → a **collective decision at
district level** (the district approver records the meeting date, the minutes reference, the
participants and the amount decided) → carried out. Every step is a ledger row and an audit entry.

先行救助 (first aid): a village worker records aid already given (cash, goods or services valued in
yuan) up to `temporary.first_aid_cap` **without prior approval**; within
`temporary.first_aid_formalise_days` working days of the aid it must become a temporary-assistance case
(补办审批) or be justified by the township (说明情况); the SLA clock makes a late one overdue in the
queue.

Bereavement (一(五)b, POLICY R6): when a COVID death is recorded for a person covered by R5 and the
district has set no `covid.bereavement_assistance`, a 一事一议 case for the family is opened at once
(`details["bereavement"]["needs_district_standard"] = True`), so the district decides the amount.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.intake import services, sla
from doudi.intake.flows import (
    ACCEPTANCE_CLOCK,
    ACCEPTED,
    APPROVED,
    APPROVER,
    AWAITING_DOCUMENTS,
    CLOSED,
    COMMON_STATES,
    DISTRICT,
    FRONT_DESK,
    NOTICE_DECISION,
    NOTICE_REFUSAL,
    REFUSED,
    REJECTED,
    SUBMITTED,
    TOWNSHIP,
    UNVERIFIED_BASIS,
    VILLAGE,
    WITHDRAWN,
    Action,
    Clock,
    Field,
    Flow,
    fixed_clock,
    intake_actions,
    register,
)
from doudi.intake.models import Case, CaseType, Channel, CovidEventKind
from doudi.intake.signals import covid_event_recorded
from doudi.intake.workflows import payout
from doudi.intake.workflows.common import local_today

logger = logging.getLogger(__name__)

# --- parameters -------------------------------------------------------------------------------------------

TOWNSHIP_LIMIT = "temporary.township_approval_limit"
CAPS = {"urgent": "temporary.cap.urgent", "expenditure": "temporary.cap.expenditure"}
FIRST_AID_CAP = "temporary.first_aid_cap"
FIRST_AID_DAYS = "temporary.first_aid_formalise_days"
BEREAVEMENT = "covid.bereavement_assistance"


@dataclass(frozen=True)
class Threshold:
    """A parameter value as the case page shows it: amount, since when, whether the district set it
    itself (else the city-wide default applies) and whether it is verified against its source."""

    name: str
    value: Decimal
    since: datetime.date | None
    verified: bool
    own: bool
    reference: str = ""

    @property
    def yuan(self) -> int | Decimal:
        return int(self.value) if self.value == int(self.value) else self.value


def _params():
    from doudi.parameters.selectors import current_parameters

    return current_parameters()


def _missing(name: str, on: datetime.date) -> ValidationError:
    return ValidationError(
        _("参数 %(n)s 在 %(d)s 没有生效值，请市民政管理员在“政策参数”中补充。")
        % {"n": name, "d": on.isoformat()}
    )


def regional_threshold(name: str, region: Any, on: datetime.date) -> Threshold:
    """A region-indexed money parameter for the case's district on a day (own value, else city-wide)."""
    params = _params()
    code = getattr(region, "district_code", None) or ""
    own, default = params.region_values(name, on)
    value = own.get(code)
    found = value or default
    if found is None:
        raise _missing(name, on)
    return Threshold(
        name, Decimal(found.value), found.since, found.verified, value is not None, found.reference
    )


def city_value(name: str, on: datetime.date) -> Threshold:
    found = _params().value_at(name, on)
    if found is None:
        raise _missing(name, on)
    return Threshold(name, Decimal(found.value), found.since, found.verified, False, found.reference)


def filed_on(case: Case) -> datetime.date:
    return timezone.localdate(case.filed_at)


@dataclass(frozen=True)
class Limits:
    township: Threshold
    cap: Threshold

    def route(self, amount: int) -> str:
        """ "township", "district", or "case_by_case" (beyond the cap: 一事一议)."""
        if amount > self.cap.value:
            return "case_by_case"
        return "township" if amount <= self.township.value else "district"


def temporary_limits(case: Case) -> Limits:
    """The approval threshold and the cap for the case's district and subtype, as on its filing day."""
    on = filed_on(case)
    cap_name = CAPS.get(case.subtype, CAPS["urgent"])
    return Limits(
        regional_threshold(TOWNSHIP_LIMIT, case.region, on), regional_threshold(cap_name, case.region, on)
    )


# --- small helpers shared by the handlers --------------------------------------------------------------------


def _positive(amount: Any, field: str = "amount") -> int:
    if not isinstance(amount, int) or amount <= 0:
        raise ValidationError({field: _("金额应为大于0的整数（元）。")})
    return amount


def _by_label(by: Any) -> str:
    return getattr(by, "username", "") or "system"


AID_FORMS = (
    ("cash", gettext_lazy("现金")),
    ("goods", gettext_lazy("实物")),
    ("services", gettext_lazy("服务")),
)
POVERTY = (
    ("", gettext_lazy("否")),
    ("newly_impoverished", gettext_lazy("受疫情影响致贫的农户")),
    ("relapsed", gettext_lazy("受疫情影响返贫的农户")),
)
POVERTY_LABELS = {k: v for k, v in POVERTY if k}
AID_FORM_LABELS = dict(AID_FORMS)


# --- 临时救助 -------------------------------------------------------------------------------------------------

TOWNSHIP_REVIEW = "township_review"
DISTRICT_REVIEW = "district_review"
ESCALATED = "escalated"

TEMPORARY_HANDLING = fixed_clock("handling", 10, sla.WORKING, UNVERIFIED_BASIS)


@transaction.atomic
def assess_temporary(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """核定救助金额: the amount (cash, or goods/services valued in yuan) decides who approves it."""
    case, act, reason, cleaned = services.begin_action(
        case, "assess", by, reason=reason, data=data, expected_version=expected_version
    )
    amount = _positive(cleaned.get("amount"))
    limits = temporary_limits(case)
    route = limits.route(amount)
    if route == "case_by_case":
        raise ValidationError(
            {
                "amount": _(
                    "%(amount)s 元超过本区县%(type)s临时救助上限 %(cap)s 元；"
                    "生活出现重大困难的，请“转一事一议”由区县集体研究。"
                )
                % {"amount": amount, "type": case.subtype_label, "cap": limits.cap.yuan}
            }
        )
    assessment = {
        "amount": amount,
        "aid_form": cleaned.get("aid_form", "cash"),
        "route": route,
        "township_limit": str(limits.township.value),
        "cap": str(limits.cap.value),
        "limits_verified": limits.township.verified and limits.cap.verified,
        "assessed_by": _by_label(by),
        "assessed_on": local_today().isoformat(),
    }
    details = dict(case.details or {})
    details["assessment"] = assessment
    if cleaned.get("poverty"):
        details["poverty"] = cleaned["poverty"]
    target = TOWNSHIP_REVIEW if route == "township" else DISTRICT_REVIEW
    return services.record_transition(
        case,
        target,
        by=by,
        action=act.name,
        reason=reason,
        data={**cleaned, "route": route},
        changes={"details": details},
    )


def _decide_temporary(
    case: Case, by: Any, action: str, level: str, reason: str, data: dict | None, expected_version: int | None
) -> Case:
    case, act, reason, cleaned = services.begin_action(
        case, action, by, reason=reason, data=data, expected_version=expected_version
    )
    assessment = (case.details or {}).get("assessment") or {}
    # The district approver may decide straight after 受理 (区县直接审批), giving the amount itself.
    amount = cleaned.get("amount", assessment.get("amount"))
    if amount is None:
        raise ValidationError({"amount": _("请填写救助金额（元），或先由经办人核定。")})
    amount = _positive(amount)
    limits = temporary_limits(case)
    if level == "township" and amount > limits.township.value:
        # The district may have lowered its threshold since the assessment.
        raise Conflict(
            _("%(amount)s 元超过乡镇审批额度 %(limit)s 元，请报区县审批。")
            % {"amount": amount, "limit": limits.township.yuan},
            path="state",
        )
    if amount > limits.cap.value:
        raise ValidationError(
            {
                "amount": _("%(amount)s 元超过本区县%(type)s临时救助上限 %(cap)s 元，请转一事一议。")
                % {"amount": amount, "type": case.subtype_label, "cap": limits.cap.yuan}
            }
        )
    details = dict(case.details or {})
    details["decision"] = {
        "amount": amount,
        "aid_form": cleaned.get("aid_form") or assessment.get("aid_form", "cash"),
        "level": level,
        "decided_by": _by_label(by),
        "decided_on": local_today().isoformat(),
    }
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"amount": amount, "level": level},
        changes={"details": details},
    )


@transaction.atomic
def approve_temporary_township(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """乡镇审批: within the district's township approval limit."""
    return _decide_temporary(case, by, "approve_township", "township", reason, data, expected_version)


@transaction.atomic
def approve_temporary_district(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """区县审批: above the township limit, up to the district's cap (or directly after 受理, with the amount)."""
    return _decide_temporary(case, by, "approve", "district", reason, data, expected_version)


@transaction.atomic
def escalate_to_case_by_case(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """转一事一议: the need exceeds the cap. A 一事一议 case is filed for the same applicant (linked to
    this one), accepted and proposed with this amount and situation, for the district's collective
    decision; this case ends as escalated."""
    case, act, reason, cleaned = services.begin_action(
        case, "escalate", by, reason=reason, data=data, expected_version=expected_version
    )
    amount = _positive(cleaned.get("amount"))
    proposal = file_case_by_case(
        by=by,
        source=case,
        amount=amount,
        situation=reason,
        summary=_("临时救助案件 %(n)s 转一事一议：%(s)s") % {"n": case.tracking_number, "s": case.summary},
    )
    return services.record_transition(
        case,
        ESCALATED,
        by=by,
        action=act.name,
        reason=reason,
        data={"amount": amount, "case_by_case": proposal.tracking_number},
    )


# Both the temporary-assistance and the 一事一议 flows end the same way: paid out, then closed. Cash
# the payroll pays closes the case on the bank's return (payout.close_on_payment); by hand only aid in
# goods or services, or an applicant outside the registry (payout.manual_close_refusal).
CLOSE_PAID = Action(
    "close",
    gettext_lazy("办结（已发放）"),
    {APPROVED},
    CLOSED,
    FRONT_DESK | {APPROVER},
    guard=payout.manual_close_refusal,
    reason_label=gettext_lazy("发放情况"),
    style="primary",
)

TEMPORARY_ACTIONS = (
    *intake_actions(acceptors=FRONT_DESK),
    Action(
        "assess",
        gettext_lazy("核定救助金额"),
        {ACCEPTED},
        TOWNSHIP_REVIEW,
        {TOWNSHIP, DISTRICT},
        fields=(
            Field("amount", gettext_lazy("救助金额（元；实物或服务按折合金额）"), kind="integer"),
            Field("aid_form", gettext_lazy("救助方式"), kind="choice", choices=AID_FORMS),
            Field(
                "poverty",
                gettext_lazy("受疫情影响致贫/返贫的农户（一(三)）"),
                kind="choice",
                choices=POVERTY,
                required=False,
            ),
        ),
        handler="doudi.intake.workflows.temporary.assess_temporary",
        reason_label=gettext_lazy("核定意见"),
        style="primary",
    ),
    Action(
        "approve_township",
        gettext_lazy("乡镇审批同意"),
        {TOWNSHIP_REVIEW},
        APPROVED,
        {TOWNSHIP},
        handler="doudi.intake.workflows.temporary.approve_temporary_township",
        reason_label=gettext_lazy("审批意见"),
        style="success",
        notice=NOTICE_DECISION,
    ),
    Action(
        "refuse_township",
        gettext_lazy("乡镇不予批准"),
        {TOWNSHIP_REVIEW},
        REFUSED,
        {TOWNSHIP},
        needs_reason=True,
        reason_label=gettext_lazy("不予批准的理由"),
        style="danger",
        notice=NOTICE_REFUSAL,
    ),
    Action(
        "approve",
        gettext_lazy("区县审批同意"),
        {ACCEPTED, DISTRICT_REVIEW},
        APPROVED,
        {APPROVER},
        fields=(
            Field(
                "amount",
                gettext_lazy("批准金额（元）"),
                kind="integer",
                required=False,
                help=gettext_lazy("留空则按核定金额"),
            ),
            Field(
                "aid_form",
                gettext_lazy("救助方式"),
                kind="choice",
                choices=(("", "—"), *AID_FORMS),
                required=False,
            ),
        ),
        handler="doudi.intake.workflows.temporary.approve_temporary_district",
        reason_label=gettext_lazy("审批意见"),
        style="success",
        notice=NOTICE_DECISION,
    ),
    Action(
        "refuse",
        gettext_lazy("区县不予批准"),
        {ACCEPTED, DISTRICT_REVIEW},
        REFUSED,
        {APPROVER},
        needs_reason=True,
        reason_label=gettext_lazy("不予批准的理由"),
        style="danger",
        notice=NOTICE_REFUSAL,
    ),
    Action(
        "reassess",
        gettext_lazy("退回重新核定"),
        {TOWNSHIP_REVIEW, DISTRICT_REVIEW},
        ACCEPTED,
        {TOWNSHIP, APPROVER},
        needs_reason=True,
        reason_label=gettext_lazy("退回理由"),
        style="secondary",
    ),
    Action(
        "escalate",
        gettext_lazy("转一事一议"),
        {ACCEPTED},
        ESCALATED,
        {TOWNSHIP, DISTRICT},
        needs_reason=True,
        reason_label=gettext_lazy("家庭重大困难情况"),
        fields=(Field("amount", gettext_lazy("建议救助金额（元）"), kind="integer"),),
        handler="doudi.intake.workflows.temporary.escalate_to_case_by_case",
        style="warning",
    ),
    CLOSE_PAID,
)

TEMPORARY_FLOW = register(
    Flow(
        name="temporary",
        states={
            **COMMON_STATES,
            TOWNSHIP_REVIEW: gettext_lazy("待乡镇审批"),
            DISTRICT_REVIEW: gettext_lazy("待区县审批（超乡镇审批额度）"),
            ESCALATED: gettext_lazy("已转一事一议"),
        },
        initial=SUBMITTED,
        actions=TEMPORARY_ACTIONS,
        terminal=frozenset({CLOSED, REJECTED, REFUSED, WITHDRAWN, ESCALATED}),
        paused=frozenset({AWAITING_DOCUMENTS}),
        stopped=frozenset({APPROVED}),
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: TEMPORARY_HANDLING},
    ),
    CaseType.TEMPORARY,
    replace=True,
)


# --- 一事一议 ------------------------------------------------------------------------------------------------

PROPOSED = "proposed"
MIN_PARTICIPANTS = 3  # a collective decision (集体研究) needs at least three people at the table

CASE_BY_CASE_HANDLING = fixed_clock("handling", 15, sla.WORKING, UNVERIFIED_BASIS)


@transaction.atomic
def propose_case_by_case(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """提出一事一议方案: the amount proposed and the family's situation, for the district's collective decision."""
    case, act, reason, cleaned = services.begin_action(
        case, "propose", by, reason=reason, data=data, expected_version=expected_version
    )
    amount = _positive(cleaned.get("amount"))
    details = dict(case.details or {})
    details["proposal"] = {
        "amount": amount,
        "situation": cleaned.get("situation", ""),
        "proposed_by": _by_label(by),
        "proposed_on": local_today().isoformat(),
    }
    return services.record_transition(
        case, PROPOSED, by=by, action=act.name, reason=reason, data=cleaned, changes={"details": details}
    )


def _meeting(cleaned: dict, case: Case) -> dict:
    errors: dict[str, str] = {}
    meeting_on = datetime.date.fromisoformat(cleaned["meeting_on"])
    if meeting_on > local_today():
        errors["meeting_on"] = _("会议日期不能晚于今天。")
    elif meeting_on < filed_on(case):
        errors["meeting_on"] = _("会议日期不能早于案件登记日期。")
    participants = cleaned.get("participants") or []
    if len(participants) < MIN_PARTICIPANTS:
        errors["participants"] = _("集体研究应至少有 %(n)s 名参会人员（每行一人）。") % {
            "n": MIN_PARTICIPANTS
        }
    if errors:
        raise ValidationError(errors)
    return {
        "meeting_on": meeting_on.isoformat(),
        "minutes_ref": cleaned["minutes_ref"],
        "participants": participants,
    }


@transaction.atomic
def decide_case_by_case(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """集体研究决定 at district level: meeting date, minutes reference, participants and the amount decided
    (which may exceed the ordinary caps: that is what 一事一议 is for)."""
    case, act, reason, cleaned = services.begin_action(
        case, "decide", by, reason=reason, data=data, expected_version=expected_version
    )
    amount = _positive(cleaned.get("amount"))
    decision = {
        **_meeting(cleaned, case),
        "amount": amount,
        "decided_by": _by_label(by),
        "outcome": "approved",
    }
    details = dict(case.details or {})
    details["decision"] = decision
    return services.record_transition(
        case, APPROVED, by=by, action=act.name, reason=reason, data=decision, changes={"details": details}
    )


@transaction.atomic
def decline_case_by_case(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """集体研究不予救助 (reasons in writing), with the same meeting record."""
    case, act, reason, cleaned = services.begin_action(
        case, "decline", by, reason=reason, data=data, expected_version=expected_version
    )
    decision = {**_meeting(cleaned, case), "amount": 0, "decided_by": _by_label(by), "outcome": "declined"}
    details = dict(case.details or {})
    details["decision"] = decision
    return services.record_transition(
        case, REFUSED, by=by, action=act.name, reason=reason, data=decision, changes={"details": details}
    )


MEETING_FIELDS = (
    Field("meeting_on", gettext_lazy("集体研究日期"), kind="date"),
    Field("minutes_ref", gettext_lazy("会议纪要编号"), help=gettext_lazy("如：万州民政〔2020〕12号纪要")),
    Field("participants", gettext_lazy("参会人员（每行一人，姓名和职务）"), kind="lines"),
)

CASE_BY_CASE_ACTIONS = (
    *intake_actions(acceptors=FRONT_DESK),
    Action(
        "propose",
        gettext_lazy("提出一事一议方案"),
        {ACCEPTED},
        PROPOSED,
        {TOWNSHIP, DISTRICT},
        fields=(
            Field("amount", gettext_lazy("建议救助金额（元）"), kind="integer"),
            Field("situation", gettext_lazy("家庭重大困难情况"), kind="textarea"),
        ),
        handler="doudi.intake.workflows.temporary.propose_case_by_case",
        reason_label=gettext_lazy("方案说明"),
        style="primary",
    ),
    Action(
        "decide",
        gettext_lazy("集体研究决定救助"),
        {PROPOSED},
        APPROVED,
        {APPROVER},
        fields=(*MEETING_FIELDS, Field("amount", gettext_lazy("决定救助金额（元）"), kind="integer")),
        handler="doudi.intake.workflows.temporary.decide_case_by_case",
        reason_label=gettext_lazy("决定意见"),
        style="success",
        notice=NOTICE_DECISION,
    ),
    Action(
        "decline",
        gettext_lazy("集体研究不予救助"),
        {PROPOSED},
        REFUSED,
        {APPROVER},
        needs_reason=True,
        fields=MEETING_FIELDS,
        handler="doudi.intake.workflows.temporary.decline_case_by_case",
        reason_label=gettext_lazy("不予救助的理由"),
        style="danger",
        notice=NOTICE_REFUSAL,
    ),
    Action(
        "return_proposal",
        gettext_lazy("退回修改方案"),
        {PROPOSED},
        ACCEPTED,
        {APPROVER},
        needs_reason=True,
        reason_label=gettext_lazy("退回理由"),
        style="secondary",
    ),
    CLOSE_PAID,
)

CASE_BY_CASE_FLOW = register(
    Flow(
        name="case_by_case",
        states={**COMMON_STATES, PROPOSED: gettext_lazy("待区县集体研究")},
        initial=SUBMITTED,
        actions=CASE_BY_CASE_ACTIONS,
        terminal=frozenset({CLOSED, REJECTED, REFUSED, WITHDRAWN}),
        paused=frozenset({AWAITING_DOCUMENTS}),
        stopped=frozenset({APPROVED}),
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: CASE_BY_CASE_HANDLING},
    ),
    CaseType.CASE_BY_CASE,
    replace=True,
)


def _applicant_kwargs(source: Case) -> dict:
    if source.applicant_id:
        return {"applicant": source.applicant}
    return {
        "applicant_name": source.applicant_name,
        "applicant_id_number": source.applicant_id_number,
        "applicant_phone": source.applicant_phone,
    }


def file_case_by_case(*, by: Any, source: Case, amount: int, situation: str, summary: str) -> Case:
    """A 一事一议 case from an assessed temporary-assistance case: filed, accepted and proposed by `by`."""
    proposal = services.open_case(
        by=by,
        case_type=CaseType.CASE_BY_CASE,
        channel=source.channel,
        region=source.region,
        summary=summary,
        related_case=source,
        details={
            "from_case": source.tracking_number,
            **({"poverty": source.details["poverty"]} if source.details.get("poverty") else {}),
        },
        **_applicant_kwargs(source),
    )
    proposal = services.accept_case(
        case=proposal, by=by, reason=_("由临时救助案件 %(n)s 转入") % {"n": source.tracking_number}
    )
    return propose_case_by_case(case=proposal, by=by, data={"amount": amount, "situation": situation})


# --- 先行救助 -------------------------------------------------------------------------------------------------

GIVEN = "given"
FORMALISED = "formalised"


def first_aid_cap(on: datetime.date) -> Threshold:
    return city_value(FIRST_AID_CAP, on)


FORMALISE_BASIS = gettext_lazy(
    "自先行救助之日起计算，期满前应转为临时救助案件或说明情况（temporary.first_aid_formalise_days，未经核实）"
)


def _formalise_limit(case: Case, start: datetime.date) -> sla.Limit:
    """N working days from the day the aid was given (not from when it was recorded)."""
    aid = (case.details or {}).get("first_aid") or {}
    given_on = datetime.date.fromisoformat(aid["given_on"]) if aid.get("given_on") else start
    days = int(city_value(FIRST_AID_DAYS, given_on).value)
    elapsed = sla.working_days_between(given_on, start) if given_on < start else 0
    return sla.Limit(max(0, days - elapsed), sla.WORKING, str(FORMALISE_BASIS))


FORMALISE_CLOCK = Clock("formalise", _formalise_limit)
RECORD_CLOCK = fixed_clock(
    "acceptance", 1, sla.WORKING, gettext_lazy("登记后1个工作日内录入先行救助内容（平台默认，未经核实）")
)


@transaction.atomic
def give_first_aid(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """登记先行救助: aid already given by the village, up to `temporary.first_aid_cap`, no prior approval."""
    case, act, reason, cleaned = services.begin_action(
        case, "give", by, reason=reason, data=data, expected_version=expected_version
    )
    amount = _positive(cleaned.get("amount"))
    given_on = datetime.date.fromisoformat(cleaned["given_on"])
    if given_on > local_today():
        raise ValidationError({"given_on": _("救助日期不能晚于今天。")})
    cap = first_aid_cap(given_on)
    if amount > cap.value:
        raise ValidationError(
            {
                "amount": _(
                    "先行救助不得超过 %(cap)s 元（temporary.first_aid_cap）；超出部分须按临时救助申请、审批。"
                )
                % {"cap": cap.yuan}
            }
        )
    details = dict(case.details or {})
    details["first_aid"] = {
        "amount": amount,
        "aid_form": cleaned.get("aid_form", "cash"),
        "items": cleaned.get("items", ""),
        "given_on": given_on.isoformat(),
        "cap": str(cap.value),
        "cap_verified": cap.verified,
        "recorded_by": _by_label(by),
    }
    return services.record_transition(
        case, GIVEN, by=by, action=act.name, reason=reason, data=cleaned, changes={"details": details}
    )


@transaction.atomic
def formalise_first_aid(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """补办: the first aid becomes a temporary-assistance case (急难型) for the same person, linked to it."""
    case, act, reason, _cleaned = services.begin_action(
        case, "formalise", by, reason=reason, data=data, expected_version=expected_version
    )
    aid = (case.details or {}).get("first_aid") or {}
    temporary = services.open_case(
        by=by,
        case_type=CaseType.TEMPORARY,
        subtype="urgent",
        channel=Channel.VILLAGE_FIRST_AID,
        region=case.region,
        summary=_("先行救助 %(n)s 补办临时救助：%(s)s") % {"n": case.tracking_number, "s": case.summary},
        related_case=case,
        details={"first_aid": {**aid, "case": case.tracking_number}},
        on_behalf=bool(getattr(by, "has_role", None) and by.has_role(Role.VILLAGE_WORKER)),
        **_applicant_kwargs(case),
    )
    return services.record_transition(
        case,
        FORMALISED,
        by=by,
        action=act.name,
        reason=reason,
        data={"temporary_case": temporary.tracking_number},
    )


def record_first_aid(
    *,
    by: Any,
    region: Any,
    summary: str,
    amount: int,
    aid_form: str,
    given_on: datetime.date,
    items: str = "",
    applicant: Any = None,
    applicant_name: str = "",
    applicant_id_number: str = "",
    applicant_phone: str = "",
) -> Case:
    """File and record a first aid in one go (what a village worker does from the field)."""
    with transaction.atomic():
        case = services.open_case(
            by=by,
            case_type=CaseType.FIRST_AID,
            channel=Channel.VILLAGE_FIRST_AID,
            region=region,
            summary=summary,
            applicant=applicant,
            applicant_name=applicant_name,
            applicant_id_number=applicant_id_number,
            applicant_phone=applicant_phone,
            on_behalf=True,
        )
        return give_first_aid(
            case=case,
            by=by,
            data={"amount": amount, "aid_form": aid_form, "given_on": given_on, "items": items},
        )


FIRST_AID_FLOW = register(
    Flow(
        name="first_aid",
        states={
            SUBMITTED: gettext_lazy("已登记（待录入救助内容）"),
            GIVEN: gettext_lazy("已先行救助（待补办）"),
            FORMALISED: gettext_lazy("已转临时救助"),
            CLOSED: gettext_lazy("已说明情况并办结"),
            WITHDRAWN: gettext_lazy("已作废"),
        },
        initial=SUBMITTED,
        actions=(
            Action(
                "give",
                gettext_lazy("登记先行救助"),
                {SUBMITTED},
                GIVEN,
                {VILLAGE, TOWNSHIP},
                fields=(
                    Field("amount", gettext_lazy("金额（元；实物或服务按折合金额）"), kind="integer"),
                    Field("aid_form", gettext_lazy("救助方式"), kind="choice", choices=AID_FORMS),
                    Field("given_on", gettext_lazy("救助日期"), kind="date"),
                    Field("items", gettext_lazy("物资或服务内容"), kind="textarea", required=False),
                ),
                handler="doudi.intake.workflows.temporary.give_first_aid",
                reason_label=gettext_lazy("情况说明"),
                style="primary",
            ),
            Action(
                "formalise",
                gettext_lazy("转为临时救助案件"),
                {GIVEN},
                FORMALISED,
                {VILLAGE, TOWNSHIP, DISTRICT},
                handler="doudi.intake.workflows.temporary.formalise_first_aid",
                reason_label=gettext_lazy("说明"),
                style="success",
            ),
            Action(
                "justify",
                gettext_lazy("说明情况后办结"),
                {GIVEN},
                CLOSED,
                {TOWNSHIP, DISTRICT},
                needs_reason=True,
                reason_label=gettext_lazy("无需转临时救助的理由"),
                style="secondary",
            ),
            Action(
                "void",
                gettext_lazy("登记有误，作废"),
                {SUBMITTED, GIVEN},
                WITHDRAWN,
                {TOWNSHIP, DISTRICT},
                needs_reason=True,
                reason_label=gettext_lazy("作废理由"),
                style="danger",
            ),
        ),
        terminal=frozenset({FORMALISED, CLOSED, WITHDRAWN}),
        clocks={SUBMITTED: RECORD_CLOCK, GIVEN: FORMALISE_CLOCK},
    ),
    CaseType.FIRST_AID,
    replace=True,
)


# --- 病亡人员家庭: the bereavement decision (一(五)b, POLICY R5/R6) ------------------------------------------------

R5_CATEGORIES = (
    "dibao",
    "tekun",
    "orphan",
    "de_facto_unsupported_child",
    "hardship_child",
    "registered_poor",
)


def _month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = day.replace(day=1)
    nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, nxt - datetime.timedelta(days=1)


def _confirmed_in_window(person: Any, district: str) -> bool:
    confirmed = person.covid_confirmed_on
    if confirmed is None:
        return False
    from doudi.regions.models import EmergencyWindow
    from doudi.regions.selectors import window_for

    if EmergencyWindow.objects.exists():
        return window_for(district, confirmed) is not None
    # No declaration at all: the shipped default window (POLICY.md §1: 2020-01-24, open).
    params = _params()
    start = params.value_at("emergency.window.start", confirmed)
    end = params.value_at("emergency.window.end", confirmed)
    return bool(
        start and start.value <= confirmed and (end is None or end.value is None or confirmed <= end.value)
    )


def covered_by_r5(person: Any, on: datetime.date) -> bool:
    """POLICY R5: confirmed inside the emergency window, and in the month of `on` a dibao recipient member
    (household enrolled in dibao, the person not 特困), 特困, 孤儿, 事实无人抚养儿童, 困境儿童 or 建档立卡.

    Dibao recipiency is read from the registry (the household's enrolment and the person's categories),
    not re-evaluated: during the window an enrolled household stays a recipient (exits are deferred)."""
    from doudi.registry.models import Membership, PersonCategory

    district = person.region.district_code or ""
    if not _confirmed_in_window(person, district):
        return False
    first, last = _month_bounds(on)
    categories = set(
        PersonCategory.objects.filter(person=person, category__in=R5_CATEGORIES, valid_from__lte=last)
        .exclude(valid_to__lt=first)
        .values_list("category", flat=True)
    )
    if categories:
        return True
    membership = (
        Membership.objects.filter(person=person, joined_on__lte=last)
        .exclude(left_on__lt=first)
        .select_related("household")
        .first()
    )
    return bool(membership and membership.household.dibao_enrolled)


def district_bereavement_standard(district: str, on: datetime.date) -> Any:
    """The district's `covid.bereavement_assistance` in force for an event on `on` (POLICY: read on the
    first day of the event's month), or None when the district has set none."""
    return _params().value_at(BEREAVEMENT, on.replace(day=1), district)


def _family_contact(person: Any) -> Any:
    """Who the family's case names: a living current member of the deceased's household (the head first)."""
    from doudi.registry.models import Membership

    household_ids = Membership.objects.filter(person=person).order_by("left_on").values("household_id")[:1]
    members = list(
        Membership.objects.filter(household_id__in=household_ids, left_on__isnull=True)
        .exclude(person=person)
        .filter(person__covid_died_on__isnull=True)
        .select_related("person")
        .order_by("pk")
    )
    members.sort(key=lambda m: m.relation != "head")
    return members[0].person if members else None


def open_bereavement_case(*, person: Any, died_on: datetime.date, by: Any) -> Case | None:
    """Open the 一事一议 case for a deceased person's family when R5 covers them and their district has no
    bereavement standard; None when not needed or already open. Called inside the event's transaction."""
    from doudi.registry.models import Person

    district = person.region.district_code or ""
    if not covered_by_r5(person, died_on):
        return None
    if district_bereavement_standard(district, died_on) is not None:
        return None  # the district's own standard: R6 pays it with the monthly run
    if Case.objects.filter(case_type=CaseType.CASE_BY_CASE, details__bereavement__person=person.pk).exists():
        return None
    family = _family_contact(person)
    if family is not None and not Person.objects.visible_to(by).filter(pk=family.pk).exists():
        family = None
    summary = _(
        "新冠肺炎病亡人员家庭临时救助：%(name)s 于 %(date)s 病亡。本区县尚未确定病亡人员家庭救助标准"
        "（covid.bereavement_assistance），须由区县集体研究确定救助金额（一事一议）。"
    ) % {"name": person.name, "date": died_on.isoformat()}
    details = {
        "bereavement": {
            "person": person.pk,
            "name": person.name,
            "died_on": died_on.isoformat(),
            "district": district,
            "needs_district_standard": True,
        }
    }
    kwargs: dict[str, Any] = {"applicant": family or person}
    try:
        with transaction.atomic():
            return services.open_case(
                by=by,
                case_type=CaseType.CASE_BY_CASE,
                channel=Channel.DEPARTMENT_REFERRAL,
                region=person.region,
                summary=summary,
                details=details,
                **kwargs,
            )
    except (ValidationError, PermissionDenied) as exc:
        # The death itself must still be recorded; the district sees the missing case in the R6 report.
        logger.warning("bereavement case not opened for person %s: %s", person.pk, exc)
        return None


def _on_covid_event(sender, event, person, by, **kwargs) -> None:
    if event.kind == CovidEventKind.DIED:
        open_bereavement_case(person=person, died_on=event.date, by=by)


covid_event_recorded.connect(_on_covid_event, dispatch_uid="doudi.intake.workflows.temporary.bereavement")


# --- case-page panels -----------------------------------------------------------------------------------------------


def _render(request: Any, template: str, context: dict):
    from django.template.loader import render_to_string

    from doudi.intake.views import CasePanel

    case = context["case"]
    if case.case_type in payout.ONE_OFF_TYPES:  # 代发情况: the case's payment line, if any
        from doudi.payments.selectors import case_payments

        context = {
            **context,
            "payout": list(case_payments(request.user, case)),
            "payroll_pays": case.state == APPROVED and payout.payroll_pays(case),
        }
    return CasePanel(html=render_to_string(template, context, request=request))


def temporary_panel(request: Any, detail: Any, can_act: bool):
    case = detail.case
    details = case.details or {}
    context: dict[str, Any] = {
        "case": case,
        "assessment": details.get("assessment"),
        "decision": details.get("decision"),
        "first_aid": details.get("first_aid"),
        "poverty": POVERTY_LABELS.get(details.get("poverty", "")),
        "aid_form": AID_FORM_LABELS.get((details.get("assessment") or {}).get("aid_form", "cash")),
    }
    try:
        context["limits"] = temporary_limits(case)
    except ValidationError as exc:
        context["limits_error"] = "；".join(exc.messages)
    return _render(request, "intake/temporary/panel.html", context)


def case_by_case_panel(request: Any, detail: Any, can_act: bool):
    case = detail.case
    details = case.details or {}
    on = filed_on(case)
    try:
        limits = {kind: regional_threshold(name, case.region, on).yuan for kind, name in CAPS.items()}
    except ValidationError:
        limits = None
    return _render(
        request,
        "intake/case_by_case/panel.html",
        {
            "case": case,
            "bereavement": details.get("bereavement"),
            "from_case": details.get("from_case"),
            "proposal": details.get("proposal"),
            "decision": details.get("decision"),
            "limits": limits,
        },
    )


def formalise_deadline(case: Case) -> datetime.date | None:
    """The true deadline: N working days after the aid day (the SLA clock cannot start before the day
    the aid was recorded, so a late record is due the day it is recorded; the panel shows both)."""
    aid = (case.details or {}).get("first_aid") or {}
    if not aid.get("given_on"):
        return None
    given_on = datetime.date.fromisoformat(aid["given_on"])
    try:
        return sla.add_working_days(given_on, int(city_value(FIRST_AID_DAYS, given_on).value))
    except (sla.SlaUnavailable, ValidationError):
        return None


def first_aid_panel(request: Any, detail: Any, can_act: bool):
    case = detail.case
    aid = (case.details or {}).get("first_aid")
    try:
        cap = first_aid_cap(filed_on(case))
    except ValidationError:
        cap = None
    deadline = formalise_deadline(case)
    return _render(
        request,
        "intake/first_aid/panel.html",
        {
            "case": case,
            "aid": aid,
            "cap": cap,
            "aid_form": AID_FORM_LABELS.get((aid or {}).get("aid_form", "cash")),
            "deadline": deadline,
            "late": bool(deadline and case.is_open and deadline < detail.today),
        },
    )


def _register_panels() -> None:
    try:
        from doudi.intake.views import register_case_panel
    except ImportError:  # an intake without the panel hook: the generic page still works
        return
    register_case_panel(CaseType.TEMPORARY, temporary_panel)
    register_case_panel(CaseType.CASE_BY_CASE, case_by_case_panel)
    register_case_panel(CaseType.FIRST_AID, first_aid_panel)


_register_panels()
