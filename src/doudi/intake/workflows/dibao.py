"""最低生活保障审批 — the dibao workflow on the intake framework.

The procedure of 《重庆市城乡居民最低生活保障条例》 (arts. 17–19, 22) as changed by 渝肺炎组发〔2020〕14号
一(一) and 四 (no community deliberation during the epidemic, online 公示 instead):

    apply → 受理 (or the missing items, told once) → household economic data (调查核实)
      → evaluation by the policy engine (POLICY R1) → township review (乡镇审核)
      → community deliberation (群众评议) — skipped, and recorded as skipped, while the emergency
        window is open for the district → 公示 7 days → objections: upheld → re-investigation and a
        3-day 复核公示; dismissed → reason recorded → district approval (区县审批) → enrolment from the
        month of approval with a printable decision; or a written refusal with reasons.

Time limit (条例第19条): 30 days from acceptance, 7 working days while the window is open; the days
in deliberation and 公示 are not counted (`paused`). The states, their actions and who may take them
are the table `DIBAO_FLOW`; the handlers below are the services that carry the actions out, each one
transaction: lock the case, `require_transition`, validate, write, `record_transition`.

The case page shows this workflow's own panel (`templates/intake/dibao/panel.html`): the figures, the
evaluation with its explanation, and the forms of the actions listed in `PANEL_ACTIONS`; they post to
the generic action endpoint like every other action.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.benefits import evaluation
from doudi.benefits import services as benefits
from doudi.core.errors import Conflict
from doudi.disclosure import services as disclosure
from doudi.disclosure.models import Publication, PublicationKind
from doudi.intake import services, sla
from doudi.intake.flows import (
    ACCEPTANCE_CLOCK,
    ACCEPTED,
    APPROVED,
    APPROVER,
    AWAITING_DOCUMENTS,
    COMMON_STATES,
    DIBAO_CLOCK,
    DISTRICT,
    NOTICE_DECISION,
    NOTICE_REFUSAL,
    REFUSED,
    REJECTED,
    SUBMITTED,
    TOWNSHIP,
    WITHDRAWN,
    Action,
    Field,
    Flow,
    register,
    require_transition,
)
from doudi.intake.models import Case, CaseType
from doudi.intake.workflows.common import (
    INVESTIGATION_METHODS,
    case_details,
    case_evaluation,
    decision_rows,
    investigation_display,
    investigation_fields,
    investigation_record,
    local_today,
    panel_actions,
    publicity_context,
    refuse_open_objections,
    withdrawable_intake_actions,
)
from doudi.registry.models import Household, WorkStatus

# --- states ------------------------------------------------------------------------------------------------

INVESTIGATED = "investigated"
EVALUATED = "evaluated"
TOWNSHIP_REVIEWED = "township_reviewed"
TOWNSHIP_DISAGREED = "township_disagreed"
DELIBERATION = "deliberation"
PUBLICITY = "publicity"
REPUBLICITY = "republicity"
REINVESTIGATION = "reinvestigation"
AWAITING_APPROVAL = "awaiting_approval"

STATES = {
    SUBMITTED: COMMON_STATES[SUBMITTED],
    AWAITING_DOCUMENTS: COMMON_STATES[AWAITING_DOCUMENTS],
    ACCEPTED: gettext_lazy("已受理（待调查核实）"),
    INVESTIGATED: gettext_lazy("已核实家庭经济状况（待评估）"),
    EVALUATED: gettext_lazy("已评估（待乡镇审核）"),
    TOWNSHIP_REVIEWED: gettext_lazy("乡镇已审核"),
    TOWNSHIP_DISAGREED: gettext_lazy("乡镇审核不同意（待区县决定）"),
    DELIBERATION: gettext_lazy("民主评议中"),
    PUBLICITY: gettext_lazy("公示中"),
    REPUBLICITY: gettext_lazy("复核公示中"),
    REINVESTIGATION: gettext_lazy("异议成立，重新调查"),
    AWAITING_APPROVAL: gettext_lazy("待区县审批"),
    APPROVED: COMMON_STATES[APPROVED],
    REFUSED: COMMON_STATES[REFUSED],
    REJECTED: COMMON_STATES[REJECTED],
    WITHDRAWN: COMMON_STATES[WITHDRAWN],
}
OPEN_STATES = frozenset(STATES) - {APPROVED, REFUSED, REJECTED, WITHDRAWN}
INVESTIGATORS = frozenset({TOWNSHIP, DISTRICT})  # 条例第5、14条: townships investigate; districts may
OBJECTION_HANDLERS = frozenset({TOWNSHIP, DISTRICT})
ACTIVE_PUBLICITY = frozenset({PUBLICITY, REPUBLICITY})

H = "doudi.intake.workflows.dibao."

OPINIONS = (("agree", gettext_lazy("同意（拟纳入低保）")), ("disagree", gettext_lazy("不同意")))
OUTCOMES = (("agree", gettext_lazy("多数同意")), ("disagree", gettext_lazy("多数不同意")))


DIBAO_FLOW = register(
    Flow(
        name="dibao",
        states=STATES,
        initial=SUBMITTED,
        actions=(
            *withdrawable_intake_actions(OPEN_STATES, withdraw_handler=H + "withdraw_application"),
            Action(
                "economic_data",
                gettext_lazy("保存家庭经济状况"),
                {ACCEPTED, REINVESTIGATION, INVESTIGATED, EVALUATED},
                INVESTIGATED,
                INVESTIGATORS,
                # Required for entered figures; adopting a verification report needs no home visit.
                fields=investigation_fields(required=False),
                handler=H + "record_economic_data",
                reason_label=gettext_lazy("调查说明（入户调查、信函索证、邻里走访等）"),
            ),
            Action(
                "evaluate",
                gettext_lazy("政策评估"),
                {INVESTIGATED, EVALUATED},
                EVALUATED,
                INVESTIGATORS,
                handler=H + "evaluate_case",
            ),
            Action(
                "township_review",
                gettext_lazy("提交乡镇审核意见"),
                {EVALUATED},
                TOWNSHIP_REVIEWED,
                {TOWNSHIP},
                needs_reason=True,
                reason_label=gettext_lazy("审核意见"),
                fields=(Field("opinion", gettext_lazy("审核结论"), kind="choice", choices=OPINIONS),),
                handler=H + "township_review",
            ),
            # The three ways on from the township's review; township_review takes the right one at once
            # (a case rests in township_reviewed only if that step was refused).
            Action(
                "start_deliberation",
                gettext_lazy("组织民主评议"),
                {TOWNSHIP_REVIEWED},
                DELIBERATION,
                {TOWNSHIP},
                handler=H + "start_deliberation",
            ),
            Action(
                "skip_deliberation",
                gettext_lazy("取消民主评议（疫情防控期间），发布公示"),
                {TOWNSHIP_REVIEWED},
                PUBLICITY,
                {TOWNSHIP},
                handler=H + "skip_deliberation",
            ),
            Action(
                "republish",
                gettext_lazy("发布复核公示（3日）"),
                {TOWNSHIP_REVIEWED},
                REPUBLICITY,
                {TOWNSHIP},
                handler=H + "republish",
            ),
            Action(
                "record_deliberation",
                gettext_lazy("记录评议结果"),
                {DELIBERATION},
                PUBLICITY,
                {TOWNSHIP},
                reason_label=gettext_lazy("评议情况"),
                fields=(
                    Field("held_on", gettext_lazy("评议日期"), kind="date"),
                    Field("participants", gettext_lazy("参加人数"), kind="integer"),
                    Field("outcome", gettext_lazy("评议结果"), kind="choice", choices=OUTCOMES),
                    Field("minutes_ref", gettext_lazy("会议记录编号")),
                ),
                handler=H + "record_deliberation",
            ),
            Action(
                "uphold_objection",
                gettext_lazy("异议成立，重新调查"),
                {PUBLICITY, REPUBLICITY, AWAITING_APPROVAL},
                REINVESTIGATION,
                OBJECTION_HANDLERS,
                needs_reason=True,
                reason_label=gettext_lazy("核实情况"),
                fields=(Field("objection", gettext_lazy("异议案件"), kind="integer"),),
                handler=H + "uphold_objection",
                style="warning",
            ),
            Action(
                "dismiss_objection",
                gettext_lazy("异议不成立"),
                {PUBLICITY, REPUBLICITY, AWAITING_APPROVAL},
                PUBLICITY,  # stays in the state it is in (the handler keeps it)
                OBJECTION_HANDLERS,
                needs_reason=True,
                reason_label=gettext_lazy("不成立的理由"),
                fields=(Field("objection", gettext_lazy("异议案件"), kind="integer"),),
                handler=H + "dismiss_objection",
                style="secondary",
            ),
            Action(
                "end_publicity",
                gettext_lazy("公示期满，报送区县审批"),
                ACTIVE_PUBLICITY,
                AWAITING_APPROVAL,
                {TOWNSHIP, DISTRICT},
                handler=H + "end_publicity",
            ),
            Action(
                "reinvestigate",
                gettext_lazy("退回重新调查"),
                {AWAITING_APPROVAL, TOWNSHIP_DISAGREED},
                REINVESTIGATION,
                {TOWNSHIP, DISTRICT, APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("退回理由"),
                handler=H + "reinvestigate",
                style="warning",
            ),
            Action(
                "approve",
                gettext_lazy("批准"),
                {AWAITING_APPROVAL},
                APPROVED,
                {APPROVER},
                reason_label=gettext_lazy("审批意见"),
                fields=(
                    Field(
                        "override_reason",
                        gettext_lazy("不按评估结论批准的书面理由"),
                        kind="textarea",
                        required=False,
                    ),
                    Field(
                        "override_amount",
                        gettext_lazy("批准的月低保金（元）"),
                        kind="integer",
                        required=False,
                    ),
                ),
                handler=H + "approve",
                style="success",
                notice=NOTICE_DECISION,
            ),
            Action(
                "refuse",
                gettext_lazy("不予批准"),
                {AWAITING_APPROVAL, TOWNSHIP_DISAGREED},
                REFUSED,
                {APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("不予批准的理由"),
                style="danger",
                notice=NOTICE_REFUSAL,
            ),
        ),
        terminal={APPROVED, REFUSED, REJECTED, WITHDRAWN},
        # 条例第19条: deliberation and publication days are not counted; nor the wait for documents.
        paused={AWAITING_DOCUMENTS, DELIBERATION, PUBLICITY, REPUBLICITY},
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: DIBAO_CLOCK},
    ),
    CaseType.DIBAO,
    replace=True,
)

# Actions the dibao panel renders with its own forms (the generic block keeps 受理/补正/不予受理/撤回).
PANEL_ACTIONS = panel_actions(DIBAO_FLOW)


# --- helpers ---------------------------------------------------------------------------------------------


def _household(case: Case, by: Any) -> Household:
    if case.household_id is None:
        raise ValidationError(
            {"household": _("请先关联登记在册的申请人（“申请人”一栏），调查核实其家庭的经济状况。")}
        )
    household = Household.objects.visible_to(by).select_related("region").filter(pk=case.household_id).first()
    if household is None:
        raise PermissionDenied(_("该家庭不在您的管辖范围内。"))
    return household


def window_open(case: Case, day: datetime.date | None = None) -> bool:
    return sla.emergency_window_open(case.region, day or local_today())


def _window_note(case: Case, day: datetime.date) -> dict:
    from doudi.regions.selectors import window_for

    w = window_for(case.region.district_code or case.region_id[:6], day)
    return {"window": w.name, "window_start": w.start.isoformat()} if w else {}


def _published_amount(case: Case) -> int:
    return int(case_evaluation(case)["dibao"]["amount"] or 0)


# --- handlers (services) -----------------------------------------------------------------------------------


@transaction.atomic
def record_economic_data(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """调查核实: the household's incomes (per member and kind), work status and assets, entered or
    corrected by the officer, or adopted from the household's verification report (`source=verified`,
    `report=<id>`). They become the household's registry figures; a snapshot stays with the case. Any
    earlier evaluation is dropped: the figures changed, so the case must be evaluated again."""
    data = dict(data or {})
    case, act, reason, cleaned = services.begin_action(
        case, "economic_data", by, reason=reason, data=data, expected_version=expected_version
    )
    details, row = economic_data_changes(case, by, data, cleaned)
    return services.record_transition(
        case, act.target, by=by, action=act.name, reason=reason, data=row, changes={"details": details}
    )


def economic_data_changes(case: Case, by: Any, data: dict, cleaned: dict) -> tuple[dict, dict]:
    """The investigation's writes for a locked case whose action was checked: the figures (entered, or
    adopted from the household's check report) written to the registry; returns the case's new
    `details` (the snapshot, how it was investigated, no evaluation) and the ledger row's data. Shared
    by every workflow that investigates a dibao household (低保审批, 家庭情况变化报告)."""
    household = _household(case, by)
    investigated = investigation_record(case, cleaned)
    if investigated is None and str(data.get("source", "")) != "verified":
        raise ValidationError({"method": _("请选择调查方式（入户、电话或视频）。")})
    members = evaluation.current_memberships(household)
    if not members:
        raise ValidationError({"household": _("该家庭没有在册成员。")})
    if str(data.get("source", "")) == "verified":
        report = benefits.usable_report(by, household)
        wanted = str(data.get("report") or "")
        if report is None or (wanted and wanted != str(report.pk)):
            raise ValidationError({"report": _("没有可用的核对报告（须经授权核对）。")})
        figures = benefits.figures_from_report(report, household, members)
    else:
        figures = benefits.figures_from_form(data, household, members)
    snapshot = benefits.apply_economic_data(household=household, figures=figures, by=by, case=case)
    details = case_details(case)
    details["economic"] = snapshot
    if investigated:
        details["investigated"] = investigated
    else:
        details.pop("investigated", None)  # the figures now come from the report, not a visit
    details.pop("evaluation", None)
    counted = sum(
        v["income"][k] for v in figures.members.values() for k in evaluation.INCOME_KINDS if k != "exempt"
    )
    return details, {
        "source": figures.source,
        "report": figures.report,
        "counted_income_fen": counted,
        **({"investigated": investigated} if investigated else {}),
    }


def household_evaluation(household: Household, applicant: Any, on: datetime.date) -> dict:
    """POLICY R1 for the registry household in the month of `on`; data the engine cannot take is a
    field error on `evaluation`, not a crash."""
    try:
        return evaluation.evaluate_household(household, applicant, on=on)
    except evaluation.InputError as exc:
        raise ValidationError(
            {"evaluation": "；".join(f"{e['path']}: {e['message']}" for e in exc.errors)}
        ) from exc


@transaction.atomic
def evaluate_case(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """评估: POLICY R1 by the policy engine on the registry household, for the current month; the result
    (decision, amount, clause-by-clause explanation, parameters used) is kept with the case."""
    case, act, reason, _cleaned = services.begin_action(
        case, "evaluate", by, reason=reason, data=data, expected_version=expected_version
    )
    household = _household(case, by)
    result = household_evaluation(household, case.applicant, local_today())
    details = case_details(case)
    details["evaluation"] = result
    dibao = result["dibao"]
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"period": result["period"], "decision": dibao["decision"], "amount": dibao["amount"]},
        changes={"details": details},
    )


@transaction.atomic
def township_review(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """乡镇审核: agree (the case goes on at once: deliberation, or — in the window — straight to 公示 with
    the skip recorded; after an earlier 公示, a 3-day 复核公示) or disagree (the district decides)."""
    case, act, reason, cleaned = services.begin_action(
        case, "township_review", by, reason=reason, data=data, expected_version=expected_version
    )
    case_evaluation(case)
    opinion = cleaned["opinion"]
    details = case_details(case)
    details["township_review"] = {
        "opinion": opinion,
        "reason": reason,
        "by": services._label(by),
        "on": local_today().isoformat(),
    }
    target = act.target if opinion == "agree" else TOWNSHIP_DISAGREED
    case = services.record_transition(
        case,
        target,
        by=by,
        action=act.name,
        reason=reason,
        data={"opinion": opinion},
        changes={"details": details},
    )
    if opinion == "agree":
        case = _continue_after_review(case, by)
    return case


def next_step_after_review(case: Case) -> str:
    """Which way a case agreed by the township goes on (the action name)."""
    if Publication.objects.filter(case=case).exists():
        return "republish"  # 条例第18条: after an objection was upheld and re-investigated, 3 days
    if window_open(case):
        return "skip_deliberation"  # 渝肺炎组发〔2020〕14号 四: no deliberation during the epidemic
    return "start_deliberation"


def _continue_after_review(case: Case, by: Any) -> Case:
    step = next_step_after_review(case)
    act = require_transition(case, step, by)
    return _STEPS[step](case, act, by)


def _start_deliberation(case: Case, act: Action, by: Any) -> Case:
    if window_open(case):
        raise Conflict(_("疫情防控期间取消群众评议，请直接发布公示。"), path="state")
    if Publication.objects.filter(case=case).exists():
        raise Conflict(_("本案已公示过，重新调查后应发布复核公示。"), path="state")
    return services.record_transition(case, act.target, by=by, action=act.name)


def _skip_deliberation(case: Case, act: Action, by: Any) -> Case:
    today = local_today()
    if not window_open(case, today):
        raise Conflict(_("疫情防控期间已结束，应先组织民主评议。"), path="state")
    if Publication.objects.filter(case=case).exists():
        raise Conflict(_("本案已公示过，重新调查后应发布复核公示。"), path="state")
    note = _window_note(case, today)
    reason = _(
        "疫情防控期间（%(w)s，自 %(s)s 起）取消群众评议，改为网上公示（渝肺炎组发〔2020〕14号 四）。"
    ) % {"w": note.get("window", ""), "s": note.get("window_start", "")}
    case = services.record_transition(
        case, act.target, by=by, action=act.name, reason=reason, data={"deliberation": "skipped", **note}
    )
    disclosure.publish(case=case, kind=PublicationKind.FIRST, by=by, amount=_published_amount(case))
    return case


def _republish(case: Case, act: Action, by: Any) -> Case:
    if not Publication.objects.filter(case=case).exists():
        raise Conflict(_("本案尚未公示过，不能发布复核公示。"), path="state")
    case = services.record_transition(case, act.target, by=by, action=act.name)
    disclosure.publish(case=case, kind=PublicationKind.RE, by=by, amount=_published_amount(case))
    return case


_STEPS = {
    "start_deliberation": _start_deliberation,
    "skip_deliberation": _skip_deliberation,
    "republish": _republish,
}


def _step_handler(name: str):
    @transaction.atomic
    def handler(*, case, by, reason="", data=None, expected_version=None) -> Case:
        case, act, _reason, _cleaned = services.begin_action(
            case, name, by, reason=reason, data=data, expected_version=expected_version
        )
        return _STEPS[name](case, act, by)

    handler.__name__ = name
    handler.__doc__ = f"{name}: one of the ways on from the township's review (see next_step_after_review)."
    return handler


start_deliberation = _step_handler("start_deliberation")
skip_deliberation = _step_handler("skip_deliberation")
republish = _step_handler("republish")


@transaction.atomic
def record_deliberation(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """民主评议: date, participants, outcome, minutes reference. Agreed → 公示 (7 days); not agreed → the
    district decides (or the township re-investigates)."""
    case, act, reason, cleaned = services.begin_action(
        case, "record_deliberation", by, reason=reason, data=data, expected_version=expected_version
    )
    today = local_today()
    held_on = datetime.date.fromisoformat(cleaned["held_on"])
    errors = {}
    if held_on > today:
        errors["held_on"] = _("评议日期不能晚于今天。")
    elif case.accepted_on and held_on < case.accepted_on:
        errors["held_on"] = _("评议日期不能早于受理日期。")
    if cleaned["participants"] < 1:
        errors["participants"] = _("参加人数至少为1人。")
    if errors:
        raise ValidationError(errors)
    record_data = {"deliberation": "held", **cleaned}
    details = case_details(case)
    details["deliberation"] = record_data | {"note": reason}
    if cleaned["outcome"] != "agree":
        return services.record_transition(
            case, TOWNSHIP_DISAGREED, by=by, action=act.name, reason=reason, data=record_data,
            changes={"details": details},
        )  # fmt: skip
    case = services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data=record_data,
        changes={"details": details},
    )
    disclosure.publish(case=case, kind=PublicationKind.FIRST, by=by, amount=_published_amount(case))
    return case


def current_publication(case: Case) -> Publication | None:
    return (
        Publication.objects.filter(case=case, withdrawn_at__isnull=True)
        .order_by("-start_date", "-pk")
        .first()
    )


@transaction.atomic
def end_publicity(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """公示期满: the period is over and every objection has been decided → to the district for approval."""
    case, act, reason, _cleaned = services.begin_action(
        case, "end_publicity", by, reason=reason, data=data, expected_version=expected_version
    )
    pub = current_publication(case)
    if pub is None:
        raise Conflict(_("本案没有正在进行的公示。"), path="publication")
    today = local_today()
    if today <= pub.end_date:
        raise Conflict(
            _("公示期至 %(end)s，期满后（%(next)s 起）才能报送区县审批。")
            % {
                "end": pub.end_date.isoformat(),
                "next": (pub.end_date + datetime.timedelta(days=1)).isoformat(),
            },
            path="publication",
        )
    refuse_open_objections(case)
    objections = Case.objects.filter(case_type=CaseType.OBJECTION, related_case=case).count()
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={
            "publication": pub.pk,
            "kind": pub.kind,
            "start": pub.start_date.isoformat(),
            "end": pub.end_date.isoformat(),
            "objections": objections,
        },
    )


def _objection(case: Case, pk: int) -> Case:
    objection = (
        Case.objects.select_for_update()
        .select_related("region")
        .filter(pk=pk, case_type=CaseType.OBJECTION, related_case=case)
        .first()
    )
    if objection is None:
        raise ValidationError({"objection": _("未找到本案的该异议。")})
    if not objection.is_open:
        raise Conflict(_("异议 %(n)s 已办结。") % {"n": objection.tracking_number}, path="objection")
    return objection


def _close_objection(objection: Case, by: Any, result: str) -> None:
    """The objection case is accepted (if it was not yet) and closed with the result (办理结果)."""
    if objection.state == AWAITING_DOCUMENTS:
        services.perform_action(case=objection, action="supplement", by=by)
        objection.refresh_from_db()
    if objection.state == SUBMITTED:
        services.perform_action(case=objection, action="accept", by=by)
        objection.refresh_from_db()
    services.perform_action(case=objection, action="close", by=by, reason=result)


def _decide_objection(case, by, reason, data, expected_version, *, upheld: bool) -> Case:
    name = "uphold_objection" if upheld else "dismiss_objection"
    case, act, reason, cleaned = services.begin_action(
        case, name, by, reason=reason, data=data, expected_version=expected_version
    )
    objection = _objection(case, cleaned["objection"])
    result = (_("异议成立：") if upheld else _("异议不成立：")) + reason
    _close_objection(objection, by, result)
    details = case_details(case)
    details.setdefault("objection_decisions", []).append(
        {
            "objection": objection.pk,
            "number": objection.tracking_number,
            "upheld": upheld,
            "reason": reason,
            "by": services._label(by),
            "on": local_today().isoformat(),
        }
    )
    if upheld:
        disclosure.withdraw_publications(case=case, by=by, reason=_("异议成立，重新调查"))
    return services.record_transition(
        case,
        act.target if upheld else case.state,
        by=by,
        action=act.name,
        reason=reason,
        data={"objection": objection.tracking_number, "upheld": upheld},
        changes={"details": details},
    )


@transaction.atomic
def uphold_objection(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """异议成立: the objection case is closed with the finding, the 公示 is taken down, and the case goes
    back to investigation; after a new evaluation and review it gets a 3-day 复核公示 (条例第18条)."""
    return _decide_objection(case, by, reason, data, expected_version, upheld=True)


@transaction.atomic
def dismiss_objection(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """异议不成立: the objection case is closed with the reason; the 公示 runs on."""
    return _decide_objection(case, by, reason, data, expected_version, upheld=False)


@transaction.atomic
def reinvestigate(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """退回重新调查 (district spot-check, or the township after a disagreement)."""
    case, act, reason, _cleaned = services.begin_action(
        case, "reinvestigate", by, reason=reason, data=data, expected_version=expected_version
    )
    disclosure.withdraw_publications(case=case, by=by, reason=_("退回重新调查"))
    return services.record_transition(case, act.target, by=by, action=act.name, reason=reason)


@transaction.atomic
def withdraw_application(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """申请人撤回: the case ends; a 公示 still on the page is taken down."""
    case, act, reason, _cleaned = services.begin_action(
        case, "withdraw", by, reason=reason, data=data, expected_version=expected_version
    )
    disclosure.withdraw_publications(case=case, by=by, reason=_("申请人撤回申请"))
    return services.record_transition(case, act.target, by=by, action=act.name, reason=reason)


def _clauses(ev: dict) -> list[str]:
    return sorted({s["clause"] for s in ev.get("explanation", []) if s.get("clause")})


@transaction.atomic
def approve(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """区县审批 — 批准: the household is enrolled from the month of approval (条例第22条) at the evaluated
    amount. The evaluation is re-run on the registry for the month of approval: if the figures or the
    parameters changed since, approval is refused (the case goes back for re-investigation). A decision
    other than `include` can be approved only with a written reason and an amount (audited)."""
    case, act, reason, cleaned = services.begin_action(
        case, "approve", by, reason=reason, data=data, expected_version=expected_version
    )
    ev = case_evaluation(case)
    refuse_open_objections(case)
    household = _household(case, by)
    today = local_today()
    fresh = household_evaluation(household, case.applicant, today)
    was, now = ev["dibao"], fresh["dibao"]
    if (was["decision"], was["amount"]) != (now["decision"], now["amount"]):
        raise Conflict(
            _(
                "家庭数据或政策参数自评估（%(p)s）以来已有变化：评估结论为“%(d1)s”%(a1)s 元，按 %(q)s 重新计算为“%(d2)s”%(a2)s 元。"
                "请退回重新调查、评估后再审批。"
            )
            % {
                "p": ev["period"],
                "q": fresh["period"],
                "d1": evaluation.DECISION_LABELS.get(was["decision"], was["decision"]),
                "a1": was["amount"],
                "d2": evaluation.DECISION_LABELS.get(now["decision"], now["decision"]),
                "a2": now["amount"],
            },
            path="evaluation",
        )
    decision = was["decision"]
    amount = int(was["amount"] or 0)
    override_reason = str(cleaned.get("override_reason", "")).strip()
    overridden = decision not in evaluation.APPROVABLE
    if overridden:
        errors = {}
        if not override_reason:
            errors["override_reason"] = _(
                "评估结论为“%(d)s”，不按评估结论批准须书面说明理由（记入审计日志）。"
            ) % {"d": evaluation.DECISION_LABELS.get(decision, decision)}
        if not cleaned.get("override_amount"):
            errors["override_amount"] = _("请填写批准的月低保金（元）。")
        if errors:
            raise ValidationError(errors)
        amount = int(cleaned["override_amount"])
    if amount <= 0:
        raise ValidationError({"override_amount": _("月低保金应大于0。")})
    record_ = {
        "amount": amount,
        "from_month": benefits.first_of_month(today).isoformat(),
        "approved_on": today.isoformat(),
        "evaluation_decision": decision,
        "evaluated_amount": was["amount"],
        "overridden": overridden,
        "override_reason": override_reason if overridden else "",
        "period": fresh["period"],
        "standard": was.get("standard"),
        "size": was.get("size"),
        "per_capita_income": was.get("per_capita_income"),
        "members": [m["person"] for m in fresh["members"]],
        "member_names": [m["name"] for m in fresh["members"]],
        "clauses": _clauses(ev),
        "reason": reason,
    }
    details = case_details(case)
    details["decision"] = record_
    case = services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={k: record_[k] for k in ("amount", "from_month", "evaluation_decision", "overridden")},
        changes={"details": details},
    )
    if overridden:
        record(
            actor=by,
            action=AuditAction.ACTION,
            obj=case,
            object_type="intake.case",
            before={"evaluation_decision": decision, "evaluated_amount": was["amount"]},
            after={"override": True, "amount": amount},
            reason=override_reason,
        )
    benefits.enrol_from_decision(case=case, by=by)
    return case


# --- the case page panel -------------------------------------------------------------------------------------


def _yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{Decimal(int(fen)) / 100:.2f}"


def economic_context(user: Any, case: Case, acts: dict) -> dict:
    """What the `intake/_economic_data.html` partial shows: the household, its members' recorded
    figures, the check report that may be adopted, the figures and investigation recorded on the case."""
    household = members = report = None
    if case.household_id:
        household = (
            Household.objects.visible_to(user).select_related("region").filter(pk=case.household_id).first()
        )
    if household is not None:
        members = [
            {
                "pk": m.person_id,
                "name": m.person.name,
                "relation": m.get_relation_display(),
                "separate": m.separate_assessment,
                "work": m.person.work,
                "income": [
                    (k, evaluation.INCOME_LABELS[k], _yuan(getattr(m.person, f"income_{k}_fen")))
                    for k in evaluation.INCOME_KINDS
                ],
            }
            for m in evaluation.current_memberships(household)
        ]
        if "economic_data" in acts:
            report = benefits.usable_report(user, household)
    return {
        "household": household,
        "members": members,
        "work_choices": WorkStatus.choices,
        "report": report,
        "economic": (case.details or {}).get("economic"),
        "investigated": investigation_display(case),
        "investigation_methods": INVESTIGATION_METHODS,
    }


def panel_context(request, detail, can_act: bool) -> dict:
    from doudi.benefits.selectors import enrolment_for_case

    user = request.user
    case = detail.case
    acts = {a.name: a for a in detail.actions} if can_act else {}
    details = case.details or {}
    today = local_today()
    ev = details.get("evaluation")
    steps = evaluation.explanation_rows(ev.get("explanation", [])) if ev else []
    params = evaluation.parameter_rows(ev.get("parameters", [])) if ev else []
    publicity = publicity_context(user, case, today)
    running = next((p for p in reversed(publicity["publications"]) if p.running_on(today)), None)
    deliberation_row = next(
        (t for t in reversed(detail.transitions) if t.action in ("skip_deliberation", "record_deliberation")),
        None,
    )
    return {
        "case": case,
        "can_act": can_act,
        "acts": acts,
        "today": today,
        **economic_context(user, case, acts),
        "ev": ev,
        "decision_label": evaluation.DECISION_LABELS.get(ev["dibao"]["decision"], "") if ev else "",
        "approvable": bool(ev) and ev["dibao"]["decision"] in evaluation.APPROVABLE,
        "steps": steps,
        "params": params,
        "review": details.get("township_review"),
        "deliberation": details.get("deliberation"),
        "deliberation_row": deliberation_row,
        "window_open": window_open(case, today) if case.is_open else False,
        **publicity,
        "running": running,
        "decision": details.get("decision"),
        "enrolment": enrolment_for_case(user, case),
        **decision_rows(detail.transitions),
        "opinions": OPINIONS,
        "outcomes": OUTCOMES,
    }


def dibao_panel(request, detail, can_act: bool):
    from doudi.intake.views import CasePanel

    html = render_to_string(
        "intake/dibao/panel.html", panel_context(request, detail, can_act), request=request
    )
    return CasePanel(html=html, handles=PANEL_ACTIONS)


def _register_panel() -> None:
    from doudi.intake.views import register_case_panel

    register_case_panel(CaseType.DIBAO, dibao_panel)


_register_panel()
