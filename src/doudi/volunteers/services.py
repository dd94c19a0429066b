"""Writes of the volunteers app (志愿者、社会组织): one transaction each, fields cleaned inside, every write
audited. Bad input is a `ValidationError` naming the field (a volunteer over capacity names `provider`);
the same assignment twice or a step on an ended one is a `Conflict`; acting outside one's region or role
is `PermissionDenied`. See docs/care.md (志愿者和社会组织)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role, is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.care.models import CareArrangement
from doudi.care.services import can_arrange_care, closure_of
from doudi.core.errors import Conflict
from doudi.core.fields import clean_count, clean_day, clean_field_text, raise_field_errors, require
from doudi.core.masking import mask_phone
from doudi.core.scoping import region_in_scope
from doudi.core.text import clean_text
from doudi.regions.models import Region, RegionLevel
from doudi.registry.models import Person
from doudi.registry.services import clean_phone
from doudi.volunteers import rules
from doudi.volunteers.models import (
    Assignment,
    AssignmentEvent,
    AssignmentState,
    Organisation,
    OrganisationKind,
    Provider,
    Purpose,
    Skill,
    Volunteer,
)

REGISTRARS = (
    Role.VILLAGE_WORKER,
    Role.TOWNSHIP_OFFICER,
    Role.DISTRICT_OFFICER,
    Role.DISTRICT_APPROVER,
    Role.MUNICIPAL_ADMIN,
)
MAX_CAPACITY = 20  # tasks at once: more is a typing error
MAX_DAYS = 366


def _today() -> datetime.date:
    return timezone.localdate()


def can_register(user: Any) -> bool:
    """Villages, townships and districts keep the registry of their area (the city too)."""
    return is_acting_staff(user) and user.has_role(*REGISTRARS)


def can_assign(user: Any) -> bool:
    """Who arranges care (care.services.can_arrange_care) assigns volunteers to it."""
    return can_arrange_care(user)


# --- the registry ------------------------------------------------------------------------------------------


def clean_skills(errors: dict[str, str], raw: Any) -> str:
    """One or more skills of the fixed list, stored ",a,b," in the list's order."""
    values = [raw] if isinstance(raw, str) else list(raw or [])
    chosen = {clean_text(v) for v in values} - {""}
    if not chosen:
        errors["skills"] = _("请至少选择一项服务技能。")
    elif chosen - set(Skill.values):
        errors["skills"] = _("请选择有效的选项。")
    return "," + ",".join(s for s in Skill.values if s in chosen) + ","


def _clean_provider_fields(
    errors: dict[str, str],
    by: Any,
    *,
    name: Any,
    region: Region | None,
    phone: Any,
    skills: Any,
    capacity: Any,
    available_from: Any,
    available_to: Any,
    note: Any,
) -> dict[str, Any]:
    today = _today()
    cleaned: dict[str, Any] = {
        "name": clean_field_text(errors, "name", name, required=True, max_length=100),
        "skills": clean_skills(errors, skills),
        "note": clean_field_text(errors, "note", note, required=False, max_length=200),
    }
    if region is None:
        errors["region"] = _("请选择服务区域。")
    elif region.level == RegionLevel.MUNICIPALITY:
        errors["region"] = _("服务区域应为区县、乡镇街道或村社区。")
    elif not region_in_scope(by, region):
        errors["region"] = _("服务区域不在您的管辖范围内。")
    cleaned["region"] = region
    try:
        cleaned["phone"] = clean_phone(clean_text(phone))
    except ValidationError as exc:
        errors["phone"] = "；".join(exc.messages)
    else:
        if not cleaned["phone"]:
            errors["phone"] = _("请填写此项。")
    cap = clean_count(errors, "capacity", capacity, maximum=MAX_CAPACITY)
    if "capacity" not in errors and cap == 0:
        errors["capacity"] = _("应为 1 至 %(max)s 之间的整数。") % {"max": MAX_CAPACITY}
    cleaned["capacity"] = cap
    horizon = today + datetime.timedelta(days=MAX_DAYS)
    start = clean_day(errors, "available_from", available_from or today, today=horizon)
    end = None
    if clean_text(available_to) if isinstance(available_to, str) else available_to:
        end = clean_day(
            errors, "available_to", available_to, today=horizon + datetime.timedelta(days=MAX_DAYS)
        )
        if not {"available_from", "available_to"} & set(errors) and end < start:
            errors["available_to"] = _("截止日期不能早于起始日期。")
    cleaned["available_from"], cleaned["available_to"] = start, end
    return cleaned


def provider_snapshot(p: Provider) -> dict:
    return {
        "name": p.name,
        "region": p.region_id,
        "phone": mask_phone(p.phone),
        "skills": p.skills,
        "capacity": p.capacity,
        "available_from": p.available_from,
        "available_to": p.available_to,
        "active": p.active,
        "organisation": getattr(p, "organisation_id", None),
    }


def _save(by: Any, target: Provider, before: dict | None, values: dict[str, Any]) -> Provider:
    for attr, value in values.items():
        setattr(target, attr, value)
    if before is None:
        target.registered_by = by
    target.save()
    record(
        actor=by,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=target,
        before=before,
        after=provider_snapshot(target),
    )
    return target


def _lock_for_edit(by: Any, model: type[Provider], existing: Provider | None) -> Provider | None:
    require(can_register(by))
    if existing is None:
        return None
    locked = model.objects.select_for_update().select_related("region").get(pk=existing.pk)
    if not region_in_scope(by, locked.region):
        raise PermissionDenied(_("该记录不在您的管辖范围内。"))
    return locked


@transaction.atomic
def save_volunteer(
    *,
    by: Any,
    volunteer: Volunteer | None = None,
    name: Any,
    region: Region | None,
    phone: Any,
    skills: Any,
    capacity: Any = 1,
    available_from: Any = None,
    available_to: Any = None,
    organisation: Organisation | None = None,
    note: Any = "",
    active: Any = True,
) -> Volunteer:
    """登记/修改志愿者: where they serve (a node of the officer's subtree), skills, how many tasks at once,
    from and until when, phone (one registration per phone), organisation (one the officer can see)."""
    volunteer = _lock_for_edit(by, Volunteer, volunteer)  # type: ignore[assignment]
    errors: dict[str, str] = {}
    values = _clean_provider_fields(
        errors,
        by,
        name=name,
        region=region,
        phone=phone,
        skills=skills,
        capacity=capacity,
        available_from=available_from,
        available_to=available_to,
        note=note,
    )
    if values["name"] and "name" not in errors and len(values["name"]) > 64:
        errors["name"] = _("不能超过 %(n)s 个字。") % {"n": 64}
    if organisation is not None:
        from doudi.volunteers.selectors import providers_visible_to

        if not providers_visible_to(Organisation, by).filter(pk=organisation.pk, active=True).exists():
            errors["organisation"] = _("请选择本辖区在册的社会组织。")
    if "phone" not in errors:
        same = Volunteer.objects.filter(phone=values["phone"])
        if volunteer is not None:
            same = same.exclude(pk=volunteer.pk)
        if same.exists():
            errors["phone"] = _("该手机号已登记为志愿者。")
    raise_field_errors(errors)
    before = provider_snapshot(volunteer) if volunteer is not None else None
    values |= {"organisation": organisation, "active": bool(active)}
    return _save(by, volunteer or Volunteer(), before, values)  # type: ignore[return-value]


@transaction.atomic
def save_organisation(
    *,
    by: Any,
    organisation: Organisation | None = None,
    name: Any,
    kind: Any,
    region: Region | None,
    contact_name: Any,
    phone: Any,
    skills: Any,
    capacity: Any = 1,
    available_from: Any = None,
    available_to: Any = None,
    note: Any = "",
    active: Any = True,
) -> Organisation:
    """登记/修改社会组织: as a volunteer, plus its kind and contact person; a name once per region node."""
    organisation = _lock_for_edit(by, Organisation, organisation)  # type: ignore[assignment]
    errors: dict[str, str] = {}
    values = _clean_provider_fields(
        errors,
        by,
        name=name,
        region=region,
        phone=phone,
        skills=skills,
        capacity=capacity,
        available_from=available_from,
        available_to=available_to,
        note=note,
    )
    kind = clean_text(kind)
    if kind not in OrganisationKind.values:
        errors["kind"] = _("请选择有效的选项。")
    contact = clean_field_text(errors, "contact_name", contact_name, required=True, max_length=64)
    if values["name"] and region is not None and "region" not in errors:
        same = Organisation.objects.filter(region=region, name=values["name"])
        if organisation is not None:
            same = same.exclude(pk=organisation.pk)
        if same.exists():
            errors["name"] = _("该区域已有同名组织。")
    raise_field_errors(errors)
    before = provider_snapshot(organisation) if organisation is not None else None
    values |= {"kind": kind, "contact_name": contact, "active": bool(active)}
    return _save(by, organisation or Organisation(), before, values)  # type: ignore[return-value]


# --- assignments ------------------------------------------------------------------------------------------


def _event(a: Assignment, by: Any, action: str, from_state: str, reason: str = "") -> None:
    AssignmentEvent.objects.create(
        assignment=a,
        seq=a.version,
        action=action,
        from_state=from_state,
        to_state=a.state,
        by=by,
        by_label=by.byline if by is not None else "",
        at=timezone.now(),
        reason=reason,
        last_day=a.last_day,
    )


def serves_person(provider: Provider, person: Person) -> bool:
    """A provider can serve a person living under its node, or anywhere in the person's district from a
    node inside it (a village's volunteer may help the next village)."""
    p_path, own = person.region.path, provider.region.path
    district = "/".join(p_path.strip("/").split("/")[:2]) + "/"
    return p_path.startswith(own) or own.startswith(district)


def busy_periods(provider: Provider, start: datetime.date, end: datetime.date) -> list[rules.Period]:
    """The provider's assignments touching [start, end] as (first, last served day) periods."""
    field = "volunteer" if isinstance(provider, Volunteer) else "organisation"
    qs = Assignment.objects.filter(**{field: provider}, starts_on__lte=end, last_day__gte=start)
    return list(qs.values_list("starts_on", "last_day"))


def _assign(
    *,
    by: Any,
    provider: Provider | None,
    person: Person,
    purpose: str,
    arrangement: CareArrangement | None,
    skill: Any,
    starts_on: Any,
    ends_on: Any,
    latest_end: datetime.date,
    earliest_start: datetime.date,
) -> Assignment:
    from doudi.volunteers.selectors import providers_visible_to

    errors: dict[str, str] = {}
    today = _today()
    skill = clean_text(skill)
    if skill not in Skill.values:
        errors["skill"] = _("请选择有效的选项。")
    start = clean_day(errors, "starts_on", starts_on or max(today, earliest_start), today=latest_end)
    end = clean_day(errors, "ends_on", ends_on or latest_end, today=latest_end)
    if "starts_on" in errors and start > latest_end:
        errors["starts_on"] = _("起始日期不能晚于 %(d)s。") % {"d": latest_end}
    if "ends_on" in errors and end > latest_end:
        errors["ends_on"] = _("截止日期不能晚于 %(d)s。") % {"d": latest_end}
    if "starts_on" not in errors and start < max(earliest_start, today - datetime.timedelta(days=30)):
        errors["starts_on"] = _("起始日期不能早于 %(d)s。") % {
            "d": max(earliest_start, today - datetime.timedelta(days=30))
        }
    if not {"starts_on", "ends_on"} & set(errors) and end < start:
        errors["ends_on"] = _("截止日期不能早于起始日期。")
    if provider is None:
        errors["provider"] = _("请选择志愿者或社会组织。")
        raise_field_errors(errors)
    assert provider is not None
    model = type(provider)
    locked = (
        model.objects.select_for_update().select_related("region").get(pk=provider.pk)
    )  # one booking at a time
    if not providers_visible_to(model, by).filter(pk=locked.pk).exists() or not serves_person(locked, person):
        errors["provider"] = _("请选择本辖区在册的志愿者或社会组织。")
    elif not locked.active:
        errors["provider"] = _("该志愿者/组织已不在册。")
    elif "skill" not in errors and skill not in locked.skill_list:
        errors["skill"] = _("%(name)s 没有登记该项技能。") % {"name": locked.name}
    elif not {"starts_on", "ends_on"} & set(errors):
        if start < locked.available_from or (locked.available_to is not None and end > locked.available_to):
            errors["provider"] = _("%(name)s 可服务的日期为 %(f)s 至 %(t)s。") % {
                "name": locked.name,
                "f": locked.available_from,
                "t": locked.available_to or _("不限"),
            }
    raise_field_errors(errors)
    field = "volunteer" if isinstance(locked, Volunteer) else "organisation"
    same = Assignment.objects.filter(
        **{field: locked}, person=person, purpose=purpose, starts_on__lte=end, last_day__gte=start
    )
    if any(first <= last for first, last in same.values_list("starts_on", "last_day")):
        raise Conflict(_("%(name)s 在这段日期已安排为该对象服务。") % {"name": locked.name}, path="provider")
    periods = busy_periods(locked, start, end)
    if not rules.fits(locked.capacity, periods, start, end):
        raise ValidationError(
            {
                "provider": _(
                    "%(name)s 在 %(f)s 至 %(t)s 期间已有 %(n)s 项服务，达到可同时承担的上限 %(c)s 项。"
                )
                % {
                    "name": locked.name,
                    "f": start,
                    "t": end,
                    "n": rules.peak_load(periods, start, end),
                    "c": locked.capacity,
                }
            }
        )
    a = Assignment.objects.create(
        **{field: locked},
        purpose=purpose,
        arrangement=arrangement,
        person=person,
        skill=skill,
        starts_on=start,
        ends_on=end,
        last_day=end,
        state=AssignmentState.ACTIVE,
        assigned_by=by,
        assigned_at=timezone.now(),
    )
    _event(a, by, "assign", "")
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=a,
        after={field: locked.pk, "person": person.pk, "purpose": purpose, "starts_on": start, "ends_on": end},
    )
    return a


def _person_in_scope(by: Any, person: Person) -> Person:
    found = Person.objects.visible_to(by).select_related("region").filter(pk=person.pk).first()
    if found is None:
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    return found


@transaction.atomic
def assign_to_arrangement(
    *,
    by: Any,
    arrangement: CareArrangement,
    provider: Provider | None,
    skill: Any,
    starts_on: Any = None,
    ends_on: Any = None,
) -> Assignment:
    """安排志愿者参与照料: within the arrangement's days (by default from today to its end), only on the
    arrangement in force (the person's latest, not ended), within the provider's availability and
    capacity on every day of the period."""
    require(can_assign(by))
    person = _person_in_scope(by, arrangement.person)
    latest = CareArrangement.objects.filter(person=person).order_by("-arranged_at", "-pk").first()
    if latest is None or latest.pk != arrangement.pk or closure_of(arrangement=arrangement) is not None:
        raise Conflict(_("该照料安排已结束或已被新的安排替代。"), path="provider")
    if arrangement.ends_on < _today():
        raise Conflict(_("该照料安排已于 %(d)s 到期。") % {"d": arrangement.ends_on}, path="provider")
    return _assign(
        by=by,
        provider=provider,
        person=person,
        purpose=Purpose.CARE,
        arrangement=arrangement,
        skill=skill,
        starts_on=starts_on,
        ends_on=ends_on,
        latest_end=arrangement.ends_on,
        earliest_start=arrangement.starts_on,
    )


@transaction.atomic
def assign_to_contacts(
    *,
    by: Any,
    person: Person,
    provider: Provider | None,
    skill: Any,
    ends_on: Any,
    starts_on: Any = None,
) -> Assignment:
    """安排志愿者定期探访: a person on today's contact schedule (三(四)) is visited or called by the
    volunteer from–until (at most a year ahead); the contacts are still logged by the village."""
    from doudi.care.selectors import contact_schedule

    require(can_assign(by))
    person = _person_in_scope(by, person)
    today = _today()
    if not contact_schedule(today, user=by, person=person):
        raise ValidationError(_("该人员今天不在探访名单上。"))
    return _assign(
        by=by,
        provider=provider,
        person=person,
        purpose=Purpose.CONTACT,
        arrangement=None,
        skill=skill,
        starts_on=starts_on,
        ends_on=ends_on,
        latest_end=today + datetime.timedelta(days=MAX_DAYS),
        earliest_start=today - datetime.timedelta(days=30),
    )


def _cut(a: Assignment, by: Any, last_day: datetime.date, action: str, reason: str) -> Assignment:
    before = a.state
    a.last_day = max(min(last_day, a.last_day), a.starts_on - datetime.timedelta(days=1))
    a.state = AssignmentState.ENDED
    a.version += 1
    a.save(update_fields=["last_day", "state", "version"])
    _event(a, by, action, before, reason)
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=a,
        before={"state": before},
        after={"state": a.state, "last_day": a.last_day},
        reason=reason,
    )
    return a


@transaction.atomic
def end_assignment(*, by: Any, assignment: Assignment, reason: Any, last_day: Any = None) -> Assignment:
    """结束志愿服务: the last day served (default today; not after the planned end) and why. Ending an
    ended assignment is a conflict."""
    require(can_assign(by))
    a = Assignment.objects.select_for_update().select_related("person__region").get(pk=assignment.pk)
    _person_in_scope(by, a.person)
    if a.state == AssignmentState.ENDED:
        raise Conflict(_("该服务安排已结束。"), path="reason")
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=500)
    day = clean_day(errors, "last_day", last_day or min(_today(), a.last_day), today=a.last_day)
    if "last_day" in errors and day > a.last_day:
        errors["last_day"] = _("截止日期不能晚于 %(d)s。") % {"d": a.last_day}
    raise_field_errors(errors)
    return _cut(a, by, day, "end", reason)


def end_with_arrangement(
    *, arrangement: CareArrangement, last_day: datetime.date, reason: str, by: Any
) -> list[Assignment]:
    """The arrangement ended (closed early, or replaced): its assignments still running end on its last
    day, each with a ledger row naming why."""
    ended = []
    running: Iterable[Assignment] = Assignment.objects.select_for_update().filter(
        arrangement=arrangement, state=AssignmentState.ACTIVE
    )
    for a in running:
        ended.append(_cut(a, by, last_day, "care_end", reason))
    return ended


def on_care_ended(
    sender: Any, arrangement: CareArrangement, last_day: datetime.date, reason: str, by: Any, **kw: Any
) -> None:
    """care.signals.care_ended → the arrangement's assignments end with it (same transaction)."""
    end_with_arrangement(arrangement=arrangement, last_day=last_day, reason=reason, by=by)
