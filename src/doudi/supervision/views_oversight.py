"""Console screens of supervision's figures: the dashboards (监管看板) with their drill-down lists, the
inspection page per district (督查) with its recorded random draw, the funds' progress (资金拨付进度)
with the allocations' maker-checker, and the annual public report (年度公告, 条例第30条)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doudi.core.access import console_user_required, forbidden
from doudi.core.errors import Conflict
from doudi.core.excel import excel_response
from doudi.core.http import flash_refusal
from doudi.core.replica import reads_from_replica
from doudi.core.scoping import get_visible_or_404
from doudi.core.text import clean_text
from doudi.payments.models import PayScheme
from doudi.policy.periods import Period
from doudi.regions.models import Region, RegionLevel
from doudi.reports import selectors as reports
from doudi.supervision import annual, dashboard, drill, funds, inspection
from doudi.supervision.models import SampleDraw
from doudi.supervision.roles import OVERSIGHT_ROLES
from doudi.supervision.tasks import refresh_figures_task


def _reader(request: HttpRequest) -> bool:
    return request.user.has_role(*OVERSIGHT_ROLES)


# --- 资金拨付进度 ------------------------------------------------------------------------------------------


@console_user_required
@reads_from_replica
def fund_progress(request: HttpRequest) -> HttpResponse:
    """资金拨付进度: allocations, monthly disbursement, projection and warnings, for the user's subtree."""
    if not (_reader(request) or funds.can_allocate(request.user)):
        return forbidden(request)
    year = funds.year_from(request.GET.get("year", ""))
    if year is None:
        return render(
            request,
            "supervision/funds.html",
            {"error": funds.YEAR_ERROR, "year_text": request.GET.get("year", "")[:10]},
            status=400,
        )
    progress = funds.fund_progress(request.user, year)
    return render(
        request,
        "supervision/funds.html",
        {
            "progress": progress,
            "year_text": str(year),
            "rule": funds.PROJECTION_RULE,
            "can_allocate": funds.can_allocate(request.user),
            "pending": funds.pending_allocations(request.user) if funds.can_allocate(request.user) else [],
            "history": funds.allocation_history(request.user, year)[: funds.HISTORY_SHOWN],
            "districts": Region.objects.visible_to(request.user).filter(level=RegionLevel.DISTRICT),
            "schemes": PayScheme.choices,
            "errors": {},
            "form": {"year": str(year)},
        },
    )


@console_user_required
@require_POST
def allocation_propose(request: HttpRequest) -> HttpResponse:
    try:
        funds.propose_allocation(
            by=request.user,
            district_code=request.POST.get("district", ""),
            scheme=request.POST.get("scheme", ""),
            year=request.POST.get("year", ""),
            amount=request.POST.get("amount", ""),
            basis=request.POST.get("basis", ""),
        )
    except PermissionDenied:
        return forbidden(request)
    except ValidationError as exc:
        year = funds.year_from(request.POST.get("year", "")) or funds.default_year()
        return render(
            request,
            "supervision/funds.html",
            {
                "progress": funds.fund_progress(request.user, year),
                "year_text": str(year),
                "rule": funds.PROJECTION_RULE,
                "can_allocate": True,
                "pending": funds.pending_allocations(request.user),
                "history": funds.allocation_history(request.user, year)[: funds.HISTORY_SHOWN],
                "districts": Region.objects.visible_to(request.user).filter(level=RegionLevel.DISTRICT),
                "schemes": PayScheme.choices,
                "errors": exc.message_dict,
                "form": {
                    k: request.POST.get(k, "")[:200]
                    for k in ("district", "scheme", "year", "amount", "basis")
                },
            },
            status=422,
        )
    except Conflict as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, funds.PROPOSED_MESSAGE)
    return redirect(f"{_funds_url()}?year={funds.year_from(request.POST.get('year', '')) or ''}")


@console_user_required
@require_POST
def allocation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        allocation = funds.decide_allocation(
            by=request.user, pk=pk, approve=approve, note=request.POST.get("note", "")
        )
    except PermissionDenied:
        return forbidden(request)
    except (ValidationError, Conflict) as exc:
        flash_refusal(request, exc)
        return redirect("supervision:funds")
    messages.success(request, funds.APPROVED_MESSAGE if approve else funds.REJECTED_MESSAGE)
    return redirect(f"{_funds_url()}?year={allocation.year}")


def _funds_url() -> str:
    return reverse("supervision:funds")


# --- 监管看板 and the lists behind its figures ---------------------------------------------------------------


class BadInput(ValueError):
    pass


def _month(request: HttpRequest) -> Period:
    text = clean_text(request.GET.get("month", ""))
    if not text:
        return reports.latest_month() or Period.of(timezone.localdate())
    try:
        return Period.parse(text)
    except ValueError:
        raise BadInput(text) from None


def _region(request: HttpRequest, *, levels: tuple[int, ...] | None = None) -> Region:
    """The region asked for (the user's own by default); outside the subtree, or not of `levels`: 404."""
    code = clean_text(request.GET.get("region", "")) or request.user.region.code
    region = get_visible_or_404(Region, request.user, code=code[:12])
    if levels is not None and region.level not in levels:
        raise Http404
    return region


def _bad(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "supervision/bad_request.html", {"error": message}, status=400)


MONTH_ERROR = gettext_lazy("月份：请按 YYYY-MM 填写（如 2020-03）。")


@console_user_required
@reads_from_replica
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """监管看板 of the city (rows: districts) or a district (rows: townships)."""
    if not _reader(request):
        return forbidden(request)
    try:
        month = _month(request)
    except BadInput:
        return _bad(request, str(MONTH_ERROR))
    region = _region(request, levels=dashboard.DASHBOARD_LEVELS)
    board = dashboard.dashboard(request.user, region, month)
    return render(
        request,
        "supervision/dashboard.html",
        {
            "board": board,
            "months": reports.months_with_lines(),
            "regions": Region.objects.visible_to(request.user)
            .filter(level__in=dashboard.DASHBOARD_LEVELS)
            .order_by("path"),
            "up": region.parent_id if region.pk != request.user.region_id else None,
            # Reversed once, not in every cell.
            "drill": {kind: reverse("supervision:drill", args=[kind]) for kind in DRILL_KINDS},
        },
    )


@console_user_required
@require_POST
def refresh_view(request: HttpRequest) -> HttpResponse:
    """刷新统计: queue the month's figures for the worker (a month at a million households takes seconds)."""
    if not _reader(request):
        return forbidden(request)
    text = clean_text(request.POST.get("month", ""))
    try:
        month = Period.parse(text)
    except ValueError:
        return _bad(request, str(MONTH_ERROR))
    refresh_figures_task.enqueue(str(month))
    messages.info(request, REFRESH_QUEUED)
    return redirect(f"{reverse('supervision:dashboard')}?{urlencode({'month': str(month)})}")


REFRESH_QUEUED = gettext_lazy("已提交统计刷新，稍后重新打开本页即可看到最新数据。")

DRILL_KINDS = ("cases", "payments", "coverage", "findings", "contacts")
PAGE_SIZE = 50
EXPORT_LIMIT = 200_000
EXPORT_TOO_LARGE = gettext_lazy("该清单超过 %(n)s 行，请选择下级地区后再导出。")


@console_user_required
@reads_from_replica
def drill_view(request: HttpRequest, kind: str) -> HttpResponse:
    """The list behind a dashboard figure, with its count (equal to the figure) and its Excel export."""
    if not _reader(request) or kind not in DRILL_KINDS:
        return forbidden(request) if kind in DRILL_KINDS else _not_found()
    try:
        month = _month(request)
    except BadInput:
        return _bad(request, str(MONTH_ERROR))
    region = _region(request)
    today = timezone.localdate()
    spec = drill.spec_for(kind, request, region, month, today)
    if request.GET.get("format") == "xlsx":
        if spec.count > EXPORT_LIMIT:
            messages.error(request, EXPORT_TOO_LARGE % {"n": f"{EXPORT_LIMIT:,}"})
            return redirect(request.path + "?" + spec.query)
        return excel_response(
            spec.filename,
            spec.headers,
            spec.export_rows(),
            actor=request.user,
            sheet_title=spec.title,
            object_type=f"supervision.{kind}",
            reason=f"supervision list export ({kind})",
        )
    page = Paginator(spec.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/drill.html",
        {
            "spec": spec,
            "page": page,
            "rows": spec.linked_rows(page.object_list),
            "region": region,
            "month": month,
        },
    )


def _not_found() -> HttpResponse:
    raise Http404


# --- 督查 -----------------------------------------------------------------------------------------------------


def _district(request: HttpRequest, code: str = "") -> Region:
    """The district asked for (a district user's own by default); outside the subtree: 404."""
    code = clean_text(code or request.GET.get("district", ""))
    if not code and request.user.region.level == RegionLevel.DISTRICT:
        code = request.user.region.code
    return get_visible_or_404(Region.objects.filter(level=RegionLevel.DISTRICT), request.user, code=code[:12])


def _district_or_first(request: HttpRequest) -> Region:
    """The district asked for; for a city user asking for none, the first district."""
    if request.user.region.level < RegionLevel.DISTRICT and not clean_text(request.GET.get("district", "")):
        district = (
            Region.objects.visible_to(request.user)
            .filter(level=RegionLevel.DISTRICT)
            .order_by("code")
            .first()
        )
        if district is None:
            raise Http404
        return district
    return _district(request)


def _inspection_context(request: HttpRequest, district: Region, **extra) -> dict:
    today = timezone.localdate()
    return {
        "report": inspection.inspection(request.user, district, today=today),
        "districts": Region.objects.visible_to(request.user).filter(level=RegionLevel.DISTRICT),
        "draws": inspection.draws_for(request.user, district)[:20],
        "draw_types": [(t.value, t.label) for t in inspection.DRAW_TYPES],
        "form": {
            "case_types": [t.value for t in inspection.DRAW_TYPES[:2]],
            "date_from": today.replace(year=today.year - 1).isoformat(),
            "date_to": today.isoformat(),
            "size": "10",
            "seed": "",
        },
        "errors": {},
        "max_sample": inspection.MAX_SAMPLE,
        **extra,
    }


@console_user_required
@reads_from_replica
def inspection_view(request: HttpRequest) -> HttpResponse:
    """督查: one district on one page, printable."""
    if not _reader(request):
        return forbidden(request)
    district = _district_or_first(request)
    return render(request, "supervision/inspection.html", _inspection_context(request, district))


@console_user_required
@require_POST
def draw_view(request: HttpRequest) -> HttpResponse:
    """随机抽查: draw the files, record the draw, show its printable list."""
    if not _reader(request):
        return forbidden(request)
    district = _district(request, request.POST.get("district", "") or "-")
    try:
        draw = inspection.draw_sample(
            by=request.user,
            district=district,
            case_types=request.POST.getlist("case_types"),
            date_from=request.POST.get("date_from", ""),
            date_to=request.POST.get("date_to", ""),
            size=request.POST.get("size", ""),
            seed=request.POST.get("seed", ""),
        )
    except PermissionDenied:
        return forbidden(request)
    except ValidationError as exc:
        form = {k: request.POST.get(k, "")[:40] for k in ("date_from", "date_to", "size", "seed")}
        form["case_types"] = request.POST.getlist("case_types")[:10]
        return render(
            request,
            "supervision/inspection.html",
            _inspection_context(request, district, errors=exc.message_dict, form=form),
            status=422,
        )
    return redirect("supervision:draw", pk=draw.pk)


@console_user_required
def draw_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable list of a recorded draw, with the check that the seed still draws the same files."""
    if not _reader(request):
        return forbidden(request)
    draw = get_visible_or_404(SampleDraw.objects.select_related("district", "drawn_by"), request.user, pk=pk)
    return render(
        request,
        "supervision/draw.html",
        {
            "draw": draw,
            "cases": inspection.drawn_cases(request.user, draw),
            "replay": inspection.replay(draw),
            "case_type_text": "、".join(
                str(dict(inspection.CaseType.choices).get(t, t)) for t in draw.case_types
            ),
        },
    )


# --- 年度公告 (条例第30条) --------------------------------------------------------------------------------------


@console_user_required
@reads_from_replica
def annual_view(request: HttpRequest) -> HttpResponse:
    """The annual public report of a district for a year, printable; no personal data in it."""
    if not _reader(request):
        return forbidden(request)
    year = funds.year_from(request.GET.get("year", ""))
    if year is None:
        return _bad(request, str(funds.YEAR_ERROR))
    district = _district_or_first(request)
    return render(
        request,
        "supervision/annual.html",
        {
            "report": annual.annual_report(request.user, district, year),
            "districts": Region.objects.visible_to(request.user).filter(level=RegionLevel.DISTRICT),
        },
    )
