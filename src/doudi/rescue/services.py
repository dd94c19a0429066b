"""Writes of the rescue app (救助管理): one transaction per action, validation inside, every write audited.

Bad input is a `ValidationError` naming the field; the same day's record or the same field report
twice is a `Conflict`; acting outside one's region or role is `PermissionDenied`. See docs/rescue.md.
The field cleaning is the care app's (`clean_field_text`, `clean_count`, `clean_day`).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role, is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.care.services import can_manage_institutions
from doudi.core.errors import Conflict
from doudi.core.fields import (
    clean_count,
    clean_day,
    clean_field_text,
    create_once,
    raise_field_errors,
    require,
)
from doudi.core.masking import mask_phone
from doudi.core.scoping import region_in_scope
from doudi.core.text import clean_text
from doudi.regions.models import Region, RegionLevel
from doudi.registry.services import clean_phone
from doudi.rescue import rules
from doudi.rescue.models import (
    AidItem,
    AidKind,
    FieldReport,
    InfectionCheck,
    Occupancy,
    PatrolUnit,
    SaturationAlert,
    Station,
    StationKind,
    StationReferral,
)
from doudi.rescue.signals import saturation_alerted

MAX_CAPACITY = 100_000
MOBILE = re.compile(r"1\d{10}")
# The notice names no saturation line: the bureau's dated parameter (shipped 90 %, unverified) applies to
# every station registered without its own line.
THRESHOLD_PARAMETER = "rescue.station_threshold_percent"

STATION_WORKERS = (Role.RESCUE_STATION, Role.DISTRICT_OFFICER, Role.TOWNSHIP_OFFICER)
REPORTERS = (
    Role.PATROL_REPORTER,
    Role.RESCUE_STATION,
    Role.VILLAGE_WORKER,
    Role.TOWNSHIP_OFFICER,
    Role.DISTRICT_OFFICER,
)


def _now() -> datetime.datetime:
    return timezone.now()


def _acting(user: Any, roles: tuple[Role, ...]) -> bool:
    return is_acting_staff(user) and user.has_role(*roles)


def can_manage_stations(user: Any) -> bool:
    """Register stations and open temporary shelters: the officers who register institutions (care)."""
    return can_manage_institutions(user)


def can_work_stations(user: Any) -> bool:
    """Record occupancy and infection-control checks: station staff and the officers above them."""
    return _acting(user, STATION_WORKERS)


def can_report(user: Any) -> bool:
    """File a patrol's field report."""
    return _acting(user, REPORTERS)


def _require_station(user: Any, station: Station) -> None:
    require(can_work_stations(user))
    if not region_in_scope(user, station.region):
        raise PermissionDenied(_("该救助管理站不在您的管辖范围内。"))


def _clean_region(errors: dict[str, str], by: Any, region: Region | None) -> None:
    if region is None:
        errors["region"] = _("请选择所在区划。")
    elif region.level == RegionLevel.MUNICIPALITY:
        errors["region"] = _("所在区划应为区县、乡镇街道或村社区。")
    elif not region_in_scope(by, region):
        errors["region"] = _("所在区划不在您的管辖范围内。")


def same_district(a: Region, b: Region) -> bool:
    """A patrol guides a person to a station of the district they were found in (a township's patrol
    to its district's station, above the patrol's own node)."""
    return a.district_code is not None and a.district_code == b.district_code


def station_snapshot(s: Station) -> dict:
    return {
        "name": s.name,
        "kind": s.kind,
        "region": s.region_id,
        "address": s.address,
        "capacity": s.capacity,
        "threshold_percent": s.threshold_percent,
        "alert_phone": mask_phone(s.alert_phone),
        "active": s.active,
    }


def _create_station(
    *,
    by: Any,
    kind: str,
    name: Any,
    region: Region | None,
    capacity: Any,
    threshold_percent: Any,
    address: Any,
    alert_phone: Any,
) -> Station:
    errors: dict[str, str] = {}
    name = clean_field_text(errors, "name", name, required=True, max_length=100)
    _clean_region(errors, by, region)
    capacity_n = clean_count(errors, "capacity", capacity, maximum=MAX_CAPACITY)
    if "capacity" not in errors and capacity_n == 0:
        errors["capacity"] = _("床位数应大于 0。")
    threshold: int | None = None
    if clean_text(threshold_percent):  # blank: the bureau's dated parameter applies
        threshold = clean_count(errors, "threshold_percent", threshold_percent, maximum=100)
        if "threshold_percent" in errors or threshold == 0:
            errors["threshold_percent"] = _("预警线应为 1 至 100 之间的整数；留空按市民政局参数。")
    address = clean_field_text(errors, "address", address, required=False, max_length=200)
    try:
        phone = clean_phone(clean_text(alert_phone))
    except ValidationError as exc:
        errors["alert_phone"] = "；".join(exc.messages)
        phone = ""
    if phone and not MOBILE.fullmatch(phone):
        errors["alert_phone"] = _("请填写11位手机号码（用于接收预警短信）。")
    if name and "region" not in errors and Station.objects.filter(region=region, name=name).exists():
        errors["name"] = _("该区划已有同名救助管理站或临时庇护场所。")
    raise_field_errors(errors)
    station = Station.objects.create(
        name=name,
        kind=kind,
        region=region,
        capacity=capacity_n,
        threshold_percent=threshold,
        address=address,
        alert_phone=phone,
        created_by=by,
    )
    record(actor=by, action=AuditAction.CREATE, obj=station, after=station_snapshot(station))
    return station


@transaction.atomic
def register_station(
    *,
    by: Any,
    name: Any,
    region: Region | None,
    capacity: Any,
    threshold_percent: Any = "",
    address: Any = "",
    alert_phone: Any = "",
) -> Station:
    """登记救助管理站 (threshold blank: the bureau's dated parameter applies)."""
    require(can_manage_stations(by))
    return _create_station(
        by=by,
        kind=StationKind.STATION,
        name=name,
        region=region,
        capacity=capacity,
        threshold_percent=threshold_percent,
        address=address,
        alert_phone=alert_phone,
    )


@transaction.atomic
def open_shelter(
    *,
    by: Any,
    name: Any,
    region: Region | None,
    capacity: Any,
    threshold_percent: Any = "",
    address: Any = "",
    alert_phone: Any = "",
    alert: SaturationAlert | None = None,
) -> Station:
    """开设临时庇护场所: a district officer opens a shelter, in answer to an alert or not; the alert
    (locked) then names the shelter, once."""
    require(can_manage_stations(by))
    if alert is not None:
        alert = SaturationAlert.objects.select_for_update().select_related("station__region").get(pk=alert.pk)
        if not region_in_scope(by, alert.station.region):
            raise PermissionDenied(_("该救助管理站不在您的管辖范围内。"))
        if alert.shelter_id is not None:
            raise Conflict(_("已为该预警开设临时庇护场所。"))
    shelter = _create_station(
        by=by,
        kind=StationKind.SHELTER,
        name=name,
        region=region,
        capacity=capacity,
        threshold_percent=threshold_percent,
        address=address,
        alert_phone=alert_phone,
    )
    if alert is not None:
        alert.shelter = shelter
        alert.save(update_fields=["shelter"])
        record(actor=by, action=AuditAction.UPDATE, obj=alert, after={"shelter": shelter.pk})
    return shelter


def threshold_on(station: Station, day: datetime.date) -> int | None:
    """The station's saturation line on `day`: its own, else the bureau's parameter in force then
    (None: no value in force — no alert can be raised)."""
    if station.threshold_percent is not None:
        return station.threshold_percent
    return default_threshold(day)


def default_threshold(day: datetime.date) -> int | None:
    from doudi.parameters.selectors import current_parameters

    found = current_parameters().value_at(THRESHOLD_PARAMETER, day)
    return None if found is None else int(found.value)


def _conflict(message: str):
    return lambda: Conflict(message)


@transaction.atomic
def record_occupancy(*, by: Any, station: Station, day: Any, occupants: Any) -> Occupancy:
    """填报在站人数 for a day; reaching the station's threshold raises the district's alert (once a day)."""
    _require_station(by, station)
    errors: dict[str, str] = {}
    day = clean_day(errors, "day", day, today=timezone.localdate())
    n = clean_count(errors, "occupants", occupants, maximum=MAX_CAPACITY)
    if "occupants" not in errors and n > station.capacity:
        errors["occupants"] = _("在站人数不能超过床位数（%(n)s）。") % {"n": station.capacity}
    raise_field_errors(errors)
    row = create_once(
        Occupancy,
        _conflict(_("该站当日在站人数已填报。")),
        {"station": station, "day": day},
        occupants=n,
        recorded_by=by,
        recorded_at=_now(),
    )
    record(actor=by, action=AuditAction.CREATE, obj=row, after={"day": day, "occupants": n})
    line = threshold_on(station, day)
    if line is not None and rules.saturated(occupants=n, capacity=station.capacity, threshold_percent=line):
        alert, created = SaturationAlert.objects.get_or_create(
            station=station,
            day=day,
            defaults={
                "occupants": n,
                "capacity": station.capacity,
                "threshold_percent": line,
                "raised_at": _now(),
            },
        )
        if created:
            record(actor=by, action=AuditAction.CREATE, obj=alert, after={"day": day, "occupants": n})
            saturation_alerted.send(sender=SaturationAlert, alert=alert)
    return row


def _yes_no(raw: Any) -> str:
    """A form's "yes"/"no" (or a bool from code) as "yes", "no" or "" (not answered)."""
    return clean_text(raw if isinstance(raw, str) else {True: "yes", False: "no"}.get(raw, ""))


def _flag(raw: Any) -> bool:
    return raw is True or clean_text(raw).lower() in {"1", "true", "on", "yes"}


@transaction.atomic
def record_check(
    *,
    by: Any,
    station: Station,
    day: Any,
    note: Any = "",
    **items: Any,
) -> InfectionCheck:
    """录入疫情防控检查 for a day, item by item (an item not ticked is a failed item; the note says
    what was wrong and how it was put right, and is required then)."""
    _require_station(by, station)
    unknown = set(items) - set(InfectionCheck.ITEMS)
    if unknown:
        raise ValueError(f"unknown check items {sorted(unknown)}")
    errors: dict[str, str] = {}
    day = clean_day(errors, "day", day, today=timezone.localdate())
    flags = {item: _flag(items.get(item, False)) for item in InfectionCheck.ITEMS}
    note = clean_field_text(errors, "note", note, required=not all(flags.values()), max_length=500)
    raise_field_errors(errors)
    row = create_once(
        InfectionCheck,
        _conflict(_("该站当日防控检查已录入。")),
        {"station": station, "day": day},
        note=note,
        checked_by=by,
        recorded_at=_now(),
        **flags,
    )
    record(actor=by, action=AuditAction.CREATE, obj=row, after={"day": day, **flags})
    return row


def _clean_found_at(errors: dict[str, str], raw: Any) -> datetime.datetime:
    now = _now()
    value = raw
    if isinstance(raw, str):
        try:
            value = datetime.datetime.fromisoformat(clean_text(raw))
        except ValueError:
            value = None
    if not isinstance(value, datetime.datetime):
        errors["found_at"] = _("请填写发现时间。")
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + datetime.timedelta(minutes=5):
        errors["found_at"] = _("发现时间不能晚于现在。")
    return value


@transaction.atomic
def file_field_report(
    *,
    by: Any,
    unit_kind: Any,
    unit_name: Any,
    reporter_name: Any,
    region: Region | None,
    place: Any,
    found_at: Any,
    description: Any,
    fever: Any = False,
    dry_cough: Any = False,
    quarantine_site: Any = "",
    station: Station | None = None,
    accepted: Any = None,
) -> FieldReport:
    """巡查报告: the rule (`rules.refer`) decides the destination; the report then needs the receiving
    quarantine-observation site, or the station the person was guided to and whether they accepted."""
    require(can_report(by))
    errors: dict[str, str] = {}
    unit_kind = clean_text(unit_kind)
    if unit_kind not in PatrolUnit.values:
        errors["unit_kind"] = _("请选择有效的选项。")
    unit_name = clean_field_text(errors, "unit_name", unit_name, required=True, max_length=100)
    reporter_name = clean_field_text(errors, "reporter_name", reporter_name, required=True, max_length=64)
    _clean_region(errors, by, region)
    place = clean_field_text(errors, "place", place, required=True, max_length=200)
    when = _clean_found_at(errors, found_at)
    description = clean_field_text(errors, "description", description, required=True, max_length=500)
    referral = rules.refer(fever=_flag(fever), dry_cough=_flag(dry_cough))
    site = clean_field_text(errors, "quarantine_site", quarantine_site, required=False, max_length=100)
    took: bool | None = None
    if referral.destination == rules.Destination.QUARANTINE:
        if not site:
            errors["quarantine_site"] = _("有发热或干咳症状，请填写接收的集中隔离观察点。")
        station = None
    else:
        site = ""
        if station is None:
            errors["station"] = _("请选择引导前往的救助管理站。")
        elif not station.active or (region is not None and not same_district(station.region, region)):
            errors["station"] = _("请选择发现地所在区县运营中的救助管理站。")
        answer = _yes_no(accepted)
        if answer not in {"yes", "no"}:
            errors["accepted"] = _("请选择本人是否接受救助。")
        took = answer == "yes"
    raise_field_errors(errors)
    report = create_once(
        FieldReport,
        _conflict(_("同一时间、地点的同一人员已报告过。")),
        {"region": region, "found_at": when, "place": place, "description": description},
        unit_kind=unit_kind,
        unit_name=unit_name,
        reporter_name=reporter_name,
        fever=_flag(fever),
        dry_cough=_flag(dry_cough),
        destination=referral.destination,
        reason=referral.reason,
        quarantine_site=site,
        station=station,
        accepted=took,
        recorded_by=by,
        recorded_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=report,
        after={"destination": report.destination, "station": report.station_id, "site": site},
    )
    return report


# --- stranded people and vagrants (二(一)–二(二)) ----------------------------------------------------------

MAX_AID_QUANTITY = 10_000
MAX_AID_FEN = 100_000_00  # 100 000 yuan for one item: above it, a typing error
STRANDED_WORKERS = (
    Role.RESCUE_STATION,
    Role.PATROL_REPORTER,
    Role.VILLAGE_WORKER,
    Role.TOWNSHIP_OFFICER,
    Role.DISTRICT_OFFICER,
)


def can_help_stranded(user: Any) -> bool:
    """Register a stranded person, record in-kind aid, refer to a station: station staff, patrols (二(三):
    they guide people to the station), villages, townships and districts."""
    return _acting(user, STRANDED_WORKERS)


def clean_yuan_to_fen(errors: dict[str, str], field: str, raw: Any, *, maximum: int = MAX_AID_FEN) -> int:
    """A yuan amount typed with at most two decimals ("12", "12.5", "12.50") as exact fen, 0 to `maximum`."""
    from decimal import Decimal, InvalidOperation

    from doudi.policy.money import yuan_to_fen

    text = clean_text(raw).replace(",", "").replace("元", "").replace("¥", "").strip()
    if not text:
        errors[field] = _("请填写此项。")
        return 0
    try:
        value = Decimal(text)
        fen = yuan_to_fen(value) if value.is_finite() else None
    except (InvalidOperation, ValueError):
        fen = None
    if fen is None:
        errors[field] = _("请填写金额（元），最多两位小数。")
        return 0
    if not 0 <= fen <= maximum:
        errors[field] = _("金额应在 0 至 %(max)s 元之间。") % {"max": maximum // 100}
    return fen


def _stranded_case(by: Any, case: Any) -> Any:
    from doudi.intake.models import Case, CaseType

    require(can_help_stranded(by))
    case = Case.objects.select_for_update().select_related("region").get(pk=case.pk)
    if case.case_type != CaseType.STRANDED:
        raise ValidationError({"case": _("只有滞留人员救助案件可以登记实物帮扶或转介救助管理站。")})
    if not region_in_scope(by, case.region):
        raise PermissionDenied(_("该案件不在您的管辖范围内。"))
    if case.closed_at is not None:
        raise Conflict(_("该案件已办结。"), path="state")
    return case


@transaction.atomic
def register_stranded(
    *,
    by: Any,
    region: Region | None,
    situation: Any,
    name: Any = "",
    id_number: Any = "",
    phone: Any = "",
    origin: Any = "",
    destination: Any = "",
    vagrant: Any = False,
) -> Any:
    """登记滞留人员 (二(一)–二(二)): a one-door case (滞留人员救助) where the person is — a non-local person,
    identity from any province or none — with where they come from and are trying to reach. A vagrant or
    beggar (流浪乞讨) is flagged for referral to the station."""
    from doudi.intake.models import CaseType, Channel
    from doudi.intake.services import open_case

    require(can_help_stranded(by))
    errors: dict[str, str] = {}
    name = clean_field_text(errors, "name", name, required=False, max_length=64)
    situation = clean_field_text(errors, "situation", situation, required=True, max_length=2000)
    origin = clean_field_text(errors, "origin", origin, required=False, max_length=100)
    destination = clean_field_text(errors, "destination", destination, required=False, max_length=100)
    _clean_region(errors, by, region)
    raise_field_errors(errors)
    is_vagrant = _flag(vagrant)
    summary = _("滞留人员：%(s)s") % {"s": situation}
    if origin or destination:
        summary += _("（来自 %(o)s，欲往 %(d)s）") % {"o": origin or "—", "d": destination or "—"}
    try:
        return open_case(
            by=by,
            case_type=CaseType.STRANDED,
            channel=Channel.WALK_IN,
            region=region,
            summary=summary,
            applicant_name=name,
            applicant_id_number=clean_text(id_number),
            applicant_phone=clean_text(phone),
            details={"stranded": {"origin": origin, "destination": destination, "vagrant": is_vagrant}},
        )
    except ValidationError as exc:
        # The intake's field names, as the form names them.
        renamed = {"applicant_id_number": "id_number", "applicant_phone": "phone", "applicant_name": "name"}
        raise ValidationError({renamed.get(k, k): v for k, v in exc.message_dict.items()}) from None


@transaction.atomic
def record_aid(
    *,
    by: Any,
    case: Any,
    kind: Any,
    quantity: Any,
    unit: Any,
    amount: Any,
    description: Any = "",
    given_on: Any = None,
) -> AidItem:
    """实物帮扶: one item given to a stranded person (lodging nights, meals, clothing, a ticket home), with
    its quantity and its value in exact fen. The same item twice (same kind, content, quantity, unit,
    value and day) is a conflict — a second click, not a second meal."""
    case = _stranded_case(by, case)
    errors: dict[str, str] = {}
    kind = clean_text(kind)
    if kind not in AidKind.values:
        errors["kind"] = _("请选择有效的选项。")
    description = clean_field_text(
        errors, "description", description, required=kind == AidKind.OTHER, max_length=100
    )
    n = clean_count(errors, "quantity", quantity, maximum=MAX_AID_QUANTITY)
    if "quantity" not in errors and n == 0:
        errors["quantity"] = _("数量应大于 0。")
    unit = clean_field_text(errors, "unit", unit, required=True, max_length=8)
    fen = clean_yuan_to_fen(errors, "amount", amount)
    day = clean_day(errors, "given_on", given_on or timezone.localdate(), today=timezone.localdate())
    if "given_on" not in errors and day < timezone.localdate(case.filed_at):
        errors["given_on"] = _("发放日期不能早于登记日期。")
    raise_field_errors(errors)
    item = create_once(
        AidItem,
        _conflict(_("同一帮扶明细已登记，请勿重复提交。")),
        {
            "case": case,
            "kind": kind,
            "description": description,
            "quantity": n,
            "unit": unit,
            "amount_fen": fen,
            "given_on": day,
        },
        recorded_by=by,
        recorded_at=_now(),
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=item,
        after={
            "case": case.pk,
            "kind": kind,
            "quantity": n,
            "unit": unit,
            "amount_fen": fen,
            "given_on": day,
        },
    )
    return item


@transaction.atomic
def refer_to_station(*, by: Any, case: Any, station: Station | None, note: Any) -> StationReferral:
    """转介救助管理站 (二(二)): a vagrant or beggar is referred to an active station of the case's district;
    the station then confirms the arrival. Once per case."""
    case = _stranded_case(by, case)
    errors: dict[str, str] = {}
    note = clean_field_text(errors, "note", note, required=True, max_length=500)
    if station is None:
        errors["station"] = _("请选择救助管理站。")
    elif not station.active or not same_district(station.region, case.region):
        errors["station"] = _("请选择案件所在区县运营中的救助管理站。")
    raise_field_errors(errors)
    assert station is not None
    referral = create_once(
        StationReferral,
        _conflict(_("该案件已转介救助管理站。")),
        {"case": case},
        station=station,
        note=note,
        referred_by=by,
        referred_at=_now(),
    )
    record(actor=by, action=AuditAction.CREATE, obj=referral, after={"case": case.pk, "station": station.pk})
    return referral


@transaction.atomic
def confirm_arrival(*, by: Any, referral: StationReferral, arrived: Any, note: Any = "") -> StationReferral:
    """到站确认: the station's staff (or the officers above it) say whether the referred person arrived;
    once."""
    referral = (
        StationReferral.objects.select_for_update().select_related("station__region").get(pk=referral.pk)
    )
    _require_station(by, referral.station)
    if referral.answered_at is not None:
        raise Conflict(_("该转介已确认。"), path="arrived")
    errors: dict[str, str] = {}
    answer = _yes_no(arrived)
    if answer not in {"yes", "no"}:
        errors["arrived"] = _("请选择是否到站。")
    note = clean_field_text(errors, "note", note, required=answer == "no", max_length=500)
    raise_field_errors(errors)
    referral.arrived, referral.answered_at, referral.answered_by = answer == "yes", _now(), by
    referral.answer_note = note
    referral.save(update_fields=["arrived", "answered_at", "answered_by", "answer_note"])
    record(actor=by, action=AuditAction.UPDATE, obj=referral, after={"arrived": referral.arrived})
    return referral
