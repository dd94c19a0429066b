"""Writes of the care app (关爱服务): one transaction per action, validation inside, every write audited.

Bad input is a `ValidationError` naming the field; the same daily report twice is a `Conflict`; acting
outside one's region or role is `PermissionDenied`. See docs/care.md.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role, is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.care import rules
from doudi.care.models import (
    AdmissionKind,
    CareArrangement,
    CareKind,
    CareLedger,
    CarerAbsence,
    ChildReport,
    ChildReportEvent,
    ChildReportState,
    ClosureReason,
    Contact,
    ContactMethod,
    DailyReport,
    DependentKind,
    GuardianAbsence,
    GuardianshipArrangement,
    HotlineCall,
    HotlineCategory,
    HotlineOutcome,
    Institution,
    InstitutionKind,
    Outing,
    PersonKind,
    Placement,
    PlacementReason,
    ProviderKind,
    PsychAidFollowUp,
    PsychAidOffer,
    PsychAidTransition,
    PsychAidTrigger,
    RiskArea,
    Screening,
)
from doudi.care.rules import PsychAidState, PsychAidStep
from doudi.core.errors import Conflict
from doudi.core.fields import (
    clean_count,
    clean_day,
    clean_field_lines,
    clean_field_text,
    create_once,
    raise_field_errors,
    require,
)
from doudi.core.masking import mask_id_number, mask_phone
from doudi.core.scoping import region_in_scope
from doudi.core.text import clean_text
from doudi.intake.models import Case, CaseType, Channel
from doudi.regions.models import Region, RegionLevel
from doudi.registry import identity
from doudi.registry.models import Person
from doudi.registry.services import clean_phone

# A head count above this is a typing error (the largest institutions hold a few thousand).
MAX_TRAJECTORY_PLACES = 50

MANAGERS = (Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER, Role.MUNICIPAL_ADMIN)
INSTITUTION_WORKERS = (Role.INSTITUTION_STAFF, Role.DISTRICT_OFFICER, Role.TOWNSHIP_OFFICER)
RISK_LIST_KEEPERS = (Role.MUNICIPAL_ADMIN, Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER)


def _now() -> datetime.datetime:
    return timezone.now()


def _today() -> datetime.date:
    return timezone.localdate()


# --- who may act -----------------------------------------------------------------------------------------


def can_manage_institutions(user: Any) -> bool:
    """Register and edit institutions: district officers and approvers, the municipal admin."""
    return is_acting_staff(user) and user.has_role(*MANAGERS)


def can_work_institutions(user: Any) -> bool:
    """Screen, log outings and send the daily report: institution staff and the officers above them."""
    return is_acting_staff(user) and user.has_role(*INSTITUTION_WORKERS)


def can_keep_risk_list(user: Any) -> bool:
    """The high-risk list is kept by the city (municipal admin) and by each district's bureau."""
    region = getattr(user, "region", None)
    return (
        is_acting_staff(user)
        and user.has_role(*RISK_LIST_KEEPERS)
        and region is not None
        and region.level <= RegionLevel.DISTRICT
    )


def _require_institution(user: Any, institution: Institution) -> None:
    require(can_work_institutions(user))
    if not region_in_scope(user, institution.region):
        raise PermissionDenied(_("该机构不在您的管辖范围内。"))


# --- field cleaning (errors collected by field name: core/fields.py) ---------------------------------


def _clean_id(errors: dict[str, str], field: str, raw: Any, *, required: bool) -> str:
    if not clean_text(raw):
        if required:
            errors[field] = _("请填写此项。")
        return ""
    try:
        return identity.validate(raw)
    except ValidationError as exc:
        errors[field] = "；".join(exc.messages)
        return ""


def _clean_phone(errors: dict[str, str], field: str, raw: Any, *, required: bool) -> str:
    try:
        phone = clean_phone(clean_text(raw))
    except ValidationError as exc:
        errors[field] = "；".join(exc.messages)
        return ""
    if required and not phone:
        errors[field] = _("请填写此项。")
    return phone


def clean_temperature(errors: dict[str, str], field: str, raw: Any) -> Decimal:
    """℃ with one decimal (rounded half up), within rules.TEMPERATURE_MIN–MAX."""
    text = clean_text(raw)
    if not text:
        errors[field] = _("请填写此项。")
        return Decimal(0)
    try:
        value = Decimal(text.replace("℃", "").strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        errors[field] = _("请填写体温数值（℃），如 36.5。")
        return Decimal(0)
    value = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if not rules.TEMPERATURE_MIN <= value <= rules.TEMPERATURE_MAX:
        errors[field] = _("体温应在 %(lo)s 至 %(hi)s ℃ 之间，请复测。") % {
            "lo": rules.TEMPERATURE_MIN,
            "hi": rules.TEMPERATURE_MAX,
        }
    return value


def _choice(errors: dict[str, str], field: str, raw: Any, choices: Iterable[str]) -> str:
    value = clean_text(raw)
    if value not in set(choices):
        errors[field] = _("请选择有效的选项。")
    return value


# --- institutions ---------------------------------------------------------------------------------------


def institution_snapshot(i: Institution) -> dict:
    return {
        "name": i.name,
        "kind": i.kind,
        "region": i.region_id,
        "address": i.address,
        "capacity": i.capacity,
        "contact_name": i.contact_name,
        "contact_phone": mask_phone(i.contact_phone),
        "active": i.active,
    }


@transaction.atomic
def save_institution(
    *,
    by: Any,
    institution: Institution | None = None,
    name: Any,
    kind: Any,
    region: Region | None,
    capacity: Any,
    contact_name: Any,
    contact_phone: Any,
    address: Any = "",
    active: bool = True,
) -> Institution:
    """登记/修改服务机构. The region must lie in the officer's subtree, at district level or below."""
    require(can_manage_institutions(by))
    if institution is not None:
        institution = Institution.objects.select_for_update().get(pk=institution.pk)
        if not region_in_scope(by, institution.region):
            raise PermissionDenied(_("该机构不在您的管辖范围内。"))
    errors: dict[str, str] = {}
    name = clean_field_text(errors, "name", name, required=True, max_length=100)
    kind = _choice(errors, "kind", kind, InstitutionKind.values)
    if region is None:
        errors["region"] = _("请选择所在区划。")
    elif region.level == RegionLevel.MUNICIPALITY:
        errors["region"] = _("所在区划应为区县、乡镇街道或村社区。")
    elif not region_in_scope(by, region):
        errors["region"] = _("所在区划不在您的管辖范围内。")
    capacity_n = clean_count(errors, "capacity", capacity)
    if "capacity" not in errors and capacity_n == 0:
        errors["capacity"] = _("床位数应大于 0。")
    contact_name = clean_field_text(errors, "contact_name", contact_name, required=True, max_length=64)
    phone = _clean_phone(errors, "contact_phone", contact_phone, required=True)
    address = clean_field_text(errors, "address", address, required=False, max_length=200)
    if name and region is not None and "region" not in errors:
        same = Institution.objects.filter(region=region, name=name)
        if institution is not None:
            same = same.exclude(pk=institution.pk)
        if same.exists():
            errors["name"] = _("该区划已有同名机构。")
    raise_field_errors(errors)
    before = institution_snapshot(institution) if institution is not None else None
    target = institution or Institution()
    for attr, value in {
        "name": name,
        "kind": kind,
        "region": region,
        "capacity": capacity_n,
        "contact_name": contact_name,
        "contact_phone": phone,
        "address": address,
        "active": bool(active),
    }.items():
        setattr(target, attr, value)
    target.save()
    record(
        actor=by,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=target,
        before=before,
        after=institution_snapshot(target),
    )
    return target


# --- the high-risk list ---------------------------------------------------------------------------------


def areas_in_force(region: Region, day: datetime.date) -> list[str]:
    """The names on the high-risk list that apply in `region` on `day`: those listed by the city and
    by every node above (or at) the region, listed on or before the day and not lifted by then."""
    codes = region.path.strip("/").split("/")
    return list(
        RiskArea.objects.filter(region__code__in=codes, listed_on__lte=day)
        .filter(Q(lifted_on__isnull=True) | Q(lifted_on__gt=day))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )


def _area_snapshot(a: RiskArea) -> dict:
    return {"name": a.name, "region": a.region_id, "listed_on": a.listed_on, "lifted_on": a.lifted_on}


@transaction.atomic
def list_risk_area(*, by: Any, name: Any, listed_on: Any, reason: Any) -> RiskArea:
    """列入高风险地区: on the list of the officer's own node (the city or their district)."""
    require(can_keep_risk_list(by))
    errors: dict[str, str] = {}
    name = clean_field_text(errors, "name", name, required=True, max_length=64).replace(" ", "")
    if name and len(name) < rules.AREA_NAME_MIN:
        errors["name"] = _("地区名称至少 %(n)s 个字。") % {"n": rules.AREA_NAME_MIN}
    day = clean_day(errors, "listed_on", listed_on, today=_today() + datetime.timedelta(days=30))
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=200)
    if name and "listed_on" not in errors:
        open_same = RiskArea.objects.filter(region=by.region, name=name).filter(
            Q(lifted_on__isnull=True) | Q(lifted_on__gt=day)
        )
        if open_same.exists():
            errors["name"] = _("该地区已在本单位的高风险地区名单中。")
    raise_field_errors(errors)
    area = RiskArea.objects.create(name=name, region=by.region, listed_on=day, reason=reason, listed_by=by)
    record(actor=by, action=AuditAction.CREATE, obj=area, after=_area_snapshot(area), reason=reason)
    return area


@transaction.atomic
def lift_risk_area(*, by: Any, area: RiskArea, lifted_on: Any) -> RiskArea:
    """移出名单: the area stays on record with the day it stopped counting."""
    require(can_keep_risk_list(by))
    area = RiskArea.objects.select_for_update().select_related("region").get(pk=area.pk)
    if not region_in_scope(by, area.region):
        raise PermissionDenied(_("该名单条目不是本单位发布的。"))
    if area.lifted_on is not None:
        raise Conflict(_("该地区已于 %(d)s 移出名单。") % {"d": area.lifted_on}, path="lifted_on")
    errors: dict[str, str] = {}
    day = clean_day(errors, "lifted_on", lifted_on, today=_today() + datetime.timedelta(days=30))
    if "lifted_on" not in errors and day <= area.listed_on:
        errors["lifted_on"] = _("移出日期应晚于列入日期 %(d)s。") % {"d": area.listed_on}
    raise_field_errors(errors)
    before = _area_snapshot(area)
    area.lifted_on, area.lifted_by = day, by
    area.save(update_fields=["lifted_on", "lifted_by"])
    record(actor=by, action=AuditAction.UPDATE, obj=area, before=before, after=_area_snapshot(area))
    return area


# --- admission screening --------------------------------------------------------------------------------


def _trajectory(errors: dict[str, str], raw: Any) -> list[str]:
    """Places of the last 14 days: a list, or text with one place per line (or separated by 、，;)."""
    if isinstance(raw, str):
        for sep in "、，,；;":
            raw = raw.replace(sep, "\n")
        raw = raw.splitlines()
    places = [p for p in (clean_text(x) for x in (raw or [])) if p]
    if len(places) > MAX_TRAJECTORY_PLACES:
        errors["trajectory"] = _("行程地点不能超过 %(n)s 个。") % {"n": MAX_TRAJECTORY_PLACES}
    elif any(len(p) > 100 for p in places):
        errors["trajectory"] = _("每个地点不能超过 %(n)s 个字。") % {"n": 100}
    return places


def screening_snapshot(s: Screening) -> dict:
    return {
        "institution": s.institution_id,
        "person_kind": s.person_kind,
        "admission_kind": s.admission_kind,
        "name": s.name,
        "id_number": mask_id_number(s.id_number),
        "origin": s.origin,
        "temperature": str(s.temperature),
        "health_code": s.health_code,
        "outcome": s.outcome,
        "reasons": s.reasons,
        "matched_areas": s.matched_areas,
        "screened_on": s.screened_on,
    }


@transaction.atomic
def record_screening(
    *,
    by: Any,
    institution: Institution,
    person_kind: Any,
    admission_kind: Any,
    name: Any,
    id_number: Any,
    origin: Any,
    temperature: Any,
    health_code: Any,
    trajectory: Any = (),
    phone: Any = "",
    screened_on: Any = None,
) -> Screening:
    """入院（入岗）筛查: the facts checked against the high-risk list of the screening day, the rule's
    outcome (rules.screen) with its reasons, and who screened."""
    _require_institution(by, institution)
    today = _today()
    errors: dict[str, str] = {}
    person_kind = _choice(errors, "person_kind", person_kind, PersonKind.values)
    admission_kind = _choice(errors, "admission_kind", admission_kind, AdmissionKind.values)
    name = clean_field_text(errors, "name", name, required=True, max_length=64)
    id_number = _clean_id(errors, "id_number", id_number, required=True)
    phone = _clean_phone(errors, "phone", phone, required=False)
    origin = clean_field_text(errors, "origin", origin, required=True, max_length=100)
    places = _trajectory(errors, trajectory)
    temp = clean_temperature(errors, "temperature", temperature)
    code = _choice(errors, "health_code", health_code, rules.HealthCode.values)
    day = clean_day(errors, "screened_on", screened_on or today, today=today)
    raise_field_errors(errors)
    if not institution.active:
        raise ValidationError(_("该机构已停止运营，不能登记筛查。"))
    areas = areas_in_force(institution.region, day)
    origin_areas = rules.match_areas(origin, areas)
    trajectory_areas = rules.match_trajectory(places, areas)
    decision = rules.screen(rules.ScreeningFacts(origin_areas, trajectory_areas, temp, code))
    screening = Screening.objects.create(
        institution=institution,
        person_kind=person_kind,
        admission_kind=admission_kind,
        name=name,
        id_number=id_number,
        phone=phone,
        origin=origin,
        trajectory=places,
        temperature=temp,
        health_code=code,
        outcome=decision.outcome,
        reasons=list(decision.reasons),
        matched_areas=sorted(set(origin_areas) | set(trajectory_areas)),
        screened_on=day,
        screened_at=_now(),
        screened_by=by,
        screened_by_label=by.byline,
    )
    record(actor=by, action=AuditAction.CREATE, obj=screening, after=screening_snapshot(screening))
    return screening


# --- outings (外出就医) ---------------------------------------------------------------------------------


def _moment(errors: dict[str, str], field: str, raw: Any, *, required: bool) -> datetime.datetime | None:
    if raw in (None, ""):
        if required:
            errors[field] = _("请填写此项。")
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = datetime.datetime.fromisoformat(clean_text(raw))
        except ValueError:
            errors[field] = _("请填写有效的日期时间。")
            return None
    if not isinstance(value, datetime.datetime):
        errors[field] = _("请填写有效的日期时间。")
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > _now() + datetime.timedelta(minutes=5):
        errors[field] = _("时间不能晚于现在。")
    return value


def _outing_snapshot(o: Outing) -> dict:
    return {
        "institution": o.institution_id,
        "resident_name": o.resident_name,
        "resident_id_number": mask_id_number(o.resident_id_number),
        "destination": o.destination,
        "green_channel": o.green_channel,
        "left_at": o.left_at,
        "returned_at": o.returned_at,
    }


@transaction.atomic
def record_outing(
    *,
    by: Any,
    institution: Institution,
    resident_name: Any,
    resident_id_number: Any,
    destination: Any,
    purpose: Any,
    green_channel: bool,
    escort: Any = "",
    left_at: Any = None,
) -> Outing:
    """外出就医登记: residents go out for medical care only (三(一)); the destination is a medical
    institution and the purpose says what care."""
    _require_institution(by, institution)
    errors: dict[str, str] = {}
    resident_name = clean_field_text(errors, "resident_name", resident_name, required=True, max_length=64)
    id_number = _clean_id(errors, "resident_id_number", resident_id_number, required=True)
    destination = clean_field_text(errors, "destination", destination, required=True, max_length=100)
    purpose = clean_field_text(errors, "purpose", purpose, required=True, max_length=200)
    escort = clean_field_text(errors, "escort", escort, required=False, max_length=64)
    left = _moment(errors, "left_at", left_at or _now(), required=True)
    if (
        id_number
        and Outing.objects.filter(
            institution=institution, resident_id_number=id_number, returned_at__isnull=True
        ).exists()
    ):
        errors["resident_id_number"] = _("该人员有一次外出尚未登记返回。")
    raise_field_errors(errors)
    outing = Outing.objects.create(
        institution=institution,
        resident_name=resident_name,
        resident_id_number=id_number,
        destination=destination,
        purpose=purpose,
        green_channel=bool(green_channel),
        escort=escort,
        left_at=left,
        recorded_by=by,
    )
    record(actor=by, action=AuditAction.CREATE, obj=outing, after=_outing_snapshot(outing))
    return outing


@transaction.atomic
def record_return(*, by: Any, outing: Outing, returned_at: Any = None, note: Any = "") -> Outing:
    """返回登记; a return recorded twice is a conflict (the first one stands)."""
    outing = Outing.objects.select_for_update().select_related("institution__region").get(pk=outing.pk)
    _require_institution(by, outing.institution)
    if outing.returned_at is not None:
        raise Conflict(_("该次外出已登记返回。"), path="returned_at")
    errors: dict[str, str] = {}
    at = _moment(errors, "returned_at", returned_at or _now(), required=True)
    note = clean_field_text(errors, "return_note", note, required=False, max_length=200)
    if at is not None and "returned_at" not in errors and at < outing.left_at:
        errors["returned_at"] = _("返回时间不能早于外出时间。")
    raise_field_errors(errors)
    before = _outing_snapshot(outing)
    outing.returned_at, outing.return_note, outing.returned_recorded_by = at, note, by
    outing.save(update_fields=["returned_at", "return_note", "returned_recorded_by"])
    record(actor=by, action=AuditAction.UPDATE, obj=outing, before=before, after=_outing_snapshot(outing))
    return outing


# --- daily reports (机构日报) ---------------------------------------------------------------------------


def _already_reported(institution: Institution, day: datetime.date) -> Conflict:
    first = DailyReport.objects.filter(institution=institution, day=day).first()
    who = first.reported_by_label if first else ""
    return Conflict(
        _("%(inst)s %(day)s 的日报已由 %(who)s 报送，每天只报一次。")
        % {"inst": institution.name, "day": day, "who": who},
        path="day",
    )


@transaction.atomic
def submit_daily_report(
    *,
    by: Any,
    institution: Institution,
    residents: Any,
    staff_on_site: Any,
    symptomatic: Any,
    note: Any = "",
    day: Any = None,
) -> DailyReport:
    """机构日报: one per institution and day; a second one for the same day is a Conflict that names
    who sent the first."""
    _require_institution(by, institution)
    today = _today()
    errors: dict[str, str] = {}
    day = clean_day(errors, "day", day or today, today=today)
    residents_n = clean_count(errors, "residents", residents)
    staff_n = clean_count(errors, "staff_on_site", staff_on_site)
    symptomatic_n = clean_count(errors, "symptomatic", symptomatic)
    note = clean_field_text(errors, "note", note, required=False, max_length=500)
    if not errors and symptomatic_n > residents_n + staff_n:
        errors["symptomatic"] = _("有症状人数不能超过在院人数与在岗工作人员之和。")
    if not errors and symptomatic_n and not note:
        errors["note"] = _("有症状人员时请说明症状和处置情况。")
    raise_field_errors(errors)
    report = create_once(
        DailyReport,
        lambda: _already_reported(institution, day),
        {"institution": institution, "day": day},
        residents=residents_n,
        staff_on_site=staff_n,
        symptomatic=symptomatic_n,
        note=note,
        reported_by=by,
        reported_by_label=by.byline,
        reported_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=report,
        after={
            "institution": institution.pk,
            "day": day,
            "residents": residents_n,
            "staff_on_site": staff_n,
            "symptomatic": symptomatic_n,
        },
    )
    return report


# --- contacts (探访, 三(四)) -----------------------------------------------------------------------------

CONTACT_ROLES = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER)
MAX_FINDINGS = 2000


def can_contact(user: Any) -> bool:
    """Village workers, township and district officers contact the people of their region."""
    return is_acting_staff(user) and user.has_role(*CONTACT_ROLES)


def _contact_snapshot(c: Contact) -> dict:
    return {
        "person": c.person_id,
        "contacted_on": c.contacted_on,
        "method": c.method,
        "need_found": bool(c.need),
        "follow_up_case": c.follow_up_case_id,
    }


def _already_contacted(person: Person, day: datetime.date) -> Conflict:
    return Conflict(
        _("%(day)s 您已用同一方式登记过对 %(name)s 的联系，请勿重复提交。")
        % {"day": day, "name": person.name},
        path="contacted_on",
    )


@transaction.atomic
def record_contact(
    *,
    by: Any,
    person: Person,
    contacted_on: Any,
    method: Any,
    findings: Any,
    need: Any = "",
    open_case: bool = False,
) -> Contact:
    """探访记录: a visit, call or video call with a person on the schedule and what was found. A need
    found may open the follow-up case at once (`open_case`), in the same transaction."""
    from doudi.care.selectors import contact_schedule

    require(can_contact(by))
    if not Person.objects.visible_to(by).filter(pk=person.pk).exists():
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    today = _today()
    errors: dict[str, str] = {}
    day = clean_day(errors, "contacted_on", contacted_on or today, today=today)
    method = _choice(errors, "method", method, ContactMethod.values)
    findings = clean_field_text(errors, "findings", findings, required=True, max_length=MAX_FINDINGS)
    need = clean_field_text(errors, "need", need, required=bool(open_case), max_length=MAX_FINDINGS)
    if "contacted_on" not in errors and not contact_schedule(day, person=person):
        errors["person"] = _(
            "该人员在联系日期不属于探访对象（孤寡老人、散居孤儿、留守儿童和老年人、重病重残人员）。"
        )
    raise_field_errors(errors)
    contact = create_once(
        Contact,
        lambda: _already_contacted(person, day),
        {"person": person, "contacted_on": day, "method": method, "contacted_by": by},
        findings=findings,
        need=need,
        contacted_by_label=by.byline,
        recorded_at=_now(),
    )
    record(actor=by, action=AuditAction.CREATE, obj=contact, after=_contact_snapshot(contact))
    if open_case:
        open_follow_up_case(by=by, contact=contact)
        contact.refresh_from_db()
    return contact


@transaction.atomic
def open_follow_up_case(*, by: Any, contact: Contact) -> Case:
    """A need found on a contact becomes a one-door case (照料服务, channel 走访探视) in the person's
    village, opened by the intake services and linked both ways; a second try is a conflict."""
    from doudi.care.selectors import contact_schedule
    from doudi.intake.services import open_case

    require(can_contact(by))
    contact = Contact.objects.select_for_update().select_related("person__region").get(pk=contact.pk)
    person = contact.person
    if not Person.objects.visible_to(by).filter(pk=person.pk).exists():
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    if contact.follow_up_case_id is not None:
        raise Conflict(_("该次探访已开立跟进案件。"), path="follow_up_case")
    if not contact.need:
        raise ValidationError({"need": _("这次联系没有记录需要帮助的事项，不能开立跟进案件。")})
    rows = contact_schedule(contact.contacted_on, person=person)
    categories = rows[0].category_labels if rows else ""
    case = open_case(
        by=by,
        case_type=CaseType.CARE,
        channel=Channel.CARE_CONTACT,
        region=person.region,
        applicant=person,
        summary=_("%(cats)s%(method)s发现：%(need)s")
        % {"cats": categories, "method": contact.get_method_display(), "need": contact.need},
        details={
            "care_contact": contact.pk,
            "contacted_on": contact.contacted_on.isoformat(),
            "method": contact.method,
        },
    )
    before = _contact_snapshot(contact)
    contact.follow_up_case = case
    contact.save(update_fields=["follow_up_case"])
    record(actor=by, action=AuditAction.UPDATE, obj=contact, before=before, after=_contact_snapshot(contact))
    return case


# --- children left without guardianship (无人监护儿童, 三(二)) ----------------------------------------------

CHILD_REPORTERS = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER)
CHILD_HANDLERS = (Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER)
ESCALATION_HOURS = "care.child_escalation_hours"
ADULT_AGE = 18


def can_report_child(user: Any) -> bool:
    """Child directors (村社区, role village worker) and supervisors (乡镇街道) report; districts too."""
    return is_acting_staff(user) and user.has_role(*CHILD_REPORTERS)


def can_handle_child(user: Any) -> bool:
    """The township and the district acknowledge, arrange care and follow up."""
    return is_acting_staff(user) and user.has_role(*CHILD_HANDLERS)


def escalation_hours(level: str, on: datetime.date) -> int:
    from doudi.parameters.selectors import current_parameters

    found = current_parameters().value_at(f"{ESCALATION_HOURS}.{level}", on)
    if found is None:
        raise ValidationError(_("未设定 %(d)s 适用的无人监护儿童响应时限。") % {"d": on})
    return int(found.value)


def _child_snapshot(r: ChildReport) -> dict:
    return {
        "region": r.region_id,
        "child_name": r.child_name,
        "child_id_number": mask_id_number(r.child_id_number),
        "state": r.state,
        "version": r.version,
    }


def _child_event(report: ChildReport, by: Any, kind: str, before: str, note: str = "") -> None:
    ChildReportEvent.objects.create(
        report=report,
        kind=kind,
        from_state=before,
        to_state=report.state,
        note=note,
        at=_now(),
        by=by,
        by_label=by.byline,
    )


def _lock_report(report: ChildReport, by: Any, expected_version: Any) -> ChildReport:
    report = ChildReport.objects.select_for_update().select_related("region").get(pk=report.pk)
    if not region_in_scope(by, report.region):
        raise PermissionDenied(_("该报告不在您的管辖范围内。"))
    if expected_version not in (None, "") and int(expected_version) != report.version:
        raise Conflict(_("该报告已被他人更新，请刷新后重试。"), path="version")
    if report.state == ChildReportState.CLOSED:
        raise Conflict(_("该报告已结案。"), path="state")
    return report


def _save_report(report: ChildReport, by: Any, kind: str, before_state: str, before: dict, note: str) -> None:
    report.version += 1
    report.save()
    _child_event(report, by, kind, before_state, note)
    record(
        actor=by,
        action=AuditAction.ACTION,
        obj=report,
        before=before,
        after=_child_snapshot(report),
        reason=kind,
    )


@transaction.atomic
def report_child(
    *,
    by: Any,
    region: Region | None,
    child_name: Any,
    child_age: Any,
    location: Any,
    absence: Any,
    situation: Any,
    child_id_number: Any = "",
    guardian_name: Any = "",
) -> ChildReport:
    """报告无人监护儿童: filed for a village, the township's and the district's response clocks start."""
    require(can_report_child(by))
    errors: dict[str, str] = {}
    if region is None or region.level != RegionLevel.VILLAGE:
        errors["region"] = _("请选择儿童所在的村社区。")
    elif not region_in_scope(by, region):
        errors["region"] = _("该村社区不在您的管辖范围内。")
    child_name = clean_field_text(errors, "child_name", child_name, required=True, max_length=64)
    age = clean_count(errors, "child_age", child_age, maximum=ADULT_AGE - 1)
    id_number = _clean_id(errors, "child_id_number", child_id_number, required=False)
    location = clean_field_text(errors, "location", location, required=True, max_length=200)
    absence = _choice(errors, "absence", absence, GuardianAbsence.values)
    guardian_name = clean_field_text(errors, "guardian_name", guardian_name, required=False, max_length=64)
    situation = clean_field_text(errors, "situation", situation, required=True, max_length=MAX_FINDINGS)
    raise_field_errors(errors)
    now = _now()
    day = timezone.localdate(now)
    child = Person.objects.visible_to(by).filter(id_number=id_number).first() if id_number else None
    report = ChildReport.objects.create(
        region=region,
        child=child,
        child_name=child_name,
        child_id_number=id_number,
        child_age=age,
        location=location,
        absence=absence,
        guardian_name=guardian_name,
        situation=situation,
        state=ChildReportState.REPORTED,
        reported_at=now,
        reported_by=by,
        township_due_at=now + datetime.timedelta(hours=escalation_hours("township", day)),
        district_due_at=now + datetime.timedelta(hours=escalation_hours("district", day)),
    )
    _child_event(report, by, "reported", "", situation)
    record(actor=by, action=AuditAction.CREATE, obj=report, after=_child_snapshot(report))
    return report


@transaction.atomic
def acknowledge_child_report(
    *, by: Any, report: ChildReport, note: Any = "", expected_version: Any = None
) -> ChildReport:
    """接报: the township (an officer bound to a township) or the district (bound to a district)
    acknowledges; each level once."""
    require(can_handle_child(by))
    report = _lock_report(report, by, expected_version)
    errors: dict[str, str] = {}
    note = clean_field_text(errors, "note", note, required=False, max_length=MAX_FINDINGS)
    raise_field_errors(errors)
    before, before_state = _child_snapshot(report), report.state
    now = _now()
    if by.region.level == RegionLevel.TOWNSHIP:
        if report.township_acknowledged_at is not None:
            raise Conflict(_("乡镇街道已接报。"), path="state")
        report.township_acknowledged_at = now
        if report.state == ChildReportState.REPORTED:
            report.state = ChildReportState.TOWNSHIP_ACKNOWLEDGED
        kind = "township_ack"
    elif by.region.level == RegionLevel.DISTRICT:
        if report.district_acknowledged_at is not None:
            raise Conflict(_("区县已接报。"), path="state")
        report.district_acknowledged_at = now
        if report.state in (ChildReportState.REPORTED, ChildReportState.TOWNSHIP_ACKNOWLEDGED):
            report.state = ChildReportState.DISTRICT_ACKNOWLEDGED
        kind = "district_ack"
    else:
        raise PermissionDenied(_("只有乡镇街道和区县可以接报。"))
    _save_report(report, by, kind, before_state, before, note)
    return report


@transaction.atomic
def arrange_guardianship(
    *,
    by: Any,
    report: ChildReport,
    kind: Any,
    carer_name: Any,
    carer_phone: Any,
    place: Any,
    starts_on: Any = None,
    expected_version: Any = None,
) -> GuardianshipArrangement:
    """安排临时监护和照料: who, where, from when; a later arrangement replaces it (a new row)."""
    require(can_handle_child(by))
    report = _lock_report(report, by, expected_version)
    today = _today()
    errors: dict[str, str] = {}
    kind = _choice(errors, "kind", kind, CareKind.values)
    carer_name = clean_field_text(errors, "carer_name", carer_name, required=True, max_length=64)
    phone = _clean_phone(errors, "carer_phone", carer_phone, required=True)
    place = clean_field_text(errors, "place", place, required=True, max_length=200)
    day = clean_day(errors, "starts_on", starts_on or today, today=today)
    raise_field_errors(errors)
    arrangement = GuardianshipArrangement.objects.create(
        report=report,
        kind=kind,
        carer_name=carer_name,
        carer_phone=phone,
        place=place,
        starts_on=day,
        arranged_by=by,
        arranged_by_label=by.byline,
        arranged_at=_now(),
    )
    before, before_state = _child_snapshot(report), report.state
    report.state = ChildReportState.ARRANGED
    note = _("%(kind)s：%(carer)s，%(place)s，自 %(day)s 起") % {
        "kind": arrangement.get_kind_display(),
        "carer": carer_name,
        "place": place,
        "day": day,
    }
    _save_report(report, by, "arranged", before_state, before, note)
    return arrangement


@transaction.atomic
def follow_up_child(
    *, by: Any, report: ChildReport, note: Any, guardian_back: bool = False, expected_version: Any = None
) -> ChildReport:
    """回访: a follow-up of the arranged care; when a guardian is back the report is closed."""
    require(can_report_child(by) or can_handle_child(by))
    report = _lock_report(report, by, expected_version)
    errors: dict[str, str] = {}
    note = clean_field_text(errors, "note", note, required=True, max_length=MAX_FINDINGS)
    if report.state != ChildReportState.ARRANGED:
        errors["note"] = _("尚未安排临时监护照料，请先安排再回访。")
    raise_field_errors(errors)
    before, before_state = _child_snapshot(report), report.state
    if guardian_back:
        report.state, report.closed_at = ChildReportState.CLOSED, _now()
    _save_report(report, by, "guardian_back" if guardian_back else "follow_up", before_state, before, note)
    return report


# --- psychological aid (心理援助, notice 五) ---------------------------------------------------------------

PSYCH_AID = "psych_aid"
PSYCH_KEYWORD = "心理"
HOSPITAL_DAYS = "care.psych_aid.hospital_days"
FOLLOW_UP_DAYS = "care.psych_aid.follow_up_days"


def psych_hotlines(region: Region) -> list[dict]:
    """The published lines a family is told to call (regions' hotlines, 四): the psychological lines
    (名称含“心理”) of the person's district and of the city first, then their other lines."""
    from doudi.regions.selectors import hotlines_for

    lines = list(hotlines_for(region.district_code or None))
    lines.sort(key=lambda h: (PSYCH_KEYWORD not in h.name, h.district.level != RegionLevel.DISTRICT))
    return [
        {"name": h.name, "phone": h.phone, "hours": h.service_hours, "district": h.district.name}
        for h in lines
    ]


def _family_of(person: Person, by: Any) -> Person | None:
    from doudi.intake.workflows.temporary import _family_contact

    family = _family_contact(person)
    if family is not None and not Person.objects.visible_to(by).filter(pk=family.pk).exists():
        return None
    return family


def psych_aid_offer_of(person: Person, trigger: str = PsychAidTrigger.BEREAVED) -> PsychAidOffer | None:
    return PsychAidOffer.objects.filter(person=person, trigger=trigger).select_related("case").first()


def _psych_parameter(name: str, day: datetime.date) -> int:
    from doudi.parameters.selectors import current_parameters

    found = current_parameters().value_at(name, day)
    if found is None or found.value is None:
        raise ValueError(f"parameter {name} has no value on {day}")
    return int(found.value)


def hospital_days(day: datetime.date) -> int:
    """The long-stay line in force on `day` (days from confirmation to discharge)."""
    return _psych_parameter(HOSPITAL_DAYS, day)


def follow_up_days(day: datetime.date) -> int:
    return _psych_parameter(FOLLOW_UP_DAYS, day)


def _psych_summary(trigger: str, person: Person, event_on: datetime.date, listed: str, extra: dict) -> str:
    if trigger == PsychAidTrigger.HOSPITALISED and extra.get("in_hospital"):
        return _(
            "心理援助：%(name)s 自 %(date)s 确诊住院，已治疗 %(days)s 天尚未出院，请联系本人及家属，"
            "提供心理援助、情绪疏导服务（通知五），并告知可拨打：%(lines)s。"
        ) % {"name": person.name, "days": extra["days"], "date": extra["confirmed_on"], "lines": listed}
    if trigger == PsychAidTrigger.HOSPITALISED:
        return _(
            "心理援助：%(name)s 因新冠肺炎住院治疗 %(days)s 天，于 %(date)s 出院，请联系本人及家属，"
            "提供心理援助、情绪疏导服务（通知五），并告知可拨打：%(lines)s。"
        ) % {"name": person.name, "days": extra["days"], "date": event_on.isoformat(), "lines": listed}
    if trigger == PsychAidTrigger.ISOLATED_FAMILY:
        return _(
            "心理援助：%(name)s 的监护/照料人 %(carer)s 因%(absence)s被隔离治疗或观察（%(date)s 起），"
            "请联系其家庭，提供心理援助、情绪疏导服务（通知五），并告知可拨打：%(lines)s。"
        ) % {
            "name": person.name,
            "carer": extra["carer"],
            "absence": extra["absence"],
            "date": event_on.isoformat(),
            "lines": listed,
        }
    return _(
        "心理援助：%(name)s 于 %(date)s 因新冠肺炎病亡，请联系其家属，提供心理援助、情绪疏导服务"
        "（通知五），并告知可拨打：%(lines)s。"
    ) % {"name": person.name, "date": event_on.isoformat(), "lines": listed}


def offer_psych_aid(
    *,
    person: Person,
    event_on: datetime.date,
    by: Any,
    trigger: str = PsychAidTrigger.BEREAVED,
    extra: dict | None = None,
) -> Case | None:
    """心理援助转介: opens a 照料服务 case (department 心理援助) with the psychological-aid lines to
    contact, and its offer (state 已转介, first ledger row): for the family of a person who died of
    COVID-19 (`bereaved`), for a patient discharged after a long stay and their family (`hospitalised`),
    for the family of a dependent whose carer was isolated (`isolated_family`). The village or township
    calls, records accepted or declined, follows up and closes. One per person and trigger (a re-import
    or a second recording opens nothing). Called inside the event's transaction; the event is recorded
    even when the offer cannot be opened (logged)."""
    import logging

    from doudi.intake.models import Department
    from doudi.intake.services import open_case

    extra = extra or {}
    if PsychAidOffer.objects.filter(person=person, trigger=trigger).exists():
        return None
    family = _family_of(person, by)
    lines = psych_hotlines(person.region)
    listed = "；".join(f"{h['name']} {h['phone']}" for h in lines[:3]) or _("（本区县尚未公布热线）")
    details = {
        PSYCH_AID: {
            "person": person.pk,
            "name": person.name,
            "trigger": trigger,
            "event_on": event_on.isoformat(),
            "family": family.pk if family is not None else None,
            "hotlines": lines,
            **extra,
        }
    }
    applicant: dict[str, Any]
    if trigger == PsychAidTrigger.HOSPITALISED:
        applicant = {"applicant": person}
    elif family is not None:
        applicant = {"applicant": family}
    elif trigger == PsychAidTrigger.ISOLATED_FAMILY:
        applicant = {"applicant": person}
    else:
        applicant = {"applicant_name": _("%(name)s的家属") % {"name": person.name}}
    try:
        with transaction.atomic():
            case = open_case(
                by=by,
                case_type=CaseType.CARE,
                channel=Channel.DEPARTMENT_REFERRAL,
                region=person.region,
                department=Department.PSYCHOLOGICAL,
                summary=_psych_summary(trigger, person, event_on, listed, extra),
                details=details,
                **applicant,
            )
            today = _today()
            offer = PsychAidOffer.objects.create(
                case=case,
                person=person,
                trigger=trigger,
                state=PsychAidState.OFFERED,
                offered_on=today,
                last_on=today,
            )
            PsychAidTransition.objects.create(
                offer=offer,
                seq=1,
                action="offer",
                to_state=PsychAidState.OFFERED,
                by=by,
                by_label=by.byline,
                at=_now(),
                reason=case.summary,
            )
            record(
                actor=by, action=AuditAction.CREATE, obj=offer, after={"case": case.pk, "trigger": trigger}
            )
            return case
    except IntegrityError:  # the same offer opened at the same moment by another recorder
        return None
    except (ValidationError, PermissionDenied) as exc:
        logging.getLogger(__name__).warning("psychological-aid offer not opened for %s: %s", person.pk, exc)
        return None


def on_covid_event(sender: Any, event: Any, person: Person, by: Any, **kwargs: Any) -> None:
    """The signal receiver (intake.signals.covid_event_recorded): a death → the family's offer; a
    discharge after a long stay (`care.psych_aid.hospital_days`) → the patient's and family's offer."""
    if event.kind == "died":
        offer_psych_aid(person=person, event_on=event.date, by=by)
    elif event.kind == "discharged":
        confirmed = person.covid_confirmed_on
        if rules.long_stay(confirmed, event.date, hospital_days(event.date)):
            offer_psych_aid(
                person=person,
                event_on=event.date,
                by=by,
                trigger=PsychAidTrigger.HOSPITALISED,
                extra={"confirmed_on": confirmed.isoformat(), "days": (event.date - confirmed).days},
            )


def offer_long_stays(day: datetime.date, *, region: Region | None = None) -> list[Case]:
    """The daily job's half of the long-stay offer: people confirmed at least `care.psych_aid.hospital_days`
    days before `day`, neither discharged since nor deceased, and not yet offered, are offered aid as the
    patient still in hospital — opened in the name of whoever recorded the confirmation (their scope
    applies; a confirmation without a recorder is left, logged by `offer_psych_aid` when refused)."""
    from doudi.intake.models import CovidEvent, CovidEventKind

    cutoff = day - datetime.timedelta(days=hospital_days(day))
    people = (
        Person.objects.filter(covid_confirmed_on__lte=cutoff, covid_died_on__isnull=True)
        .filter(Q(covid_discharged_on__isnull=True) | Q(covid_discharged_on__lt=F("covid_confirmed_on")))
        .exclude(pk__in=PsychAidOffer.objects.filter(trigger=PsychAidTrigger.HOSPITALISED).values("person"))
        .select_related("region")
        .order_by("pk")
    )
    if region is not None:
        people = people.filter(region__path__startswith=region.path)
    opened = []
    for person in people:
        confirmed = person.covid_confirmed_on
        event = (
            CovidEvent.objects.filter(
                person=person, kind=CovidEventKind.CONFIRMED, date=confirmed, voided_at__isnull=True
            )
            .select_related("recorded_by")
            .first()
        )
        if event is None or event.recorded_by is None or confirmed is None:
            continue
        with transaction.atomic():
            case = offer_psych_aid(
                person=person,
                event_on=day,
                by=event.recorded_by,
                trigger=PsychAidTrigger.HOSPITALISED,
                extra={
                    "confirmed_on": confirmed.isoformat(),
                    "days": (day - confirmed).days,
                    "in_hospital": True,
                },
            )
        if case is not None:
            opened.append(case)
    return opened


PSYCH_AID_WORKERS = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER)
MAX_NOTE = 2000


def can_follow_psych_aid(user: Any) -> bool:
    """The village or township calls the family and follows up (五); the district too."""
    return is_acting_staff(user) and user.has_role(*PSYCH_AID_WORKERS)


def _sync_offer_case(case: Case, step: str, by: Any, note: str) -> None:
    """The offer's case follows it on the intake clock: contacted (accepted or declined) → 受理 if the
    case waits for it; the offer closed → 办结 with the note. A case moved on by hand is left alone."""
    from doudi.intake.flows import ACCEPTED, SUBMITTED
    from doudi.intake.services import perform_action

    case.refresh_from_db()
    if step in (PsychAidStep.ACCEPT, PsychAidStep.DECLINE) and case.state == SUBMITTED:
        perform_action(case=case, action="accept", by=by, reason=note)
    elif step == PsychAidStep.CLOSE:
        if case.state == SUBMITTED:
            case = perform_action(case=case, action="accept", by=by, reason=note)
        if case.state == ACCEPTED:
            perform_action(case=case, action="close", by=by, reason=note)


@transaction.atomic
def step_psych_aid(
    *,
    by: Any,
    offer: PsychAidOffer,
    step: Any,
    note: Any,
    contacted_on: Any = None,
    method: Any = "",
    next_on: Any = None,
    expected_version: Any = None,
) -> PsychAidOffer:
    """One step of the offer (rules.PSYCH_AID_STEPS): 同意接受, 婉拒, 回访 (a contact: day, how, what was
    found, optionally the next day agreed), 结束跟进. Each is a ledger row and an audit entry; a step the
    state does not allow is a field error, a stale version a conflict."""
    require(can_follow_psych_aid(by))
    locked = PsychAidOffer.objects.visible_to(by).select_for_update().filter(pk=offer.pk).first()
    if locked is None:
        raise PermissionDenied(_("该心理援助转介不在您的管辖范围内。"))
    offer = locked
    if expected_version not in (None, "") and str(expected_version) != str(offer.version):
        raise Conflict(_("该转介已被他人更新，请刷新后重试。"), path="version")
    errors: dict[str, str] = {}
    step = _choice(errors, "step", step, rules.PsychAidStep.values)
    note = clean_field_lines(errors, "note", note, required=True, max_length=MAX_NOTE)
    target = rules.psych_aid_next(offer.state, step) if "step" not in errors else None
    if "step" not in errors and target is None:
        errors["step"] = _("当前状态（%(s)s）不能执行此操作。") % {"s": offer.get_state_display()}
    today = _today()
    day, agreed = today, None
    if step == PsychAidStep.FOLLOW_UP:
        day = clean_day(errors, "contacted_on", contacted_on or today, today=today)
        method = _choice(errors, "method", method, ContactMethod.values)
        if next_on not in (None, ""):
            agreed = _any_day(errors, "next_on", next_on)
            if "next_on" not in errors and "contacted_on" not in errors and agreed <= day:
                errors["next_on"] = _("下次联系日期应晚于本次联系日期。")
    raise_field_errors(errors)
    assert target is not None
    if step == PsychAidStep.FOLLOW_UP:
        PsychAidFollowUp.objects.create(
            offer=offer,
            contacted_on=day,
            method=method,
            findings=note,
            next_on=agreed,
            by=by,
            by_label=by.byline,
            recorded_at=_now(),
        )
    before = {"state": offer.state, "version": offer.version}
    from_state = offer.state
    offer.state, offer.version = target, offer.version + 1
    offer.last_on, offer.next_on = day, agreed
    offer.save(update_fields=["state", "version", "last_on", "next_on"])
    PsychAidTransition.objects.create(
        offer=offer,
        seq=offer.version,
        action=step,
        from_state=from_state,
        to_state=target,
        by=by,
        by_label=by.byline,
        at=_now(),
        reason=note,
    )
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=offer,
        before=before,
        after={"state": target, "version": offer.version, "step": step},
    )
    _sync_offer_case(offer.case, step, by, note)
    offer.case.refresh_from_db()
    return offer


# --- hotline calls (热线来电记录, notice 四) ---------------------------------------------------------------

HOTLINE_OPERATORS = (Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER)
# What a call may become (the operator chooses): form value → (case type, subtype).
HOTLINE_CASE_TYPES: dict[str, tuple[str, str]] = {
    "temporary:urgent": (CaseType.TEMPORARY, "urgent"),
    "temporary:expenditure": (CaseType.TEMPORARY, "expenditure"),
    "dibao": (CaseType.DIBAO, ""),
    "tekun": (CaseType.TEKUN, ""),
    "stranded": (CaseType.STRANDED, ""),
    "care": (CaseType.CARE, ""),
    "complaint": (CaseType.COMPLAINT, ""),
}
# open_case's field names → the call form's.
_CALL_FIELD_OF = {
    "applicant": "caller_id_number",
    "applicant_name": "caller_name",
    "applicant_id_number": "caller_id_number",
    "applicant_phone": "caller_phone",
    "region": "region",
    "summary": "summary",
    "case_type": "case_type",
    "subtype": "case_type",
}
MAX_CALL_AGE_DAYS = 366


def can_take_calls(user: Any) -> bool:
    """热线接听: township and district officers (and approvers) record the calls of their region."""
    return is_acting_staff(user) and user.has_role(*HOTLINE_OPERATORS)


def hotline_case_choices() -> list[tuple[str, str]]:
    from doudi.intake.models import SUBTYPES

    out = []
    for key, (case_type, subtype) in HOTLINE_CASE_TYPES.items():
        label = str(CaseType(case_type).label)
        if subtype:
            label += "（" + str(SUBTYPES[case_type][subtype]) + "）"
        out.append((key, label))
    return out


def _call_snapshot(call: HotlineCall) -> dict:
    return {
        "region": call.region_id,
        "category": call.category,
        "outcome": call.outcome,
        "caller_id_number": mask_id_number(call.caller_id_number),
        "caller_phone": mask_phone(call.caller_phone),
        "case": call.case_id,
    }


def _open_call_case(call: HotlineCall, by: Any, case_type_key: str) -> Case:
    from doudi.intake.models import Department
    from doudi.intake.services import open_case

    case_type, subtype = HOTLINE_CASE_TYPES[case_type_key]
    try:
        return open_case(
            by=by,
            case_type=case_type,
            subtype=subtype,
            channel=Channel.HOTLINE,
            region=call.region,
            summary=_("热线来电（%(cat)s）：%(summary)s")
            % {"cat": call.get_category_display(), "summary": call.summary},
            applicant=call.caller,
            applicant_name="" if call.caller else call.caller_name,
            applicant_id_number="" if call.caller else call.caller_id_number,
            applicant_phone=call.caller_phone,
            department=Department.PSYCHOLOGICAL if call.category == HotlineCategory.PSYCHOLOGICAL else "",
            details={"hotline_call": call.pk, "received_at": call.received_at.isoformat()},
        )
    except ValidationError as exc:
        raise ValidationError(
            {_CALL_FIELD_OF.get(k, NON_FIELD_ERRORS): v for k, v in exc.message_dict.items()}
        ) from exc


def _clean_received_at(errors: dict[str, str], raw: Any) -> datetime.datetime:
    now = _now()
    if not isinstance(raw, datetime.datetime):
        errors["received_at"] = _("请填写来电时间。")
        return now
    if timezone.is_naive(raw):
        raw = timezone.make_aware(raw)
    if raw > now + datetime.timedelta(minutes=5):
        errors["received_at"] = _("来电时间不能晚于现在。")
    elif raw < now - datetime.timedelta(days=MAX_CALL_AGE_DAYS):
        errors["received_at"] = _("来电时间不能早于一年前。")
    return raw


@transaction.atomic
def record_hotline_call(
    *,
    by: Any,
    submission_key: Any,
    region: Region | None,
    received_at: Any,
    category: Any,
    summary: Any,
    outcome: Any,
    answer: Any = "",
    case_type: Any = "",
    caller_name: Any = "",
    caller_id_number: Any = "",
    caller_phone: Any = "",
) -> HotlineCall:
    """热线来电记录: a call to the region's line — answered on the spot (the answer required) or
    converted at once into a one-door case (channel 热线电话) through the intake services. The same form
    sent twice (`submission_key`) is one record and at most one case."""
    require(can_take_calls(by))
    key = clean_text(submission_key)
    errors: dict[str, str] = {}
    try:
        key = str(uuid.UUID(key))
    except ValueError:
        errors[NON_FIELD_ERRORS] = _("表单已失效，请重新打开后提交。")
    else:
        earlier = HotlineCall.objects.visible_to(by).filter(submission_key=key).first()
        if earlier is not None:
            return earlier
        if HotlineCall.objects.filter(submission_key=key).exists():
            raise Conflict(_("表单已失效，请重新打开后提交。"))
    if region is None:
        errors["region"] = _("请选择来电所属区县或乡镇街道。")
    elif region.level not in (RegionLevel.DISTRICT, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        errors["region"] = _("请选择区县、乡镇街道或村社区。")
    elif not region_in_scope(by, region):
        errors["region"] = _("该区划不在您的管辖范围内。")
    when = _clean_received_at(errors, received_at)
    category = _choice(errors, "category", category, HotlineCategory.values)
    summary = clean_field_lines(errors, "summary", summary, required=True, max_length=MAX_NOTE)
    outcome = _choice(errors, "outcome", outcome, HotlineOutcome.values)
    answer = clean_field_lines(errors, "answer", answer, required=False, max_length=MAX_NOTE)
    if outcome == HotlineOutcome.ANSWERED and not answer and "answer" not in errors:
        errors["answer"] = _("当场解答的，请填写解答内容。")
    case_type = clean_text(case_type)
    if outcome == HotlineOutcome.CASE and case_type not in HOTLINE_CASE_TYPES:
        errors["case_type"] = _("转为案件的，请选择案件类型。")
    name = clean_field_text(errors, "caller_name", caller_name, required=False, max_length=64)
    id_number = _clean_id(errors, "caller_id_number", caller_id_number, required=False)
    phone = _clean_phone(errors, "caller_phone", caller_phone, required=False)
    raise_field_errors(errors)
    caller = Person.objects.visible_to(by).filter(id_number=id_number).first() if id_number else None
    call = HotlineCall.objects.create(
        region=region,
        received_at=when,
        caller_name=caller.name if caller is not None else name,
        caller_id_number=id_number,
        caller_phone=phone,
        caller=caller,
        category=category,
        summary=summary,
        outcome=outcome,
        answer=answer,
        submission_key=key,
        recorded_by=by,
        recorded_by_label=by.byline,
        recorded_at=_now(),
    )
    record(actor=by, action=AuditAction.CREATE, obj=call, after=_call_snapshot(call))
    if outcome == HotlineOutcome.CASE:
        _convert_locked(call, by, case_type)
    return call


def _convert_locked(call: HotlineCall, by: Any, case_type_key: str) -> Case:
    before = _call_snapshot(call)
    case = _open_call_case(call, by, case_type_key)
    call.case, call.outcome = case, HotlineOutcome.CASE
    call.save(update_fields=["case", "outcome"])
    record(actor=by, action=AuditAction.UPDATE, obj=call, before=before, after=_call_snapshot(call))
    return case


@transaction.atomic
def convert_hotline_call(*, by: Any, call: HotlineCall, case_type: Any) -> Case:
    """转为案件: a call answered on the spot that needs more becomes a one-door case later; a call that
    has its case already is a conflict (never a second case)."""
    require(can_take_calls(by))
    locked = HotlineCall.objects.visible_to(by).select_for_update().filter(pk=call.pk).first()
    if locked is None:
        raise PermissionDenied(_("该来电记录不在您的管辖范围内。"))
    if locked.case_id is not None:
        raise Conflict(
            _("该来电已转为案件 %(n)s，不能重复转办。") % {"n": locked.case.tracking_number}, path="case_type"
        )
    key = clean_text(case_type)
    if key not in HOTLINE_CASE_TYPES:
        raise ValidationError({"case_type": _("转为案件的，请选择案件类型。")})
    return _convert_locked(locked, by, key)


# --- care arrangements (三(四)) and placements (三(三)) --------------------------------------------------

ARRANGERS = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER)
MAX_ARRANGEMENT_DAYS = 366


def can_arrange_care(user: Any) -> bool:
    """The village visits and arranges (三(四): 由所在村(社区)上门探视，并联系安排); township and district too."""
    return is_acting_staff(user) and user.has_role(*ARRANGERS)


def _visible_person_or_403(by: Any, person: Person) -> Person:
    found = Person.objects.visible_to(by).select_related("region").filter(pk=person.pk).first()
    if found is None:
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    return found


def _any_day(errors: dict[str, str], field: str, raw: Any) -> datetime.date:
    """A date, past or future (an end date, an observation period), within a year of today."""
    today = _today()
    day = clean_day(errors, field, raw, today=today + datetime.timedelta(days=MAX_ARRANGEMENT_DAYS))
    if field not in errors and day < today - datetime.timedelta(days=MAX_ARRANGEMENT_DAYS):
        errors[field] = _("日期不能早于一年前。")
    return day


@transaction.atomic
def arrange_care(
    *,
    by: Any,
    person: Person,
    dependent_kind: Any,
    carer_name: Any,
    carer_absence: Any,
    provider_kind: Any,
    provider_name: Any,
    provider_phone: Any,
    ends_on: Any,
    starts_on: Any = None,
) -> CareArrangement:
    """照料安排 (三(四)): a dependent whose carer was isolated (confirmed, suspected, fever, close contact)
    is cared for by someone or some institution until a day; an extension or a change is a new row. The
    same arrangement twice (person, provider, from, until) is a conflict."""
    require(can_arrange_care(by))
    person = _visible_person_or_403(by, person)
    errors: dict[str, str] = {}
    kind = _choice(errors, "dependent_kind", dependent_kind, DependentKind.values)
    carer_name = clean_field_text(errors, "carer_name", carer_name, required=True, max_length=64)
    absence = _choice(errors, "carer_absence", carer_absence, CarerAbsence.values)
    provider = _choice(errors, "provider_kind", provider_kind, ProviderKind.values)
    provider_name = clean_field_text(errors, "provider_name", provider_name, required=True, max_length=100)
    phone = _clean_phone(errors, "provider_phone", provider_phone, required=True)
    start = _any_day(errors, "starts_on", starts_on or _today())
    end = _any_day(errors, "ends_on", ends_on)
    if not {"starts_on", "ends_on"} & set(errors) and end < start:
        errors["ends_on"] = _("照料截止日期不能早于起始日期。")
    raise_field_errors(errors)
    Person.objects.select_for_update().filter(pk=person.pk).first()
    previous = CareArrangement.objects.filter(person=person).order_by("-arranged_at", "-pk").first()
    row = create_once(
        CareArrangement,
        lambda: Conflict(_("同一照料安排已登记，请勿重复提交。"), path="ends_on"),
        {"person": person, "provider_name": provider_name, "starts_on": start, "ends_on": end},
        dependent_kind=kind,
        carer_name=carer_name,
        carer_absence=absence,
        provider_kind=provider,
        provider_phone=phone,
        arranged_by=by,
        arranged_by_label=by.byline,
        arranged_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=row,
        after={"person": person.pk, "provider_kind": provider, "starts_on": start, "ends_on": end},
    )
    if previous is not None and closure_of(arrangement=previous) is None:
        # The new arrangement replaces the one in force: what hung on that one ends the day before.
        from doudi.care.signals import care_ended

        care_ended.send(
            sender=CareArrangement,
            arrangement=previous,
            last_day=start - datetime.timedelta(days=1),
            reason=_("照料安排已变更"),
            by=by,
        )
    # 五: the family of an isolated person is offered psychological aid (once per dependent).
    offer_psych_aid(
        person=person,
        event_on=start,
        by=by,
        trigger=PsychAidTrigger.ISOLATED_FAMILY,
        extra={"carer": carer_name, "absence": str(CarerAbsence(absence).label)},
    )
    return row


@transaction.atomic
def place_elderly(
    *,
    by: Any,
    person: Person,
    institution: Institution | None,
    reason: Any,
    family_name: Any,
    family_phone: Any,
    consent_on: Any,
    observation_from: Any,
    observation_to: Any,
    note: Any = "",
) -> Placement:
    """入住养老机构安置 (三(三)): an elderly person left without care, placed in a nearby elderly home of
    the district after the family agreed (who, when) and after isolation observation (from–to)."""
    require(can_arrange_care(by))
    person = _visible_person_or_403(by, person)
    errors: dict[str, str] = {}
    if institution is None:
        errors["institution"] = _("请选择养老机构。")
    elif (
        not institution.active
        or institution.kind != InstitutionKind.ELDERLY_HOME
        or institution.region.district_code != person.region.district_code
    ):
        errors["institution"] = _("请选择本区县运营中的养老机构。")
    reason = _choice(errors, "reason", reason, PlacementReason.values)
    family_name = clean_field_text(errors, "family_name", family_name, required=True, max_length=64)
    phone = _clean_phone(errors, "family_phone", family_phone, required=True)
    consent = clean_day(errors, "consent_on", consent_on, today=_today())
    start = _any_day(errors, "observation_from", observation_from)
    end = _any_day(errors, "observation_to", observation_to)
    if not {"observation_from", "observation_to"} & set(errors) and end < start:
        errors["observation_to"] = _("隔离观察结束日期不能早于开始日期。")
    if not {"consent_on", "observation_from"} & set(errors) and start < consent:
        errors["observation_from"] = _("须在家属同意后再开始隔离观察。")
    note = clean_field_text(errors, "note", note, required=False, max_length=500)
    raise_field_errors(errors)
    row = create_once(
        Placement,
        lambda: Conflict(_("该老年人已登记同一机构同一日期的安置。"), path="observation_from"),
        {"person": person, "institution": institution, "observation_from": start},
        reason=reason,
        family_name=family_name,
        family_phone=phone,
        consent_on=consent,
        observation_to=end,
        note=note,
        placed_by=by,
        placed_by_label=by.byline,
        placed_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=row,
        after={
            "person": person.pk,
            "institution": institution.pk if institution else None,
            "consent_on": consent,
        },
    )
    return row


# --- closing care early (监护人返回、家属接回) ------------------------------------------------------------

MAX_CLOSURE_REASON = 500


def closure_of(
    arrangement: CareArrangement | None = None, placement: Placement | None = None
) -> CareLedger | None:
    if arrangement is not None:
        return CareLedger.objects.filter(arrangement=arrangement, action="close").first()
    return CareLedger.objects.filter(placement=placement, action="close").first()


def _closure_fields(
    errors: dict[str, str], reason_kind: Any, reason: Any, closed_on: Any, earliest: datetime.date
) -> tuple[str, str, datetime.date]:
    kind = _choice(errors, "reason_kind", reason_kind, ClosureReason.values)
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=MAX_CLOSURE_REASON)
    day = clean_day(errors, "closed_on", closed_on or _today(), today=_today())
    if "closed_on" not in errors and day < earliest:
        errors["closed_on"] = _("结束日期不能早于 %(d)s。") % {"d": earliest}
    return kind, reason, day


def _close(by: Any, subject: dict, person: Person, kind: str, reason: str, day: datetime.date) -> CareLedger:
    row = create_once(
        CareLedger,
        lambda: Conflict(_("已经结束，不能重复结束。"), path="reason"),
        subject | {"seq": 1},
        action="close",
        from_state="in_force",
        to_state="closed",
        by=by,
        by_label=by.byline,
        at=_now(),
        reason=reason,
        person=person,
        closed_on=day,
        reason_kind=kind,
    )
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=next(iter(subject.values())),
        before={"state": "in_force"},
        after={"state": "closed", "closed_on": day, "reason_kind": kind},
        reason=reason,
    )
    return row


@transaction.atomic
def close_arrangement(
    *, by: Any, arrangement: CareArrangement, reason_kind: Any, reason: Any, closed_on: Any = None
) -> CareLedger:
    """提前结束照料安排: the guardian is back, the family took the person home… — the day care ended
    (from the start to today; not after the arrangement's own end), why, in words, on the ledger; the
    volunteers' assignments on it end that day too (`care_ended`). Only the arrangement in force (the
    person's latest) can be closed; a second closure is a conflict."""
    from doudi.care.signals import care_ended

    require(can_arrange_care(by))
    person = _visible_person_or_403(by, arrangement.person)
    Person.objects.select_for_update().filter(pk=person.pk).first()  # one closer per person at a time
    latest = CareArrangement.objects.filter(person=person).order_by("-arranged_at", "-pk").first()
    if closure_of(arrangement=arrangement) is not None:
        raise Conflict(_("该照料安排已经结束。"), path="reason")
    if latest is None or latest.pk != arrangement.pk:
        raise Conflict(_("该照料安排已被新的安排替代，请结束现行的安排。"), path="reason")
    errors: dict[str, str] = {}
    kind, reason, day = _closure_fields(errors, reason_kind, reason, closed_on, arrangement.starts_on)
    if "closed_on" not in errors and day > arrangement.ends_on:
        errors["closed_on"] = _("该安排已于 %(d)s 到期，无需提前结束。") % {"d": arrangement.ends_on}
    raise_field_errors(errors)
    row = _close(by, {"arrangement": arrangement}, person, kind, reason, day)
    care_ended.send(sender=CareArrangement, arrangement=arrangement, last_day=day, reason=reason, by=by)
    return row


@transaction.atomic
def close_placement(
    *, by: Any, placement: Placement, reason_kind: Any, reason: Any, closed_on: Any = None
) -> CareLedger:
    """结束养老机构安置 (家属接回…): the day it ended — not before the family agreed, not in the future —
    and why, on the ledger; once."""
    require(can_arrange_care(by))
    person = _visible_person_or_403(by, placement.person)
    if closure_of(placement=placement) is not None:
        raise Conflict(_("该安置已经结束。"), path="reason")
    errors: dict[str, str] = {}
    kind, reason, day = _closure_fields(errors, reason_kind, reason, closed_on, placement.consent_on)
    raise_field_errors(errors)
    return _close(by, {"placement": placement}, person, kind, reason, day)
