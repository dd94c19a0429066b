"""Every transition of every flow is refused from a wrong state (Conflict) and for a wrong role
(PermissionDenied), and allowed from each of its states for each of its roles."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from flow_refusals import USER_FOR_ROLE

from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.intake import flows
from doudi.intake.models import Case

# One case type per distinct flow object (several types may share a placeholder shape, not an object).
FLOW_TYPES = {}
for case_type, flow in flows.FLOWS.items():
    FLOW_TYPES.setdefault(id(flow), case_type)
TABLE = [(t, a) for t in FLOW_TYPES.values() for a in flows.FLOWS[t].actions]


def _ids(param):
    return param if isinstance(param, str) else getattr(param, "name", str(param))


def _case_in(open_case, case_type, state):
    case = open_case(case_type)
    Case.objects.filter(pk=case.pk).update(state=state)
    return Case.objects.get(pk=case.pk)


def test_every_case_type_has_a_consistent_flow():
    from doudi.intake.models import CaseType

    assert set(flows.FLOWS) == set(CaseType.values)
    for flow in flows.FLOWS.values():
        flow.check()
        assert flow.initial == flows.SUBMITTED
        # Every non-terminal state has a way out, so no case can be stranded.
        for state in flow.states:
            if state not in flow.terminal:
                assert flow.actions_from(state), (flow.name, state)


@pytest.mark.parametrize(("case_type", "action"), TABLE, ids=[f"{t}-{a.name}" for t, a in TABLE])
def test_wrong_role_is_refused(case_type, action, officers, open_case):
    source = sorted(action.source)[0]
    for role, username in USER_FOR_ROLE.items():
        if role.value in action.roles:
            continue
        case = _case_in(open_case, case_type, source)
        with pytest.raises(PermissionDenied):
            flows.require_transition(case, action.name, getattr(officers, username))


@pytest.mark.parametrize(("case_type", "action"), TABLE, ids=[f"{t}-{a.name}" for t, a in TABLE])
def test_wrong_state_is_refused(case_type, action, officers, open_case):
    flow = flows.FLOWS[case_type]
    user = getattr(officers, USER_FOR_ROLE[Role(sorted(action.roles)[0])])
    for state in flow.states:
        if state in action.source:
            continue
        case = _case_in(open_case, case_type, state)
        with pytest.raises(Conflict):
            flows.require_transition(case, action.name, user)


@pytest.mark.parametrize(("case_type", "action"), TABLE, ids=[f"{t}-{a.name}" for t, a in TABLE])
def test_allowed_from_each_source_for_each_role(case_type, action, officers, open_case):
    for state in sorted(action.source):
        for role in sorted(action.roles):
            case = _case_in(open_case, case_type, state)
            user = getattr(officers, USER_FOR_ROLE[Role(role)])
            assert flows.require_transition(case, action.name, user) is action
            assert action in flows.available_actions(case, user)


def test_out_of_scope_officer_is_refused(officers, open_case):
    case = open_case("temporary")
    with pytest.raises(PermissionDenied):
        flows.require_transition(case, "accept", officers.b_township)  # district B
    with pytest.raises(PermissionDenied):
        flows.require_transition(case, "supplement", officers.a_village2)  # the other village of A
    assert flows.available_actions(case, officers.b_district) == []


def test_unknown_action_is_a_validation_error(officers, open_case):
    case = open_case("complaint")
    with pytest.raises(ValidationError):
        flows.require_transition(case, "approve", officers.a_approver)  # complaints have no approval


def test_stale_version_is_a_conflict(officers, open_case):
    case = open_case("temporary")
    with pytest.raises(Conflict):
        flows.require_transition(case, "accept", officers.a_township, expected_version=case.version - 1 or 99)


def test_flow_table_rejects_inconsistent_definitions():
    with pytest.raises(ValueError):
        flows.Flow(
            name="bad",
            states={"a": "A"},
            initial="a",
            actions=(flows.Action("go", "go", {"a"}, "nowhere", {"township_officer"}),),
            terminal=frozenset(),
        )
    with pytest.raises(ValueError):
        flows.register(flows.TEMPORARY_FLOW, "complaint")  # a real flow is not silently replaced
    with pytest.raises(ValueError):
        flows.register(flows.TEMPORARY_FLOW, "no_such_type")


def test_placeholder_is_replaceable_and_restorable():
    # Every placeholder has its workflow by now: stand one in for the 特困 flow for the test.
    original = flows.FLOWS["tekun"]
    placeholder = flows.standard_flow(
        "tekun",
        acceptors=flows.FRONT_DESK,
        handlers=flows.FRONT_DESK,
        approvers={flows.APPROVER},
        handling_clock=original.clocks[flows.ACCEPTED],
        placeholder=True,
    )
    try:
        flows.FLOWS["tekun"] = placeholder
        flows.register(flows.TEMPORARY_FLOW, "tekun")
        assert flows.FLOWS["tekun"] is flows.TEMPORARY_FLOW
        with pytest.raises(ValueError):  # a full flow is replaced only on purpose (replace=True)
            flows.register(placeholder, "tekun")
    finally:
        flows.FLOWS["tekun"] = original


def test_actionable_q_follows_the_roles(officers, open_case):
    submitted = open_case("temporary")
    accepted = _case_in(open_case, "temporary", flows.ACCEPTED)
    township = set(Case.objects.filter(flows.actionable_q({"township_officer"})).values_list("pk", flat=True))
    approver = set(
        Case.objects.filter(flows.actionable_q({"district_approver"})).values_list("pk", flat=True)
    )
    assert submitted.pk in township and accepted.pk in township  # accept / withdraw
    assert accepted.pk in approver and submitted.pk not in approver
    assert not Case.objects.filter(flows.actionable_q({"auditor"})).exists()
