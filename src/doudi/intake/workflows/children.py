"""儿童基本生活保障快速通道 (一(四)): 孤儿, 事实无人抚养儿童, 困境儿童.

What the notice asks during the emergency window (疫情防控期间):

- **承诺制**: a personal commitment replaces the proofs the applicant cannot provide now; the missing
  proofs become a **deferred-documents checklist** (补交材料清单). Proofs may also arrive remotely —
  uploaded later on the citizen portal with the tracking number and an SMS code — or be handed in and
  ticked off by the village/township. Outside the window a commitment is refused: the proofs are needed.
- **补办**: the checklist falls due after the window: when the bureau declares the end of the window
  that applied on the filing day, each pending item is due `DEFERRED_DOCUMENT_DAYS` working days after
  that end (computed on display, so a declaration needs no batch job); past it the item is overdue.
- **当月审批、当月发放**: while the window is open on the filing day, the case's SLA clock runs from filing
  to the **last working day of the month of application** (the case page and the queue show that
  date); outside the window a platform default of 30 days applies. On approval the allowance (POLICY
  R3, by the policy engine) starts **from the month of application**: the child is enrolled in the
  scheme `children` by the benefits app's enrolment service in the same transaction (a refusal there —
  e.g. the child already receives the allowance — refuses the approval).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core.errors import Conflict
from doudi.intake import services, sla
from doudi.intake.flows import (
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
    VILLAGE,
    WITHDRAWN,
    Action,
    Clock,
    Field,
    Flow,
    intake_actions,
    missing_not_yet_requested,
    register,
)
from doudi.intake.models import Case, CaseType
from doudi.intake.workflows.common import local_today

# Working days after the end of the window within which deferred proofs are due (platform default:
# the notice says only "其他手续可待疫情结束后补办"). Settable with DOUDI_CHILDREN_DEFERRED_DOCUMENT_DAYS.
DEFAULT_DEFERRED_DOCUMENT_DAYS = 20
NORMAL_LIMIT_DAYS = 30  # outside the window (platform default, unverified)

# The proofs each kind of child needs (材料清单); a commitment may stand in for any of them in the window.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "orphan": {
        "parents_death": gettext_lazy("父母死亡证明（或人民法院宣告死亡、失踪的判决书）"),
        "household_register": gettext_lazy("儿童户口簿"),
        "guardian_statement": gettext_lazy("监护人（抚养人）情况说明"),
    },
    "de_facto_unsupported_child": {
        "parents_situation": gettext_lazy("父母重残、重病、服刑、强制隔离戒毒、失联等情形的证明"),
        "household_register": gettext_lazy("儿童户口簿"),
        "guardian_statement": gettext_lazy("监护人（抚养人）情况说明"),
    },
    "hardship_child": {
        "hardship_proof": gettext_lazy("困境情形证明（残疾证、重病诊断或家庭经济困难证明）"),
        "household_register": gettext_lazy("儿童户口簿"),
    },
}

COMMITMENT_TEXT = gettext_lazy(
    "本人承诺所填报的儿童及家庭情况真实、完整；暂缺的证明材料将在疫情防控期间结束后按要求补交。"
    "如有虚报、隐瞒，愿意退还已领取的保障金并承担相应法律责任。"
)


def deferred_document_days() -> int:
    return int(getattr(settings, "DOUDI_CHILDREN_DEFERRED_DOCUMENT_DAYS", DEFAULT_DEFERRED_DOCUMENT_DAYS))


def filed_on(case: Case) -> datetime.date:
    return timezone.localdate(case.filed_at)


def _district(region: Any) -> str:
    return getattr(region, "district_code", None) or getattr(region, "code", "") or ""


def window_on(region: Any, day: datetime.date):
    """The emergency window in force for the region's district on a day (declared windows only)."""
    from doudi.regions.selectors import window_for

    return window_for(_district(region), day)


def commitment_allowed(region: Any, day: datetime.date) -> bool:
    """承诺制 applies only while the emergency window is open for the district."""
    return window_on(region, day) is not None


def documents_for(subtype: str) -> dict[str, Any]:
    return DOCUMENTS.get(subtype, {})


# --- the SLA: decided in the month of application ---------------------------------------------------------


def last_working_day(day: datetime.date) -> datetime.date:
    """The last working day of `day`'s month (SlaUnavailable beyond the calendar's years)."""
    nxt = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    last = nxt - datetime.timedelta(days=1)
    while not sla.is_workday(last):
        last -= datetime.timedelta(days=1)
    return last


MONTH_BASIS = gettext_lazy(
    "疫情防控期间当月审批、当月发放：申请当月最后一个工作日前审批并发放（渝肺炎组发〔2020〕14号 一(四)）"
)
NORMAL_BASIS = gettext_lazy("申请之日起30日（平台默认，未经核实）")


def month_limit(case: Case, start: datetime.date) -> sla.Limit:
    """In the window on the filing day: up to the last working day of the application month; a case
    filed after that day is due the next working day. Otherwise 30 days (platform default)."""
    filed = filed_on(case)
    if sla.emergency_window_open(case.region, filed):
        due = last_working_day(filed)
        return sla.Limit(max(0, (due - start).days), sla.CALENDAR, str(MONTH_BASIS))
    return sla.Limit(NORMAL_LIMIT_DAYS, sla.CALENDAR, str(NORMAL_BASIS))


MONTH_CLOCK = Clock("same_month", month_limit, window_sensitive=True)


def decision_due_on(case: Case) -> datetime.date | None:
    """The day the decision and first payment are due when the application-month rule applies."""
    filed = filed_on(case)
    try:
        if sla.emergency_window_open(case.region, filed):
            return last_working_day(filed)
    except sla.SlaUnavailable:
        return None
    return None


# --- the deferred-documents checklist -------------------------------------------------------------------------


PENDING, SUBMITTED_ONLINE, RECEIVED = "pending", "submitted", "received"


@dataclass
class DeferredItem:
    key: str
    label: str
    status: str
    due_on: datetime.date | None
    overdue: bool
    submitted_on: str | None = None
    received_on: str | None = None

    @property
    def done(self) -> bool:
        return self.status == RECEIVED


def deferred_due_on(case: Case) -> datetime.date | None:
    """end of the window that applied on the filing day + N working days; None while it is open."""
    window = window_on(case.region, filed_on(case))
    if window is None or window.end is None:
        return None
    try:
        return sla.add_working_days(window.end, deferred_document_days())
    except sla.SlaUnavailable:
        return None


def deferred_checklist(case: Case, today: datetime.date | None = None) -> list[DeferredItem]:
    today = today or local_today()
    items = (case.details or {}).get("deferred_documents") or []
    if not items:
        return []
    due = deferred_due_on(case)
    out = []
    for item in items:
        status = item.get("status", PENDING)
        out.append(
            DeferredItem(
                key=item["key"],
                label=item["label"],
                status=status,
                due_on=due,
                overdue=bool(due and status != RECEIVED and today > due),
                submitted_on=item.get("submitted_on"),
                received_on=item.get("received_on"),
            )
        )
    return out


def application_details(
    *, subtype: str, region: Any, on: datetime.date, uploaded: set[str], commitment: bool
) -> dict:
    """What a children's application records about its proofs: the uploaded ones, and — under a
    commitment in the window — the missing ones as the deferred checklist. ValidationError otherwise:
    proofs missing without a commitment, or a commitment outside the window."""
    documents = documents_for(subtype)
    missing = [key for key in documents if key not in uploaded]
    if commitment and not commitment_allowed(region, on):
        raise ValidationError(
            {"commitment": _("个人承诺仅适用于疫情防控期间；目前请上传证明材料，或到村（社区）提交。")}
        )
    if missing and not commitment:
        labels = "、".join(str(documents[k]) for k in missing)
        message = _("请上传：%(list)s。") % {"list": labels}
        if commitment_allowed(region, on):
            message += _("暂时无法提供的，可勾选个人承诺，疫情结束后补交。")
        raise ValidationError({"proofs": message})
    details: dict[str, Any] = {"proofs": sorted(uploaded & set(documents))}
    if commitment:
        details["commitment"] = {"given_on": on.isoformat(), "text": str(COMMITMENT_TEXT)}
        details["deferred_documents"] = [
            {"key": key, "label": str(documents[key]), "status": PENDING} for key in missing
        ]
    return details


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("region").get(pk=case.pk)


@transaction.atomic
def submit_deferred_document(*, case: Case, key: str, attachment: Any) -> Case:
    """The applicant uploaded a deferred proof on the portal: the item is marked submitted (the
    officer ticks it received after checking it). No version bump: it is the citizen's, not a step."""
    case = _lock(case)
    details = dict(case.details or {})
    items = [dict(i) for i in details.get("deferred_documents") or []]
    item = next((i for i in items if i["key"] == key), None)
    if item is None:
        raise ValidationError({"document": _("该材料不在补交清单中。")})
    if item.get("status") == RECEIVED:
        raise ValidationError({"document": _("该材料已确认收到，无需再次提交。")})
    item.update(status=SUBMITTED_ONLINE, submitted_on=local_today().isoformat(), attachment=attachment.pk)
    details["deferred_documents"] = items
    Case.objects.filter(pk=case.pk).update(details=details, updated_at=timezone.now())
    case.details = details
    from doudi.audit.models import AuditAction
    from doudi.audit.services import record

    record(
        actor=None,
        action=AuditAction.UPDATE,
        obj=case,
        object_type="intake.case",
        after={"deferred_document": key, "status": SUBMITTED_ONLINE, "attachment": attachment.pk},
        reason=_("申请人网上补交材料"),
    )
    return case


def _receive(
    case: Case, by: Any, action: str, reason: str, data: dict | None, expected_version: int | None
) -> Case:
    case, act, reason, cleaned = services.begin_action(
        case, action, by, reason=reason, data=data, expected_version=expected_version
    )
    details = dict(case.details or {})
    items = [dict(i) for i in details.get("deferred_documents") or []]
    item = next((i for i in items if i["key"] == cleaned["document"]), None)
    if item is None:
        raise ValidationError({"document": _("该材料不在补交清单中。")})
    if item.get("status") == RECEIVED:
        raise Conflict(_("该材料已确认收到。"), path="document")
    item.update(
        status=RECEIVED, received_on=local_today().isoformat(), received_by=getattr(by, "username", "")
    )
    details["deferred_documents"] = items
    return services.record_transition(
        case,
        act.target,
        by=by,
        action=act.name,
        reason=reason,
        data={"document": item["key"], "label": item["label"]},
        changes={"details": details},
    )


@transaction.atomic
def receive_document(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """补交材料已收到 (before the decision)."""
    return _receive(case, by, "document_received", reason, data, expected_version)


@transaction.atomic
def receive_deferred_document(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """补交材料已收到 (after approval, under the commitment)."""
    return _receive(case, by, "deferred_document_received", reason, data, expected_version)


@transaction.atomic
def record_commitment(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """登记个人承诺 for a case filed at a counter or by a village worker: the proofs listed are deferred.
    Refused outside the emergency window (on the filing day)."""
    case, act, reason, cleaned = services.begin_action(
        case, "record_commitment", by, reason=reason, data=data, expected_version=expected_version
    )
    filed = filed_on(case)
    if not commitment_allowed(case.region, filed):
        raise ValidationError({"items": _("个人承诺仅适用于疫情防控期间；本案提交时不在疫情防控期间。")})
    details = dict(case.details or {})
    items = [dict(i) for i in details.get("deferred_documents") or []]
    known = {i["label"] for i in items}
    for n, label in enumerate(cleaned["items"], start=len(items) + 1):
        if label not in known:
            items.append({"key": f"item{n}", "label": label, "status": PENDING})
    details["deferred_documents"] = items
    details["commitment"] = details.get("commitment") or {
        "given_on": filed.isoformat(),
        "text": str(COMMITMENT_TEXT),
        "recorded_by": getattr(by, "username", ""),
    }
    return services.record_transition(
        case, act.target, by=by, action=act.name, reason=reason, data=cleaned, changes={"details": details}
    )


def committed(case: Case) -> bool:
    return bool((case.details or {}).get("commitment"))


def no_missing_request_under_commitment(case: Case) -> str | None:
    """一(四): under a commitment in the window the missing proofs are deferred, not a reason to wait."""
    if committed(case):
        return _("申请人已作出个人承诺：缺少的证明材料列入补交清单，疫情结束后补交，不要求补正后再受理。")
    return missing_not_yet_requested(case)


def all_documents_received(case: Case) -> str | None:
    pending = [i for i in (case.details or {}).get("deferred_documents") or [] if i.get("status") != RECEIVED]
    if pending:
        return _("补交清单尚有 %(n)s 项材料未确认收到，不能办结。") % {"n": len(pending)}
    return None


# --- the decision ---------------------------------------------------------------------------------------------


ALLOWANCE_CATEGORY = {"orphan": "orphan", "de_facto_unsupported_child": "de_facto_unsupported_child"}
CHILD_CATEGORY = {**ALLOWANCE_CATEGORY, "hardship_child": "hardship_child"}


def _child(case: Case, by: Any):
    """The child the case is about: `details["child"]["id_number"]` if given, else the applicant; must be
    in the registry and in the approver's scope (the allowance is paid to a registered household)."""
    from doudi.registry.models import Person

    number = ((case.details or {}).get("child") or {}).get("id_number") or case.applicant_id_number
    person = Person.objects.visible_to(by).filter(id_number=number).first() if number else None
    if (
        person is None
        and case.applicant_id
        and not ((case.details or {}).get("child") or {}).get("id_number")
    ):
        person = Person.objects.visible_to(by).filter(pk=case.applicant_id).first()
    if person is None:
        raise ValidationError({"child": _("请先在人员登记中登记该儿童及其家庭，再审批。")})
    return person


def allowance(subtype: str, child: Any, month: datetime.date) -> tuple[int, str | None]:
    """POLICY R3 by the policy engine: the monthly allowance (yuan) and its kind (institutional /
    scattered) for the month, the child recognised in the category of `subtype`; 困境儿童 has none."""
    category = ALLOWANCE_CATEGORY.get(subtype)
    if category is None:
        return 0, None
    from doudi.benefits.evaluation import InputError, evaluate_person

    try:
        result = evaluate_person(child, "children", on=month, categories=(category,))
    except InputError as exc:
        raise ValidationError(
            {"child": "；".join(f"{e['path']}: {e['message']}" for e in exc.errors)}
        ) from exc
    return result["amount"], result["kind"]


def _current_household(person: Any):
    from doudi.registry.models import Membership

    m = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    return m.household if m else None


def _grant_category(child: Any, subtype: str, from_month: datetime.date, by: Any, case: Case) -> bool:
    from doudi.registry.models import PersonCategory
    from doudi.registry.services import grant_category

    category = CHILD_CATEGORY.get(subtype)
    if category is None:
        return False
    if (
        PersonCategory.objects.filter(person=child, category=category)
        .exclude(valid_to__lt=from_month)
        .exists()
    ):
        return False
    grant_category(
        officer=by,
        person=child,
        category=category,
        valid_from=from_month,
        note=_("儿童保障审批 %(n)s") % {"n": case.tracking_number},
    )
    return True


def _enrol(case: Case, by: Any) -> dict:
    """纳入保障名册 through doudi.benefits (scheme children, from the month of application); its refusal
    (Conflict, ValidationError, PermissionDenied) refuses the approval: nothing is half-decided."""
    from doudi.benefits import services as benefits

    enrolment = benefits.enrol_from_decision(case=case, by=by)
    return {
        "status": "enrolled",
        "enrolment": enrolment.pk,
        "from_month": enrolment.from_month.isoformat(),
        "amount": enrolment.monthly_amount,
    }


@transaction.atomic
def approve_children(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """批准 (当月审批、当月发放): the allowance from the month of application (R3 amount), the child's
    category from that month, and the enrolment."""
    case, act, reason, _cleaned = services.begin_action(
        case, "approve", by, reason=reason, data=data, expected_version=expected_version
    )
    child = _child(case, by)
    filed = filed_on(case)
    from_month = filed.replace(day=1)
    household = _current_household(child)
    if case.subtype in ALLOWANCE_CATEGORY and household is None:
        raise ValidationError({"child": _("该儿童没有登记家庭，无法发放保障金；请先登记家庭。")})
    amount, kind = allowance(case.subtype, child, from_month)
    if case.subtype in ALLOWANCE_CATEGORY and not amount:
        raise ValidationError(
            {
                "child": _("按政策规则（R3），该儿童在 %(m)s 没有基本生活费（如已年满18周岁）。")
                % {"m": from_month.strftime("%Y-%m")}
            }
        )
    today = local_today()
    decision = {
        "scheme": "children",
        "amount": amount,
        "kind": kind,
        "from_month": from_month.isoformat(),
        "child": child.pk,
        "person": child.pk,
        "category": CHILD_CATEGORY.get(case.subtype),
        "members": [child.pk],
        "decided_on": today.isoformat(),
        "in_application_month": (today.year, today.month) == (filed.year, filed.month),
        "decided_by": getattr(by, "username", ""),
    }
    details = dict(case.details or {})
    details["decision"] = decision
    changes: dict[str, Any] = {"details": details}
    if household is not None and case.household_id != household.pk:
        changes["household"] = household
    case = services.record_transition(
        case, APPROVED, by=by, action=act.name, reason=reason, data=decision, changes=changes
    )
    if amount:
        outcome = _enrol(case, by)  # confers the category (孤儿 / 事实无人抚养儿童) from that month
    else:
        _grant_category(child, case.subtype, from_month, by, case)
        outcome = {"status": "no_allowance", "reason": _("困境儿童认定，不发放基本生活费（R3）。")}
    details = dict(case.details)
    details["enrolment"] = outcome
    Case.objects.filter(pk=case.pk).update(details=details)
    case.details = details
    return case


# --- the flow ---------------------------------------------------------------------------------------------------

DOCUMENT_FIELD = Field("document", gettext_lazy("材料"), kind="text")


def _intake_actions() -> tuple[Action, ...]:
    from dataclasses import replace

    out = []
    for act in intake_actions(acceptors=FRONT_DESK):
        if act.name == "request_missing":
            act = replace(act, guard=no_missing_request_under_commitment)
        out.append(act)
    return tuple(out)


CHILDREN_FLOW = register(
    Flow(
        name="children",
        states=dict(COMMON_STATES),
        initial=SUBMITTED,
        actions=(
            *_intake_actions(),
            Action(
                "record_commitment",
                gettext_lazy("登记个人承诺（材料后补）"),
                {SUBMITTED},
                SUBMITTED,
                {VILLAGE, TOWNSHIP, DISTRICT},
                fields=(
                    Field("items", gettext_lazy("暂缺、疫情结束后补交的材料（每行一项）"), kind="lines"),
                ),
                handler="doudi.intake.workflows.children.record_commitment",
                reason_label=gettext_lazy("说明"),
                style="secondary",
            ),
            Action(
                "document_received",
                gettext_lazy("补交材料已收到"),
                {ACCEPTED},
                ACCEPTED,
                {VILLAGE, TOWNSHIP, DISTRICT},
                fields=(DOCUMENT_FIELD,),
                handler="doudi.intake.workflows.children.receive_document",
                style="secondary",
            ),
            Action(
                "approve",
                gettext_lazy("批准（当月发放）"),
                {ACCEPTED},
                APPROVED,
                {APPROVER},
                handler="doudi.intake.workflows.children.approve_children",
                reason_label=gettext_lazy("审批意见"),
                style="success",
                notice=NOTICE_DECISION,
            ),
            Action(
                "refuse",
                gettext_lazy("不予批准"),
                {ACCEPTED},
                REFUSED,
                {APPROVER},
                needs_reason=True,
                reason_label=gettext_lazy("不予批准的理由"),
                style="danger",
                notice=NOTICE_REFUSAL,
            ),
            Action(
                "deferred_document_received",
                gettext_lazy("补交材料已收到"),
                {APPROVED},
                APPROVED,
                {VILLAGE, TOWNSHIP, DISTRICT},
                fields=(DOCUMENT_FIELD,),
                handler="doudi.intake.workflows.children.receive_deferred_document",
                style="secondary",
            ),
            Action(
                "close",
                gettext_lazy("办结（材料齐全）"),
                {APPROVED},
                CLOSED,
                FRONT_DESK | {APPROVER},
                guard=all_documents_received,
                reason_label=gettext_lazy("办结说明"),
                style="primary",
            ),
        ),
        terminal=frozenset({CLOSED, REJECTED, REFUSED, WITHDRAWN}),
        paused=frozenset({AWAITING_DOCUMENTS}),
        stopped=frozenset({APPROVED}),
        clocks={SUBMITTED: MONTH_CLOCK, ACCEPTED: MONTH_CLOCK},
    ),
    CaseType.CHILDREN,
    replace=True,
)

RECEIPT_ACTIONS = frozenset({"document_received", "deferred_document_received"})


# --- the case-page panel -------------------------------------------------------------------------------------------


def case_panel(request: Any, detail: Any, can_act: bool):
    from doudi.intake.views import CasePanel

    case = detail.case
    receipt = next((a for a in detail.actions if a.name in RECEIPT_ACTIONS), None)
    html = render_to_string(
        "intake/children/panel.html",
        {
            "case": case,
            "child": (case.details or {}).get("child"),
            "commitment": (case.details or {}).get("commitment"),
            "checklist": deferred_checklist(case, detail.today),
            "deferred_days": deferred_document_days(),
            "deferred_due": deferred_due_on(case),
            "decision_due": decision_due_on(case),
            "decision": (case.details or {}).get("decision"),
            "enrolment": (case.details or {}).get("enrolment"),
            "receipt": receipt if can_act else None,
            "documents": documents_for(case.subtype),
            "proofs": (case.details or {}).get("proofs") or [],
        },
        request=request,
    )
    return CasePanel(html=html, handles=RECEIPT_ACTIONS)


def _register_panel() -> None:
    try:
        from doudi.intake.views import register_case_panel
    except ImportError:  # an intake without the panel hook: the generic page still works
        return
    register_case_panel(CaseType.CHILDREN, case_panel)


_register_panel()
