"""一门受理 for systems: list, read, file cases and take their flow's actions.

Scoped like the console (a case outside the caller's region subtree is 404), lists masked, every
case read logged. Actions take the version the client last saw: a stale one, or an action someone
else already took, answers 409; a role that may not take the action, 403; bad input, 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status

from doudi.api.auth import STAFF_AUTH
from doudi.api.errors import ErrorsOut
from doudi.api.schemas import REGION_CODE, one_of
from doudi.core.masking import mask_id_number, mask_name, mask_phone
from doudi.intake import flows, selectors, services
from doudi.intake.models import Case, CaseType, Channel
from doudi.regions.models import Region
from doudi.registry.models import Person

router = Router(tags=["cases"], auth=STAFF_AUTH)

ERRORS = frozenset({401, 403, 404, 409, 422, 429})
MAX_ID = 2**63 - 1
MAX_LIMIT = 200
CASE_TYPE = one_of(CaseType)
CHANNEL = one_of(Channel)
STAFF_CHANNEL = one_of(Channel, exclude=[Channel.PORTAL])  # 网上申请 comes through the portal only
# Every state of every flow (the flows are registered when the intake app is ready, before the URLs load).
STATES = sorted({state for flow in flows.FLOWS.values() for state in flow.states})
STATE = one_of(STATES)
# Filters: "" is no filter.
CASE_TYPE_FILTER, STATE_FILTER = one_of(CaseType, blank=True), one_of(STATES, blank=True)
CHANNEL_FILTER = one_of(Channel, blank=True)
FIELD_KIND = one_of(["text", "textarea", "lines", "date", "integer", "choice"])


class CaseListOut(Schema):
    id: int
    tracking_number: str
    case_type: CASE_TYPE
    subtype: str
    channel: CHANNEL
    state: STATE
    state_label: str
    region: str
    applicant_name: str = Field(description="masked")
    due_on: date | None
    overdue: bool
    version: int


class ChoiceOut(Schema):
    value: str
    label: str


class FieldOut(Schema):
    name: str
    label: str
    kind: FIELD_KIND
    required: bool
    choices: list[ChoiceOut] = Field(
        description="the values a `choice` field accepts (empty for other kinds)"
    )


class ActionOut(Schema):
    name: str
    label: str
    target: str
    needs_reason: bool
    fields: list[FieldOut]


class TimelineOut(Schema):
    at: datetime
    kind: str
    actor: str
    title: str
    body: str


class SlaOut(Schema):
    phase: str
    started_on: date | None
    limit: int | None
    unit: str
    basis: str
    due_on: date | None
    paused_since: date | None
    overdue: bool
    error: str


class CaseOut(Schema):
    id: int
    tracking_number: str
    case_type: CASE_TYPE
    subtype: str
    channel: CHANNEL
    state: STATE
    state_label: str
    version: int
    region: str
    region_name: str
    department: str
    applicant_id: int | None
    household_id: int | None
    applicant_name: str
    applicant_id_number: str = Field(description="masked")
    applicant_phone: str = Field(description="masked")
    summary: str
    filed_at: datetime
    accepted_on: date | None
    closed_at: datetime | None
    missing_items: list[str]
    sla: SlaOut
    actions: list[ActionOut] = Field(description="the actions the caller may take now")
    timeline: list[TimelineOut]


class OpenCaseIn(Schema):
    case_type: CASE_TYPE
    channel: STAFF_CHANNEL = Field(description="网上申请 (portal) comes through the citizen portal only")
    region: str = Field(
        description="code of the responsible unit (district, township or village)", pattern=REGION_CODE
    )
    summary: str = Field(max_length=4000)
    subtype: str = Field("", max_length=32)
    applicant_id: int | None = Field(None, ge=1, le=MAX_ID, description="registry person id")
    applicant_id_number: str = Field("", max_length=24)
    applicant_name: str = Field("", max_length=64)
    applicant_phone: str = Field("", max_length=20)
    on_behalf: bool = False


class ActionIn(Schema):
    version: int | None = Field(None, ge=1, le=MAX_ID, description="the version the client last saw")
    reason: str = Field("", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, description="the action's fields (see `actions`)")


def _list_out(case: Case, today: date) -> dict:
    return {
        "id": case.pk,
        "tracking_number": case.tracking_number,
        "case_type": case.case_type,
        "subtype": case.subtype,
        "channel": case.channel,
        "state": case.state,
        "state_label": flows.flow_for(case.case_type).state_label(case.state),
        "region": case.region_id,
        "applicant_name": mask_name(case.display_name),
        "due_on": case.due_on,
        "overdue": selectors.is_overdue(case, today),
        "version": case.version,
    }


def _case_out(user, pk: int) -> dict:
    d = selectors.case_detail(user, pk)
    c = d.case
    return {
        "id": c.pk,
        "tracking_number": c.tracking_number,
        "case_type": c.case_type,
        "subtype": c.subtype,
        "channel": c.channel,
        "state": c.state,
        "state_label": d.state_label,
        "version": c.version,
        "region": c.region_id,
        "region_name": c.region.name,
        "department": c.department,
        "applicant_id": c.applicant_id,
        "household_id": c.household_id,
        "applicant_name": c.display_name,
        "applicant_id_number": mask_id_number(c.applicant_id_number),
        "applicant_phone": mask_phone(c.applicant_phone),
        "summary": c.summary,
        "filed_at": c.filed_at,
        "accepted_on": c.accepted_on,
        "closed_at": c.closed_at,
        "missing_items": list(c.missing_items or []),
        "sla": {
            "phase": c.sla_phase,
            "started_on": c.sla_started_on,
            "limit": c.sla_limit,
            "unit": c.sla_unit,
            "basis": _(c.sla_basis) if c.sla_basis else "",
            "due_on": c.due_on,
            "paused_since": c.sla_paused_since,
            "overdue": d.overdue,
            "error": c.sla_error,
        },
        "actions": [
            {
                "name": a.name,
                "label": str(a.label),
                "target": a.target,
                "needs_reason": a.needs_reason,
                "fields": [
                    {
                        "name": f.name,
                        "label": str(f.label),
                        "kind": f.kind,
                        "required": f.required,
                        "choices": [{"value": v, "label": str(label)} for v, label in f.choices],
                    }
                    for f in a.fields
                ],
            }
            for a in d.actions
        ],
        "timeline": [
            {"at": e.at, "kind": e.kind, "actor": e.actor or "", "title": e.title, "body": e.body or ""}
            for e in d.timeline
        ],
    }


@router.get("/cases", response={200: list[CaseListOut], ERRORS: ErrorsOut}, summary="Cases in scope (masked)")
def list_cases(
    request,
    case_type: CASE_TYPE_FILTER = Query("", description="filter by case type"),
    state: STATE_FILTER = Query(""),
    channel: CHANNEL_FILTER = Query(""),
    q: str = Query("", max_length=64, description="tracking number or applicant name prefix"),
    overdue: bool = Query(False),
    actionable: bool = Query(False, description="only cases the caller's roles can act on (the work queue)"),
    include_closed: bool = Query(False),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
):
    filters = selectors.CaseFilters(
        case_type=case_type,
        state=state,
        channel=channel,
        q=q,
        overdue=overdue,
        actionable=actionable,
        include_closed=include_closed,
    )
    today = timezone.localdate()
    qs = selectors.work_queue(request.auth, filters, today=today)[offset : offset + limit]
    return [_list_out(c, today) for c in qs]


@router.get(
    "/cases/{case_id}", response={200: CaseOut, ERRORS: ErrorsOut}, summary="One case with its timeline"
)
def get_case(request, case_id: int = Path(..., ge=1, le=MAX_ID)):
    """The case (IDs and phones masked), the actions the caller may take, its timeline; logged as a read."""
    return _case_out(request.auth, case_id)


@router.post("/cases", response={201: CaseOut, ERRORS: ErrorsOut}, summary="File a case (any staff channel)")
def open_case(request, body: OpenCaseIn):
    if body.channel == Channel.PORTAL:
        raise ValidationError({"channel": _("网上申请请通过群众门户提交。")})
    region = Region.objects.filter(code=body.region).first()
    if region is None:
        raise ValidationError({"region": _("未知的区划代码。")})
    applicant = None
    if body.applicant_id is not None:
        applicant = Person.objects.visible_to(request.auth).filter(pk=body.applicant_id).first()
        if applicant is None:
            raise ValidationError({"applicant_id": _("未找到该申请人（或不在您的管辖范围内）。")})
    case = services.open_case(
        by=request.auth,
        case_type=body.case_type,
        channel=body.channel,
        region=region,
        summary=body.summary,
        subtype=body.subtype,
        applicant=applicant,
        applicant_id_number=body.applicant_id_number,
        applicant_name=body.applicant_name,
        applicant_phone=body.applicant_phone,
        on_behalf=body.on_behalf,
    )
    return Status(201, _case_out(request.auth, case.pk))


@router.post(
    "/cases/{case_id}/actions/{action}",
    response={200: CaseOut, ERRORS: ErrorsOut},
    summary="Take an action of the case's flow (409 if someone acted first)",
)
def take_action(
    request,
    body: ActionIn,
    case_id: int = Path(..., ge=1, le=MAX_ID),
    action: str = Path(..., max_length=32, pattern=r"^[a-z_]+$"),
):
    case = selectors.get_case(request.auth, case_id)
    services.perform_action(
        case=case,
        action=action,
        by=request.auth,
        reason=body.reason,
        data=body.data,
        expected_version=body.version,
    )
    return _case_out(request.auth, case_id)
