"""Every 特困 action is refused from every wrong state (Conflict) and for every wrong role or an
out-of-scope officer (PermissionDenied) — through `services.perform_action`, i.e. the handler services
themselves, before they write anything. Parametrised over the flow table."""

import pytest
from flow_refusals import (
    assert_refused_for_wrong_roles,
    assert_refused_from_wrong_states,
    assert_refused_out_of_scope,
    assert_stale_version_conflicts,
)

from benefits.support import make_household
from doudi.accounts.roles import Role
from doudi.intake import flows, services
from doudi.intake.models import Case
from doudi.intake.workflows.tekun import PANEL_ACTIONS, TEKUN_FLOW

pytestmark = pytest.mark.django_db

ACTIONS = list(TEKUN_FLOW.actions)
IDS = [a.name for a in ACTIONS]


@pytest.fixture
def tekun_case(officers, regions):
    household, people = make_household(regions.a_v, [("孙大爷", 0)])

    def make(state):
        case = services.open_case(
            by=officers.a_township,
            case_type="tekun",
            channel="walk_in",
            region=regions.a_v,
            summary="申请特困供养",
            applicant=people[0],
        )
        Case.objects.filter(pk=case.pk).update(state=state)
        return Case.objects.get(pk=case.pk)

    return make


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_state_is_refused(action, officers, tekun_case):
    assert_refused_from_wrong_states(TEKUN_FLOW, action, officers, tekun_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_role_is_refused(action, officers, tekun_case):
    assert_refused_for_wrong_roles(action, officers, tekun_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_out_of_scope_officer_is_refused(action, officers, tekun_case):
    assert_refused_out_of_scope(action, officers, tekun_case)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_stale_version_is_a_conflict(action, officers, tekun_case):
    assert_stale_version_conflicts(action, officers, tekun_case)


def test_the_flow_replaces_the_placeholder():
    assert flows.FLOWS["tekun"] is TEKUN_FLOW and not TEKUN_FLOW.placeholder
    assert {"publicity", "republicity", "awaiting_documents"} == set(TEKUN_FLOW.paused)
    assert TEKUN_FLOW.clocks["accepted"].window_sensitive
    assert "deliberation" not in TEKUN_FLOW.states  # no community deliberation in the 特困 procedure
    assert PANEL_ACTIONS == set(IDS) - {"accept", "request_missing", "supplement", "reject", "withdraw"}


def test_the_queue_offers_each_role_its_states(tekun_case):
    evaluated, waiting = tekun_case("evaluated"), tekun_case("awaiting_approval")
    township = Case.objects.filter(flows.actionable_q([Role.TOWNSHIP_OFFICER.value]))
    approver = Case.objects.filter(flows.actionable_q([Role.DISTRICT_APPROVER.value]))
    assert evaluated in township and waiting in township  # the township may still decide objections
    assert waiting in approver and evaluated not in approver
