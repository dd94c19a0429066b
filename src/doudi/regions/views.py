"""Console screens (工作台) for emergency windows and hotlines: thin views over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.core.access import console_user_required
from doudi.core.fields import require
from doudi.core.http import flash_refusal
from doudi.core.scoping import get_visible_or_404
from doudi.regions import selectors, services
from doudi.regions.forms import HotlineForm, WindowDeclareForm, WindowEndForm
from doudi.regions.models import Hotline, RegionLevel


def _is_municipal_admin(user) -> bool:
    return user.has_role(Role.MUNICIPAL_ADMIN)


# ---------------------------------------------------------------------------------------------
# Emergency windows


@console_user_required
def window_list(request: HttpRequest) -> HttpResponse:
    """疫情防控期间: every declaration, open and ended; only municipal admins see the action buttons."""
    return render(
        request,
        "regions/window_list.html",
        {
            "windows": selectors.windows_for_staff(request.user),
            "can_manage": _is_municipal_admin(request.user),
        },
    )


@console_user_required
def window_detail(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(selectors.windows_for_staff(request.user), pk=pk)
    return render(
        request,
        "regions/window_detail.html",
        {
            "window": window,
            "events": selectors.window_history(window),
            "can_manage": _is_municipal_admin(request.user),
        },
    )


@console_user_required
def window_declare(request: HttpRequest) -> HttpResponse:
    require(_is_municipal_admin(request.user))
    form = WindowDeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            window = services.declare_window(
                by=request.user,
                name=form.cleaned_data["name"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data.get("end"),
                districts=form.cleaned_data.get("districts") or [],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已宣布疫情防控期间。"))
            return redirect("regions:window_detail", pk=window.pk)
    return render(request, "regions/window_form.html", {"form": form}, status=400 if form.errors else 200)


@console_user_required
def window_end(request: HttpRequest, pk: int) -> HttpResponse:
    require(_is_municipal_admin(request.user))
    window = get_object_or_404(selectors.windows_for_staff(request.user), pk=pk)
    form = WindowEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.end_window(window, form.cleaned_data["end"], request.user, form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已宣布疫情防控期间结束。"))
            return redirect("regions:window_detail", pk=window.pk)
    return render(
        request,
        "regions/window_end.html",
        {"form": form, "window": window},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# Hotlines


def _editable_districts(user):
    """The district (or city) nodes the user may attach a hotline to: within their own subtree."""
    return selectors.regions_visible_to(user, max_level=RegionLevel.DISTRICT).order_by("level", "code")


@console_user_required
def hotline_list(request: HttpRequest) -> HttpResponse:
    """热线管理: the hotlines in the user's region, inactive ones included."""
    district = request.GET.get("district", "").strip()[:12]
    return render(
        request,
        "regions/hotline_list.html",
        {
            "hotlines": selectors.hotlines_visible_to(request.user, district_code=district or None),
            "districts": _editable_districts(request.user),
            "district": district,
            "can_manage": services.can_manage_hotlines(request.user),
        },
    )


def _hotline_form_view(request: HttpRequest, hotline: Hotline | None) -> HttpResponse:
    require(services.can_manage_hotlines(request.user))
    initial = None
    if hotline is not None:
        initial = {f: getattr(hotline, f) for f in services.HOTLINE_FIELDS} | {
            "district": hotline.district_id
        }
    elif request.user.region and request.user.region.level <= RegionLevel.DISTRICT:
        initial = {"district": request.user.region_id}
    form = HotlineForm(request.POST or None, initial=initial, districts=_editable_districts(request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if hotline is None:
                services.create_hotline(by=request.user, **data)
            else:
                services.update_hotline(hotline=hotline, by=request.user, **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("热线已保存。"))
            return redirect("regions:hotline_list")
    return render(
        request,
        "regions/hotline_form.html",
        {"form": form, "hotline": hotline},
        status=400 if form.errors else 200,
    )


@console_user_required
def hotline_create(request: HttpRequest) -> HttpResponse:
    return _hotline_form_view(request, None)


@console_user_required
def hotline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Out of the user's region → 404, indistinguishable from a missing hotline.
    hotline = get_visible_or_404(Hotline, request.user, pk=pk)
    return _hotline_form_view(request, hotline)


# ---------------------------------------------------------------------------------------------
# 盖章单位


@console_user_required
def authority_list(request: HttpRequest) -> HttpResponse:
    """盖章单位: the body that signs each district's notices; blank keeps the default name."""
    can_manage = services.can_manage_hotlines(request.user)
    districts = _editable_districts(request.user)
    if request.method == "POST":
        require(can_manage)
        region = get_object_or_404(districts, code=request.POST.get("code", "")[:12])
        try:
            services.set_authority_name(
                region=region, by=request.user, name=request.POST.get("authority_name", "")
            )
        except ValidationError as exc:
            flash_refusal(request, exc)
        else:
            messages.success(
                request, _("%(r)s的盖章单位已保存：%(n)s。") % {"r": region.name, "n": region.seal_name}
            )
        return redirect("regions:authority_list")
    return render(request, "regions/authority_list.html", {"districts": districts, "can_manage": can_manage})
