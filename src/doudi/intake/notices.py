"""The printable notices of a case (受理通知书, 补正告知书, 不予受理/不予批准通知书, 决定书): which template
prints a ledger entry's notice and what it needs. One rendering for the console (intake.views.notice)
and the citizen's portal (portal.views.status_notice), which passes its own page frame."""

from __future__ import annotations

from typing import Any

from doudi.intake import flows
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows.common import investigation_display


def notice_kind(case: Case, transition: CaseTransition) -> str:
    """The notice the entry's action issues ("" when it issues none)."""
    act = flows.flow_for(case.case_type).action(transition.action)
    return act.notice if act is not None else ""


def notice_page(case: Case, transition: CaseTransition) -> tuple[list[str], dict[str, Any]]:
    """(templates, context) of the entry's notice; a workflow may print its own notice of a kind (e.g.
    the dibao 审批决定书 with the amount)."""
    flow = flows.flow_for(case.case_type)
    act = flow.action(transition.action)
    assert act is not None and act.notice, "only an entry with a notice prints one"
    hotlines = []
    try:
        from doudi.regions.selectors import hotlines_for

        hotlines = list(hotlines_for(case.region.district_code)[:3]) if case.region.district_code else []
    except ImportError:  # regions without hotlines
        hotlines = []
    return (
        [f"intake/{case.case_type}/notice_{act.notice}.html", "intake/notice.html"],
        {
            "case": case,
            "t": transition,
            "kind": act.notice,
            "action": act,
            "flow": flow,
            "state_label": flow.state_label(transition.to_state),
            "hotlines": hotlines,
            "investigated": investigation_display(case),
            # The unit that took the step (the case may have moved since).
            "unit": (transition.by.region if transition.by and transition.by.region_id else case.region),
        },
    )
