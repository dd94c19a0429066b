"""Console pages of the rescue app (救助管理): thin views over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.care.views import day_param, submit
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.fields import require
from doudi.core.http import flash_refusal
from doudi.regions.models import RegionLevel
from doudi.regions.selectors import regions_visible_to
from doudi.rescue import selectors, services
from doudi.rescue.forms import (
    AidForm,
    ArrivalForm,
    CheckForm,
    FieldReportForm,
    OccupancyForm,
    StationForm,
    StationReferralForm,
    StrandedForm,
)


def _regions(request: HttpRequest):
    return regions_visible_to(request.user).filter(level__gte=RegionLevel.DISTRICT).order_by("path")


@console_user_required
def station_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(
        request,
        "rescue/station_list.html",
        {
            "stations": selectors.stations_for(request.user, today),
            "day": today,
            "default_line": services.default_threshold(today),
            "open_alerts": selectors.alerts_for(request.user, open_only=True),
            "can_manage": services.can_manage_stations(request.user),
            "can_report": services.can_report(request.user),
        },
    )


@console_user_required
def station_new(request: HttpRequest) -> HttpResponse:
    require(services.can_manage_stations(request.user))
    form = StationForm(request.POST or None, regions=_regions(request))
    saved, status = submit(request, form, lambda d: services.register_station(by=request.user, **d))
    if saved is not None:
        messages.success(request, _("救助管理站已登记。"))
        return redirect("rescue:station_detail", pk=saved.pk)
    return render(request, "rescue/form.html", {"form": form, "title": _("登记救助管理站")}, status=status)


@console_user_required
def station_detail(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    page = selectors.station_page(request.user, pk, today)
    return render(
        request,
        "rescue/station_detail.html",
        {
            "page": page,
            "st": page.station,
            "line": services.threshold_on(page.station, today),
            "can_work": services.can_work_stations(request.user),
        },
    )


def _station_record(
    request: HttpRequest, pk: int, form_class, service, title: str, done: str
) -> HttpResponse:
    """A day's record at a station (occupancy or infection-control check) through its service."""
    station = selectors.station_for(request.user, pk)
    require(services.can_work_stations(request.user))
    form = form_class(request.POST or None, initial={"day": timezone.localdate()})
    saved, status = submit(request, form, lambda d: service(by=request.user, station=station, **d))
    if saved is not None:
        messages.success(request, done)
        return redirect("rescue:station_detail", pk=station.pk)
    return render(request, "rescue/form.html", {"form": form, "title": title, "st": station}, status=status)


@console_user_required
def occupancy_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _station_record(
        request, pk, OccupancyForm, services.record_occupancy, _("填报在站人数"), _("在站人数已填报。")
    )


@console_user_required
def check_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _station_record(
        request, pk, CheckForm, services.record_check, _("录入疫情防控检查"), _("防控检查已录入。")
    )


@console_user_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "rescue/alerts.html",
        {
            "alerts": selectors.alerts_for(request.user)[:200],
            "can_manage": services.can_manage_stations(request.user),
        },
    )


@console_user_required
def shelter_new(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    alert = selectors.alert_for(request.user, pk) if pk is not None else None
    require(services.can_manage_stations(request.user))
    initial = {"region": alert.station.region_id} if alert is not None else {}
    form = StationForm(request.POST or None, initial=initial, regions=_regions(request))
    saved, status = submit(request, form, lambda d: services.open_shelter(by=request.user, alert=alert, **d))
    if saved is not None:
        messages.success(request, _("临时庇护场所已开设。"))
        return redirect("rescue:station_detail", pk=saved.pk)
    return render(
        request,
        "rescue/form.html",
        {"form": form, "title": _("开设临时庇护场所"), "alert": alert},
        status=status,
    )


@console_user_required
def missing_checks(request: HttpRequest) -> HttpResponse:
    day = day_param(request)
    return render(
        request,
        "rescue/missing_checks.html",
        {"rows": selectors.missing_checks(request.user, day), "day": day},
    )


@console_user_required
def report_list(request: HttpRequest) -> HttpResponse:
    return render(request, "rescue/report_list.html", {"reports": selectors.reports_for(request.user)[:200]})


@console_user_required
def report_new(request: HttpRequest) -> HttpResponse:
    require(services.can_report(request.user))
    form = FieldReportForm(
        request.POST or None,
        initial={"found_at": timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)},
        regions=_regions(request),
        stations=selectors.stations_to_guide(request.user),
    )
    saved, status = submit(request, form, lambda d: services.file_field_report(by=request.user, **d))
    if saved is not None:
        messages.success(request, _("巡查报告已提交。"))
        return redirect("rescue:report_detail", pk=saved.pk)
    return render(request, "rescue/report_form.html", {"form": form}, status=status)


@console_user_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "rescue/report_detail.html", {"r": selectors.report_detail(request.user, pk)})


# --- stranded people (二(一)–二(二)) ---------------------------------------------------------------------


@console_user_required
def stranded_list(request: HttpRequest) -> HttpResponse:
    """滞留人员: the stranded-person cases in the user's region with the aid given, and the referrals to
    the user's stations waiting for the arrival to be confirmed."""
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "rescue/stranded_list.html",
        {
            "cases": selectors.stranded_cases(request.user, open_only=not show_all)[:500],
            "show_all": show_all,
            "to_confirm": selectors.referrals_to_confirm(request.user),
            "can_help": services.can_help_stranded(request.user),
            "can_work": services.can_work_stations(request.user),
            "arrival_form": ArrivalForm(),
        },
    )


@console_user_required
def stranded_new(request: HttpRequest) -> HttpResponse:
    require(services.can_help_stranded(request.user))
    form = StrandedForm(
        request.POST or None, initial={"region": request.user.region_id}, regions=_regions(request)
    )
    case, status = submit(request, form, lambda d: services.register_stranded(by=request.user, **d))
    if case is not None:
        messages.success(request, _("已登记，受理编号 %(n)s。") % {"n": case.tracking_number})
        return redirect("rescue:stranded_detail", pk=case.pk)
    return render(request, "rescue/form.html", {"form": form, "title": _("登记滞留人员")}, status=status)


def _stranded_render(request: HttpRequest, pk: int, aid_form=None, referral_form=None, status: int = 200):
    page = selectors.stranded_page(request.user, pk)
    stations = selectors.stations_of_district(page.case.region)
    return render(
        request,
        "rescue/stranded_detail.html",
        {
            "page": page,
            "case": page.case,
            "stranded": (page.case.details or {}).get("stranded", {}),
            "can_help": services.can_help_stranded(request.user) and page.case.closed_at is None,
            "aid_form": aid_form or AidForm(initial={"given_on": timezone.localdate()}),
            "referral_form": referral_form or StationReferralForm(stations=stations),
        },
        status=status,
    )


@console_user_required
def stranded_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _stranded_render(request, pk)


@console_user_required
@require_POST
def stranded_aid(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.stranded_page(request.user, pk).case
    form = AidForm(request.POST)
    item, status = submit(request, form, lambda d: services.record_aid(by=request.user, case=case, **d))
    if item is not None:
        messages.success(request, _("帮扶明细已登记。"))
        return redirect("rescue:stranded_detail", pk=case.pk)
    return _stranded_render(request, pk, aid_form=form, status=status)


@console_user_required
@require_POST
def stranded_refer(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.stranded_page(request.user, pk).case
    form = StationReferralForm(request.POST, stations=selectors.stations_of_district(case.region))
    referral, status = submit(
        request, form, lambda d: services.refer_to_station(by=request.user, case=case, **d)
    )
    if referral is not None:
        messages.success(request, _("已转介救助管理站，待站方确认到站。"))
        return redirect("rescue:stranded_detail", pk=case.pk)
    return _stranded_render(request, pk, referral_form=form, status=status)


@console_user_required
@require_POST
def referral_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_for(request.user, pk)
    form = ArrivalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择是否到站。"))
    else:
        try:
            services.confirm_arrival(by=request.user, referral=referral, **form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, _("到站情况已确认。"))
    return redirect("rescue:stranded_list")
