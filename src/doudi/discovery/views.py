"""主动发现的页面: the outreach queue, one lead with its reasons and actions, the per-district figures."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.accounts.roles import Role
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import INTEGER, Column, excel_response
from doudi.core.http import flash_refusal
from doudi.core.masking import mask_name
from doudi.core.scoping import get_visible_or_404
from doudi.discovery import reasons, selectors, services
from doudi.discovery.models import ContactMethod, Lead, LeadKind, LeadState

PAGE_SIZE = 50


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


@console_user_required
def queue(request: HttpRequest) -> HttpResponse:
    """主动发现线索: the leads of the officer's subtree, with the first reason in masked plain words."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in LeadKind.values else ""
    state = request.GET.get("state", "")
    state = state if state in LeadState.values else ""
    overdue = request.GET.get("overdue") == "1"
    today = timezone.localdate()
    qs = selectors.lead_queue(request.user, kind=kind, state=state, overdue=overdue, today=today)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ids: set[int] = set()
    for lead in page.object_list:
        ids |= reasons.person_ids(lead)
    names = {pk: mask_name(p.name) for pk, p in selectors.names_of(ids).items()}
    for lead in page.object_list:
        lead.sentences = reasons.sentences(lead, names)
        lead.overdue = lead.state == LeadState.FOUND and lead.due_on < today
    return render(
        request,
        "discovery/queue.html",
        {
            "page": page,
            "kind": kind,
            "state": state,
            "overdue": overdue,
            "kinds": LeadKind.choices,
            "states": LeadState.choices,
            "runs": selectors.latest_runs(),
            "can_sweep": request.user.has_role(Role.MUNICIPAL_ADMIN),
        },
    )


@console_user_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_for_staff(request.user, pk)
    people = selectors.names_of(reasons.person_ids(lead) | ({lead.person_id} if lead.person_id else set()))
    return render(
        request,
        "discovery/lead.html",
        {
            "lead": lead,
            "subject": people.get(lead.person_id) if lead.person_id else lead.household.head,
            "sentences": reasons.sentences(lead, {pk: p.name for pk, p in people.items()}),
            "transitions": lead.transitions.all(),
            "methods": ContactMethod.choices,
            "today": timezone.localdate(),
            "open": lead.state in (LeadState.FOUND, LeadState.CONTACTED),
        },
    )


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    lead = get_visible_or_404(Lead, request.user, pk=pk)
    try:
        action(lead)
        messages.success(request, _("已办理。"))
    except (ValidationError, PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    return redirect("discovery:lead", pk=pk)


@console_user_required
@require_POST
def lead_contact(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda lead: services.record_contact(
            lead=lead,
            by=request.user,
            method=request.POST.get("method", ""),
            contacted_on=request.POST.get("contacted_on", ""),
            note=request.POST.get("note", ""),
            expected_version=_version(request),
        ),
    )


@console_user_required
@require_POST
def lead_apply(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda lead: services.file_application(
            lead=lead, by=request.user, expected_version=_version(request)
        ),
    )


@console_user_required
@require_POST
def lead_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda lead: services.dismiss(
            lead=lead,
            by=request.user,
            reason=request.POST.get("reason", ""),
            expected_version=_version(request),
        ),
    )


@console_user_required
def districts(request: HttpRequest) -> HttpResponse:
    """主动发现统计: per district, found / contacted / applied / enrolled / dismissed / overdue."""
    rows = selectors.district_counts(request.user, today=timezone.localdate())
    return render(request, "discovery/districts.html", {"rows": rows})


@console_user_required
def districts_export(request: HttpRequest) -> HttpResponse:
    rows = selectors.district_counts(request.user, today=timezone.localdate())
    headers = [_("区县"), *(Column(str(t), INTEGER) for t in _STAT_TITLES())]
    return excel_response(
        _("主动发现统计"),
        headers,
        [[r["name"], *(r[k] for k in _STAT_KEYS)] for r in rows],
        actor=request.user,
        personal_data=False,
    )


_STAT_KEYS = ("found", "contacted", "applied", "enrolled", "dismissed", "overdue")


def _STAT_TITLES():  # noqa: N802 — a constant, translated per request
    return (_("发现"), _("已联系"), _("已申请"), _("已纳入"), _("已排除"), _("逾期未联系"))


@console_user_required
@require_POST
def request_sweep(request: HttpRequest) -> HttpResponse:
    """市民政管理员 starts a sweep now (the worker runs it); the monthly job does the same by itself."""
    if not request.user.has_role(Role.MUNICIPAL_ADMIN):
        raise PermissionDenied
    from doudi.discovery.tasks import run_sweep_task

    run_sweep_task.enqueue(timezone.localdate().isoformat())
    messages.success(request, _("已开始主动发现，完成后线索出现在清单中。"))
    return redirect("discovery:queue")
