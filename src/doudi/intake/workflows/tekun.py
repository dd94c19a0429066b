"""特困人员供养审批 — the 特困 workflow on the intake framework.

The procedure of 《社会救助暂行办法》 arts. 14 and 16 and 《特困人员认定办法》 (民发〔2016〕178号), with the
online 公示 of 渝肺炎组发〔2020〕14号 四:

    apply (portal or counter) → 受理 (or the missing items, told once)
      → investigation (调查核实): the officer records the three conditions of 特困供养 — no ability to
        work, no source of income, no legal supporter (or one unable to support) — each with notes
      → evaluation: the basic living standard by the policy engine (POLICY R2), with its explanation
      → township review (乡镇审核) → 公示 7 days (the dibao 公示 machinery of `doudi.disclosure`, with
        its objections: upheld → re-investigation and a 3-day 复核公示; dismissed → reason recorded)
      → district approval (区县审批) → enrolment in the scheme `tekun` from the month of approval, the
        person category 特困人员 granted, a printable decision; or a written refusal with reasons.

There is no community deliberation (群众评议) in the 特困 procedure. The 公示, objection, re-investigation
and withdrawal steps are the dibao workflow's handlers (`dibao.end_publicity`, `uphold_objection`, …):
they are written against the flow table of the case in hand, so a 特困 case runs them unchanged.

Time limit: the framework's dibao rule applied to 特困 too (7 working days from acceptance while the
district's emergency window is open on that day, else 30 days; 公示 days not counted) — a platform
choice by analogy, shown on the case page with that basis.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
    DISTRICT,
    NOTICE_DECISION,
    NOTICE_REFUSAL,
    REFUSED,
    REJECTED,
    SUBMITTED,
    TOWNSHIP,
    WITHDRAWN,
    Action,
    Clock,
    Field,
    Flow,
    register,
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
from doudi.registry.models import Household, Membership, Person

# --- states ------------------------------------------------------------------------------------------------

INVESTIGATED = "investigated"
EVALUATED = "evaluated"
TOWNSHIP_DISAGREED = "township_disagreed"
PUBLICITY = "publicity"
REPUBLICITY = "republicity"
REINVESTIGATION = "reinvestigation"
AWAITING_APPROVAL = "awaiting_approval"

STATES = {
    SUBMITTED: COMMON_STATES[SUBMITTED],
    AWAITING_DOCUMENTS: COMMON_STATES[AWAITING_DOCUMENTS],
    ACCEPTED: gettext_lazy("已受理（待调查核实）"),
    INVESTIGATED: gettext_lazy("已调查核实（待评估）"),
    EVALUATED: gettext_lazy("已评估（待乡镇审核）"),
    TOWNSHIP_DISAGREED: gettext_lazy("乡镇审核不同意（待区县决定）"),
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
INVESTIGATORS = frozenset({TOWNSHIP, DISTRICT})  # 《社会救助暂行办法》第16条: the township investigates
ACTIVE_PUBLICITY = frozenset({PUBLICITY, REPUBLICITY})

# --- the three conditions of 特困供养 (《社会救助暂行办法》第14条) ----------------------------------------------

MET, NOT_MET = "met", "not_met"
NO_SUPPORTER, SUPPORTER_UNABLE = "none", "unable"

CONDITIONS: tuple[tuple[str, Any, tuple[tuple[str, Any], ...], Any], ...] = (
    (
        "no_work_ability",
        gettext_lazy("无劳动能力"),
        ((MET, gettext_lazy("无劳动能力")), (NOT_MET, gettext_lazy("有劳动能力"))),
        gettext_lazy("60周岁以上老年人、未满16周岁未成年人，或经认定的重度残疾人、重病患者等"),
    ),
    (
        "no_income",
        gettext_lazy("无生活来源"),
        ((MET, gettext_lazy("无生活来源")), (NOT_MET, gettext_lazy("有生活来源"))),
        gettext_lazy("收入低于当地最低生活保障标准，且财产符合特困人员财产状况的规定"),
    ),
    (
        "no_supporter",
        gettext_lazy("法定赡养、抚养、扶养义务人"),
        (
            (NO_SUPPORTER, gettext_lazy("无法定赡养、抚养、扶养义务人")),
            (SUPPORTER_UNABLE, gettext_lazy("法定义务人无赡养、抚养、扶养能力")),
            (NOT_MET, gettext_lazy("有具备履行能力的法定义务人")),
        ),
        gettext_lazy("义务人情况、是否具备赡养、抚养、扶养能力的核实结果"),
    ),
)
CONDITION_NAMES = tuple(name for name, *_rest in CONDITIONS)


def _condition_fields() -> tuple[Field, ...]:
    out: list[Field] = []
    for name, label, choices, hint in CONDITIONS:
        out.append(Field(name, label, kind="choice", choices=choices, help=hint))
        out.append(Field(f"{name}_note", gettext_lazy("核实情况"), kind="textarea"))
    return tuple(out)


def conditions_met(investigation: dict | None) -> bool:
    """All three conditions established (the supporter condition by either of its two forms)."""
    if not investigation:
        return False
    values = investigation.get("conditions", {})
    return all(values.get(name, {}).get("value") not in (None, "", NOT_MET) for name in CONDITION_NAMES)


# --- the time limit ---------------------------------------------------------------------------------------------

EMERGENCY_BASIS = gettext_lazy(
    "疫情防控期间7个工作日（比照低保审批时限，重庆市2020年2月7日措施；平台设定）；公示期间不计"
)
NORMAL_BASIS = gettext_lazy("受理之日起30日（比照低保审批时限，平台设定，未经核实）；公示期间不计")


def tekun_limit(case: Case, start: datetime.date) -> sla.Limit:
    """The dibao limits, applied to 特困 by analogy: 7 working days while the window is open for the
    district on the day the clock starts, else 30 days."""
    if sla.emergency_window_open(case.region, start):
        return sla.Limit(sla.DIBAO_EMERGENCY_LIMIT, sla.WORKING, str(EMERGENCY_BASIS))
    return sla.Limit(sla.DIBAO_NORMAL_LIMIT, sla.CALENDAR, str(NORMAL_BASIS))


TEKUN_CLOCK = Clock("handling", tekun_limit, window_sensitive=True)

# --- the flow ---------------------------------------------------------------------------------------------------

H = "doudi.intake.workflows.tekun."
D = "doudi.intake.workflows.dibao."  # the 公示 / objection / withdrawal steps shared with dibao

OPINIONS = (("agree", gettext_lazy("同意（拟认定为特困人员）")), ("disagree", gettext_lazy("不同意")))


TEKUN_FLOW = register(
    Flow(
        name="tekun",
        states=STATES,
        initial=SUBMITTED,
        actions=(
            *withdrawable_intake_actions(OPEN_STATES, withdraw_handler=D + "withdraw_application"),
            Action(
                "investigate",
                gettext_lazy("记录调查核实结果"),
                {ACCEPTED, REINVESTIGATION, INVESTIGATED, EVALUATED},
                INVESTIGATED,
                INVESTIGATORS,
                fields=(*investigation_fields(), *_condition_fields()),
                handler=H + "record_investigation",
                reason_label=gettext_lazy("调查说明（入户调查、邻里访问、信函索证等）"),
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
                PUBLICITY,  # or 复核公示 after an upheld objection, or township_disagreed (the handler)
                {TOWNSHIP},
                needs_reason=True,
                reason_label=gettext_lazy("审核意见"),
                fields=(Field("opinion", gettext_lazy("审核结论"), kind="choice", choices=OPINIONS),),
                handler=H + "township_review",
            ),
            Action(
                "uphold_objection",
                gettext_lazy("异议成立，重新调查"),
                {PUBLICITY, REPUBLICITY, AWAITING_APPROVAL},
                REINVESTIGATION,
                {TOWNSHIP, DISTRICT},
                needs_reason=True,
                reason_label=gettext_lazy("核实情况"),
                fields=(Field("objection", gettext_lazy("异议案件"), kind="integer"),),
                handler=D + "uphold_objection",
                style="warning",
            ),
            Action(
                "dismiss_objection",
                gettext_lazy("异议不成立"),
                {PUBLICITY, REPUBLICITY, AWAITING_APPROVAL},
                PUBLICITY,  # stays in the state it is in (the handler keeps it)
                {TOWNSHIP, DISTRICT},
                needs_reason=True,
                reason_label=gettext_lazy("不成立的理由"),
                fields=(Field("objection", gettext_lazy("异议案件"), kind="integer"),),
                handler=D + "dismiss_objection",
                style="secondary",
            ),
            Action(
                "end_publicity",
                gettext_lazy("公示期满，报送区县审批"),
                ACTIVE_PUBLICITY,
                AWAITING_APPROVAL,
                {TOWNSHIP, DISTRICT},
                handler=D + "end_publicity",
            ),
            Action(
                "reinvestigate",
                gettext_lazy("退回重新调查"),
                {AWAITING_APPROVAL, TOWNSHIP_DISAGREED},
                REINVESTIGATION,
                {TOWNSHIP, DISTRICT, APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("退回理由"),
                handler=D + "reinvestigate",
                style="warning",
            ),
            Action(
                "approve",
                gettext_lazy("批准"),
                {AWAITING_APPROVAL},
                APPROVED,
                {APPROVER},
                reason_label=gettext_lazy("审批意见"),
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
        paused={AWAITING_DOCUMENTS, PUBLICITY, REPUBLICITY},  # 公示 days are not counted
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: TEKUN_CLOCK},
    ),
    CaseType.TEKUN,
    replace=True,
)

# Actions the 特困 panel renders with its own forms (the generic block keeps 受理/补正/不予受理/撤回).
PANEL_ACTIONS = panel_actions(TEKUN_FLOW)


# --- helpers ---------------------------------------------------------------------------------------------


def _person(case: Case, by: Any) -> Person:
    """The applicant as a registered person in the officer's scope: 特困 is a person's status."""
    if case.applicant_id is None:
        raise ValidationError(
            {"applicant": _("请先关联登记在册的申请人（“申请人”一栏），再调查核实其特困供养条件。")}
        )
    person = Person.objects.visible_to(by).select_related("region").filter(pk=case.applicant_id).first()
    if person is None:
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    return person


def _household_of(person: Person) -> Household | None:
    m = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    return m.household if m else None


def standard_amount(person: Person, on: datetime.date) -> dict:
    """POLICY R2 by the policy engine for the month of `on`, the person recognised as 特困人员."""
    try:
        return evaluation.evaluate_person(person, "tekun", on=on, categories=("tekun",))
    except evaluation.InputError as exc:
        raise ValidationError(
            {"evaluation": "；".join(f"{e['path']}: {e['message']}" for e in exc.errors)}
        ) from exc


def _parameter(ev: dict, name: str) -> Any:
    return next((p.get("value") for p in ev.get("parameters", []) if p.get("name") == name), None)


# --- handlers (services) -----------------------------------------------------------------------------------


@transaction.atomic
def record_investigation(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """调查核实: the three conditions of 特困供养 as the officer established them, each with its notes
    (入户调查、邻里访问、信函索证). A new finding drops an earlier evaluation: it must be evaluated again."""
    case, act, reason, cleaned = services.begin_action(
        case, "investigate", by, reason=reason, data=data, expected_version=expected_version
    )
    person = _person(case, by)
    if _household_of(person) is None:
        raise ValidationError(
            {"applicant": _("该人员没有登记家庭（分散供养的特困人员单人立户），请先在人员登记中登记。")}
        )
    investigated = investigation_record(case, cleaned)
    conditions = {name: {"value": cleaned[name], "note": cleaned[f"{name}_note"]} for name in CONDITION_NAMES}
    record_ = {
        "conditions": conditions,
        "note": reason,
        "person": person.pk,
        "by": services._label(by),
        "on": local_today().isoformat(),
    }
    details = case_details(case)
    details["investigation"] = record_
    details["investigated"] = investigated
    details.pop("evaluation", None)
    met = conditions_met(record_)
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={
            "conditions": {k: v["value"] for k, v in conditions.items()},
            "met": met,
            "investigated": investigated,
        },
        changes={"details": details},
    )


@transaction.atomic
def evaluate_case(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """评估: eligibility from the investigation's three conditions; the monthly basic living standard
    (R2: the urban dibao standard × `tekun.basic_living_ratio`) by the policy engine for the current
    month, with the explanation and the parameters used (unverified ones flagged)."""
    case, act, reason, _cleaned = services.begin_action(
        case, "evaluate", by, reason=reason, data=data, expected_version=expected_version
    )
    investigation = (case.details or {}).get("investigation")
    if not investigation:
        raise Conflict(_("尚未记录调查核实结果。"), path="investigation")
    person = _person(case, by)
    result = standard_amount(person, local_today())
    eligible = conditions_met(investigation)
    result["standard_amount"] = result["amount"]
    result["eligible"] = eligible
    result["decision"] = "include" if eligible else "not_eligible"
    result["amount"] = result["amount"] if eligible else 0
    details = case_details(case)
    details["evaluation"] = result
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"period": result["period"], "decision": result["decision"], "amount": result["amount"]},
        changes={"details": details},
    )


@transaction.atomic
def township_review(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """乡镇审核: agree → 公示 7 days at once (after an upheld objection, a 3-day 复核公示); disagree →
    the district decides. Agreeing is refused when the investigation did not establish all three
    conditions (the case must go back to investigation, or the township disagrees)."""
    case, act, reason, cleaned = services.begin_action(
        case, "township_review", by, reason=reason, data=data, expected_version=expected_version
    )
    ev = case_evaluation(case)
    opinion = cleaned["opinion"]
    if opinion == "agree" and not ev.get("eligible"):
        raise ValidationError(
            {
                "opinion": _(
                    "调查核实未确认三项特困供养条件全部符合，不能同意；请重新调查核实或提出不同意意见。"
                )
            }
        )
    details = case_details(case)
    details["township_review"] = {
        "opinion": opinion,
        "reason": reason,
        "by": services._label(by),
        "on": local_today().isoformat(),
    }
    if opinion != "agree":
        return services.record_transition(
            case, TOWNSHIP_DISAGREED, by=by, action=act.name, reason=reason, data={"opinion": opinion},
            changes={"details": details},
        )  # fmt: skip
    # 条例第18条 as for dibao: after an objection was upheld and re-investigated, 3 days.
    republish = Publication.objects.filter(case=case).exists()
    case = services.record_transition(
        case,
        REPUBLICITY if republish else act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"opinion": opinion, "publication": PublicationKind.RE if republish else PublicationKind.FIRST},
        changes={"details": details},
    )
    disclosure.publish(
        case=case,
        kind=PublicationKind.RE if republish else PublicationKind.FIRST,
        by=by,
        amount=int(ev["amount"] or 0),
    )
    return case


@transaction.atomic
def approve(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """区县审批 — 批准: the person is recognised as 特困人员 and enrolled in 特困供养 from the month of
    approval, at the basic living standard of that month (R2, re-run by the policy engine: a standard
    that changed since the evaluation is applied, and both figures are kept on the decision)."""
    case, act, reason, _cleaned = services.begin_action(
        case, "approve", by, reason=reason, data=data, expected_version=expected_version
    )
    ev = case_evaluation(case)
    refuse_open_objections(case)
    investigation = (case.details or {}).get("investigation")
    if not ev.get("eligible") or not conditions_met(investigation):
        raise Conflict(
            _("调查核实未确认三项特困供养条件全部符合，不能批准；请不予批准或退回重新调查。"),
            path="evaluation",
        )
    person = _person(case, by)
    today = local_today()
    fresh = standard_amount(person, today)
    amount = fresh["amount"]
    if amount <= 0:
        raise ValidationError({"evaluation": _("按政策规则（R2）计算的基本生活标准为0，不能批准。")})
    household = _household_of(person)
    record_ = {
        "scheme": "tekun",
        "person": person.pk,
        "person_name": person.name,
        "amount": amount,
        "evaluated_amount": ev["amount"],
        "from_month": benefits.first_of_month(today).isoformat(),
        "approved_on": today.isoformat(),
        "period": fresh["period"],
        "urban_standard": _parameter(fresh, "dibao.standard.urban"),
        "ratio": _parameter(fresh, "tekun.basic_living_ratio"),
        "unverified": fresh["unverified"],
        "conditions": {k: v["value"] for k, v in investigation["conditions"].items()},
        "clauses": sorted({s["clause"] for s in fresh["explanation"] if s.get("clause")}),
        "reason": reason,
    }
    details = case_details(case)
    details["decision"] = record_
    changes: dict[str, Any] = {"details": details}
    if household is not None and case.household_id != household.pk:
        changes["household"] = household
    case = services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={k: record_[k] for k in ("amount", "from_month", "period")},
        changes=changes,
    )
    benefits.enrol_from_decision(case=case, by=by)
    return case


# --- the case page panel -------------------------------------------------------------------------------------


def panel_context(request, detail, can_act: bool) -> dict:
    from doudi.benefits.selectors import enrolment_for_case

    user = request.user
    case = detail.case
    acts = {a.name: a for a in detail.actions} if can_act else {}
    details = case.details or {}
    today = local_today()
    person = None
    if case.applicant_id:
        person = Person.objects.visible_to(user).filter(pk=case.applicant_id).first()
    investigation = details.get("investigation")
    ev = details.get("evaluation")
    steps = evaluation.explanation_rows((ev or {}).get("explanation", []))
    labels = {name: (label, dict(choices), hint) for name, label, choices, hint in CONDITIONS}
    findings = []
    if investigation:
        for name in CONDITION_NAMES:
            found = investigation["conditions"].get(name, {})
            label, choices, _hint = labels[name]
            findings.append(
                {
                    "name": name,
                    "label": label,
                    "value": found.get("value"),
                    "value_label": choices.get(found.get("value"), found.get("value")),
                    "met": found.get("value") not in (None, "", NOT_MET),
                    "note": found.get("note", ""),
                }
            )
    return {
        "case": case,
        "can_act": can_act,
        "acts": acts,
        "today": today,
        "person": person,
        "conditions": [
            {"name": name, "label": label, "choices": choices, "hint": hint}
            for name, label, choices, hint in CONDITIONS
        ],
        "investigation": investigation,
        "investigated": investigation_display(case),
        "investigation_methods": INVESTIGATION_METHODS,
        "findings": findings,
        "ev": ev,
        "eligible": bool(ev and ev.get("eligible")),
        "steps": steps,
        "params": evaluation.parameter_rows((ev or {}).get("parameters", [])),
        "review": details.get("township_review"),
        **publicity_context(user, case, today),
        "decision": details.get("decision"),
        "enrolment": enrolment_for_case(user, case),
        **decision_rows(detail.transitions),
        "opinions": OPINIONS,
    }


def tekun_panel(request, detail, can_act: bool):
    from doudi.intake.views import CasePanel

    html = render_to_string(
        "intake/tekun/panel.html", panel_context(request, detail, can_act), request=request
    )
    return CasePanel(html=html, handles=PANEL_ACTIONS)


def _register_panel() -> None:
    from doudi.intake.views import register_case_panel

    register_case_panel(CaseType.TEKUN, tekun_panel)


_register_panel()
