"""Helpers shared by the workflows (低保 dibao, 特困 tekun, 儿童 children, 临时救助 temporary): the same
logic in one place, imported by each workflow, so a fix to one is a fix to all.

A workflow's action service starts with `doudi.intake.services.begin_action` (lock the case, check the
action, validate reason and fields); here are the small reads and guards the services share after it,
the 受理 actions and panel rule of the flow tables, and the 公示/objection context of the case panels.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core.errors import Conflict
from doudi.intake.flows import DISTRICT, TOWNSHIP, VILLAGE, WITHDRAWN, Action, Field, Flow, intake_actions
from doudi.intake.models import Case, CaseType

# The 受理 steps the case page's generic block keeps (受理/补正/不予受理/撤回); a workflow's panel renders the rest.
GENERIC_ACTIONS = frozenset({"accept", "request_missing", "supplement", "reject", "withdraw"})


def panel_actions(flow: Flow) -> frozenset[str]:
    """The actions of `flow` its workflow's panel renders with its own forms."""
    return frozenset(a.name for a in flow.actions) - GENERIC_ACTIONS


def withdrawable_intake_actions(open_states: frozenset[str], *, withdraw_handler: str) -> tuple[Action, ...]:
    """The shared 受理 actions as the 低保 and 特困 procedures take them (townships and districts accept,
    villages help): the application may be withdrawn (撤回) at any open step before the decision, by
    `withdraw_handler` (which also takes down a 公示 still on the page)."""
    out = []
    for act in intake_actions(acceptors={TOWNSHIP, DISTRICT}, helpers=(VILLAGE,)):
        if act.name == "withdraw":
            act = Action(
                act.name,
                act.label,
                open_states,
                WITHDRAWN,
                act.roles,
                needs_reason=True,
                reason_label=act.reason_label,
                handler=withdraw_handler,
                style=act.style,
            )
        out.append(act)
    return tuple(out)


def local_today() -> datetime.date:
    """Today in the site's time zone (the day a step is taken on)."""
    return timezone.localdate()


def case_details(case: Case) -> dict:
    """A copy of the case's `details`, safe to change before writing it back."""
    return dict(case.details or {})


def case_evaluation(case: Case) -> dict:
    """The policy evaluation stored on the case; refused (Conflict) before there is one."""
    ev = (case.details or {}).get("evaluation")
    if not ev:
        raise Conflict(_("尚未进行政策评估。"), path="evaluation")
    return ev


def open_objections(case: Case):
    """The objections (异议) raised against the case's 公示 and not yet decided."""
    return Case.objects.filter(case_type=CaseType.OBJECTION, related_case=case, closed_at__isnull=True)


def refuse_open_objections(case: Case) -> None:
    """Refuse to go on while an objection to the case's 公示 is still undecided."""
    pending = list(open_objections(case).values_list("tracking_number", flat=True))
    if pending:
        raise Conflict(
            _("本案还有未处理的异议（%(list)s），请先核实并作出“异议成立”或“异议不成立”的处理。")
            % {"list": "、".join(pending)},
            path="objection",
        )


def publicity_context(user, case: Case, today: datetime.date) -> dict:
    """A case's 公示 and the objections (异议) raised against it, as its panel shows them (the
    `intake/_publicity.html` partial)."""
    from doudi.disclosure.selectors import case_publications
    from doudi.intake.flows import flow_for

    details = case.details or {}
    publications = case_publications(user, case)
    latest = next((p for p in reversed(publications) if p.withdrawn_at is None), None)
    objection_flow = flow_for(CaseType.OBJECTION)
    decisions = {d["objection"]: d for d in details.get("objection_decisions", [])}
    objections = [
        {"case": o, "state": objection_flow.state_label(o.state), "decision": decisions.get(o.pk)}
        for o in Case.objects.visible_to(user)
        .filter(case_type=CaseType.OBJECTION, related_case=case)
        .order_by("filed_at", "pk")
    ]
    return {
        "publications": publications,
        "latest_publication": latest,
        "publicity_over": bool(latest and latest.end_date < today),
        "objections": objections,
        "open_objections": [o for o in objections if o["case"].is_open],
    }


def decision_rows(transitions) -> dict:
    """The ledger rows of the latest approval and the latest refusal (不予批准/不予受理), for the notices."""
    return {
        "approval_row": next((t for t in reversed(transitions) if t.action == "approve"), None),
        "refusal_row": next((t for t in reversed(transitions) if t.action in ("refuse", "reject")), None),
    }


# --- how the household was investigated (调查方式) ----------------------------------------------------------
# Notice 四: during the epidemic the home investigation may be done by phone or video (WeChat) instead
# of a visit; the record says which, and on what day.

INVESTIGATION_METHODS = (
    ("visit", gettext_lazy("入户调查")),
    ("phone", gettext_lazy("电话核实")),
    ("video", gettext_lazy("视频核实（微信等）")),
)


def investigation_fields(*, required: bool = True) -> tuple[Field, ...]:
    """The method and day of the investigation, declared on the investigating action."""
    return (
        Field(
            "method",
            gettext_lazy("调查方式"),
            kind="choice",
            choices=INVESTIGATION_METHODS,
            required=required,
        ),
        Field(
            "investigated_on",
            gettext_lazy("调查日期"),
            kind="date",
            required=False,
            help=gettext_lazy("留空为今天；不能晚于今天，也不能早于申请日期"),
        ),
    )


def investigation_record(case: Case, cleaned: dict) -> dict | None:
    """{"method", "on"} from the action's cleaned fields (None when no method was given); the day
    defaults to today and must lie between the application and today (ValidationError names it)."""
    method = cleaned.get("method")
    if not method:
        return None
    today = local_today()
    day = datetime.date.fromisoformat(cleaned["investigated_on"]) if cleaned.get("investigated_on") else today
    filed = timezone.localdate(case.filed_at) if case.filed_at else None
    if day > today:
        raise ValidationError({"investigated_on": _("调查日期不能晚于今天。")})
    if filed and day < filed:
        raise ValidationError(
            {"investigated_on": _("调查日期不能早于申请日期 %(d)s。") % {"d": filed.isoformat()}}
        )
    return {"method": method, "on": day.isoformat()}


def investigation_display(case: Case) -> dict | None:
    """The recorded method (as its label) and day, for the case page and the notices."""
    record_ = (case.details or {}).get("investigated")
    if not record_:
        return None
    labels = dict(INVESTIGATION_METHODS)
    return {
        "method": record_["method"],
        "label": str(labels.get(record_["method"], record_["method"])),
        "on": datetime.date.fromisoformat(record_["on"]),
    }
