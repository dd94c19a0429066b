"""Console screens of 救助待遇: the roster of enrolments (在保名册) in the user's region; thin views."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.benefits import selectors
from doudi.benefits.models import Scheme
from doudi.core.access import console_user_required
from doudi.core.excel import INTEGER, MONTH, Column, excel_response
from doudi.core.masking import mask_id_number

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


def _filters(request: HttpRequest) -> tuple[str, bool]:
    scheme = request.GET.get("scheme", "")
    if scheme not in Scheme.values:
        scheme = ""
    return scheme, request.GET.get("status", "") != "all"


@console_user_required
def enrolment_list(request: HttpRequest) -> HttpResponse:
    """在保名册: enrolments of the households and people in the user's subtree, by scheme."""
    scheme, active_only = _filters(request)
    qs = selectors.enrolments(request.user, scheme=scheme, active_only=active_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = QueryDict(mutable=True)
    if scheme:
        query["scheme"] = scheme
    if not active_only:
        query["status"] = "all"
    return render(
        request,
        "benefits/enrolments.html",
        {
            "page": page,
            "summary": selectors.enrolment_summary(qs),
            "scheme": scheme,
            "active_only": active_only,
            "schemes": Scheme.choices,
            "query": query.urlencode(),
            "query_prefix": (query.urlencode() + "&") if query else "",
        },
    )


@console_user_required
def enrolment_export(request: HttpRequest) -> HttpResponse:
    """The roster with its filters as Excel; ID numbers masked as on screen."""
    scheme, active_only = _filters(request)
    qs = selectors.enrolments(request.user, scheme=scheme, active_only=active_only)[:EXPORT_LIMIT]
    headers = [
        _("救助项目"),
        _("保障对象"),
        _("身份证号"),
        _("家庭"),
        _("村社区"),
        Column(_("起始月份"), MONTH),
        Column(_("月救助金（元）"), INTEGER),
        _("状态"),
        Column(_("终止月份"), MONTH),
        _("审批案件"),
        Column(_("审批时间")),
    ]

    def rows():
        for e in qs:
            who = e.beneficiary
            yield [
                e.get_scheme_display(),
                who.name if who else "",
                mask_id_number(who.id_number) if who else "",
                str(e.household),
                e.household.region.name,
                e.from_month,
                e.monthly_amount,
                e.get_status_display(),
                e.end_month,
                e.decision_case.tracking_number if e.decision_case_id else "",
                e.approved_at,
            ]

    return excel_response(
        f"enrolments-{timezone.localdate():%Y%m%d}.xlsx",
        headers,
        rows(),
        actor=request.user,
        sheet_title=_("在保名册"),
        object_type="benefits.enrolment",
    )
