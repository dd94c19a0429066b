"""案件流程: one explicit state machine per case type.

A `Flow` lists its states (with labels), its `Action`s (name, from-states, to-state, the roles that
may take it, an optional guard, the input it needs), which states pause or stop the SLA clock
(条例第19条: deliberation and 公示 do not count) and which states start a clock phase. The case page
lists the actions a state allows from this table, the queue finds the cases a role can act on from
it, and `require_transition` refuses anything else — so the table *is* the procedure.

Adding a workflow (the dibao/children/temporary-assistance/一事一议 flows are built this way):

    DIBAO_FLOW = Flow(
        name="dibao",
        states={SUBMITTED: ..., ACCEPTED: ..., "evaluated": _("已评估"), "publicity": _("公示中"), ...},
        initial=SUBMITTED,
        actions=(
            ACCEPT(acceptors),                        # the shared intake actions, see intake_actions()
            Action("evaluate", _("评估"), {ACCEPTED}, "evaluated", {TOWNSHIP},
                   handler="doudi.benefits.services.evaluate_dibao_case"),
            ...
        ),
        terminal={...}, paused={"deliberation", "publicity"},
        clocks={SUBMITTED: ACCEPTANCE_CLOCK, ACCEPTED: Clock("handling", dibao_clock, window_sensitive=True)},
    )
    register(DIBAO_FLOW, CaseType.DIBAO, replace=True)

An action without `handler` is performed by `services.transition_case` (state change, ledger,
audit, SLA). One with a handler names a service taking
`(*, case, by, reason, data, expected_version)` that validates `data` (the action's `fields`), calls
`require_transition` and `record_transition` itself, and does its own writes in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.accounts.roles import Role
from doudi.core.errors import Conflict
from doudi.core.scoping import region_in_scope
from doudi.intake import sla
from doudi.intake.models import Case, CaseType, Referral, Transfer, TransferStatus

if TYPE_CHECKING:
    from doudi.accounts.models import User

# --- the vocabulary shared by every flow -----------------------------------------------------------------

SUBMITTED = "submitted"
AWAITING_DOCUMENTS = "awaiting_documents"
ACCEPTED = "accepted"
APPROVED = "approved"
CLOSED = "closed"
REJECTED = "rejected"
REFUSED = "refused"
WITHDRAWN = "withdrawn"

COMMON_STATES: dict[str, Any] = {
    SUBMITTED: gettext_lazy("待受理"),
    AWAITING_DOCUMENTS: gettext_lazy("待补正材料"),
    ACCEPTED: gettext_lazy("已受理（办理中）"),
    APPROVED: gettext_lazy("已批准"),
    CLOSED: gettext_lazy("已办结"),
    REJECTED: gettext_lazy("不予受理"),
    REFUSED: gettext_lazy("不予批准"),
    WITHDRAWN: gettext_lazy("已撤回"),
}

VILLAGE = Role.VILLAGE_WORKER.value
TOWNSHIP = Role.TOWNSHIP_OFFICER.value
DISTRICT = Role.DISTRICT_OFFICER.value
APPROVER = Role.DISTRICT_APPROVER.value
STATION = Role.RESCUE_STATION.value
INSTITUTION = Role.INSTITUTION_STAFF.value

# Printable notices an action may issue (views render templates intake/notice_<kind>.html).
NOTICE_ACCEPTANCE = "acceptance"  # 受理通知书
NOTICE_MISSING = "missing_items"  # 补正材料一次性告知书
NOTICE_REFUSAL = "refusal"  # 不予受理/不予批准通知书 (reasons in writing)
NOTICE_DECISION = "decision"  # 决定书/办理结果告知书

Guard = Callable[[Case], "str | None"]


@dataclass(frozen=True)
class Field:
    """An input an action needs besides the reason; rendered by the case page, sent as `data` by the API.

    kind: text | textarea | lines (one item per line → list) | date | integer | choice
    """

    name: str
    label: Any
    kind: str = "text"
    required: bool = True
    choices: tuple[tuple[str, Any], ...] = ()
    help: Any = ""


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    source: frozenset[str]
    target: str
    roles: frozenset[str]
    guard: Guard | None = None
    needs_reason: bool = False
    reason_label: Any = gettext_lazy("理由")
    fields: tuple[Field, ...] = ()
    handler: str = ""
    bulk: bool = False  # offered as a bulk action on the queue (needs no input beyond an optional reason)
    style: str = "primary"
    notice: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", frozenset(self.source))
        object.__setattr__(self, "roles", frozenset(str(r) for r in self.roles))


@dataclass(frozen=True)
class Clock:
    """A phase of the SLA clock, started when the case enters a state that names it (if not already in it).

    `limit(case, start_day)` gives the Limit. `window_sensitive` clocks depend on the emergency
    window and are recomputed when a window is declared or ended.
    """

    phase: str
    limit: Callable[[Case, datetime.date], sla.Limit]
    window_sensitive: bool = False


@dataclass(frozen=True)
class Flow:
    name: str
    states: Mapping[str, Any]
    initial: str
    actions: tuple[Action, ...]
    terminal: frozenset[str]
    paused: frozenset[str] = frozenset()  # the clock does not count these days and shows "paused"
    stopped: frozenset[str] = frozenset()  # decided, waiting on nothing the limit covers: clock stopped
    clocks: Mapping[str, Clock] = field(default_factory=dict)
    placeholder: bool = False  # a minimal flow awaiting the full workflow

    def __post_init__(self) -> None:
        object.__setattr__(self, "terminal", frozenset(self.terminal))
        object.__setattr__(self, "paused", frozenset(self.paused))
        object.__setattr__(self, "stopped", frozenset(self.stopped))
        self.check()

    def check(self) -> None:
        """Refuse an inconsistent table at import time rather than at the first odd case."""
        problems = []
        if self.initial not in self.states:
            problems.append(f"initial state {self.initial!r} not declared")
        names = [a.name for a in self.actions]
        if len(names) != len(set(names)):
            problems.append("duplicate action names")
        for a in self.actions:
            for s in (*a.source, a.target):
                if s not in self.states:
                    problems.append(f"action {a.name!r}: state {s!r} not declared")
            if a.source & self.terminal:
                problems.append(f"action {a.name!r} leaves a terminal state")
            if not a.roles:
                problems.append(f"action {a.name!r} has no roles")
        for s in (*self.terminal, *self.paused, *self.stopped, *self.clocks):
            if s not in self.states:
                problems.append(f"state {s!r} not declared")
        if problems:
            raise ValueError(f"flow {self.name}: " + "; ".join(problems))

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def actions_from(self, state: str) -> list[Action]:
        return [a for a in self.actions if state in a.source]

    def state_label(self, state: str) -> str:
        return str(self.states.get(state, state))

    def clock_for_phase(self, phase: str) -> Clock | None:
        return next((c for c in self.clocks.values() if c.phase == phase), None)

    def acting_states(self, roles: Iterable[str]) -> set[str]:
        """The states in which someone holding any of `roles` has an action to take."""
        roles = set(roles)
        return {s for a in self.actions if a.roles & roles for s in a.source}


# --- registry ------------------------------------------------------------------------------------------

FLOWS: dict[str, Flow] = {}


def register(flow: Flow, *case_types: str, replace: bool = False) -> Flow:
    for t in case_types:
        if t not in CaseType.values:
            raise ValueError(f"unknown case type {t!r}")
        if t in FLOWS and not replace and not FLOWS[t].placeholder:
            raise ValueError(f"case type {t!r} already has the flow {FLOWS[t].name!r}")
        FLOWS[t] = flow
    return flow


def flow_for(case_type: str) -> Flow:
    try:
        return FLOWS[case_type]
    except KeyError:
        raise ValidationError({"case_type": _("未知的案件类型：%(t)s") % {"t": case_type}}) from None


def state_label(case: Case) -> str:
    return flow_for(case.case_type).state_label(case.state)


# --- guards -----------------------------------------------------------------------------------------------


def missing_not_yet_requested(case: Case) -> str | None:
    """条例第17条: everything missing is told at once, so a second request is refused."""
    if case.missing_requested_at is not None:
        return _("依《条例》第17条，缺少的材料应一次性告知；本案已于 %(at)s 告知，不能再次要求补正。") % {
            "at": case.missing_requested_at.date().isoformat()
        }
    return None


def has_pending_transfer(case: Case) -> bool:
    return Transfer.objects.filter(case=case, status=TransferStatus.PENDING).exists()


@dataclass(frozen=True)
class Handoffs:
    """What is open between units on a case: a transfer waiting to be received, a referral unanswered.
    The case page reads both with the case's timeline and passes them on, rather than asking again."""

    transfer_pending: bool
    referral_unanswered: bool


def _handoffs_message(transfer_pending: bool, referral_unanswered: Callable[[], bool]) -> str | None:
    if transfer_pending:
        return _("本案有待接收的转办，不能办结。")
    if referral_unanswered():
        return _("本案有尚未答复的转介，须记录答复后才能办结。")
    return None


def open_handoffs_message(case: Case, handoffs: Handoffs | None = None) -> str | None:
    """Nothing is dropped between units: a case cannot end while a transfer or referral is open."""
    if handoffs is not None:
        return _handoffs_message(handoffs.transfer_pending, lambda: handoffs.referral_unanswered)
    return _handoffs_message(
        has_pending_transfer(case),
        lambda: Referral.objects.filter(case=case, answered_at__isnull=True).exists(),
    )


# --- checks ----------------------------------------------------------------------------------------------


def user_can_take(case: Case, action: Action, user: User) -> bool:
    return bool(user and user.has_role(*action.roles) and region_in_scope(user, case.region))


def require_transition(case: Case, action: str, by: User, *, expected_version: int | None = None) -> Action:
    """The action, if `by` may take it on `case` now; else PermissionDenied (role or scope) or Conflict
    (wrong state, stale version, a guard). Call it on a row locked with select_for_update."""
    flow = flow_for(case.case_type)
    act = flow.action(action)
    if act is None:
        raise ValidationError({"action": _("“%(t)s”流程中没有“%(a)s”操作。") % {"t": flow.name, "a": action}})
    if by is None or not region_in_scope(by, case.region):
        raise PermissionDenied(_("该案件不在您的管辖范围内。"))
    if not by.has_role(*act.roles):
        raise PermissionDenied(_("您的角色不能执行“%(a)s”。") % {"a": act.label})
    if expected_version is not None and int(expected_version) != case.version:
        raise Conflict(
            _("案件已被他人更新（版本 %(now)s，您看到的是 %(seen)s），请刷新后重试。")
            % {"now": case.version, "seen": expected_version},
            path="version",
        )
    if case.state not in act.source:
        raise Conflict(
            _("案件当前状态为“%(s)s”，不能执行“%(a)s”。")
            % {"s": flow.state_label(case.state), "a": act.label},
            path="state",
        )
    if has_pending_transfer(case):
        raise Conflict(_("本案正在转办途中，接收单位接收或退回前不能办理。"), path="state")
    if act.target in flow.terminal:
        message = open_handoffs_message(case)
        if message:
            raise Conflict(message, path="state")
    if act.guard is not None:
        message = act.guard(case)
        if message:
            raise Conflict(message, path="state")
    return act


def available_actions(case: Case, user: User, *, handoffs: Handoffs | None = None) -> list[Action]:
    """The actions the case page offers `user` now (same checks as require_transition); `handoffs`,
    when the caller has already read them, spares the two queries that ask again."""
    flow = flow_for(case.case_type)
    candidates = [a for a in flow.actions_from(case.state) if user_can_take(case, a, user)]
    if not candidates:
        return []
    if handoffs.transfer_pending if handoffs is not None else has_pending_transfer(case):
        return []
    handoff_message = None
    if any(a.target in flow.terminal for a in candidates):
        handoff_message = open_handoffs_message(case, handoffs)
    return [
        a
        for a in candidates
        if not (a.target in flow.terminal and handoff_message) and not (a.guard is not None and a.guard(case))
    ]


def actionable_q(roles: Iterable[str]) -> Q:
    """Cases (by type and state) on which someone holding `roles` has an action to take."""
    roles = set(roles)
    q = Q(pk__in=[])
    by_flow: dict[int, tuple[Flow, list[str]]] = {}
    for case_type, flow in FLOWS.items():
        by_flow.setdefault(id(flow), (flow, []))[1].append(case_type)
    for flow, types in by_flow.values():
        states = flow.acting_states(roles)
        if states:
            q |= Q(case_type__in=types, state__in=sorted(states))
    return q


# --- the shared intake actions ------------------------------------------------------------------------------


def fixed_clock(phase: str, days: int, unit: str, basis: Any) -> Clock:
    return Clock(phase, lambda case, start: sla.Limit(days, unit, str(basis)))


UNVERIFIED_BASIS = gettext_lazy("平台默认时限（未经核实，由流程定义调整）")
ACCEPTANCE_BASIS = gettext_lazy("提交后5个工作日内受理或一次性告知需补正的材料（平台默认，未经核实）")

ACCEPTANCE_CLOCK = fixed_clock("acceptance", 5, sla.WORKING, ACCEPTANCE_BASIS)
URGENT_ACCEPTANCE_CLOCK = fixed_clock(
    "acceptance", 1, sla.WORKING, gettext_lazy("提交后1个工作日内受理（平台默认，未经核实）")
)
DIBAO_CLOCK = Clock(
    "handling", lambda case, start: sla.dibao_limit(case.region, start), window_sensitive=True
)


def intake_actions(*, acceptors: Iterable[str], helpers: Iterable[str] = (VILLAGE,)) -> tuple[Action, ...]:
    """受理 / 一次性告知补正 / 补正完毕 / 不予受理 / 撤回: the first steps every flow shares (条例第17条).

    `acceptors` accept (art. 5/14: townships; district bureaus may accept directly); `helpers`
    (villages, who may apply on an applicant's behalf) may also report that documents are complete
    and record a withdrawal.
    """
    acceptors = frozenset(acceptors)
    helpers = frozenset(helpers) | acceptors
    return (
        Action(
            "accept",
            gettext_lazy("受理"),
            {SUBMITTED},
            ACCEPTED,
            acceptors,
            handler="doudi.intake.services.accept_case",
            bulk=True,
            style="success",
            notice=NOTICE_ACCEPTANCE,
        ),
        Action(
            "request_missing",
            gettext_lazy("一次性告知补正材料"),
            {SUBMITTED},
            AWAITING_DOCUMENTS,
            acceptors,
            guard=missing_not_yet_requested,
            handler="doudi.intake.services.request_missing",
            fields=(Field("items", gettext_lazy("需补正的全部材料（每行一项）"), kind="lines"),),
            style="warning",
            notice=NOTICE_MISSING,
        ),
        Action(
            "supplement",
            gettext_lazy("材料已补齐"),
            {AWAITING_DOCUMENTS},
            SUBMITTED,
            helpers,
            style="primary",
        ),
        Action(
            "reject",
            gettext_lazy("不予受理"),
            {SUBMITTED, AWAITING_DOCUMENTS},
            REJECTED,
            acceptors,
            needs_reason=True,
            reason_label=gettext_lazy("不予受理的理由"),
            style="danger",
            notice=NOTICE_REFUSAL,
        ),
        Action(
            "withdraw",
            gettext_lazy("申请人撤回"),
            {SUBMITTED, AWAITING_DOCUMENTS, ACCEPTED},
            WITHDRAWN,
            helpers,
            needs_reason=True,
            reason_label=gettext_lazy("撤回说明"),
            style="secondary",
        ),
    )


def standard_flow(
    name: str,
    *,
    acceptors: Iterable[str],
    handlers: Iterable[str],
    approvers: Iterable[str] = (),
    helpers: Iterable[str] = (VILLAGE,),
    acceptance_clock: Clock = ACCEPTANCE_CLOCK,
    handling_clock: Clock,
    placeholder: bool = False,
) -> Flow:
    """A simple flow: submitted → accepted → (approved | refused) → closed, or accepted → closed.

    With `approvers` the decision is theirs (批准/不予批准, refusal in writing with reasons) and the
    handlers then record the case as carried out (办结); without, the handlers close it with the result.
    """
    handlers = frozenset(handlers)
    approvers = frozenset(approvers)
    actions = list(intake_actions(acceptors=acceptors, helpers=helpers))
    states = dict(COMMON_STATES)
    if approvers:
        actions += [
            Action(
                "approve",
                gettext_lazy("批准"),
                {ACCEPTED},
                APPROVED,
                approvers,
                style="success",
                notice=NOTICE_DECISION,
                reason_label=gettext_lazy("审批意见"),
            ),
            Action(
                "refuse",
                gettext_lazy("不予批准"),
                {ACCEPTED},
                REFUSED,
                approvers,
                needs_reason=True,
                reason_label=gettext_lazy("不予批准的理由"),
                style="danger",
                notice=NOTICE_REFUSAL,
            ),
            Action(
                "close",
                gettext_lazy("办结"),
                {APPROVED},
                CLOSED,
                handlers | approvers,
                reason_label=gettext_lazy("落实情况"),
                style="primary",
            ),
        ]
        stopped = {APPROVED}
    else:
        del states[APPROVED], states[REFUSED]
        actions += [
            Action(
                "close",
                gettext_lazy("办结"),
                {ACCEPTED},
                CLOSED,
                handlers,
                needs_reason=True,
                reason_label=gettext_lazy("办理结果"),
                style="primary",
                notice=NOTICE_DECISION,
            ),
        ]
        stopped = set()
    return Flow(
        name=name,
        states=states,
        initial=SUBMITTED,
        actions=tuple(actions),
        terminal=frozenset({CLOSED, REJECTED, WITHDRAWN} | ({REFUSED} if approvers else set())),
        paused=frozenset({AWAITING_DOCUMENTS}),
        stopped=frozenset(stopped),
        clocks={SUBMITTED: acceptance_clock, ACCEPTED: handling_clock},
        placeholder=placeholder,
    )


# --- the flows of this round ----------------------------------------------------------------------------------
# Generic types get their default flow; dibao, 特困, children, 一事一议 and 先行救助 get a placeholder
# with the same shape (so cases of every type can be filed and accepted today) until their workflows
# are registered with replace=True.

FRONT_DESK = frozenset({TOWNSHIP, DISTRICT})

TEMPORARY_FLOW = register(
    standard_flow(
        "temporary",
        acceptors=FRONT_DESK,
        handlers=FRONT_DESK,
        approvers={APPROVER},
        handling_clock=fixed_clock("handling", 10, sla.WORKING, UNVERIFIED_BASIS),
    ),
    CaseType.TEMPORARY,
)
COMPLAINT_FLOW = register(
    standard_flow(
        "complaint",
        acceptors=FRONT_DESK,
        handlers=FRONT_DESK,
        handling_clock=fixed_clock("handling", 15, sla.WORKING, UNVERIFIED_BASIS),
    ),
    CaseType.COMPLAINT,
)
OBJECTION_FLOW = register(
    standard_flow(
        "objection",
        acceptors=FRONT_DESK,
        handlers=FRONT_DESK,
        handling_clock=fixed_clock("handling", 10, sla.WORKING, UNVERIFIED_BASIS),
    ),
    CaseType.OBJECTION,
)
CARE_FLOW = register(
    standard_flow(
        "care",
        acceptors={VILLAGE, TOWNSHIP, DISTRICT},
        handlers={VILLAGE, TOWNSHIP, DISTRICT, INSTITUTION},
        handling_clock=fixed_clock("handling", 5, sla.WORKING, UNVERIFIED_BASIS),
    ),
    CaseType.CARE,
)
STRANDED_FLOW = register(
    standard_flow(
        "stranded",
        acceptors={STATION, TOWNSHIP, DISTRICT},
        handlers={STATION, TOWNSHIP, DISTRICT},
        acceptance_clock=URGENT_ACCEPTANCE_CLOCK,
        handling_clock=fixed_clock("handling", 1, sla.WORKING, UNVERIFIED_BASIS),
    ),
    CaseType.STRANDED,
)


def _placeholder(case_type: CaseType, handling_clock: Clock) -> Flow:
    """A business workflow's stand-in (the standard shape, decided by the district approver) until
    intake.workflows registers the real flow over it."""
    flow = standard_flow(
        case_type.value,
        acceptors=FRONT_DESK,
        handlers=FRONT_DESK,
        approvers={APPROVER},
        handling_clock=handling_clock,
        placeholder=True,
    )
    return register(flow, case_type)


DIBAO_PLACEHOLDER = _placeholder(CaseType.DIBAO, DIBAO_CLOCK)
_placeholder(CaseType.TEKUN, fixed_clock("handling", 30, sla.CALENDAR, UNVERIFIED_BASIS))
_placeholder(CaseType.CHILDREN, fixed_clock("handling", 10, sla.WORKING, UNVERIFIED_BASIS))
_placeholder(CaseType.CASE_BY_CASE, fixed_clock("handling", 15, sla.WORKING, UNVERIFIED_BASIS))
_placeholder(CaseType.FIRST_AID, fixed_clock("handling", 5, sla.WORKING, UNVERIFIED_BASIS))
