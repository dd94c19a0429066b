"""Every dibao action is refused from every wrong state (Conflict) and for every wrong role or an
out-of-scope officer (PermissionDenied) — through `services.perform_action`, i.e. the handler services
themselves, before they write anything."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from benefits.support import make_household
from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.intake import services
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows.dibao import DIBAO_FLOW, PANEL_ACTIONS

D = datetime.date
ACTIONS = list(DIBAO_FLOW.actions)
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


def _ledger_size(case):
    return CaseTransition.objects.filter(case=case).count()


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_state_is_refused(action, officers, dibao_case):
    user = getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])
    for state in DIBAO_FLOW.states:
        if state in action.source:
            continue
        case = dibao_case(state)
        with pytest.raises(Conflict):
            services.perform_action(case=case, action=action.name, by=user, reason="理由", data={})
        assert _ledger_size(case) == 1 and Case.objects.get(pk=case.pk).state == state


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_wrong_role_is_refused(action, officers, dibao_case):
    source = sorted(action.source)[0]
    for role, username in USER_FOR_ROLE.items():
        if role.value in action.roles:
            continue
        case = dibao_case(source)
        with pytest.raises(PermissionDenied):
            services.perform_action(
                case=case, action=action.name, by=getattr(officers, username), reason="理由"
            )
        assert _ledger_size(case) == 1


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_out_of_scope_officer_is_refused(action, officers, dibao_case):
    """District B's officer of the right role cannot act on a district-A case."""
    b_user = {
        Role.TOWNSHIP_OFFICER: officers.b_township,
        Role.DISTRICT_OFFICER: officers.b_district,
        Role.DISTRICT_APPROVER: officers.b_approver,
        Role.VILLAGE_WORKER: officers.b_village,
    }
    role = next(Role(r) for r in sorted(action.roles) if Role(r) in b_user)
    case = dibao_case(sorted(action.source)[0])
    with pytest.raises(PermissionDenied):
        services.perform_action(case=case, action=action.name, by=b_user[role], reason="理由")


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_stale_version_is_a_conflict(action, officers, dibao_case):
    user = getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])
    case = dibao_case(sorted(action.source)[0])
    with pytest.raises(Conflict):
        services.perform_action(
            case=case, action=action.name, by=user, reason="理由", expected_version=case.version + 5
        )


def test_the_panel_renders_every_dibao_specific_action():
    names = {a.name for a in DIBAO_FLOW.actions}
    assert PANEL_ACTIONS == names - {"accept", "request_missing", "supplement", "reject", "withdraw"}


def test_the_flow_replaces_the_placeholder():
    from doudi.intake import flows

    assert flows.FLOWS["dibao"] is DIBAO_FLOW and not DIBAO_FLOW.placeholder
    # 条例第19条: deliberation and 公示 days are not counted.
    assert {"deliberation", "publicity", "republicity"} <= DIBAO_FLOW.paused
    assert DIBAO_FLOW.clocks["accepted"].window_sensitive
