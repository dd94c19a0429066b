"""Console screens of 统计报表: the monthly report (统计月报) of the user's region or a region below it,
with its chart, drill-down to the rows' own reports, and the Excel download (audited as an export)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from doudi.core.access import console_user_required, forbidden
from doudi.core.excel import xlsx_download
from doudi.core.replica import reads_from_replica
from doudi.core.text import clean_text
from doudi.policy.periods import Period
from doudi.reports import selectors
from doudi.reports.apps import REPORT_ROLES
from doudi.reports.excel import empty_message, notes, report_xlsx


class BadMonth(ValueError):
    pass


def _month(request: HttpRequest) -> Period:
    text = clean_text(request.GET.get("month", ""))
    if not text:
        return selectors.latest_month() or Period.of(timezone.localdate())
    try:
        return Period.parse(text)
    except ValueError:
        raise BadMonth(text) from None


def _report(request: HttpRequest) -> selectors.MonthlyReport:
    """The report the query asks for; a region outside the user's subtree is a 404."""
    month = _month(request)
    code = clean_text(request.GET.get("region", "")) or request.user.region.code
    return selectors.monthly_report_for(request.user, region_code=code, month=month)


def _checked_report(request: HttpRequest) -> selectors.MonthlyReport | HttpResponse:
    """The report, or the refusal: 403 without a report role, 400 for a bad month (404 out of scope)."""
    if not request.user.has_role(*REPORT_ROLES):
        return forbidden(request)
    try:
        return _report(request)
    except BadMonth:
        return _bad_month(request)


def _bad_month(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/monthly.html",
        {
            "error": _("统计月份：请按 YYYY-MM 填写（如 2020-03）。"),
            "regions": selectors.report_regions(request.user),
            "months": selectors.months_with_lines(),
            "month_text": request.GET.get("month", "")[:20],
        },
        status=400,
    )


@console_user_required
@reads_from_replica
def monthly(request: HttpRequest) -> HttpResponse:
    """统计月报: one row per district (township, village) of the chosen region, per scheme."""
    report = _checked_report(request)
    if isinstance(report, HttpResponse):
        return report
    query = {"month": str(report.month), "region": report.region.code}
    return render(
        request,
        "reports/monthly.html",
        {
            "report": report,
            "regions": selectors.report_regions(request.user),
            "months": selectors.months_with_lines(),
            "month_text": str(report.month),
            "monthly_columns": [c for c in report.columns if c.monthly],
            "xlsx_url": reverse("reports:monthly_xlsx") + "?" + urlencode(query),
            "up": report.region.parent_id
            if report.region.parent_id and report.region.pk != request.user.region_id
            else None,
            "empty_message": None if report.has_payroll else empty_message(report),
            "notes": notes(),
        },
    )


@console_user_required
@reads_from_replica
def monthly_xlsx(request: HttpRequest) -> HttpResponse:
    """The report as Excel, laid out like the paper one; every download is an audited EXPORT."""
    report = _checked_report(request)
    if isinstance(report, HttpResponse):
        return report
    if not report.has_payroll:
        messages.error(request, empty_message(report))
        return redirect(
            reverse("reports:monthly")
            + "?"
            + urlencode({"month": report.month, "region": report.region.code})
        )
    filename = f"monthly-report-{report.region.code}-{report.month}.xlsx"
    return xlsx_download(
        report_xlsx(report),
        filename,
        actor=request.user,
        audit={
            "filename": filename,
            "month": str(report.month),
            "region": report.region.code,
            "rows": len(report.rows),
        },
        object_type="reports.monthly",
        region_path=report.region.path,
        # Stored as data in the append-only log, so not translated.
        reason="monthly statistical report export",
    )
