"""家庭情况变化报告 — a dibao household's own report that its situation changed (income, members, work,
assets), and what follows: a re-evaluation and, where the amount changes, a change of its enrolment.

《重庆市城乡居民最低生活保障条例》第28条: a household in dibao tells the township (or the village) when
its members, income or assets change; the township checks, and the district decides 增发、减发 or 停保
(第29条: in writing, with reasons). 渝肺炎组发〔2020〕14号 一(一): during the epidemic a raise takes effect
at once, a reduction or an exit does not (POLICY R1) — it waits for the end of the emergency window.

    report (portal, or the village/township on the household's behalf) → 受理 (SMS "已受理")
      → the township records the new figures (the dibao investigation's form, or the check report)
      → re-evaluation by the policy engine (R1), old against new, clause by clause
      → township review (乡镇审核) → district decision (区县审批人, not the reviewer: maker-checker):
           raise / no change → closed
           reduce / exit     → closed, or — refused by the window guard of `benefits.change_amount` /
                               `exit_enrolment` — deferred (暂缓), and carried out after the window
      → the decision notice (变化核定决定书) and an SMS "已决定" (portal.notifications).

**Months** (the decision's `from_month`):
- a **raise** takes effect from the **month of the report** (the month the case was filed): the
  household's need dates from when it told us, not from when the office got round to it; this is how
  一(一)c treats the monthly re-check's raise (paid in the month found) and it keeps the time the
  procedure takes from costing the household money;
- a **reduction** takes effect, and an **exit** is paid to the end of, the **month of the decision**
  (after the window: the month it is carried out): nothing is withdrawn before the household has the
  written decision (第29条), and nothing already paid is reclaimed — the same months the re-check's
  reductions are proposed with (benefits "减发/退出待办").
The amount is R1's for the month of the decision (the evaluation is re-run then, as the dibao approval
does, and the decision refused if the figures or the parameters changed since the evaluation).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.benefits import evaluation
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrolment, EnrolmentChange, EnrolmentStatus, Scheme
from doudi.benefits.window import first_of_month, in_emergency_window, month_last_day
from doudi.core.errors import Conflict
from doudi.intake import services
from doudi.intake.flows import (
    ACCEPTANCE_CLOCK,
    ACCEPTED,
    APPROVER,
    AWAITING_DOCUMENTS,
    CLOSED,
    COMMON_STATES,
    DIBAO_CLOCK,
    DISTRICT,
    NOTICE_DECISION,
    REJECTED,
    SUBMITTED,
    TOWNSHIP,
    VILLAGE,
    WITHDRAWN,
    Action,
    Field,
    Flow,
    intake_actions,
    register,
)
from doudi.intake.models import Case, CaseType, Channel
from doudi.intake.workflows import dibao
from doudi.intake.workflows.common import (
    case_details,
    case_evaluation,
    investigation_fields,
    local_today,
    panel_actions,
)
from doudi.registry.models import Household, Membership, Person

# --- states and the flow ----------------------------------------------------------------------------------

INVESTIGATED = "investigated"
EVALUATED = "evaluated"
AWAITING_DECISION = "awaiting_decision"
DEFERRED = "deferred"

STATES = {
    SUBMITTED: COMMON_STATES[SUBMITTED],
    AWAITING_DOCUMENTS: COMMON_STATES[AWAITING_DOCUMENTS],
    ACCEPTED: gettext_lazy("已受理（待核实变化情况）"),
    INVESTIGATED: gettext_lazy("已核实变化情况（待重新评估）"),
    EVALUATED: gettext_lazy("已重新评估（待乡镇审核）"),
    AWAITING_DECISION: gettext_lazy("待区县决定"),
    DEFERRED: gettext_lazy("已决定，疫情防控期间暂缓执行"),
    CLOSED: gettext_lazy("已决定（办结）"),
    REJECTED: COMMON_STATES[REJECTED],
    WITHDRAWN: COMMON_STATES[WITHDRAWN],
}
INVESTIGATORS = frozenset({TOWNSHIP, DISTRICT})
H = "doudi.intake.workflows.change_report."

# The changes a report ends in (verification.models.Change spells the re-check's the same way).
RAISE, NONE, REDUCE, EXIT = "raise", "none", "reduce", "exit"
OUTCOMES = (
    (RAISE, gettext_lazy("增发")),
    (NONE, gettext_lazy("维持原金额")),
    (REDUCE, gettext_lazy("减发")),
    (EXIT, gettext_lazy("退出低保")),
)
OUTCOME_LABELS = dict(OUTCOMES)
# What the household may report as changed (家庭情况变化的事项).
KINDS = (
    ("income", gettext_lazy("收入变化")),
    ("members", gettext_lazy("家庭成员变化（出生、死亡、婚嫁、迁入迁出等）")),
    ("work", gettext_lazy("就业或务工情况变化")),
    ("assets", gettext_lazy("财产变化（存款、车辆、住房）")),
    ("other", gettext_lazy("其他情况")),
)
KIND_LABELS = dict(KINDS)
OPINIONS = (("agree", gettext_lazy("同意评估结论")), ("disagree", gettext_lazy("不同意评估结论")))

CHANGE_REPORT_FLOW = register(
    Flow(
        name="change_report",
        states=STATES,
        initial=SUBMITTED,
        actions=(
            *intake_actions(acceptors=INVESTIGATORS, helpers=(VILLAGE,)),
            Action(
                "economic_data",
                gettext_lazy("保存变化后的家庭经济状况"),
                {ACCEPTED, INVESTIGATED, EVALUATED},
                INVESTIGATED,
                INVESTIGATORS,
                fields=investigation_fields(required=False),
                handler=H + "record_figures",
                reason_label=gettext_lazy("核实说明（入户调查、电话或视频核实等）"),
            ),
            Action(
                "evaluate",
                gettext_lazy("重新评估"),
                {INVESTIGATED, EVALUATED},
                EVALUATED,
                INVESTIGATORS,
                handler=H + "evaluate_change",
            ),
            Action(
                "township_review",
                gettext_lazy("提交乡镇审核意见"),
                {EVALUATED},
                AWAITING_DECISION,
                {TOWNSHIP},
                needs_reason=True,
                reason_label=gettext_lazy("审核意见"),
                fields=(Field("opinion", gettext_lazy("审核结论"), kind="choice", choices=OPINIONS),),
                handler=H + "township_review",
            ),
            Action(
                "reinvestigate",
                gettext_lazy("退回重新核实"),
                {AWAITING_DECISION},
                INVESTIGATED,
                {TOWNSHIP, DISTRICT, APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("退回理由"),
                style="warning",
            ),
            Action(
                "decide",
                gettext_lazy("作出决定"),
                {AWAITING_DECISION},
                CLOSED,
                {APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("决定理由（写入决定书，告知家庭）"),
                fields=(Field("outcome", gettext_lazy("决定"), kind="choice", choices=OUTCOMES),),
                handler=H + "decide",
                style="success",
                notice=NOTICE_DECISION,
            ),
            Action(
                "apply_deferred",
                gettext_lazy("疫情防控期间结束，执行减发或退出"),
                {DEFERRED},
                CLOSED,
                {APPROVER},
                reason_label=gettext_lazy("执行说明"),
                handler=H + "apply_deferred",
                style="warning",
                notice=NOTICE_DECISION,
            ),
        ),
        terminal={CLOSED, REJECTED, WITHDRAWN},
        paused={AWAITING_DOCUMENTS},
        # Decided; what remains waits on the end of the emergency window, not on the office.
        stopped={DEFERRED},
        # A platform choice (unverified): the dibao approval's limit — 7 working days in the window, else 30 days.
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: DIBAO_CLOCK},
    ),
    CaseType.CHANGE_REPORT,
    replace=True,
)
PANEL_ACTIONS = panel_actions(CHANGE_REPORT_FLOW)


# --- reads shared by the steps ---------------------------------------------------------------------------


def dibao_enrolment(household: Household, *, lock: bool = False) -> Enrolment | None:
    """The household's dibao enrolment being paid (active), if any."""
    qs = Enrolment.objects.filter(household=household, scheme=Scheme.DIBAO, status=EnrolmentStatus.ACTIVE)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.first()


def _enrolment_or_conflict(household: Household) -> Enrolment:
    enrolment = dibao_enrolment(household, lock=True)
    if enrolment is None:
        raise Conflict(_("该家庭目前没有正在发放的低保待遇，不能按变化报告调整。"), path="household")
    return enrolment


def proposal(result: dict, current: int) -> dict:
    """What R1's answer for the household means against the amount paid now: the change (raise, none,
    reduce, exit), the new monthly amount, and whether the engine itself held it back because the month
    is in the emergency window (hold / exit_deferred). The re-check maps its arrays the same way
    (verification.evaluation.evaluate_dibao)."""
    d = result["dibao"]
    decision = d["decision"]
    amount = int(d["amount"] or 0)
    computed = int(d.get("computed_amount") or 0)
    held = decision in ("hold", "exit_deferred")
    if decision in ("exit", "exit_deferred", "not_applicable", "not_eligible"):
        change, new = EXIT, 0
    elif decision == "hold" or amount < current:
        change, new = REDUCE, (computed if decision == "hold" else amount)
    elif amount > current:
        change, new = RAISE, amount
    else:
        change, new = NONE, current
    if change == REDUCE and new <= 0:
        change = EXIT
    return {
        "change": change,
        "current_amount": current,
        "new_amount": new,
        "decision": decision,
        "held_by_window": held,
        "period": result["period"],
    }


def _applicant(case: Case, household: Household) -> Person | None:
    """Who the household is assessed for (条例第11条): the enrolment's own applicant when known."""
    e = dibao_enrolment(household)
    if e is not None and e.decision_case_id and e.decision_case.applicant_id:
        return e.decision_case.applicant
    return case.applicant


def _evaluate_now(case: Case, by: Any, day: datetime.date) -> tuple[Household, Enrolment, dict, dict]:
    household = dibao._household(case, by)
    enrolment = _enrolment_or_conflict(household)
    result = dibao.household_evaluation(household, _applicant(case, household), day)
    return household, enrolment, result, proposal(result, enrolment.monthly_amount)


# --- filing (the portal and the console) -------------------------------------------------------------------


def open_report(case_qs, household: Household) -> Case | None:
    """The household's change report still being handled, if any (one at a time)."""
    return (
        case_qs.filter(case_type=CaseType.CHANGE_REPORT, household=household, closed_at__isnull=True)
        .order_by("filed_at", "pk")
        .first()
    )


def current_household(person: Person) -> Household | None:
    m = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household__region")
    first = m.first()
    return first.household if first else None


def clean_kinds(kinds: Any, errors: dict[str, str]) -> list[str]:
    picked = [str(k) for k in (kinds or [])]
    if not picked:
        errors["kinds"] = _("请选择发生变化的事项。")
    elif any(k not in KIND_LABELS for k in picked):
        errors["kinds"] = _("选项无效。")
    return sorted(set(picked), key=list(KIND_LABELS).index) if "kinds" not in errors else []


@transaction.atomic
def file_report(
    *,
    by: Any,
    person: Person,
    summary: str,
    kinds: list[str],
    channel: str,
    phone: str = "",
    on_behalf: bool = False,
    declared_income_fen: int | None = None,
    extra: dict | None = None,
) -> tuple[Case, bool]:
    """登记 a change report for the household `person` lives in, which must be paid dibao now: by an
    officer (walk-in, a village worker on the household's behalf, 条例第5、14条) or — `by=None`,
    channel portal — by the household itself once the portal has checked who it is. The household's
    report still open is returned instead of a second one (`repeated` True): one report at a time.
    The case is registered at the household's village, where the village keeps seeing it."""
    errors: dict[str, str] = {}
    kinds = clean_kinds(kinds, errors)
    household = current_household(person)
    if household is None or dibao_enrolment(household) is None:
        errors["applicant_id_number"] = _("该人员所在家庭目前没有在发放低保，不适用家庭情况变化报告。")
    if errors:
        raise ValidationError(errors)
    household = (
        Household.objects.select_for_update(of=("self",)).select_related("region").get(pk=household.pk)
    )
    first = open_report(Case.objects.all(), household)
    if first is not None:
        if by is not None and not Case.objects.visible_to(by).filter(pk=first.pk).exists():
            raise ValidationError({"applicant_id_number": _("该家庭已有一份变化报告正在办理。")})
        return first, True
    enrolment = dibao_enrolment(household)
    report = {
        "kinds": kinds,
        "amount_at_report": enrolment.monthly_amount,
        "enrolment": enrolment.pk,
        **({"declared_income_fen": declared_income_fen} if declared_income_fen is not None else {}),
    }
    case = services.open_case(
        by=by,
        case_type=CaseType.CHANGE_REPORT,
        channel=channel,
        region=household.region,
        summary=summary,
        applicant=person,
        household=household,
        applicant_phone=phone,
        details={"change_report": report, **(extra or {})},
        on_behalf=on_behalf,
    )
    return case, False


def file_for_household(
    *, by: Any, id_number: str, summary: str, kinds: list[str], phone: str = "", on_behalf: bool = False
) -> tuple[Case, bool]:
    """The console's filing: the reporting member found by ID number in the officer's region."""
    from doudi.registry import identity

    try:
        number = identity.validate(id_number)
    except ValidationError as exc:
        raise ValidationError({"applicant_id_number": exc.messages}) from exc
    person = Person.objects.visible_to(by).filter(id_number=number).first()
    if person is None:
        raise ValidationError({"applicant_id_number": _("本辖区没有登记该身份证号的人员。")})
    return file_report(
        by=by,
        person=person,
        summary=summary,
        kinds=kinds,
        channel=Channel.WALK_IN,
        phone=phone,
        on_behalf=on_behalf,
    )


# --- handlers ---------------------------------------------------------------------------------------------


@transaction.atomic
def record_figures(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """核实变化: the figures after the change, entered by the officer (or adopted from the household's
    check report) — the dibao investigation's own step (`dibao.economic_data_changes`). The first time,
    the household is evaluated on its figures *before* the change, so the re-evaluation can be read old
    against new, clause by clause."""
    data = dict(data or {})
    case, act, reason, cleaned = services.begin_action(
        case, "economic_data", by, reason=reason, data=data, expected_version=expected_version
    )
    before = (case.details or {}).get("evaluation_before")
    if before is None:
        household = dibao._household(case, by)
        before = dibao.household_evaluation(household, _applicant(case, household), local_today())
    details, row = dibao.economic_data_changes(case, by, data, cleaned)
    details["evaluation_before"] = before
    details.pop("proposal", None)
    return services.record_transition(
        case, act.target, by=by, action=act.name, reason=reason, data=row, changes={"details": details}
    )


@transaction.atomic
def evaluate_change(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """重新评估: R1 on the household's new figures for this month, and what it means against the amount
    paid now (`proposal`)."""
    case, act, reason, _cleaned = services.begin_action(
        case, "evaluate", by, reason=reason, data=data, expected_version=expected_version
    )
    _household, _enrolment, result, plan = _evaluate_now(case, by, local_today())
    details = case_details(case)
    details["evaluation"] = result
    details["proposal"] = plan
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={k: plan[k] for k in ("period", "change", "current_amount", "new_amount", "decision")},
        changes={"details": details},
    )


@transaction.atomic
def township_review(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """乡镇审核: the township's opinion on the re-evaluation, to the district for its decision."""
    case, act, reason, cleaned = services.begin_action(
        case, "township_review", by, reason=reason, data=data, expected_version=expected_version
    )
    case_evaluation(case)
    details = case_details(case)
    details["township_review"] = {
        "opinion": cleaned["opinion"],
        "reason": reason,
        "by": services._label(by),
        "on": local_today().isoformat(),
    }
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"opinion": cleaned["opinion"]},
        changes={"details": details},
    )


def _require_checker(case: Case, by: Any) -> None:
    """Maker-checker: the officer who reviewed the re-evaluation does not decide it too."""
    row = case.transitions.filter(action="township_review").order_by("-seq").first()
    if row is not None and row.by_id is not None and row.by_id == getattr(by, "pk", None):
        raise PermissionDenied(_("提交审核意见的人员不能同时作出决定，请由另一名审批人决定。"))


def _window_refusal(exc: ValidationError, key: str, region: Any, month: datetime.date) -> str | None:
    """The guard's message, when `exc` is the benefits window guard refusing the month (一(一)b)."""
    messages = getattr(exc, "message_dict", {}).get(key)
    if messages and in_emergency_window(region, month):
        return "；".join(messages)
    return None


def _carry_out(case: Case, by: Any, enrolment: Enrolment, plan: dict, reason: str, today: datetime.date):
    """The enrolment change a decided plan makes, through the benefits services (and their window
    guard). Returns (target state, the decision's record)."""
    change, new = plan["change"], plan["new_amount"]
    record_ = {
        "outcome": change,
        "previous_amount": enrolment.monthly_amount,
        "amount": enrolment.monthly_amount if change == NONE else new,
        "decided_on": today.isoformat(),
        "period": plan["period"],
        "reason": reason,
        "deferred": False,
    }
    extra = {"change_report": case.tracking_number}
    if change == NONE:
        return CLOSED, record_
    if change == RAISE:
        month = max(first_of_month(timezone.localdate(case.filed_at)), enrolment.from_month)
        done = benefits.change_amount(
            enrolment=enrolment,
            by=by,
            amount=new,
            effective_month=month,
            reason=reason,
            case=case,
            extra=extra,
        )
        return CLOSED, record_ | {"from_month": month.isoformat(), "enrolment_change": done.pk}
    month = first_of_month(today)
    guarded = month if change == REDUCE else month_last_day(month) + datetime.timedelta(days=1)
    key = "effective_month" if change == REDUCE else "end_month"
    try:
        with transaction.atomic():
            if change == REDUCE:
                done = benefits.change_amount(
                    enrolment=enrolment,
                    by=by,
                    amount=new,
                    effective_month=month,
                    reason=reason,
                    case=case,
                    extra=extra,
                )
            else:
                done = benefits.exit_enrolment(
                    enrolment=enrolment, by=by, end_month=month, reason=reason, case=case
                )
    except ValidationError as exc:
        refusal = _window_refusal(exc, key, enrolment.household.region, guarded)
        if refusal is None:
            raise
        return DEFERRED, record_ | {"deferred": True, "deferred_reason": refusal, "amount": new}
    label = "from_month" if change == REDUCE else "end_month"
    return CLOSED, record_ | {label: month.isoformat(), "enrolment_change": done.pk}


def _changed_since(was: dict, now: dict) -> Conflict:
    return Conflict(
        _(
            "家庭数据或政策参数自评估（%(p)s）以来已有变化：评估为“%(c1)s”%(a1)s 元，按 %(q)s 重新计算为“%(c2)s”%(a2)s 元。"
            "请退回重新核实、评估后再决定。"
        )
        % {
            "p": was["period"],
            "q": now["period"],
            "c1": OUTCOME_LABELS[was["change"]],
            "a1": was["new_amount"],
            "c2": OUTCOME_LABELS[now["change"]],
            "a2": now["new_amount"],
        },
        path="evaluation",
    )


@transaction.atomic
def decide(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """区县决定: the approver confirms the change the re-evaluation found (`outcome` must be it; one who
    disagrees sends the case back) with the written reason the household is told. The evaluation is
    re-run for this month first. A raise is made at once; a reduction or an exit goes to the benefits
    services, whose window guard refuses it while the emergency window is open — the case is then
    `deferred`, the household keeps its amount, and `apply_deferred` carries it out after the window."""
    case, act, reason, cleaned = services.begin_action(
        case, "decide", by, reason=reason, data=data, expected_version=expected_version
    )
    _require_checker(case, by)
    case_evaluation(case)
    was = (case.details or {}).get("proposal") or {}
    today = local_today()
    _household, enrolment, _result, now = _evaluate_now(case, by, today)
    if (was.get("change"), was.get("new_amount")) != (now["change"], now["new_amount"]):
        raise _changed_since(was, now)
    if cleaned["outcome"] != now["change"]:
        raise ValidationError(
            {
                "outcome": _("重新评估的结论为“%(c)s”。不同意评估结论的，请退回重新核实。")
                % {"c": OUTCOME_LABELS[now["change"]]}
            }
        )
    target, decision = _carry_out(case, by, enrolment, now, reason, today)
    details = case_details(case)
    details["decision"] = decision
    return services.record_transition(
        case,
        target,
        by=by,
        action=act.name,
        reason=reason,
        data={k: decision[k] for k in ("outcome", "previous_amount", "amount", "deferred")},
        changes={"details": details},
    )


@transaction.atomic
def apply_deferred(*, case, by, reason="", data=None, expected_version=None) -> Case:
    """执行暂缓的减发或退出: once the window no longer covers the month, the household is re-evaluated for
    this month and the change it gives now is made (a reduction from this month, an exit after this
    month); while the window still covers it the benefits guard refuses again and nothing is written
    (Conflict). If the household's situation no longer calls for it, the decision records that."""
    case, act, reason, _cleaned = services.begin_action(
        case, "apply_deferred", by, reason=reason, data=data, expected_version=expected_version
    )
    first = (case.details or {}).get("decision") or {}
    today = local_today()
    _household, enrolment, result, now = _evaluate_now(case, by, today)
    written = reason or first.get("reason", "")
    target, decision = _carry_out(case, by, enrolment, now, written, today)
    if target == DEFERRED:
        raise Conflict(decision["deferred_reason"], path="state")
    details = case_details(case)
    details["deferred_decision"] = first
    details["decision"] = decision
    details["evaluation"] = result
    details["proposal"] = now
    if now["change"] != first.get("outcome"):
        record(
            actor=by,
            action=AuditAction.ACTION,
            obj=case,
            object_type="intake.case",
            before={"outcome": first.get("outcome")},
            after={"outcome": now["change"], "amount": decision["amount"]},
            reason=_("执行时重新评估的结论与原决定不同"),
        )
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=written,
        data={k: decision[k] for k in ("outcome", "previous_amount", "amount")},
        changes={"details": details},
    )


def deferred_reports(scope) -> dict[int, Case]:
    """The deferred reports (暂缓执行) of the households in `scope` (a Q on the case), by the dibao
    enrolment they would change: what the end-of-window run carries out (benefits.window_end)."""
    cases = Case.objects.filter(scope, case_type=CaseType.CHANGE_REPORT, state=DEFERRED).select_related(
        "household"
    )
    out = {}
    for case in cases.order_by("pk"):
        enrolment = dibao_enrolment(case.household) if case.household_id else None
        if enrolment is not None:
            out[enrolment.pk] = case
    return out


def carried_out_at_window_end(*, case: Case, by: Any, change: EnrolmentChange, reason: str) -> Case:
    """The approved end-of-window change (benefits.services.apply_window_end) made this deferred
    report's reduction or exit on the household's data now: the report closes with it, its decision
    recording the change made (as `apply_deferred` does when the approver carries it out by hand)."""
    case, act, reason, _cleaned = services.begin_action(
        case, "apply_deferred", by, reason=reason, data=None, expected_version=None
    )
    first = (case.details or {}).get("decision") or {}
    exited = change.kind == "ended"
    amount = 0 if exited else int((change.after or {}).get("monthly_amount") or 0)
    label = "end_month" if exited else "from_month"
    decision = {
        **first,
        "outcome": EXIT if exited else REDUCE,
        "previous_amount": int(
            (change.before or {}).get("monthly_amount") or first.get("previous_amount") or 0
        ),
        "amount": amount,
        "decided_on": local_today().isoformat(),
        "reason": reason,
        "deferred": False,
        label: change.effective_month.isoformat(),
        "enrolment_change": change.pk,
    }
    decision.pop("deferred_reason", None)
    details = case_details(case)
    details["deferred_decision"] = first
    details["decision"] = decision
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={k: decision[k] for k in ("outcome", "previous_amount", "amount")},
        changes={"details": details},
    )


# --- what the case page, the notice and the portal show ------------------------------------------------------


def comparison_rows(before: dict | None, after: dict | None) -> list[dict]:
    """The explanation steps of the evaluation before the change beside those after it, by rule."""
    old = {r["rule"]: r for r in evaluation.explanation_rows((before or {}).get("explanation", []))}
    new = evaluation.explanation_rows((after or {}).get("explanation", []))
    rows = [{"rule": r["rule"], "label": r["label"], "old": old.get(r["rule"]), "new": r} for r in new]
    seen = {r["rule"] for r in new}
    rows += [{"rule": k, "label": v["label"], "old": v, "new": None} for k, v in old.items() if k not in seen]
    for row in rows:
        row["changed"] = (row["old"] or {}).get("value") != (row["new"] or {}).get("value")
    return rows


def report_summary(case: Case) -> dict:
    report = (case.details or {}).get("change_report") or {}
    return {
        "kinds": [str(KIND_LABELS.get(k, k)) for k in report.get("kinds", [])],
        "amount_at_report": report.get("amount_at_report"),
        "declared_income_fen": report.get("declared_income_fen"),
    }


def enrolment_changes_of(case: Case):
    return EnrolmentChange.objects.filter(case=case).select_related("enrolment").order_by("at", "pk")


def panel_context(request, detail, can_act: bool) -> dict:
    user = request.user
    case = detail.case
    acts = {a.name: a for a in detail.actions} if can_act else {}
    details = case.details or {}
    ev = details.get("evaluation")
    before = details.get("evaluation_before")
    economic = dibao.economic_context(user, case, acts)
    household = economic["household"]
    return {
        "case": case,
        "acts": acts,
        **economic,
        "report": economic["report"],
        "summary": report_summary(case),
        "enrolment": dibao_enrolment(household) if household is not None else None,
        "ev": ev,
        "before": before,
        "rows": comparison_rows(before, ev) if ev else [],
        "params": evaluation.parameter_rows(ev.get("parameters", [])) if ev else [],
        "plan": details.get("proposal"),
        "outcome_labels": OUTCOME_LABELS,
        "decision_labels": evaluation.DECISION_LABELS,
        "review": details.get("township_review"),
        "opinions": OPINIONS,
        "outcomes": OUTCOMES,
        "decision": details.get("decision"),
        "deferred_decision": details.get("deferred_decision"),
        "changes": list(enrolment_changes_of(case)),
        "decision_row": next(
            (t for t in reversed(detail.transitions) if t.action in ("decide", "apply_deferred")), None
        ),
    }


def change_report_panel(request, detail, can_act: bool):
    from doudi.intake.views import CasePanel

    html = render_to_string(
        "intake/change_report/panel.html", panel_context(request, detail, can_act), request=request
    )
    return CasePanel(html=html, handles=PANEL_ACTIONS)


def citizen_view(case: Case) -> dict | None:
    """The report and its decision in the citizen's words (the portal's status page)."""
    if case.case_type != CaseType.CHANGE_REPORT:
        return None
    decision = (case.details or {}).get("decision")
    return {
        "summary": report_summary(case),
        "decision": decision,
        "outcome": str(OUTCOME_LABELS.get(decision["outcome"], "")) if decision else "",
        "deferred": case.state == DEFERRED,
        "changes": list(enrolment_changes_of(case)),
    }


def _register_panel() -> None:
    from doudi.intake.views import register_case_panel

    register_case_panel(CaseType.CHANGE_REPORT, change_report_panel)


_register_panel()
