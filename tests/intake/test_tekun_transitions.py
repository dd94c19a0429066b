"""Every 特困 action is refused from every wrong state (Conflict) and for every wrong role or an
out-of-scope officer (PermissionDenied) — through `services.perform_action`, i.e. the handler services
themselves, before they write anything. Parametrised over the flow table."""

import pytest
from django.core.exceptions import PermissionDenied

from benefits.support import make_household
from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.intake import flows, services
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows.tekun import PANEL_ACTIONS, TEKUN_FLOW

pytestmark = pytest.mark.django_db

ACTIONS = list(TEKUN_FLOW.actions)
IDS = [a.name for a in ACTIONS]

USER_FOR_ROLE = {
    Role.VILLAGE_WORKER: "a_village",
    Role.TOWNSHIP_OFFICER: "a_township",
    Role.DISTRICT_OFFICER: "a_district",
    Role.DISTRICT_APPROVER: "a_approver",
    Role.MUNICIPAL_ADMIN: "city_admin",
    Role.MUNICIPAL_SUPERVISOR: "supervisor",
    Role.RESCUE_STATION: "a_station",
    Role.INSTITUTION_STAFF: "a_institution",
    Role.PATROL_REPORTER: "a_patrol",
    Role.AUDITOR: "auditor",
}
B_USER = {
    Role.TOWNSHIP_OFFICER: "b_township",
    Role.DISTRICT_OFFICER: "b_district",
    Role.DISTRICT_APPROVER: "b_approver",
    Role.VILLAGE_WORKER: "b_village",
}


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


def _ledger_size(case):
    return CaseTransition.objects.filter(case=case).count()


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_state_is_refused(action, officers, tekun_case):
    user = getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])
    for state in TEKUN_FLOW.states:
        if state in action.source:
            continue
        case = tekun_case(state)
        with pytest.raises(Conflict):
            services.perform_action(case=case, action=action.name, by=user, reason="理由", data={})
        assert _ledger_size(case) == 1 and Case.objects.get(pk=case.pk).state == state


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_role_is_refused(action, officers, tekun_case):
    source = sorted(action.source)[0]
    for role, username in USER_FOR_ROLE.items():
        if role.value in action.roles:
            continue
        case = tekun_case(source)
        with pytest.raises(PermissionDenied):
            services.perform_action(
                case=case, action=action.name, by=getattr(officers, username), reason="理由"
            )
        assert _ledger_size(case) == 1 and Case.objects.get(pk=case.pk).state == source


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_out_of_scope_officer_is_refused(action, officers, tekun_case):
    """District B's officer of the right role cannot act on a district-A case."""
    role = next(Role(r) for r in sorted(action.roles) if Role(r) in B_USER)
    case = tekun_case(sorted(action.source)[0])
    with pytest.raises(PermissionDenied):
        services.perform_action(
            case=case, action=action.name, by=getattr(officers, B_USER[role]), reason="理由"
        )
    assert _ledger_size(case) == 1


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_stale_version_is_a_conflict(action, officers, tekun_case):
    user = getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])
    case = tekun_case(sorted(action.source)[0])
    with pytest.raises(Conflict):
        services.perform_action(
            case=case, action=action.name, by=user, reason="理由", expected_version=case.version + 5
        )


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
