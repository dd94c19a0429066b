"""Console pages of 志愿者和社会组织: thin views over services and selectors."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.care.views import submit
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import DATE, INTEGER, Column, excel_response
from doudi.core.fields import require
from doudi.core.http import flash_refusal
from doudi.core.masking import mask_phone
from doudi.core.pagination import keyset_page
from doudi.regions.models import RegionLevel
from doudi.regions.selectors import regions_visible_to
from doudi.volunteers import selectors, services
from doudi.volunteers.forms import AssignForm, EndAssignmentForm, OrganisationForm, VolunteerForm
from doudi.volunteers.models import Organisation, Skill, Volunteer

PAGE_SIZE = 50
EXPORT_LIMIT = 20_000


def _filters(request: HttpRequest) -> tuple[str, str]:
    skill = request.GET.get("skill", "")
    return (skill if skill in Skill.values else ""), request.GET.get("q", "").strip()[:50]


def _list(request: HttpRequest, model: type) -> HttpResponse:
    skill, q = _filters(request)
    is_volunteer = model is Volunteer
    qs = (selectors.volunteers_for if is_volunteer else selectors.organisations_for)(
        request.user, skill=skill, q=q
    )
    if request.GET.get("format") == "xlsx":
        return excel_response(
            f"{'volunteers' if is_volunteer else 'organisations'}-{timezone.localdate():%Y%m%d}.xlsx",
            [
                _("姓名/名称"),
                _("服务区域"),
                _("所属组织") if is_volunteer else _("组织类型"),
                _("服务技能"),
                Column(_("可同时承担的任务数"), INTEGER),
                Column(_("可服务起始日期"), DATE),
                Column(_("可服务截止日期"), DATE),
                _("联系电话"),
            ],
            (
                [
                    p.name,
                    p.region.name,
                    (getattr(p.organisation, "name", "") if is_volunteer else p.get_kind_display()),
                    p.skills_display,
                    p.capacity,
                    p.available_from,
                    p.available_to,
                    mask_phone(p.phone),
                ]
                for p in qs.order_by(*selectors.LIST_ORDER)[:EXPORT_LIMIT]
            ),
            actor=request.user,
            sheet_title=str(_("志愿者") if is_volunteer else _("社会组织")),
            object_type="volunteers.list",
        )
    page = keyset_page(
        qs,
        selectors.LIST_ORDER,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    return render(
        request,
        "volunteers/list.html",
        {
            "page": page,
            "is_volunteer": is_volunteer,
            "skills": Skill.choices,
            "skill": skill,
            "q": q,
            "can_register": services.can_register(request.user),
        },
    )


@console_user_required
def volunteer_list(request: HttpRequest) -> HttpResponse:
    """志愿者: the registry in the user's view, by name, keyset pages, Excel export (phones masked)."""
    return _list(request, Volunteer)


@console_user_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    return _list(request, Organisation)


def _regions(request: HttpRequest) -> Any:
    return regions_visible_to(request.user).filter(level__gte=RegionLevel.DISTRICT).order_by("path")


def _provider_form(request: HttpRequest, model: type, page: selectors.ProviderPage | None) -> HttpResponse:
    is_volunteer = model is Volunteer
    existing = page.provider if page is not None else None
    if request.method == "POST" or existing is None:
        require(services.can_register(request.user))
    initial: dict[str, Any] = {"available_from": timezone.localdate(), "capacity": "1"}
    if existing is not None:
        fields = ["name", "phone", "capacity", "available_from", "available_to", "note", "active"]
        fields += ["organisation"] if is_volunteer else ["kind", "contact_name"]
        initial = {f: getattr(existing, f) for f in fields} | {
            "region": existing.region_id,
            "skills": existing.skill_list,
        }
    kwargs: dict[str, Any] = {"regions": _regions(request), "initial": initial}
    if is_volunteer:
        kwargs["organisations"] = selectors.organisations_for(request.user)
    form = (VolunteerForm if is_volunteer else OrganisationForm)(request.POST or None, **kwargs)
    save = services.save_volunteer if is_volunteer else services.save_organisation
    target = {"volunteer" if is_volunteer else "organisation": existing}
    saved, status = submit(request, form, lambda d: save(by=request.user, **target, **d))
    if saved is not None:
        messages.success(request, _("已保存。"))
        return redirect("volunteers:detail" if is_volunteer else "volunteers:organisation", pk=saved.pk)
    return render(
        request,
        "volunteers/provider.html",
        {
            "form": form,
            "page": page,
            "p": existing,
            "is_volunteer": is_volunteer,
            "can_register": services.can_register(request.user),
            "today": timezone.localdate(),
        },
        status=status,
    )


@console_user_required
def volunteer_new(request: HttpRequest) -> HttpResponse:
    return _provider_form(request, Volunteer, None)


@console_user_required
def volunteer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One volunteer: the phone in full (audited), assignments, and the edit form."""
    return _provider_form(request, Volunteer, selectors.provider_page(request.user, Volunteer, pk))


@console_user_required
def organisation_new(request: HttpRequest) -> HttpResponse:
    return _provider_form(request, Organisation, None)


@console_user_required
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _provider_form(request, Organisation, selectors.provider_page(request.user, Organisation, pk))


# --- assignments ------------------------------------------------------------------------------------------


def _day(raw: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return default


def _assign_page(
    request: HttpRequest,
    *,
    person: Any,
    arrangement: Any,
    default_start: datetime.date,
    default_end: datetime.date,
) -> HttpResponse:
    """The assign page of one target: who serves now, the suggestions for the skill and days asked
    (nearest region first), the form to assign and the end buttons."""
    can_assign = services.can_assign(request.user)
    data = request.POST if request.method == "POST" else request.GET
    skill = data.get("skill", "") if data.get("skill", "") in Skill.values else Skill.ELDERCARE
    start = _day(data.get("starts_on"), default_start)
    end = max(_day(data.get("ends_on"), default_end), start)
    ranked = selectors.suggestions(request.user, person, skill, start, end)
    providers = [(s.choice, s.provider.name) for s in ranked]
    posted = request.POST.get("provider", "")
    chosen = selectors.provider_from_choice(request.user, posted) if posted else None
    if chosen is not None and posted not in dict(providers):
        providers.append((posted, chosen.name))  # a full one is refused by the service, with why
    form = AssignForm(
        request.POST or None,
        providers=providers,
        initial={"skill": skill, "starts_on": start, "ends_on": end},
    )
    if request.method == "POST":
        require(can_assign)

    def act(d: dict) -> Any:
        target = {"arrangement": arrangement} if arrangement is not None else {"person": person}
        service = services.assign_to_arrangement if arrangement is not None else services.assign_to_contacts
        return service(
            by=request.user,
            provider=chosen,
            skill=d["skill"],
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            **target,
        )

    done, status = submit(request, form, act)
    if done is not None:
        messages.success(request, _("已安排 %(name)s。") % {"name": done.provider.name})
        return redirect(request.path)
    today = timezone.localdate()
    assignments = selectors.assignments_of(
        request.user,
        arrangement=arrangement,
        person=None if arrangement is not None else person,
        purpose="" if arrangement is not None else "contact",
    )
    return render(
        request,
        "volunteers/assign.html",
        {
            "person": person,
            "arrangement": arrangement,
            "suggestions": ranked,
            "assignments": [(a, selectors.is_current(a, today)) for a in assignments],
            "form": form,
            "end_form": EndAssignmentForm(),
            "can_assign": can_assign,
            "skill": skill,
            "start": start,
            "end": end,
        },
        status=status,
    )


@console_user_required
def assign_arrangement(request: HttpRequest, pk: int) -> HttpResponse:
    """志愿服务安排 for a care arrangement: by default from today to the arrangement's end."""
    from doudi.care.selectors import arrangement_page

    page = arrangement_page(request.user, pk)
    a = page.arrangement
    today = timezone.localdate()
    return _assign_page(
        request,
        person=a.person,
        arrangement=a,
        default_start=min(max(today, a.starts_on), a.ends_on),
        default_end=a.ends_on,
    )


@console_user_required
def assign_contacts(request: HttpRequest, pk: int) -> HttpResponse:
    """志愿服务安排 for a person's contact schedule (三(四)): by default 30 days from today."""
    from doudi.care.selectors import person_contacts

    today = timezone.localdate()
    person = person_contacts(request.user, pk, today).person
    return _assign_page(
        request,
        person=person,
        arrangement=None,
        default_start=today,
        default_end=today + datetime.timedelta(days=30),
    )


@console_user_required
@require_POST
def assignment_end(request: HttpRequest, pk: int) -> HttpResponse:
    a = selectors.assignment_for(request.user, pk)
    form = EndAssignmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写结束原因。"))
    else:
        try:
            services.end_assignment(by=request.user, assignment=a, **form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, _("服务安排已结束。"))
    if a.arrangement_id:
        return redirect("volunteers:assign_arrangement", pk=a.arrangement_id)
    return redirect("volunteers:assign_contacts", pk=a.person_id)
