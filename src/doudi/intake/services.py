"""Writes of 一门受理: filing, the flow's actions, comments, attachments, 转办, 转介, COVID events.

Every function is one business action in one transaction: it locks the case row
(`select_for_update`), checks who may act (`flows.require_transition` for state changes, the region
scope for everything), validates (`ValidationError` with field names), writes, and appends to the
audit log. Two officers acting on one case at once: the second waits for the first's lock, then finds
the state (or the version it was shown) changed and gets `Conflict` — never a silent overwrite. The
version check is repeated in the UPDATE itself (`WHERE version = …`), so it holds on any database.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role, is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.masking import mask_id_number, mask_phone
from doudi.core.scoping import region_in_scope
from doudi.core.text import clean_multiline_text, clean_text
from doudi.intake import covid_import, files, sla
from doudi.intake.flows import ACCEPTED, AWAITING_DOCUMENTS, Action, Field, flow_for, require_transition
from doudi.intake.models import (
    ANONYMOUS_TYPES,
    SUBTYPES,
    Attachment,
    Case,
    CaseTransition,
    CaseType,
    Channel,
    Comment,
    CovidEvent,
    CovidEventKind,
    CovidEventSource,
    CovidImport,
    Department,
    IncomingTransfer,
    Referral,
    TrackingCounter,
    Transfer,
    TransferStatus,
)
from doudi.intake.signals import case_transitioned, covid_event_recorded
from doudi.regions.models import Region, RegionLevel
from doudi.registry import identity
from doudi.registry.models import Household, Membership, Person
from doudi.verification.services import record_application_consent

TRANSFER_ACCEPT_DAYS = 3  # working days for the receiving unit to accept or return a transfer
REFERRAL_ACK_DAYS = 2  # working days for a department to acknowledge a referral
REFERRAL_ANSWER_DAYS = 10  # working days for it to answer
MAX_TEXT = 4000
MAX_REASON = 2000

# The earliest date a COVID event can carry: the first cases were reported in December 2019.
COVID_EARLIEST = datetime.date(2019, 12, 1)
COVID_RECORDERS = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.MUNICIPAL_ADMIN)
COVID_IMPORTERS = (Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.MUNICIPAL_ADMIN)


def _now() -> datetime.datetime:
    return timezone.now()


def _today() -> datetime.date:
    return timezone.localdate()


def _label(user: Any) -> str:
    return getattr(user, "username", None) or "system"


# --- access ---------------------------------------------------------------------------------------------


def is_actor(user: Any) -> bool:
    """Who may act on cases: acting staff (not only supervising or auditing)."""
    return is_acting_staff(user)


def _require_actor(user: Any) -> None:
    if not is_actor(user):
        raise PermissionDenied(_("您没有办理案件的权限。"))


def _require_case_scope(user: Any, case: Case) -> None:
    _require_actor(user)
    if not region_in_scope(user, case.region):
        raise PermissionDenied(_("该案件不在您的管辖范围内。"))


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != case.version:
        raise Conflict(
            _("案件已被他人更新（版本 %(now)s，您看到的是 %(seen)s），请刷新后重试。")
            % {"now": case.version, "seen": expected_version},
            path="version",
        )


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("region").get(pk=case.pk)


def _clean_text(value: Any, field: str, *, required: bool, max_length: int = MAX_TEXT) -> str:
    text = clean_multiline_text(value)
    if required and not text:
        raise ValidationError({field: _("请填写此项。")})
    if len(text) > max_length:
        raise ValidationError({field: _("不能超过 %(n)s 个字。") % {"n": max_length}})
    return text


# --- snapshots for the audit log (identity numbers and phones masked: the log is never purged) ----------


def case_snapshot(case: Case) -> dict:
    return {
        "tracking_number": case.tracking_number,
        "case_type": case.case_type,
        "subtype": case.subtype,
        "channel": case.channel,
        "state": case.state,
        "version": case.version,
        "region": case.region_id,
        "department": case.department,
        "applicant": case.applicant_id,
        "household": case.household_id,
        "applicant_id_number": mask_id_number(case.applicant_id_number),
        "applicant_phone": mask_phone(case.applicant_phone),
        "assigned_to": case.assigned_to_id,
        "due_on": case.due_on,
    }


# --- tracking numbers --------------------------------------------------------------------------------------


def next_tracking_number(region: Region, day: datetime.date) -> str:
    """CQ + district code + date + sequence, e.g. CQ500101-20200315-00042.

    One upsert statement takes the next number per district and day, so concurrent filings can never
    get the same one (the row stays locked until the filing commits; a rolled-back filing gives its
    number back). The number never changes, even when the case is transferred to another district.
    """
    district = region.district_code or region.code
    table = connection.ops.quote_name(TrackingCounter._meta.db_table)
    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {table} ({q('district')}, {q('day')}, {q('last')}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({q('district')}, {q('day')}) DO UPDATE SET {q('last')} = {table}.{q('last')} + 1 "
        f"RETURNING {q('last')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [district, day])
        (seq,) = cursor.fetchone()
    return f"CQ{district}-{day:%Y%m%d}-{seq:05d}"


# --- the SLA clock -------------------------------------------------------------------------------------------

SLA_FIELDS = (
    "sla_phase",
    "sla_started_on",
    "sla_limit",
    "sla_unit",
    "sla_basis",
    "sla_paused_since",
    "sla_error",
    "due_on",
)


def refresh_sla(case: Case, transitions: Sequence[CaseTransition] | None = None) -> list[str]:
    """Recompute the clock fields of `case` (in memory) from its ledger; returns the fields that changed.

    Walking the ledger: entering a state that names a clock starts that phase (unless already in it);
    time spent in a paused or stopped state is not counted; a paused case has no due date until it
    resumes; a case in a stopped or terminal state has none at all.
    """
    flow = flow_for(case.case_type)
    if transitions is None:
        transitions = list(CaseTransition.objects.filter(case_id=case.pk).order_by("seq"))
    phase, started_on = "", None
    pauses: list[sla.Pause] = []
    pause_from: datetime.date | None = None
    not_counting = flow.paused | flow.stopped
    for t in transitions:
        day = timezone.localdate(t.at)
        clock = flow.clocks.get(t.to_state)
        if clock is not None and clock.phase != phase:
            phase, started_on, pauses, pause_from = clock.phase, day, [], None
        if t.to_state in not_counting and t.from_state not in not_counting:
            pause_from = day
        elif t.from_state in not_counting and t.to_state not in not_counting and pause_from is not None:
            pauses.append((pause_from, day))
            pause_from = None

    before = {f: getattr(case, f) for f in SLA_FIELDS}
    case.sla_phase, case.sla_started_on = phase, started_on
    case.sla_paused_since, case.sla_error, case.due_on = None, "", None
    running = phase and case.state not in flow.terminal and case.state not in flow.stopped
    clock = flow.clock_for_phase(phase) if phase else None
    if clock is None or started_on is None:
        case.sla_limit, case.sla_unit, case.sla_basis = None, "", ""
    else:
        # Stored in the source language (msgid); templates translate on display.
        with translation.override(None):
            try:
                limit = clock.limit(case, started_on)
                case.sla_limit, case.sla_unit, case.sla_basis = limit.days, limit.unit, limit.basis[:200]
                if running and case.state in flow.paused:
                    case.sla_paused_since = pause_from
                elif running:
                    case.due_on = sla.due_date(started_on, limit, pauses)
            except sla.SlaUnavailable as exc:
                case.sla_error = exc.message[:300]
    return [f for f in SLA_FIELDS if getattr(case, f) != before[f]]


def _save_sla(case: Case) -> None:
    changed = refresh_sla(case)
    if changed:
        Case.objects.filter(pk=case.pk).update(**{f: getattr(case, f) for f in changed})


def refresh_window_sensitive_cases() -> int:
    """Recompute the due dates that depend on the emergency window (dibao: 7 working days / 30 days),
    after a window was declared or ended. Returns how many cases changed."""
    from doudi.intake.flows import FLOWS

    sensitive: dict[str, list[str]] = {}
    for case_type, flow in FLOWS.items():
        phases = [c.phase for c in flow.clocks.values() if c.window_sensitive]
        if phases:
            sensitive[case_type] = phases
    return sum(
        _refresh_all(Case.objects.open().filter(case_type=case_type, sla_phase__in=phases))
        for case_type, phases in sensitive.items()
    )


def _refresh_all(cases) -> int:
    changed = 0
    for case in cases.select_related("region").iterator(chunk_size=500):
        if refresh_sla(case):
            Case.objects.filter(pk=case.pk).update(**{f: getattr(case, f) for f in SLA_FIELDS})
            changed += 1
    return changed


def refresh_uncomputed_cases() -> int:
    """Recompute the time limits of open cases that could not be computed (their year was not in the
    calendar), after the bureau loaded a year's holiday notice. Returns how many cases changed."""
    return _refresh_all(Case.objects.open().exclude(sla_error=""))


# --- transitions ----------------------------------------------------------------------------------------------


def clean_action_data(act: Action, data: dict | None) -> dict:
    """The action's `fields` from `data`, validated: ValidationError names the field."""
    data = data or {}
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in act.fields:
        raw = data.get(f.name)
        value = _clean_field(f, raw, errors)
        if value not in (None, "", []):
            out[f.name] = value
        elif f.required and f.name not in errors:
            errors[f.name] = _("请填写此项。")
    if errors:
        raise ValidationError(errors)
    return out


def _clean_field(f: Field, raw: Any, errors: dict[str, str]) -> Any:
    if raw is None:
        return None
    if f.kind == "lines":
        items = raw if isinstance(raw, list | tuple) else str(raw).splitlines()
        seen: list[str] = []
        for item in items:
            text = str(item).strip().lstrip("-•·").strip()
            if text and text not in seen:
                seen.append(text[:200])
        return seen
    if f.kind == "date":
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        try:
            return datetime.date.fromisoformat(str(raw).strip()).isoformat() if str(raw).strip() else None
        except ValueError:
            errors[f.name] = _("日期格式应为 YYYY-MM-DD。")
            return None
    if f.kind == "integer":
        if str(raw).strip() == "":
            return None
        try:
            value = int(str(raw).strip())
        except ValueError:
            errors[f.name] = _("应为整数。")
            return None
        if value < 0:
            errors[f.name] = _("不能为负数。")
            return None
        return value
    if f.kind == "choice":
        value = str(raw).strip()
        if value and value not in {str(c) for c, _label in f.choices}:
            errors[f.name] = _("选项无效。")
            return None
        return value
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        errors[f.name] = _("不能超过 %(n)s 个字。") % {"n": MAX_TEXT}
        return None
    return text


def _clean_reason(act: Action, reason: Any) -> str:
    text = str(reason or "").strip()
    if act.needs_reason and not text:
        raise ValidationError({"reason": _("请填写%(l)s。") % {"l": act.reason_label}})
    return _clean_text(text, "reason", required=False, max_length=MAX_REASON)


def begin_action(
    case: Case, action: str, by: Any, *, reason: Any, data: Any, expected_version: int | None
) -> tuple[Case, Action, str, dict]:
    """How every flow action's service starts: lock the case row, check the action is allowed now
    (role, scope, state, the version the officer saw), then validate its reason and fields.
    Returns the locked case, the action, the reason and the cleaned fields."""
    case = _lock(case)
    act = require_transition(case, action, by, expected_version=expected_version)
    return case, act, _clean_reason(act, reason), clean_action_data(act, data)


def record_transition(
    case: Case,
    to_state: str,
    *,
    by: Any,
    action: str,
    reason: str = "",
    data: dict | None = None,
    changes: dict | None = None,
) -> Case:
    """Move a locked case to `to_state`: bump its version (refused if someone else bumped it first),
    append the ledger row, set `changes`, refresh the SLA clock, audit. Call after require_transition."""
    flow = flow_for(case.case_type)
    old_state, old_version = case.state, case.version
    now = _now()
    case.state, case.version = to_state, old_version + 1
    if to_state in flow.terminal and case.closed_at is None:
        case.closed_at = now
    for name, value in (changes or {}).items():
        setattr(case, name, value)
    written = ["state", "version", "closed_at", *(changes or {})]
    updated = Case.objects.filter(pk=case.pk, version=old_version).update(
        **{f: getattr(case, f) for f in written}, updated_at=now
    )
    if updated != 1:
        raise Conflict(_("案件已被他人更新，请刷新后重试。"), path="version")
    try:
        with transaction.atomic():
            transition = CaseTransition.objects.create(
                case=case,
                seq=case.version,
                action=action,
                from_state=old_state,
                to_state=to_state,
                by=by if getattr(by, "pk", None) else None,
                by_label=_label(by),
                at=now,
                reason=reason,
                data=data or {},
            )
    except IntegrityError as exc:
        raise Conflict(_("案件已被他人更新，请刷新后重试。"), path="version") from exc
    _save_sla(case)
    record(
        actor=by,
        action=AuditAction.ACTION,
        obj=case,
        object_type="intake.case",
        before={"state": old_state, "version": old_version},
        after={
            "action": action,
            "state": to_state,
            "version": case.version,
            "due_on": case.due_on,
            **({"data": data} if data else {}),
        },
        reason=reason,
    )
    case_transitioned.send(sender=Case, case=case, transition=transition, by=by)
    return case


def perform_action(
    *,
    case: Case,
    action: str,
    by: Any,
    reason: str = "",
    data: dict | None = None,
    expected_version: int | None = None,
) -> Case:
    """Take a flow action by name: the action's handler service if it has one, else transition_case."""
    act = flow_for(case.case_type).action(action)
    if act is None:
        raise ValidationError({"action": _("该案件的流程中没有“%(a)s”操作。") % {"a": action}})
    if act.handler:
        service = import_string(act.handler)
        return service(case=case, by=by, reason=reason, data=data or {}, expected_version=expected_version)
    return transition_case(
        case=case, action=action, by=by, reason=reason, data=data, expected_version=expected_version
    )


@transaction.atomic
def transition_case(
    *,
    case: Case,
    action: str,
    by: Any,
    reason: str = "",
    data: dict | None = None,
    expected_version: int | None = None,
) -> Case:
    """A flow action that needs nothing but its reason and fields (批准, 办结, 撤回 …)."""
    case, act, reason, cleaned = begin_action(
        case, action, by, reason=reason, data=data, expected_version=expected_version
    )
    return record_transition(case, act.target, by=by, action=act.name, reason=reason, data=cleaned)


@transaction.atomic
def accept_case(
    *, case: Case, by: Any, reason: str = "", data: dict | None = None, expected_version: int | None = None
) -> Case:
    """受理: accept a complete request; the 受理通知书 is printed from the case page. The handling clock
    (e.g. dibao: 7 working days in the emergency window, else 30 days) starts today."""
    case = _lock(case)
    act = require_transition(case, "accept", by, expected_version=expected_version)
    reason = _clean_reason(act, reason)
    changes = {"accepted_on": case.accepted_on or _today()}
    return record_transition(case, act.target, by=by, action=act.name, reason=reason, changes=changes)


@transaction.atomic
def request_missing(
    *,
    case: Case,
    by: Any,
    reason: str = "",
    data: dict | None = None,
    expected_version: int | None = None,
    items: Iterable[str] | None = None,
) -> Case:
    """一次性告知: list everything missing at once (条例第17条); a second request is refused by the flow's
    guard. The acceptance clock pauses until the documents are reported complete."""
    case = _lock(case)
    act = require_transition(case, "request_missing", by, expected_version=expected_version)
    data = dict(data or {})
    if items is not None:
        data["items"] = list(items)
    cleaned = clean_action_data(act, data)
    reason = _clean_reason(act, reason)
    changes = {"missing_items": cleaned["items"], "missing_requested_at": _now()}
    return record_transition(
        case,
        AWAITING_DOCUMENTS if act.target == AWAITING_DOCUMENTS else act.target,
        by=by,
        action=act.name,
        reason=reason,
        data=cleaned,
        changes=changes,
    )


def close_case(*, case: Case, by: Any, reason: str = "", expected_version: int | None = None) -> Case:
    """办结: the flow's `close` action."""
    return perform_action(case=case, action="close", by=by, reason=reason, expected_version=expected_version)


# --- filing ----------------------------------------------------------------------------------------------------


def _visible_person(by: Any, pk: Any) -> Person | None:
    if by is None:
        return Person.objects.filter(pk=pk).first()
    return Person.objects.visible_to(by).filter(pk=pk).first()


def _current_household(person: Person) -> Household | None:
    m = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    return m.household if m else None


@transaction.atomic
def open_case(
    *,
    by: Any,
    case_type: str,
    channel: str,
    region: Region | None,
    summary: str,
    applicant: Person | None = None,
    household: Household | None = None,
    applicant_name: str = "",
    applicant_id_number: str = "",
    applicant_phone: str = "",
    subtype: str = "",
    department: str = "",
    details: dict | None = None,
    related_case: Case | None = None,
    on_behalf: bool = False,
) -> Case:
    """登记: file a request from any channel and give it its tracking number.

    `by` is the staff user filing it (a village worker may file on an applicant's behalf), or None for
    a citizen's own online application (channel portal). `region` is the responsible unit. An
    applicant already in the registry and within the filer's scope is linked; otherwise the name, ID
    number and phone given are kept (a non-local applicant is linked when the case reaches the
    district that holds their record).
    """
    if by is not None:
        _require_actor(by)
    elif channel != Channel.PORTAL:
        raise PermissionDenied(_("只有网上申请可以由申请人本人提交。"))
    errors: dict[str, str] = {}
    if case_type not in CaseType.values:
        errors["case_type"] = _("请选择案件类型。")
    elif case_type == CaseType.CHANGE_REPORT and "change_report" not in (details or {}):
        # Only change_report.file_report checks that the household is paid dibao and has no report open.
        errors["case_type"] = _(
            "家庭情况变化报告请通过“家庭情况变化报告”登记入口提交（须核对该家庭正在领取低保）。"
        )
    if channel not in Channel.values:
        errors["channel"] = _("请选择来源渠道。")
    allowed_subtypes = SUBTYPES.get(case_type, {})
    if subtype and subtype not in allowed_subtypes:
        errors["subtype"] = _("细类无效。")
    elif allowed_subtypes and not subtype:
        errors["subtype"] = _("请选择细类。")
    if department and department not in Department.values:
        errors["department"] = _("部门无效。")
    if region is None:
        errors["region"] = _("请选择责任单位。")
    elif region.level == RegionLevel.MUNICIPALITY:
        errors["region"] = _("责任单位应为区县、乡镇街道或村社区。")
    elif by is not None and not region_in_scope(by, region):
        errors["region"] = _("责任单位不在您的管辖范围内；请登记在本辖区后转办。")
    try:
        summary = _clean_text(summary, "summary", required=True)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    applicant_name = clean_text(applicant_name)[:64]
    id_number = ""
    if applicant_id_number:
        try:
            id_number = identity.validate(applicant_id_number)
        except ValidationError as exc:
            errors["applicant_id_number"] = "；".join(exc.messages)
    phone = ""
    if applicant_phone:
        from doudi.registry.services import clean_phone

        try:
            phone = clean_phone(applicant_phone)
        except ValidationError as exc:
            errors["applicant_phone"] = "；".join(exc.messages)
    if applicant is not None:
        applicant = _visible_person(by, applicant.pk)
        if applicant is None:
            errors["applicant"] = _("未找到该申请人（或不在您的管辖范围内）。")
    elif id_number and by is not None:
        # A citizen's own filing is never linked by a typed number: the portal passes `applicant` only
        # after verifying ID and phone; otherwise staff link it (identify_applicant).
        applicant = Person.objects.visible_to(by).filter(id_number=id_number).first()
    if applicant is not None and id_number and applicant.id_number != id_number:
        errors["applicant_id_number"] = _("身份证号与所选申请人不一致。")
    if applicant is None and not applicant_name and case_type not in ANONYMOUS_TYPES:
        errors["applicant_name"] = _("请填写申请人姓名，或选择登记在册的申请人。")
    if household is not None:
        visible = Household.objects.visible_to(by) if by is not None else Household.objects.all()
        household = visible.filter(pk=household.pk).first()
        if household is None:
            errors["household"] = _("未找到该家庭（或不在您的管辖范围内）。")
    elif applicant is not None:
        household = _current_household(applicant)
    if related_case is not None:
        visible_cases = Case.objects.visible_to(by) if by is not None else Case.objects.all()
        if not visible_cases.filter(pk=related_case.pk).exists():
            errors["related_case"] = _("未找到关联案件。")
    if errors:
        raise ValidationError(errors)

    flow = flow_for(case_type)
    now = _now()
    case = Case.objects.create(
        tracking_number=next_tracking_number(region, timezone.localdate(now)),
        case_type=case_type,
        subtype=subtype,
        channel=channel,
        state=flow.initial,
        version=1,
        region=region,
        department=department,
        applicant=applicant,
        household=household,
        applicant_name=applicant.name if applicant is not None else applicant_name,
        applicant_id_number=applicant.id_number if applicant is not None else id_number,
        applicant_phone=phone or (applicant.phone if applicant is not None else ""),
        summary=summary,
        details=details or {},
        related_case=related_case,
        filed_by=by if getattr(by, "pk", None) else None,
        filed_on_behalf=bool(on_behalf and by is not None and by.has_role(Role.VILLAGE_WORKER)),
        filed_at=now,
    )
    CaseTransition.objects.create(
        case=case,
        seq=1,
        action="open",
        from_state="",
        to_state=flow.initial,
        by=by if getattr(by, "pk", None) else None,
        by_label=_label(by),
        at=now,
        data={"channel": channel, "on_behalf": case.filed_on_behalf},
    )
    _save_sla(case)
    record(
        actor=by, action=AuditAction.CREATE, obj=case, object_type="intake.case", after=case_snapshot(case)
    )
    _record_application_consent(case)
    return case


def _record_application_consent(case: Case) -> None:
    """The verification consent ticked with an online application becomes the household's 授权 as soon
    as the case knows the household (at filing, or when staff identify the applicant)."""
    given = (case.details or {}).get("consent") or {}
    if case.channel != Channel.PORTAL or case.household_id is None or not given.get("given_on"):
        return
    record_application_consent(
        household=case.household,
        signed_on=datetime.date.fromisoformat(given["given_on"]),
        signatory=case.applicant_name,
        reference=case.tracking_number,
    )


@transaction.atomic
def identify_applicant(*, case: Case, by: Any, person: Person, expected_version: int | None = None) -> Case:
    """Link an unidentified or non-local applicant to their registry record once it is in scope."""
    case = _lock(case)
    _require_case_scope(by, case)
    _check_version(case, expected_version)
    person = _visible_person(by, person.pk)
    if person is None:
        raise ValidationError({"applicant": _("未找到该人员（或不在您的管辖范围内）。")})
    before = case_snapshot(case)
    case.applicant, case.household = person, _current_household(person)
    case.applicant_name, case.applicant_id_number = person.name, person.id_number
    case.applicant_phone = case.applicant_phone or person.phone
    case.version += 1
    Case.objects.filter(pk=case.pk).update(
        applicant=person,
        household=case.household,
        applicant_name=person.name,
        applicant_id_number=person.id_number,
        applicant_phone=case.applicant_phone,
        version=case.version,
        updated_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=case,
        object_type="intake.case",
        before=before,
        after=case_snapshot(case),
        reason=_("确认申请人身份"),
    )
    _record_application_consent(case)
    return case


@transaction.atomic
def assign_case(*, case: Case, by: Any, assignee: Any | None, expected_version: int | None = None) -> Case:
    """分派经办人: to a staff user who acts within the case's unit, or nobody."""
    case = _lock(case)
    _require_case_scope(by, case)
    _check_version(case, expected_version)
    if assignee is not None and (
        not is_actor(assignee) or not assignee.is_active or not region_in_scope(assignee, case.region)
    ):
        raise ValidationError({"assignee": _("经办人须为该案件责任单位或其上级的在岗工作人员。")})
    if case.assigned_to_id == getattr(assignee, "pk", None):
        return case
    before = {"assigned_to": case.assigned_to_id, "version": case.version}
    case.assigned_to = assignee
    case.version += 1
    Case.objects.filter(pk=case.pk).update(assigned_to=assignee, version=case.version, updated_at=_now())
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=case,
        object_type="intake.case",
        before=before,
        after={"assigned_to": case.assigned_to_id, "version": case.version},
    )
    return case


# --- comments and attachments ----------------------------------------------------------------------------------


@transaction.atomic
def add_comment(*, case: Case, by: Any, text: str) -> Comment:
    """办理意见 (insert-only)."""
    _require_case_scope(by, case)
    text = _clean_text(text, "text", required=True)
    comment = Comment.objects.create(case=case, author=by, author_label=_label(by), text=text, at=_now())
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=comment,
        object_type="intake.comment",
        region_path=case.region.path,
        after={"case": case.tracking_number, "length": len(text)},
    )
    return comment


def add_attachment(*, case: Case, by: Any, name: str, content: bytes, label: str = "") -> Attachment:
    """附件: checked by content (PDF/JPG/PNG/XLSX) and size, stored under MEDIA_ROOT with a generated name
    (never the uploaded one). The file is written first; if recording it fails, the file is removed."""
    _require_case_scope(by, case)
    kind = files.check_upload(name or "", content)
    label = _clean_text(label or name, "label", required=True, max_length=100)
    path, now = store_upload_file(kind, content)
    try:
        return record_attachment(
            case, kind=kind, path=path, at=now, name=name, content=content, label=label, by=by
        )
    except BaseException:
        default_storage.delete(path)
        raise


def store_upload_file(kind: files.FileKind, content: bytes) -> tuple[str, datetime.datetime]:
    """Write a checked upload under MEDIA_ROOT with a generated name; returns (path, when). The caller
    deletes the file if what it records about it is rolled back."""
    now = _now()
    path = default_storage.save(
        f"intake/{now:%Y/%m}/{uuid.uuid4().hex}{kind.extensions[0]}", ContentFile(content)
    )
    return path, now


@transaction.atomic
def record_attachment(
    case: Case,
    *,
    kind: files.FileKind,
    path: str,
    at: datetime.datetime,
    name: str,
    content: bytes,
    label: str,
    by: Any,
    by_label: str = "",
    reason: str = "",
) -> Attachment:
    """The Attachment row for a stored file, audited. `by` None with `by_label`: the applicant's own
    upload from the portal."""
    attachment = Attachment.objects.create(
        case=case,
        label=label,
        file=path,
        original_name=(name or "")[-200:],
        content_type=kind.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=by,
        uploaded_by_label=by_label or _label(by),
        uploaded_at=at,
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=attachment,
        object_type="intake.attachment",
        region_path=case.region.path,
        after={
            "case": case.tracking_number,
            "label": label,
            "type": kind.name,
            "size": len(content),
            "sha256": attachment.sha256,
        },
        reason=reason,
    )
    return attachment


# --- 转办 transfers ---------------------------------------------------------------------------------------------


def transfer_snapshot(t: Transfer) -> dict:
    return {
        "case": t.case.tracking_number,
        "from": t.from_region_id,
        "to": t.to_region_id,
        "status": t.status,
        "due_on": t.due_on,
    }


def _audit_transfer(by: Any, transfer: Transfer, action: str, region: Region, reason: str) -> None:
    """The transfer as it now stands, logged under `region` (the unit whose officers see the entry)."""
    record(
        actor=by,
        action=action,
        obj=transfer,
        object_type="intake.transfer",
        region_path=region.path,
        after=transfer_snapshot(transfer),
        reason=reason,
    )


def _respond(transfer: Transfer, status: str, by: Any, note: str) -> None:
    transfer.status, transfer.responded_by, transfer.responded_at = status, by, _now()
    transfer.response_note = note
    transfer.save(update_fields=["status", "responded_by", "responded_at", "response_note"])


@transaction.atomic
def transfer_case(
    *,
    case: Case,
    by: Any,
    to_region: Region | None,
    reason: str,
    due_on: datetime.date | None = None,
    expected_version: int | None = None,
) -> Transfer:
    """转办: hand the case to the competent unit. Inside the officer's own subtree (交办 to a township or
    village) it takes effect at once; elsewhere the receiving unit must accept it by `due_on` (default
    3 working days) or return it with a reason. Until then the case stays with the sender."""
    case = _lock(case)
    _require_case_scope(by, case)
    _check_version(case, expected_version)
    if not case.is_open:
        raise Conflict(_("已办结的案件不能转办。"), path="state")
    if Transfer.objects.filter(case=case, status=TransferStatus.PENDING).exists():
        raise Conflict(_("本案已有待接收的转办。"), path="state")
    reason = _clean_text(reason, "reason", required=True, max_length=MAX_REASON)
    if to_region is None:
        raise ValidationError({"to_region": _("请选择接收单位。")})
    if to_region.level == RegionLevel.MUNICIPALITY:
        raise ValidationError({"to_region": _("接收单位应为区县、乡镇街道或村社区。")})
    if to_region.pk == case.region_id:
        raise ValidationError({"to_region": _("接收单位与当前责任单位相同。")})
    today = _today()
    if due_on is None:
        try:
            due_on = sla.add_working_days(today, TRANSFER_ACCEPT_DAYS)
        except sla.SlaUnavailable as exc:
            raise ValidationError({"due_on": exc.message + _("请手工填写接收期限。")}) from exc
    elif due_on < today:
        raise ValidationError({"due_on": _("接收期限不能早于今天。")})
    transfer = Transfer.objects.create(
        case=case,
        from_region=case.region,
        to_region=to_region,
        reason=reason,
        state_at_transfer=case.state,
        requested_by=by,
        requested_at=_now(),
        due_on=due_on,
    )
    _audit_transfer(by, transfer, AuditAction.CREATE, case.region, reason)
    if region_in_scope(by, to_region):
        _complete_transfer(case, transfer, by, note=_("本辖区内交办，即时生效。"))
    else:
        _bump_version(case)
    return transfer


def _require_pending(transfer: Transfer) -> None:
    if transfer.status != TransferStatus.PENDING:
        raise Conflict(_("该转办已处理（%(s)s）。") % {"s": transfer.get_status_display()}, path="status")


def _bump_version(case: Case) -> None:
    case.version += 1
    Case.objects.filter(pk=case.pk).update(version=case.version, updated_at=_now())


def _complete_transfer(case: Case, transfer: Transfer, by: Any, note: str) -> None:
    before = case_snapshot(case)
    _respond(transfer, TransferStatus.ACCEPTED, by, note)
    case.region = transfer.to_region
    case.assigned_to = None
    case.version += 1
    fields = {"region": case.region, "assigned_to": None, "version": case.version, "updated_at": _now()}
    # A non-local applicant becomes identifiable once the case reaches the unit holding their record.
    if case.applicant_id is None and case.applicant_id_number:
        person = Person.objects.visible_to(by).filter(id_number=case.applicant_id_number).first()
        if person is not None:
            case.applicant, case.household = person, _current_household(person)
            fields.update(applicant=person, household=case.household)
    Case.objects.filter(pk=case.pk).update(**fields)
    _record_application_consent(case)
    _save_sla(case)  # the limit may depend on the new district's emergency window
    _audit_transfer(by, transfer, AuditAction.UPDATE, transfer.to_region, note)
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=case,
        object_type="intake.case",
        region_path=transfer.to_region.path,
        before=before,
        after=case_snapshot(case),
        reason=_("转办接收"),
    )


def _lock_transfer(transfer: Transfer) -> tuple[Transfer, Case]:
    case = Case.objects.select_for_update().select_related("region").get(pk=transfer.case_id)
    transfer = (
        Transfer.objects.select_for_update().select_related("from_region", "to_region").get(pk=transfer.pk)
    )
    transfer.case = case
    return transfer, case


@transaction.atomic
def accept_transfer(*, transfer: Transfer, by: Any, note: str = "") -> Transfer:
    """接收转办: the case's responsible unit becomes the receiving unit (and leaves the sender's view)."""
    transfer, case = _lock_transfer(transfer)
    _require_actor(by)
    if not region_in_scope(by, transfer.to_region):
        raise PermissionDenied(_("只有接收单位可以接收转办。"))
    _require_pending(transfer)
    note = _clean_text(note, "note", required=False, max_length=MAX_REASON)
    _complete_transfer(case, transfer, by, note=note or _("已接收"))
    return transfer


@transaction.atomic
def return_transfer(*, transfer: Transfer, by: Any, reason: str) -> Transfer:
    """退回转办: the receiving unit is not competent; the case stays with the sender, who must act on it."""
    transfer, case = _lock_transfer(transfer)
    _require_actor(by)
    if not region_in_scope(by, transfer.to_region):
        raise PermissionDenied(_("只有接收单位可以退回转办。"))
    return _end_transfer(transfer, case, by, TransferStatus.RETURNED, reason)


@transaction.atomic
def withdraw_transfer(*, transfer: Transfer, by: Any, reason: str) -> Transfer:
    """撤回转办 by the sending unit before the receiver acted."""
    transfer, case = _lock_transfer(transfer)
    _require_actor(by)
    if not region_in_scope(by, transfer.from_region):
        raise PermissionDenied(_("只有转出单位可以撤回转办。"))
    return _end_transfer(transfer, case, by, TransferStatus.WITHDRAWN, reason)


def _end_transfer(transfer: Transfer, case: Case, by: Any, status: str, reason: str) -> Transfer:
    _require_pending(transfer)
    reason = _clean_text(reason, "reason", required=True, max_length=MAX_REASON)
    _respond(transfer, status, by, reason)
    _bump_version(case)
    _audit_transfer(by, transfer, AuditAction.UPDATE, transfer.from_region, reason)
    return transfer


# --- 转介 referrals -------------------------------------------------------------------------------------------


def referral_snapshot(r: Referral) -> dict:
    return {
        "case": r.case.tracking_number,
        "department": r.department,
        "ack_due_on": r.ack_due_on,
        "answer_due_on": r.answer_due_on,
        "acknowledged": r.acknowledged_at is not None,
        "answered": r.answered_at is not None,
    }


@transaction.atomic
def refer_case(
    *,
    case: Case,
    by: Any,
    department: str,
    reason: str,
    to_unit_name: str = "",
    ack_due_on: datetime.date | None = None,
    answer_due_on: datetime.date | None = None,
) -> Referral:
    """转介: ask another department to act on part of the case. The case cannot be closed until the
    department's answer is recorded; an unacknowledged or unanswered referral past its deadline is
    overdue in the unit's referral list."""
    case = _lock(case)
    _require_case_scope(by, case)
    if not case.is_open:
        raise Conflict(_("已办结的案件不能转介。"), path="state")
    errors: dict[str, str] = {}
    if department not in Department.values or department == Department.CIVIL_AFFAIRS:
        errors["department"] = _("请选择转介的部门。")
    try:
        reason = _clean_text(reason, "reason", required=True, max_length=MAX_REASON)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    today = _today()
    try:
        ack_due_on = ack_due_on or sla.add_working_days(today, REFERRAL_ACK_DAYS)
        answer_due_on = answer_due_on or sla.add_working_days(today, REFERRAL_ANSWER_DAYS)
    except sla.SlaUnavailable as exc:
        errors["answer_due_on"] = exc.message + _("请手工填写期限。")
    else:
        if ack_due_on < today:
            errors["ack_due_on"] = _("签收期限不能早于今天。")
        if answer_due_on < ack_due_on:
            errors["answer_due_on"] = _("答复期限不能早于签收期限。")
    if errors:
        raise ValidationError(errors)
    referral = Referral.objects.create(
        case=case,
        department=department,
        to_unit_name=(to_unit_name or "").strip()[:100],
        reason=reason,
        requested_by=by,
        requested_at=_now(),
        ack_due_on=ack_due_on,
        answer_due_on=answer_due_on,
    )
    _bump_version(case)
    _audit_referral(by, referral, AuditAction.CREATE, reason)
    return referral


def _audit_referral(by: Any, referral: Referral, action: str, reason: str = "") -> None:
    record(
        actor=by,
        action=action,
        obj=referral,
        object_type="intake.referral",
        region_path=referral.case.region.path,
        after=referral_snapshot(referral),
        reason=reason,
    )


def _lock_referral(referral: Referral, by: Any) -> Referral:
    referral = Referral.objects.select_for_update().select_related("case__region").get(pk=referral.pk)
    _require_case_scope(by, referral.case)
    return referral


@transaction.atomic
def acknowledge_referral(*, referral: Referral, by: Any, contact: str = "") -> Referral:
    """签收: the department confirmed it received the referral (recorded with its contact's name)."""
    referral = _lock_referral(referral, by)
    if referral.acknowledged_at is not None:
        raise Conflict(_("该转介已签收。"), path="acknowledged_at")
    referral.acknowledged_at, referral.acknowledged_by = _now(), by
    referral.acknowledged_contact = (contact or "").strip()[:64]
    referral.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_contact"])
    _audit_referral(by, referral, AuditAction.UPDATE)
    return referral


@transaction.atomic
def answer_referral(*, referral: Referral, by: Any, answer: str, contact: str = "") -> Referral:
    """答复: the department's answer (an answer also counts as acknowledgement if none was recorded)."""
    referral = _lock_referral(referral, by)
    if referral.answered_at is not None:
        raise Conflict(_("该转介已答复。"), path="answered_at")
    answer = _clean_text(answer, "answer", required=True)
    now = _now()
    if referral.acknowledged_at is None:
        referral.acknowledged_at, referral.acknowledged_by = now, by
        referral.acknowledged_contact = (contact or "").strip()[:64]
    referral.answered_at, referral.answered_by, referral.answer = now, by, answer
    referral.answer_contact = (contact or "").strip()[:64]
    referral.save(
        update_fields=[
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_contact",
            "answered_at",
            "answered_by",
            "answer",
            "answer_contact",
        ]
    )
    _audit_referral(by, referral, AuditAction.UPDATE)
    return referral


# --- COVID events ------------------------------------------------------------------------------------------------


def _require_covid_recorder(by: Any, roles: Sequence[Any]) -> None:
    _require_actor(by)
    if not by.has_role(*roles):
        raise PermissionDenied(_("您的角色不能录入新冠事件。"))


def _event_problems(
    kind: str, day: datetime.date, existing: list[tuple[str, datetime.date]], today: datetime.date
) -> list[str]:
    """Why (kind, day) cannot be added to a person's live events, if it cannot."""
    problems = []
    if day > today:
        problems.append(_("日期 %(d)s 晚于今天") % {"d": day.isoformat()})
    if day < COVID_EARLIEST:
        problems.append(_("日期 %(d)s 早于2019年12月") % {"d": day.isoformat()})
    confirmed = [d for k, d in existing if k == CovidEventKind.CONFIRMED]
    died = [d for k, d in existing if k == CovidEventKind.DIED]
    if kind == CovidEventKind.DISCHARGED:
        if not any(d <= day for d in confirmed):
            problems.append(_("出院日期 %(d)s 之前没有确诊记录") % {"d": day.isoformat()})
        if any(d < day for d in died):
            problems.append(_("出院日期晚于已记录的死亡日期"))
    if kind == CovidEventKind.DIED and any(d != day for d in died):
        problems.append(_("已记录不同的死亡日期 %(d)s") % {"d": died[0].isoformat()})
    if kind == CovidEventKind.CONFIRMED and any(d < day for d in died):
        # A posthumous confirmation on or before the death day is possible; after it is not.
        problems.append(_("确诊日期晚于已记录的死亡日期"))
    return problems


def _live_events(person: Person) -> list[tuple[str, datetime.date]]:
    return list(CovidEvent.objects.filter(person=person, voided_at__isnull=True).values_list("kind", "date"))


def sync_person_covid(person: Person, by: Any) -> None:
    """Person.covid_* from the live events: the latest confirmation, the latest discharge on or after it,
    the death date. POLICY R5/R6 read these fields."""
    events = _live_events(person)
    confirmed = max((d for k, d in events if k == CovidEventKind.CONFIRMED), default=None)
    discharged = max(
        (d for k, d in events if k == CovidEventKind.DISCHARGED and confirmed is not None and d >= confirmed),
        default=None,
    )
    died = max((d for k, d in events if k == CovidEventKind.DIED), default=None)
    before = {
        "covid_confirmed_on": person.covid_confirmed_on,
        "covid_discharged_on": person.covid_discharged_on,
        "covid_died_on": person.covid_died_on,
    }
    after = {"covid_confirmed_on": confirmed, "covid_discharged_on": discharged, "covid_died_on": died}
    if before == after:
        return
    for name, value in after.items():
        setattr(person, name, value)
    person.save(update_fields=[*after, "updated_at"])
    record(
        actor=by, action=AuditAction.UPDATE, obj=person, before=before, after=after, reason=_("新冠事件同步")
    )


def _create_event(
    person: Person, kind: str, day: datetime.date, by: Any, source: str, note: str, batch: CovidImport | None
) -> CovidEvent:
    event = CovidEvent.objects.create(
        person=person,
        kind=kind,
        date=day,
        source=source,
        note=note[:200],
        batch=batch,
        recorded_by=by,
        recorded_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=event,
        object_type="intake.covidevent",
        region_path=person.region.path,
        after={"person": person.pk, "kind": kind, "date": day, "source": source},
    )
    return event


@transaction.atomic
def record_covid_event(
    *, person: Person, kind: str, date: datetime.date, by: Any, note: str = ""
) -> CovidEvent:
    """手工录入 a confirmation, discharge or death, and update Person.covid_*."""
    _require_covid_recorder(by, COVID_RECORDERS)
    person = Person.objects.visible_to(by).select_for_update().filter(pk=person.pk).first()
    if person is None:
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    errors: dict[str, str] = {}
    if kind not in CovidEventKind.values:
        errors["kind"] = _("请选择事件类型。")
    if not isinstance(date, datetime.date):
        errors["date"] = _("请填写日期。")
    if errors:
        raise ValidationError(errors)
    existing = _live_events(person)
    if (kind, date) in existing:
        raise ValidationError({"date": _("该事件已记录。")})
    problems = _event_problems(kind, date, existing, _today())
    if problems:
        raise ValidationError({"date": "；".join(problems)})
    event = _create_event(person, kind, date, by, CovidEventSource.MANUAL, note or "", None)
    sync_person_covid(person, by)
    covid_event_recorded.send(sender=CovidEvent, event=event, person=person, by=by)
    return event


@transaction.atomic
def void_covid_event(*, event: CovidEvent, by: Any, reason: str) -> CovidEvent:
    """作废 a wrong entry (kept, marked void with the reason); Person.covid_* follow the remaining events."""
    _require_covid_recorder(by, COVID_RECORDERS)
    event = (
        CovidEvent.objects.visible_to(by)
        .select_for_update()
        .select_related("person__region")
        .filter(pk=event.pk)
        .first()
    )
    if event is None:
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    if event.voided_at is not None:
        raise Conflict(_("该事件已作废。"))
    reason = _clean_text(reason, "reason", required=True, max_length=200)
    event.voided_at, event.voided_by, event.void_reason = _now(), by, reason
    event.save(update_fields=["voided_at", "voided_by", "void_reason"])
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=event,
        object_type="intake.covidevent",
        region_path=event.person.region.path,
        after={"voided": True},
        reason=reason,
    )
    sync_person_covid(event.person, by)
    return event


@dataclass
class CovidImportResult:
    """The outcome of an import: `errors` non-empty means nothing was written."""

    rows: int = 0
    created: int = 0
    skipped: int = 0  # identical events already recorded (a re-imported list changes nothing)
    errors: list[covid_import.RowError] = field(default_factory=list)
    batch: CovidImport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def import_covid_events(*, by: Any, filename: str, content: bytes) -> CovidImportResult:
    """导入卫健部门名单: the whole file is validated first (format, identity, scope, consistency with
    what is recorded and with the other rows); any bad row → nothing is written and every problem is
    reported with its line. Otherwise all events are written in one transaction."""
    _require_covid_recorder(by, COVID_IMPORTERS)
    rows, errors = covid_import.parse(content, filename or "")
    result = CovidImportResult(
        rows=len(rows) + len({e.row for e in errors if e.row > 1}), errors=list(errors)
    )
    id_col, name_col = covid_import.HEADERS["id_number"][0], covid_import.HEADERS["name"][0]
    kind_col, date_col = covid_import.HEADERS["kind"][0], covid_import.HEADERS["date"][0]
    normalised: list[tuple[covid_import.ParsedRow, str]] = []
    for row in rows:
        try:
            normalised.append((row, identity.validate(row.id_number)))
        except ValidationError as exc:
            result.errors.append(covid_import.RowError(row.row, id_col, "；".join(exc.messages)))
    people = {
        p.id_number: p
        for p in Person.objects.visible_to(by)
        .filter(id_number__in=[n for _r, n in normalised])
        .select_related("region")
    }
    today = _today()
    seen: dict[tuple[str, str, datetime.date], int] = {}
    planned: dict[int, list[tuple[str, datetime.date]]] = {}
    to_write: list[tuple[covid_import.ParsedRow, Person]] = []
    existing_cache: dict[int, list[tuple[str, datetime.date]]] = {}
    for row, number in sorted(normalised, key=lambda rn: (rn[0].date, rn[0].row)):
        person = people.get(number)
        if person is None:
            result.errors.append(covid_import.RowError(row.row, id_col, _("未登记，或不在您的管辖范围内")))
            continue
        if person.name != row.name:
            result.errors.append(
                covid_import.RowError(row.row, name_col, _("姓名“%(n)s”与登记姓名不符") % {"n": row.name})
            )
            continue
        key = (number, row.kind, row.date)
        if key in seen:
            result.errors.append(
                covid_import.RowError(row.row, kind_col, _("与第%(r)s行重复") % {"r": seen[key]})
            )
            continue
        seen[key] = row.row
        existing = existing_cache.setdefault(person.pk, _live_events(person))
        if (row.kind, row.date) in existing:
            result.skipped += 1
            continue
        combined = existing + planned.get(person.pk, [])
        problems = _event_problems(row.kind, row.date, combined, today)
        if problems:
            result.errors.append(covid_import.RowError(row.row, date_col, "；".join(problems)))
            continue
        planned.setdefault(person.pk, []).append((row.kind, row.date))
        to_write.append((row, person))
    if result.errors:
        result.errors.sort(key=lambda e: (e.row, e.column))
        record(
            actor=by,
            action=AuditAction.IMPORT,
            object_type="intake.covidimport",
            object_id=(filename or "")[:64],
            region_path=by.region.path,
            after={"rows": result.rows, "errors": len(result.errors), "written": 0},
            reason=_("名单有误，未导入"),
        )
        return result
    with transaction.atomic():
        batch = CovidImport.objects.create(
            region=by.region,
            filename=(filename or "")[:200],
            sha256=hashlib.sha256(content).hexdigest(),
            imported_by=by,
            imported_at=_now(),
            rows=result.rows,
            created=len(to_write),
            skipped=result.skipped,
        )
        touched: dict[int, Person] = {}
        events = []
        for row, person in to_write:
            events.append(
                _create_event(person, row.kind, row.date, by, CovidEventSource.IMPORT, row.note, batch)
            )
            touched[person.pk] = person
        for person in touched.values():
            sync_person_covid(person, by)
        for event in events:
            covid_event_recorded.send(sender=CovidEvent, event=event, person=touched[event.person_id], by=by)
        record(
            actor=by,
            action=AuditAction.IMPORT,
            obj=batch,
            object_type="intake.covidimport",
            region_path=by.region.path,
            after={"rows": result.rows, "created": len(to_write), "skipped": result.skipped},
        )
    result.created, result.batch = len(to_write), batch
    return result


# Re-exported for callers that only import services.
__all__ = [
    "ACCEPTED",
    "IncomingTransfer",
    "accept_case",
    "accept_transfer",
    "acknowledge_referral",
    "add_attachment",
    "add_comment",
    "answer_referral",
    "assign_case",
    "close_case",
    "identify_applicant",
    "import_covid_events",
    "open_case",
    "perform_action",
    "record_covid_event",
    "record_transition",
    "refer_case",
    "refresh_sla",
    "refresh_window_sensitive_cases",
    "request_missing",
    "return_transfer",
    "transfer_case",
    "transition_case",
    "void_covid_event",
    "withdraw_transfer",
]
