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
    FieldReport,
    InfectionCheck,
    Occupancy,
    PatrolUnit,
    SaturationAlert,
    Station,
    StationKind,
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
        answer = clean_text(
            accepted if isinstance(accepted, str) else {True: "yes", False: "no"}.get(accepted, "")
        )
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
