"""Console pages of the care app (关爱服务): thin views over services and selectors."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from doudi.care import rules, selectors, services
from doudi.care.forms import (
    AcknowledgeForm,
    ArrangementForm,
    CareArrangementForm,
    ChildFollowUpForm,
    ChildReportForm,
    CloseCareForm,
    ContactForm,
    DailyReportForm,
    HotlineCallForm,
    HotlineConvertForm,
    HotlineFilterForm,
    InstitutionForm,
    OutingForm,
    PlacementForm,
    PsychAidStepForm,
    ReturnForm,
    RiskAreaForm,
    ScreeningForm,
)
from doudi.care.models import InstitutionKind
from doudi.care.rules import Outcome
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import DATE, INTEGER, Column, excel_response
from doudi.core.fields import require
from doudi.core.http import flash_refusal
from doudi.core.masking import mask_id_number, mask_phone
from doudi.core.pagination import keyset_page, ordering
from doudi.regions.models import RegionLevel
from doudi.regions.selectors import regions_visible_to


def submit(request: HttpRequest, form: Any, action: Callable[[dict], Any]) -> tuple[Any, int]:
    """Run a service with a valid form's data: (result, 200), or (None, 400) with the service's field
    errors on the form, or (None, 409) with a Conflict's message at the top of the form."""
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, 400
    try:
        return action(form.cleaned_data), 200
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None, 400
    except Conflict as exc:
        form.add_error(None, exc.message)
        return None, 409


def day_param(request: HttpRequest) -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get("day", "").strip()[:10])
    except ValueError:
        return timezone.localdate()


# --- institutions -----------------------------------------------------------------------------------


@console_user_required
def institution_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in InstitutionKind.values else ""
    q = request.GET.get("q", "").strip()[:100]
    return render(
        request,
        "care/institution_list.html",
        {
            "institutions": selectors.institutions_for(request.user, kind=kind, q=q),
            "kinds": InstitutionKind.choices,
            "kind": kind,
            "q": q,
            "can_manage": services.can_manage_institutions(request.user),
        },
    )


def _institution_form(request: HttpRequest, institution) -> HttpResponse:
    require(services.can_manage_institutions(request.user))
    regions = regions_visible_to(request.user).filter(level__gte=RegionLevel.DISTRICT).order_by("path")
    initial = None
    if institution is not None:
        initial = {
            f: getattr(institution, f)
            for f in ("name", "kind", "address", "capacity", "contact_name", "contact_phone", "active")
        } | {"region": institution.region_id}
    form = InstitutionForm(request.POST or None, initial=initial, regions=regions)
    saved, status = submit(
        request,
        form,
        lambda d: services.save_institution(by=request.user, institution=institution, **d),
    )
    if saved is not None:
        messages.success(request, _("机构信息已保存。"))
        return redirect("care:institution_detail", pk=saved.pk)
    return render(
        request, "care/institution_form.html", {"form": form, "institution": institution}, status=status
    )


@console_user_required
def institution_new(request: HttpRequest) -> HttpResponse:
    return _institution_form(request, None)


@console_user_required
def institution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _institution_form(request, selectors.institution_for(request.user, pk))


@console_user_required
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = selectors.institution_page(request.user, pk, timezone.localdate())
    return render(
        request,
        "care/institution_detail.html",
        {
            "page": page,
            "inst": page.institution,
            "can_work": services.can_work_institutions(request.user),
            "can_manage": services.can_manage_institutions(request.user),
            "return_form": ReturnForm(),
        },
    )


# --- screening, outings, daily report ---------------------------------------------------------------------


@console_user_required
def screening_new(request: HttpRequest, pk: int) -> HttpResponse:
    inst = selectors.institution_for(request.user, pk)
    require(services.can_work_institutions(request.user))
    form = ScreeningForm(request.POST or None, initial={"person_kind": "resident", "admission_kind": "new"})
    screening, status = submit(
        request, form, lambda d: services.record_screening(by=request.user, institution=inst, **d)
    )
    if screening is not None:
        level = {Outcome.PASS: messages.SUCCESS, Outcome.HOLD: messages.WARNING}.get(
            screening.outcome, messages.ERROR
        )
        messages.add_message(request, level, _("筛查结论：%(o)s。") % {"o": screening.get_outcome_display()})
        return redirect("care:screening_detail", pk=screening.pk)
    areas = services.areas_in_force(inst.region, timezone.localdate())
    return render(
        request, "care/screening_form.html", {"form": form, "inst": inst, "areas": areas}, status=status
    )


@console_user_required
def screening_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "care/screening_detail.html", {"s": selectors.screening_detail(request.user, pk)})


@console_user_required
def outing_new(request: HttpRequest, pk: int) -> HttpResponse:
    inst = selectors.institution_for(request.user, pk)
    require(services.can_work_institutions(request.user))
    form = OutingForm(request.POST or None)
    outing, status = submit(
        request, form, lambda d: services.record_outing(by=request.user, institution=inst, **d)
    )
    if outing is not None:
        messages.success(request, _("外出就医已登记。"))
        return redirect("care:institution_detail", pk=inst.pk)
    return render(request, "care/outing_form.html", {"form": form, "inst": inst}, status=status)


@console_user_required
@require_POST
def outing_return(request: HttpRequest, pk: int) -> HttpResponse:
    outing = selectors.outing_for(request.user, pk)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("返回时间格式不正确。"))
    else:
        try:
            services.record_return(
                by=request.user,
                outing=outing,
                returned_at=form.cleaned_data.get("returned_at"),
                note=form.cleaned_data.get("return_note", ""),
            )
        except (ValidationError, Conflict) as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, _("已登记返回。"))
    return redirect("care:institution_detail", pk=outing.institution_id)


@console_user_required
def report_new(request: HttpRequest, pk: int) -> HttpResponse:
    inst = selectors.institution_for(request.user, pk)
    require(services.can_work_institutions(request.user))
    form = DailyReportForm(request.POST or None, initial={"day": timezone.localdate(), "symptomatic": "0"})
    report, status = submit(
        request, form, lambda d: services.submit_daily_report(by=request.user, institution=inst, **d)
    )
    if report is not None:
        messages.success(request, _("日报已报送。"))
        return redirect("care:institution_detail", pk=inst.pk)
    return render(request, "care/report_form.html", {"form": form, "inst": inst}, status=status)


# --- missing daily reports ------------------------------------------------------------------------------


@console_user_required
def missing_reports(request: HttpRequest) -> HttpResponse:
    """日报缺报: the institutions in the user's region without a daily report for the day."""
    day = day_param(request)
    rows = selectors.missing_reports(day, user=request.user)
    if request.GET.get("format") == "xlsx":
        return excel_response(
            f"care-missing-reports-{day:%Y%m%d}.xlsx",
            [
                _("区县"),
                _("所在区划"),
                _("机构名称"),
                _("机构类型"),
                _("联系人"),
                _("联系电话"),
                Column(_("日期"), DATE),
            ],
            (
                [
                    getattr(selectors.district_of(i.region), "name", ""),
                    i.region.name,
                    i.name,
                    i.get_kind_display(),
                    i.contact_name,
                    mask_phone(i.contact_phone),
                    day,
                ]
                for i in rows
            ),
            actor=request.user,
            sheet_title=_("日报缺报"),
            object_type="care.missing_reports",
        )
    return render(request, "care/missing_reports.html", {"rows": rows, "day": day})


# --- the high-risk list ---------------------------------------------------------------------------------


@console_user_required
def risk_areas(request: HttpRequest) -> HttpResponse:
    can_keep = services.can_keep_risk_list(request.user)
    form = RiskAreaForm(request.POST or None, initial={"listed_on": timezone.localdate()})
    if request.method == "POST":
        require(can_keep)
    area, status = submit(request, form, lambda d: services.list_risk_area(by=request.user, **d))
    if area is not None:
        messages.success(request, _("已列入高风险地区名单：%(n)s。") % {"n": area.name})
        return redirect("care:risk_areas")
    show_lifted = request.GET.get("all") == "1"
    return render(
        request,
        "care/risk_areas.html",
        {
            "areas": selectors.risk_areas_for(request.user, include_lifted=show_lifted),
            "form": form,
            "can_keep": can_keep,
            "show_lifted": show_lifted,
            "today": timezone.localdate(),
        },
        status=status,
    )


@console_user_required
@require_POST
def risk_area_lift(request: HttpRequest, pk: int) -> HttpResponse:
    area = get_object_or_404(selectors.risk_areas_for(request.user, include_lifted=True), pk=pk)
    try:
        services.lift_risk_area(by=request.user, area=area, lifted_on=request.POST.get("lifted_on", ""))
    except (ValidationError, Conflict, PermissionDenied) as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, _("已移出名单：%(n)s。") % {"n": area.name})
    return redirect("care:risk_areas")


# --- contact schedules (三(四)) -------------------------------------------------------------------------


@console_user_required
def overdue_contacts(request: HttpRequest) -> HttpResponse:
    """探访逾期: people in the user's region whose contact is overdue (`?all=1`: the whole schedule)."""
    day = timezone.localdate()
    show_all = request.GET.get("all") == "1"
    rows = selectors.contact_schedule(day, user=request.user, overdue_only=not show_all)
    if request.GET.get("format") == "xlsx":
        return excel_response(
            f"care-{'schedule' if show_all else 'overdue-contacts'}-{day:%Y%m%d}.xlsx",
            [
                _("乡镇街道"),
                _("村社区"),
                _("姓名"),
                _("身份证号"),
                _("联系电话"),
                _("探访类别"),
                Column(_("探访周期（天）"), INTEGER),
                Column(_("上次联系"), DATE),
                Column(_("应联系日期"), DATE),
                Column(_("逾期天数"), INTEGER),
            ],
            (
                [
                    getattr(r.township, "name", ""),
                    r.village.name,
                    r.person.name,
                    mask_id_number(r.person.id_number),
                    mask_phone(r.person.phone),
                    r.category_labels,
                    r.interval,
                    r.last_contact,
                    r.due,
                    r.overdue_days,
                ]
                for r in rows
            ),
            actor=request.user,
            sheet_title=_("探访逾期"),
            object_type="care.contacts",
        )
    return render(
        request,
        "care/overdue_contacts.html",
        {"rows": rows, "day": day, "show_all": show_all, "can_contact": services.can_contact(request.user)},
    )


@console_user_required
def person_contacts(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's contact schedule and history, and the form to log a contact."""
    today = timezone.localdate()
    page = selectors.person_contacts(request.user, pk, today)
    can_contact = services.can_contact(request.user)
    form = ContactForm(request.POST or None, initial={"contacted_on": today, "method": "visit"})
    if request.method == "POST":
        require(can_contact)
    contact, status = submit(
        request, form, lambda d: services.record_contact(by=request.user, person=page.person, **d)
    )
    if contact is not None:
        if contact.follow_up_case_id:
            messages.success(
                request,
                _("探访已登记，跟进案件 %(n)s 已开立。") % {"n": contact.follow_up_case.tracking_number},
            )
        else:
            messages.success(request, _("探访已登记。"))
        return redirect("care:person_contacts", pk=page.person.pk)
    return render(
        request,
        "care/person_contacts.html",
        {"page": page, "p": page.person, "form": form, "can_contact": can_contact},
        status=status,
    )


@console_user_required
@require_POST
def contact_open_case(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_for(request.user, pk)
    try:
        case = services.open_follow_up_case(by=request.user, contact=contact)
    except (ValidationError, Conflict, PermissionDenied) as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, _("跟进案件 %(n)s 已开立。") % {"n": case.tracking_number})
    return redirect("care:person_contacts", pk=contact.person_id)


# --- children left without guardianship (三(二)) -------------------------------------------------------

CHILD_STEPS = {
    "acknowledge": (AcknowledgeForm, services.acknowledge_child_report, _lazy("已接报。")),
    "arrange": (ArrangementForm, services.arrange_guardianship, _lazy("临时监护照料已安排。")),
    "follow-up": (ChildFollowUpForm, services.follow_up_child, _lazy("回访已登记。")),
}


@console_user_required
def child_report_list(request: HttpRequest) -> HttpResponse:
    """无人监护儿童: open reports in the user's region, and those whose acknowledgement is late."""
    now = timezone.now()
    show_all = request.GET.get("all") == "1"
    late = {r.pk: levels for r, levels in selectors.late_acknowledgements(now, user=request.user)}
    reports = selectors.child_reports_for(request.user, open_only=not show_all)
    return render(
        request,
        "care/child_reports.html",
        {
            "rows": [(r, late.get(r.pk, ())) for r in reports],
            "show_all": show_all,
            "can_report": services.can_report_child(request.user),
        },
    )


@console_user_required
def child_report_new(request: HttpRequest) -> HttpResponse:
    require(services.can_report_child(request.user))
    villages = regions_visible_to(request.user).filter(level=RegionLevel.VILLAGE).order_by("path")
    initial = {"region": request.user.region_id} if request.user.region.level == RegionLevel.VILLAGE else None
    form = ChildReportForm(request.POST or None, initial=initial, regions=villages)
    report, status = submit(request, form, lambda d: services.report_child(by=request.user, **d))
    if report is not None:
        messages.success(request, _("已报告，乡镇街道和区县将按时限接报。"))
        return redirect("care:child_report", pk=report.pk)
    return render(request, "care/child_report_form.html", {"form": form}, status=status)


def _child_forms(report, data=None, step=None) -> dict:
    version = {"expected_version": report.version}
    forms_ = {
        # Prefixed: the three forms share a page, their fields must not share ids.
        name: cls(
            data if name == step else None, prefix=name, initial=version | {"starts_on": timezone.localdate()}
        )
        for name, (cls, _service, _msg) in CHILD_STEPS.items()
    }
    return {
        "ack_form": forms_["acknowledge"],
        "arrange_form": forms_["arrange"],
        "follow_form": forms_["follow-up"],
    }


def _render_child(
    request: HttpRequest, pk: int, forms_: dict | None = None, status: int = 200
) -> HttpResponse:
    page = selectors.child_report_page(request.user, pk, timezone.now())
    return render(
        request,
        "care/child_report.html",
        {
            "page": page,
            "r": page.report,
            "can_handle": services.can_handle_child(request.user),
            "can_follow": services.can_handle_child(request.user) or services.can_report_child(request.user),
            **(forms_ or _child_forms(page.report)),
        },
        status=status,
    )


@console_user_required
def child_report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_child(request, pk)


@console_user_required
@require_POST
def child_report_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in CHILD_STEPS:
        raise Http404
    report = selectors.child_report_for(request.user, pk)
    form_class, service, done = CHILD_STEPS[step]
    forms_ = _child_forms(report, request.POST, step)
    form = forms_[{"acknowledge": "ack_form", "arrange": "arrange_form", "follow-up": "follow_form"}[step]]
    result, status = submit(request, form, lambda d: service(by=request.user, report=report, **d))
    if result is not None:
        messages.success(request, str(done))
        return redirect("care:child_report", pk=report.pk)
    return _render_child(request, pk, forms_, status)


# --- psychological aid (心理援助, 五) -------------------------------------------------------------------


@console_user_required
def psych_aid(request: HttpRequest) -> HttpResponse:
    """心理援助: the offers made in the user's region (bereaved families, long-stay patients, families
    of the isolated), open first."""
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "care/psych_aid.html",
        {
            "cases": selectors.psych_aid_cases(request.user, open_only=not show_all)[:500],
            "show_all": show_all,
        },
    )


@console_user_required
def psych_aid_print(request: HttpRequest, pk: int) -> HttpResponse:
    """心理援助告知单: what the village hands or reads to the family — the lines to call."""
    case = selectors.psych_aid_offer(request.user, pk)
    return render(request, "care/psych_aid_print.html", {"case": case, "aid": case.details["psych_aid"]})


@console_user_required
def psych_aid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One offer: its state, ledger and follow-ups, and the next step (accept, decline, follow up, close)."""
    today = timezone.localdate()
    page = selectors.psych_aid_page(request.user, pk, today)
    offer = page.offer
    can_step = services.can_follow_psych_aid(request.user)
    steps = rules.psych_aid_steps_from(offer.state)
    form = PsychAidStepForm(
        request.POST or None,
        steps=steps,
        initial={"version": offer.version, "contacted_on": today, "step": steps[0] if steps else None},
    )
    if request.method == "POST":
        require(can_step)
    done, status = submit(
        request,
        form,
        lambda d: services.step_psych_aid(
            by=request.user,
            offer=offer,
            expected_version=d.pop("version"),
            **d,
        ),
    )
    if done is not None:
        messages.success(request, _("已登记：%(s)s。") % {"s": done.get_state_display()})
        return redirect("care:psych_aid_detail", pk=offer.pk)
    return render(
        request,
        "care/psych_aid_detail.html",
        {"page": page, "offer": offer, "form": form, "can_step": can_step and bool(steps), "today": today},
        status=status,
    )


@console_user_required
def psych_aid_overdue(request: HttpRequest) -> HttpResponse:
    """回访逾期: offers in the user's region whose contact or follow-up is overdue, for the township."""
    day = timezone.localdate()
    rows = selectors.overdue_psych_aid(day, user=request.user)
    if request.GET.get("format") == "xlsx":
        return excel_response(
            f"care-psych-aid-overdue-{day:%Y%m%d}.xlsx",
            [
                _("乡镇街道"),
                _("村社区"),
                _("受理编号"),
                _("转介事由"),
                _("联系对象"),
                _("联系电话"),
                _("状态"),
                Column(_("应联系日期"), DATE),
                Column(_("逾期天数"), INTEGER),
            ],
            (
                [
                    getattr(r.township, "name", ""),
                    r.village.name,
                    r.offer.case.tracking_number,
                    r.offer.get_trigger_display(),
                    r.offer.case.display_name,
                    mask_phone(r.offer.case.applicant_phone),
                    r.offer.get_state_display(),
                    r.due,
                    r.overdue_days,
                ]
                for r in rows
            ),
            actor=request.user,
            sheet_title=_("心理援助回访逾期"),
            object_type="care.psych_aid_overdue",
        )
    return render(request, "care/psych_aid_overdue.html", {"rows": rows, "day": day})


# --- hotline calls (热线来电记录, 四) ---------------------------------------------------------------------

CALL_PAGE_SIZE = 50
CALL_EXPORT_LIMIT = 5000


def _call_regions(user: Any):
    return (
        regions_visible_to(user)
        .filter(level__in=[RegionLevel.DISTRICT, RegionLevel.TOWNSHIP])
        .order_by("path")
    )


def _call_filters(request: HttpRequest) -> tuple[HotlineFilterForm, selectors.CallFilters]:
    form = HotlineFilterForm(request.GET or None, regions=_call_regions(request.user))
    if not form.is_valid():
        return form, selectors.CallFilters()
    d = form.cleaned_data
    return form, selectors.CallFilters(
        region=d.get("region"),
        category=d.get("category") or "",
        outcome=d.get("outcome") or "",
        date_from=d.get("date_from"),
        date_to=d.get("date_to"),
        q=(d.get("q") or "").strip(),
    )


@console_user_required
def hotline_calls(request: HttpRequest) -> HttpResponse:
    """热线来电: the calls of the user's region, newest first, filtered; keyset pages; Excel."""
    form, filters = _call_filters(request)
    qs = selectors.hotline_calls(request.user, filters)
    if request.GET.get("format") == "xlsx":
        rows = qs.order_by(*ordering(selectors.CALL_ORDER, qs.model))[:CALL_EXPORT_LIMIT]
        return excel_response(
            f"care-hotline-calls-{timezone.localdate():%Y%m%d}.xlsx",
            [
                _("来电时间"),
                _("所属区划"),
                _("来电人"),
                _("身份证号"),
                _("来电号码"),
                _("来电类别"),
                _("来电内容"),
                _("处理方式"),
                _("解答内容"),
                _("转办案件"),
                _("接听人"),
            ],
            (
                [
                    timezone.localtime(c.received_at).strftime("%Y-%m-%d %H:%M"),
                    c.region.name,
                    c.caller_name,
                    mask_id_number(c.caller_id_number),
                    mask_phone(c.caller_phone),
                    c.get_category_display(),
                    c.summary,
                    c.get_outcome_display(),
                    c.answer,
                    c.case.tracking_number if c.case_id else "",
                    c.recorded_by_label,
                ]
                for c in rows
            ),
            actor=request.user,
            sheet_title=_("热线来电记录"),
            object_type="care.hotline_calls",
        )
    page = keyset_page(
        qs,
        selectors.CALL_ORDER,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=CALL_PAGE_SIZE,
    )
    query = request.GET.copy()
    for key in ("after", "before", "format"):
        query.pop(key, None)
    return render(
        request,
        "care/hotline_calls.html",
        {
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "can_take": services.can_take_calls(request.user),
        },
    )


@console_user_required
def hotline_call_new(request: HttpRequest) -> HttpResponse:
    """登记热线来电: answered on the spot, or converted into a one-door case at once."""
    require(services.can_take_calls(request.user))
    regions = _call_regions(request.user)
    initial = {"submission_key": str(uuid.uuid4()), "received_at": timezone.localtime().replace(second=0)}
    if request.user.region.level in (RegionLevel.DISTRICT, RegionLevel.TOWNSHIP):
        initial["region"] = request.user.region_id
    form = HotlineCallForm(
        request.POST or None,
        initial=initial,
        regions=regions,
        case_choices=services.hotline_case_choices(),
    )
    call, status = submit(request, form, lambda d: services.record_hotline_call(by=request.user, **d))
    if call is not None:
        if call.case_id:
            messages.success(request, _("来电已登记，并转为案件 %(n)s。") % {"n": call.case.tracking_number})
        else:
            messages.success(request, _("来电已登记（当场解答）。"))
        return redirect("care:hotline_call", pk=call.pk)
    return render(request, "care/hotline_call_form.html", {"form": form}, status=status)


@console_user_required
def hotline_call(request: HttpRequest, pk: int) -> HttpResponse:
    """One call in full (the caller's ID number and phone: an audited read), and 转为案件 when it has none."""
    call = selectors.hotline_call_for(request.user, pk)
    can_convert = services.can_take_calls(request.user) and call.case_id is None
    form = HotlineConvertForm(request.POST or None, case_choices=services.hotline_case_choices())
    if request.method == "POST":
        require(services.can_take_calls(request.user))
    case, status = submit(
        request, form, lambda d: services.convert_hotline_call(by=request.user, call=call, **d)
    )
    if case is not None:
        messages.success(request, _("已转为案件 %(n)s。") % {"n": case.tracking_number})
        return redirect("care:hotline_call", pk=call.pk)
    return render(
        request,
        "care/hotline_call.html",
        {"call": call, "form": form, "can_convert": can_convert},
        status=status,
    )


# --- care arrangements (三(四)) and placements (三(三)) --------------------------------------------------


def _arrangements_render(request: HttpRequest, arrangement_form=None, placement_form=None, status: int = 200):
    today = timezone.localdate()
    institutions = selectors.elderly_homes_of_district(request.user)
    return render(
        request,
        "care/arrangements.html",
        {
            "rows": selectors.arrangements_in_force(request.user, today),
            "placements": selectors.placements_for(request.user)[:200],
            "today": today,
            "can_arrange": services.can_arrange_care(request.user),
            "arrangement_form": arrangement_form
            or CareArrangementForm(initial={"starts_on": today}, prefix="arr"),
            "placement_form": placement_form or PlacementForm(institutions=institutions, prefix="pl"),
        },
        status=status,
    )


@console_user_required
def arrangements(request: HttpRequest) -> HttpResponse:
    """照料安排: dependents of isolated carers (三(四)) — 特困 first, overdue and ending flagged — and the
    elderly placed in homes after observation (三(三))."""
    return _arrangements_render(request)


def _with_person(request: HttpRequest, form: Any, service: Callable[..., Any]) -> tuple[Any, int]:
    def act(data: dict) -> Any:
        data = dict(data)
        person = selectors.person_by_id_number(request.user, data.pop("id_number"))
        if person is None:
            raise ValidationError({"id_number": _("本辖区没有登记该身份证号的人员。")})
        return service(by=request.user, person=person, **data)

    return submit(request, form, act)


@console_user_required
@require_POST
def arrangement_new(request: HttpRequest) -> HttpResponse:
    require(services.can_arrange_care(request.user))
    form = CareArrangementForm(request.POST, prefix="arr")
    row, status = _with_person(request, form, services.arrange_care)
    if row is not None:
        messages.success(request, _("照料安排已登记。"))
        return redirect("care:arrangements")
    return _arrangements_render(request, arrangement_form=form, status=status)


@console_user_required
@require_POST
def placement_new(request: HttpRequest) -> HttpResponse:
    require(services.can_arrange_care(request.user))
    institutions = selectors.elderly_homes_of_district(request.user)
    form = PlacementForm(request.POST, institutions=institutions, prefix="pl")
    row, status = _with_person(request, form, services.place_elderly)
    if row is not None:
        messages.success(request, _("养老机构安置已登记。"))
        return redirect("care:arrangements")
    return _arrangements_render(request, placement_form=form, status=status)


# --- closing care early (监护人返回、家属接回) ------------------------------------------------------------


def _care_page(request: HttpRequest, page: selectors.CarePage, close: Callable[..., Any]) -> HttpResponse:
    can_close = services.can_arrange_care(request.user) and page.in_force
    form = CloseCareForm(request.POST or None, initial={"closed_on": timezone.localdate()})
    if request.method == "POST":
        require(can_close)
    done, status = submit(request, form, lambda d: close(by=request.user, **d))
    if done is not None:
        messages.success(request, _("已结束，原因已记录。"))
        return redirect(request.path)
    return render(
        request, "care/care_detail.html", {"page": page, "form": form, "can_close": can_close}, status=status
    )


@console_user_required
def arrangement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One care arrangement: who, until when, its closure — and the form to end it early."""
    page = selectors.arrangement_page(request.user, pk)
    return _care_page(
        request, page, lambda **d: services.close_arrangement(arrangement=page.arrangement, **d)
    )


@console_user_required
def placement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One placement in an elderly home, its closure, and the form to end it (家属接回…)."""
    page = selectors.placement_page(request.user, pk)
    return _care_page(request, page, lambda **d: services.close_placement(placement=page.placement, **d))
