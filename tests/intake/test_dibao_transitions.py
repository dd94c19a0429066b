"""Every dibao action is refused from every wrong state (Conflict) and for every wrong role or an
out-of-scope officer (PermissionDenied) — through `services.perform_action`, i.e. the handler services
themselves, before they write anything."""

import pytest
from flow_refusals import (
    assert_refused_for_wrong_roles,
    assert_refused_from_wrong_states,
    assert_refused_out_of_scope,
    assert_stale_version_conflicts,
)

from benefits.support import make_household
from doudi.intake import services
from doudi.intake.models import Case
from doudi.intake.workflows.dibao import DIBAO_FLOW, PANEL_ACTIONS

ACTIONS = list(DIBAO_FLOW.actions)
IDS = [a.name for a in ACTIONS]


@pytest.fixture
def dibao_case(officers, regions):
    household, people = make_household(regions.a_v, [("王五", 50_000)])

    def make(state):
        case = services.open_case(
            by=officers.a_township,
            case_type="dibao",
            channel="walk_in",
            region=regions.a_v,
            summary="申请低保",
            applicant=people[0],
        )
        Case.objects.filter(pk=case.pk).update(state=state)
        return Case.objects.get(pk=case.pk)

    return make


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_state_is_refused(action, officers, dibao_case):
    assert_refused_from_wrong_states(DIBAO_FLOW, action, officers, dibao_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_role_is_refused(action, officers, dibao_case):
    assert_refused_for_wrong_roles(action, officers, dibao_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_out_of_scope_officer_is_refused(action, officers, dibao_case):
    assert_refused_out_of_scope(action, officers, dibao_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_stale_version_is_a_conflict(action, officers, dibao_case):
    assert_stale_version_conflicts(action, officers, dibao_case)


def test_the_panel_renders_every_dibao_specific_action():
    names = {a.name for a in DIBAO_FLOW.actions}
    assert PANEL_ACTIONS == names - {"accept", "request_missing", "supplement", "reject", "withdraw"}


def test_the_flow_replaces_the_placeholder():
    from doudi.intake import flows

    assert flows.FLOWS["dibao"] is DIBAO_FLOW and not DIBAO_FLOW.placeholder
    # 条例第19条: deliberation and 公示 days are not counted.
    assert {"deliberation", "publicity", "republicity"} <= DIBAO_FLOW.paused
    assert DIBAO_FLOW.clocks["accepted"].window_sensitive
