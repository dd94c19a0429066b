"""The staff console (工作台): thin views over the registry's selectors and services."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.console.exports import search_export_response
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.http import flash_refusal
from doudi.intake import selectors as intake_selectors
from doudi.payments import selectors as payments_selectors
from doudi.payments import services as payments_services
from doudi.registry import selectors
from doudi.registry import services as registry_services

PAGE_SIZE = 20
ID_LIKE_RE = re.compile(r"^[\dXx]{6,}$")


class LoginView(auth_views.LoginView):
    """登录. django-axes counts failures per username+IP and answers with console/locked_out.html."""

    template_name = "console/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(failure_limit=settings.AXES_FAILURE_LIMIT, **kwargs)


class LogoutView(auth_views.LogoutView):
    """退出 (POST only, as Django requires)."""


def _search_params(request: HttpRequest) -> tuple[str, str, bool]:
    q = request.GET.get("q", "").strip()[:64]
    kind = "household" if request.GET.get("kind") == "household" else "person"
    contains = request.GET.get("match") == "contains"
    return q, kind, contains


def _search_queryset(request: HttpRequest, q: str, kind: str, contains: bool):
    if kind == "household":
        return selectors.search_households(request.user, q, contains=contains)
    return selectors.search_people(request.user, q, contains=contains)


@console_user_required
def home(request: HttpRequest) -> HttpResponse:
    """首页: the user's own work first (waiting for them, overdue, due this week — each a link to the
    filtered queue), then what lies in their region."""
    return render(
        request,
        "console/home.html",
        {"work": intake_selectors.my_work(request.user), "summary": selectors.region_summary(request.user)},
    )


@console_user_required
def search(request: HttpRequest) -> HttpResponse:
    """人员查询: exact ID number or name; results masked, capped and paginated."""
    q, kind, contains = _search_params(request)
    page = None
    truncated = False
    id_hint = False
    if q:
        id_hint = bool(ID_LIKE_RE.match(q)) and selectors.normalise_id_number(q) is None
        capped = _search_queryset(request, q, kind, contains)[: selectors.SEARCH_LIMIT]
        paginator = Paginator(capped, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        truncated = paginator.count >= selectors.SEARCH_LIMIT
    return render(
        request,
        "console/search.html",
        {
            "q": q,
            "kind": kind,
            "contains": contains,
            "page": page,
            "truncated": truncated,
            "search_limit": selectors.SEARCH_LIMIT,
            "id_hint": id_hint,
        },
    )


@console_user_required
def search_export(request: HttpRequest) -> HttpResponse:
    """The search result list as an Excel file, masked exactly like the page."""
    q, kind, contains = _search_params(request)
    if not q:
        return redirect("console:search")
    rows = _search_queryset(request, q, kind, contains)[: selectors.SEARCH_LIMIT]
    return search_export_response(request.user, q=q, kind=kind, rows=rows)


@console_user_required
def household(request: HttpRequest, pk: int) -> HttpResponse:
    """家庭详情."""
    detail = selectors.household_detail(request.user, pk)
    return render(
        request,
        "console/household.html",
        {
            "detail": detail,
            "household": detail.household,
            "can_edit": registry_services.can_write_registry(request.user),
        },
    )


@console_user_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """人员详情: the one page with the full ID number; the read is logged by the selector."""
    detail = selectors.person_detail(request.user, pk)
    return render(
        request,
        "console/person.html",
        {
            "detail": detail,
            "person": detail.person,
            "accounts": payments_selectors.person_accounts(request.user, detail.person),
            "can_propose_account": payments_services.can_propose_account(request.user),
        },
    )


@console_user_required
def duplicates(request: HttpRequest) -> HttpResponse:
    """疑似重复 queue with merge/dismiss."""
    paginator = Paginator(selectors.open_duplicates(request.user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "console/duplicates.html",
        {"page": page, "can_act": registry_services.can_write_registry(request.user)},
    )


def _resolve_duplicate(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    duplicate = get_object_or_404(selectors.open_duplicates(request.user), pk=pk)
    try:
        if action == "merge":
            keep = duplicate.other if request.POST.get("keep") == "other" else duplicate.person
            registry_services.merge_duplicate(officer=request.user, duplicate=duplicate, keep=keep)
            messages.success(request, _("已合并。"))
        else:
            registry_services.dismiss_duplicate(officer=request.user, duplicate=duplicate)
            messages.success(request, _("已标记为非重复。"))
    except (PermissionDenied, ValidationError, Conflict) as exc:
        flash_refusal(request, exc, denied=_("您没有处理疑似重复的权限。"))
    return redirect("console:duplicates")


@require_POST
@console_user_required
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _resolve_duplicate(request, pk, "merge")


@require_POST
@console_user_required
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    return _resolve_duplicate(request, pk, "dismiss")
