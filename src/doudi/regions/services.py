"""Writes to the administrative tree, emergency windows (疫情防控期间) and published hotlines (热线)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.scoping import region_in_scope
from doudi.regions.models import (
    EmergencyWindow,
    EmergencyWindowEvent,
    Hotline,
    Region,
    RegionLevel,
    WindowEventKind,
    WindowScope,
)

ROOT_CODE = "500000"


def create_region(*, code: str, name: str, parent: Region | None, is_local_code: bool = False) -> Region:
    """Add a node; its level follows its parent's and its path extends the parent's."""
    if parent is None:
        level, path = RegionLevel.MUNICIPALITY, f"{code}/"
    else:
        if parent.level >= RegionLevel.VILLAGE:
            raise ValidationError({"parent": f"{parent} is a village/community and cannot have children"})
        level, path = parent.level + 1, f"{parent.path}{code}/"
    return Region.objects.create(
        code=code, name=name, level=level, parent=parent, path=path, is_local_code=is_local_code
    )


def _common_path(paths: Iterable[str]) -> str:
    """The deepest node path shared by all (the audit entry's region for a multi-district act)."""
    split = [p.strip("/").split("/") for p in paths]
    if not split:
        return f"{ROOT_CODE}/"
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common) + "/" if common else f"{ROOT_CODE}/"


# ---------------------------------------------------------------------------------------------
# Emergency windows (疫情防控期间)


def _require_municipal_admin(by: Any) -> None:
    """None is the system itself (demo and data loaders, never a web request)."""
    if by is not None and not (getattr(by, "is_authenticated", False) and by.has_role(Role.MUNICIPAL_ADMIN)):
        raise PermissionDenied(_("只有市民政管理员可以宣布或结束疫情防控期间"))


def window_snapshot(window: EmergencyWindow) -> dict:
    return {
        "name": window.name,
        "start": window.start.isoformat(),
        "end": window.end.isoformat() if window.end else None,
        "scope": window.scope,
        "districts": sorted(window.districts.values_list("code", flat=True)) if window.pk else [],
    }


def _window_region_path(window: EmergencyWindow) -> str:
    if window.scope == WindowScope.CITY:
        return f"{ROOT_CODE}/"
    return _common_path(window.districts.values_list("path", flat=True))


def _overlaps(start: date, end: date | None, other: EmergencyWindow) -> bool:
    return (other.end is None or start <= other.end) and (end is None or other.start <= end)


def _resolve_districts(districts: Iterable[Region | str]) -> list[Region]:
    codes = sorted({d.code if isinstance(d, Region) else str(d) for d in districts})
    found = Region.objects.in_bulk(codes)
    errors = []
    for code in codes:
        region = found.get(code)
        if region is None:
            errors.append(_("区划 %(c)s 不存在") % {"c": code})
        elif region.level != RegionLevel.DISTRICT:
            errors.append(_("%(r)s 不是区县") % {"r": region})
    if errors:
        raise ValidationError({"districts": errors})
    return [found[c] for c in codes]


@transaction.atomic
def declare_window(
    *,
    by: Any,
    name: str,
    start: date,
    end: date | None = None,
    districts: Iterable[Region | str] | None = None,
    reason: str,
) -> EmergencyWindow:
    """宣布疫情防控期间: city-wide when `districts` is empty, else only for the listed districts.

    Two city-wide windows may not overlap, nor two windows listing the same district; a window for
    some districts may overlap a city-wide one (it overrides it there, see selectors.effective_windows).
    """
    _require_municipal_admin(by)
    name, reason = (name or "").strip(), (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append(_("请填写名称"))
    if not reason:
        errors.setdefault("reason", []).append(_("请填写依据与理由"))
    if start is None:
        errors.setdefault("start", []).append(_("请填写开始日期"))
    elif end is not None and end < start:
        errors.setdefault("end", []).append(_("结束日期不能早于开始日期"))
    if errors:
        raise ValidationError(errors)
    regions = _resolve_districts(districts or [])
    scope = WindowScope.DISTRICTS if regions else WindowScope.CITY

    # Serialise declarations so two overlapping ones cannot both pass the check below.
    list(Region.objects.select_for_update().filter(code=ROOT_CODE).values_list("code", flat=True))
    others = EmergencyWindow.objects.filter(scope=scope).prefetch_related("districts")
    if scope == WindowScope.CITY:
        clash = [w for w in others if _overlaps(start, end, w)]
        if clash:
            raise ValidationError(
                {"start": [_("与已有的全市疫情防控期间“%(w)s”时间重叠") % {"w": w} for w in clash]}
            )
    else:
        wanted = {r.code for r in regions}
        messages = []
        for w in others:
            shared = sorted(d.name for d in w.districts.all() if d.code in wanted)
            if shared and _overlaps(start, end, w):
                messages.append(_("%(d)s 已有时间重叠的“%(w)s”") % {"d": "、".join(shared), "w": w})
        if messages:
            raise ValidationError({"districts": messages})

    window = EmergencyWindow.objects.create(
        name=name,
        start=start,
        end=end,
        scope=scope,
        reason=reason,
        declared_by=by if getattr(by, "pk", None) else None,
        declared_at=timezone.now(),
    )
    window.districts.set(regions)
    after = window_snapshot(window)
    _log_event(window, WindowEventKind.DECLARED, by=by, before=None, after=after, reason=reason)
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=window,
        region_path=_window_region_path(window),
        after=after,
        reason=reason,
    )
    return window


@transaction.atomic
def end_window(window: EmergencyWindow, end: date, by: Any, reason: str) -> EmergencyWindow:
    """宣布结束: set the end date of an open window. The declaration stays in the ledger and the audit log.

    An ended window cannot be ended again: the deferred work (exits, age-outs) is scheduled from
    the end date, so a correction is a new declaration with its own reason.
    """
    _require_municipal_admin(by)
    window = EmergencyWindow.objects.select_for_update().get(pk=window.pk)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if window.end is not None:
        errors.setdefault("end", []).append(
            _("该疫情防控期间已宣布于 %(d)s 结束") % {"d": window.end.isoformat()}
        )
    elif end is None:
        errors.setdefault("end", []).append(_("请填写结束日期"))
    elif end < window.start:
        errors.setdefault("end", []).append(
            _("结束日期不能早于开始日期（%(d)s）") % {"d": window.start.isoformat()}
        )
    if not reason:
        errors.setdefault("reason", []).append(_("请填写依据与理由"))
    if errors:
        raise ValidationError(errors)
    before = window_snapshot(window)
    window.end = end
    window.save(update_fields=["end"])
    after = window_snapshot(window)
    _log_event(window, WindowEventKind.ENDED, by=by, before=before, after=after, reason=reason)
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=window,
        region_path=_window_region_path(window),
        before=before,
        after=after,
        reason=reason,
    )
    return window


def _log_event(
    window: EmergencyWindow, kind: str, *, by: Any, before: dict | None, after: dict, reason: str
) -> None:
    EmergencyWindowEvent.objects.create(
        window=window,
        kind=kind,
        at=timezone.now(),
        by=by if getattr(by, "pk", None) else None,
        by_label=getattr(by, "username", None) or "system",
        before=before,
        after=after,
        reason=reason,
    )


# ---------------------------------------------------------------------------------------------
# Hotlines (公布的服务热线)

PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{2,24}(\s*(转|ext\.?|x)\s*[0-9]{1,6})?$", re.IGNORECASE)
HOTLINE_FIELDS = ("name", "phone", "service_hours", "note", "active", "sort_order")


def can_manage_hotlines(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(
        Role.MUNICIPAL_ADMIN, Role.DISTRICT_OFFICER
    )


def _require_hotline_manager(by: Any, district: Region) -> None:
    """Municipal admins for any district or the city; district officers for their own district only."""
    if by is None:
        return  # the system (demo loader)
    if not can_manage_hotlines(by) or not region_in_scope(by, district):
        raise PermissionDenied(_("无权管理该区县的热线"))


def _validate_hotline(*, district: Region | None, name: str, phone: str, exclude_pk: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if district is None:
        errors.setdefault("district", []).append(_("请选择区县"))
    elif district.level > RegionLevel.DISTRICT:
        errors.setdefault("district", []).append(_("热线只能属于区县或全市"))
    if not name:
        errors.setdefault("name", []).append(_("请填写热线名称"))
    if not phone:
        errors.setdefault("phone", []).append(_("请填写电话号码"))
    elif not PHONE_RE.match(phone):
        errors.setdefault("phone", []).append(_("电话号码格式不正确（例：12345、023-12345678）"))
    if not errors and district is not None:
        dup = Hotline.objects.filter(district=district, name=name, phone=phone)
        if exclude_pk is not None:
            dup = dup.exclude(pk=exclude_pk)
        if dup.exists():
            errors.setdefault("phone", []).append(_("该区县已有同名同号码的热线"))
    if errors:
        raise ValidationError(errors)


def hotline_snapshot(h: Hotline) -> dict:
    return {
        "district": h.district_id,
        "name": h.name,
        "phone": h.phone,
        "service_hours": h.service_hours,
        "note": h.note,
        "active": h.active,
        "sort_order": h.sort_order,
    }


@transaction.atomic
def create_hotline(
    *,
    by: Any,
    district: Region,
    name: str,
    phone: str,
    service_hours: str = "",
    note: str = "",
    active: bool = True,
    sort_order: int = 100,
) -> Hotline:
    """Publish a hotline for a district (or for the whole city when `district` is the municipality)."""
    if district is not None:
        _require_hotline_manager(by, district)
    name, phone = (name or "").strip(), (phone or "").strip()
    _validate_hotline(district=district, name=name, phone=phone, exclude_pk=None)
    hotline = Hotline.objects.create(
        district=district,
        name=name,
        phone=phone,
        service_hours=(service_hours or "").strip(),
        note=(note or "").strip(),
        active=active,
        sort_order=sort_order,
    )
    record(actor=by, action=AuditAction.CREATE, obj=hotline, after=hotline_snapshot(hotline))
    return hotline


@transaction.atomic
def update_hotline(*, hotline: Hotline, by: Any, district: Region | None = None, **changes: Any) -> Hotline:
    """Change a hotline's fields (deactivate with active=False); moving it needs scope over both districts."""
    unknown = set(changes) - set(HOTLINE_FIELDS)
    if unknown:
        raise ValueError(f"unknown hotline fields: {sorted(unknown)}")
    hotline = Hotline.objects.select_for_update().select_related("district").get(pk=hotline.pk)
    _require_hotline_manager(by, hotline.district)
    if district is not None and district.pk != hotline.district_id:
        _require_hotline_manager(by, district)
        hotline.district = district
    before = hotline_snapshot(hotline)
    for field, value in changes.items():
        setattr(hotline, field, value.strip() if isinstance(value, str) else value)
    _validate_hotline(
        district=hotline.district, name=hotline.name, phone=hotline.phone, exclude_pk=hotline.pk
    )
    after = hotline_snapshot(hotline)
    if after == before:
        return hotline
    hotline.save()
    record(actor=by, action=AuditAction.UPDATE, obj=hotline, before=before, after=after)
    return hotline


# ---------------------------------------------------------------------------------------------
# 盖章单位: the body that signs a district's printed notices


@transaction.atomic
def set_authority_name(*, region: Region, by: Any, name: str) -> Region:
    """Name the body that signs and seals the district's notices (blank: the default for the level,
    e.g. 重庆市渝中区民政局). Who may manage the district's hotlines may name it."""
    region = Region.objects.select_for_update().get(pk=region.pk)
    if region.level > RegionLevel.DISTRICT:
        raise ValidationError({"authority_name": _("只有市和区县可以设置盖章单位。")})
    _require_hotline_manager(by, region)
    name = " ".join((name or "").split())
    if len(name) > Region._meta.get_field("authority_name").max_length:
        raise ValidationError({"authority_name": _("盖章单位名称过长（最多64字）。")})
    if name == region.authority_name:
        return region
    before = {"authority_name": region.authority_name}
    region.authority_name = name
    region.save(update_fields=["authority_name"])
    record(actor=by, action=AuditAction.UPDATE, obj=region, before=before, after={"authority_name": name})
    return region
