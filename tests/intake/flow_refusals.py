"""The refusals every workflow action owes, checked through `services.perform_action` (so before any
handler writes): a wrong state → Conflict, a wrong role or an out-of-scope officer → PermissionDenied,
a stale version → Conflict; the case and its ledger are left as they were.

`case_in(state)` makes a case of the flow under test in a given state (each test module's fixture)."""

import pytest
from django.core.exceptions import PermissionDenied

from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.intake import services
from doudi.intake.models import Case, CaseTransition

# A user of each role whose scope contains A's village (where the test cases are filed).
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
# The same roles in district B: right role, wrong place.
B_USER = {
    Role.TOWNSHIP_OFFICER: "b_township",
    Role.DISTRICT_OFFICER: "b_district",
    Role.DISTRICT_APPROVER: "b_approver",
    Role.VILLAGE_WORKER: "b_village",
}


def _first_allowed_user(action, officers):
    return getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])


def _untouched(case, state):
    assert CaseTransition.objects.filter(case=case).count() == 1
    assert Case.objects.get(pk=case.pk).state == state


def assert_refused_from_wrong_states(flow, action, officers, case_in):
    user = _first_allowed_user(action, officers)
    for state in flow.states:
        if state in action.source:
            continue
        case = case_in(state)
        with pytest.raises(Conflict):
            services.perform_action(case=case, action=action.name, by=user, reason="理由", data={})
        _untouched(case, state)


def assert_refused_for_wrong_roles(action, officers, case_in):
    source = sorted(action.source)[0]
    for role, username in USER_FOR_ROLE.items():
        if role.value in action.roles:
            continue
        case = case_in(source)
        with pytest.raises(PermissionDenied):
            services.perform_action(
                case=case, action=action.name, by=getattr(officers, username), reason="理由"
            )
        _untouched(case, source)


def assert_refused_out_of_scope(action, officers, case_in):
    role = next(Role(r) for r in sorted(action.roles) if Role(r) in B_USER)
    source = sorted(action.source)[0]
    case = case_in(source)
    with pytest.raises(PermissionDenied):
        services.perform_action(
            case=case, action=action.name, by=getattr(officers, B_USER[role]), reason="理由"
        )
    _untouched(case, source)


def assert_stale_version_conflicts(action, officers, case_in):
    case = case_in(sorted(action.source)[0])
    with pytest.raises(Conflict):
        services.perform_action(
            case=case,
            action=action.name,
            by=_first_allowed_user(action, officers),
            reason="理由",
            expected_version=case.version + 5,
        )
