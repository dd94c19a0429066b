"""Console screens of 经济状况核对: thin views over selectors.py and services.py."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.http import flash_refusal, redirect_next
from doudi.core.scoping import get_visible_or_404
from doudi.policy.periods import Period
from doudi.registry import selectors as registry_selectors
from doudi.registry.models import Household
from doudi.verification import selectors, services
from doudi.verification.messages import problem_text
from doudi.verification.models import Consent, Signal, SignalKind, SignalStatus
from doudi.verification.sources import SCHEMAS

PAGE_SIZE = 50


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _period(value: str) -> Period | None:
    try:
        return Period.parse((value or "").strip())
    except ValueError:
        return None


def _can(user, roles) -> bool:
    return user.has_role(*roles)


# --- index: find a household ----------------------------------------------------------------------


@console_user_required
def index(request: HttpRequest) -> HttpResponse:
    """核对: find a household by a member's ID number or name, then record consent and check."""
    q = request.GET.get("q", "").strip()[:64]
    households = registry_selectors.search_households(request.user, q)[:50] if q else []
    return render(
        request,
        "verification/index.html",
        {"q": q, "households": households, "latest_run": selectors.latest_finished_run()},
    )


# --- extracts -------------------------------------------------------------------------------------


@console_user_required
def extracts(request: HttpRequest) -> HttpResponse:
    """部门数据: the loaded and refused extracts, and the upload form."""
    can_load = _can(request.user, services.EXTRACT_LOADERS)
    if request.method == "POST":
        if not can_load:
            raise PermissionDenied
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": _("请选择文件")})
            extract = services.load_extract_upload(
                source=request.POST.get("source", ""),
                extract_date=_date(request.POST.get("extract_date", "")),
                upload=upload,
                officer=request.user,
            )
        except (ValidationError, PermissionDenied) as exc:
            flash_refusal(request, exc)
            return redirect("verification:extracts")
        if extract.status == "loaded":
            messages.success(request, _("已导入 %(rows)s 条记录。") % {"rows": f"{extract.rows:,}"})
        else:
            messages.error(request, _("文件有问题，已整体拒收，未导入任何记录。请查看逐行问题清单。"))
        return redirect("verification:extract", pk=extract.pk)
    page = Paginator(selectors.extract_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "verification/extracts.html",
        {"page": page, "can_load": can_load, "schemas": SCHEMAS.values(), "today": timezone.localdate()},
    )


@console_user_required
def extract(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.extract_detail(pk)
    problems = [problem_text(p, item.source) for p in item.problems]
    return render(
        request,
        "verification/extract.html",
        {"extract": item, "problems": problems, "schema": SCHEMAS[item.source]},
    )


# --- one household --------------------------------------------------------------------------------


@console_user_required
def household(request: HttpRequest, pk: int) -> HttpResponse:
    """A household's consents and reports, with the forms to record consent and to run a check."""
    today = timezone.localdate()
    info = selectors.household_verification(request.user, pk, today)
    return render(
        request,
        "verification/household.html",
        {
            "info": info,
            "household": info.household,
            "today": today,
            "period": Period.of(today),
            "can_check": _can(request.user, services.CHECKERS),
        },
    )


@console_user_required
@require_POST
def consent_record(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(Household, request.user, pk=pk)
    try:
        services.record_consent(
            household=household,
            officer=request.user,
            signed_on=_date(request.POST.get("signed_on", "")),
            signatories=request.POST.get("signatories", ""),
            document_number=request.POST.get("document_number", ""),
            valid_until=_date(request.POST.get("valid_until", "")),
        )
        messages.success(request, _("已登记核对授权书。"))
    except (ValidationError, PermissionDenied) as exc:
        flash_refusal(request, exc)
    return redirect("verification:household", pk=pk)


@console_user_required
@require_POST
def consent_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    consent = get_visible_or_404(Consent, request.user, pk=pk)
    try:
        services.revoke_consent(
            consent=consent,
            officer=request.user,
            revoked_on=_date(request.POST.get("revoked_on", "")) or timezone.localdate(),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("授权书已撤回。"))
    except (ValidationError, PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    return redirect("verification:household", pk=consent.household_id)


@console_user_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(Household.objects.select_related("region"), request.user, pk=pk)
    try:
        report = services.check_household(
            household=household,
            officer=request.user,
            period=_period(request.POST.get("period", "")),
            case_number=request.POST.get("case_number", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        flash_refusal(request, exc)
        return redirect("verification:household", pk=pk)
    return redirect("verification:report", pk=report.pk)


@console_user_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """核对报告, printable: every figure with the extract rows it comes from."""
    item = selectors.report_detail(request.user, pk)
    data = item.data
    by_source: dict[str, list[dict]] = {}
    for r in data["records"]:
        by_source.setdefault(r["source"], []).append(r)
    names = {m["person_id"]: m["name"] for m in data["members"]}
    return render(
        request,
        "verification/report.html",
        {
            "report": item,
            "data": data,
            "by_source": [(SCHEMAS[s], rows) for s, rows in sorted(by_source.items())],
            "names": names,
        },
    )


# --- re-checks ------------------------------------------------------------------------------------


@console_user_required
def runs(request: HttpRequest) -> HttpResponse:
    can_run = _can(request.user, services.RECHECK_RUNNERS)
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        month = _period(request.POST.get("month", ""))
        if month is None:
            messages.error(request, _("请填写复核月份（YYYY-MM）。"))
            return redirect("verification:runs")
        try:
            run = services.request_recheck(month=month, officer=request.user)
        except (PermissionDenied, Conflict) as exc:
            flash_refusal(request, exc)
            return redirect("verification:runs")
        return redirect("verification:run", pk=run.pk)
    return render(
        request,
        "verification/runs.html",
        {"runs": selectors.runs()[:36], "can_run": can_run, "this_month": Period.of(timezone.localdate())},
    )


@console_user_required
def run(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.run_detail(pk)
    counts = selectors.signal_counts(request.user, item)
    return render(
        request,
        "verification/run.html",
        {
            "run": item,
            "counts": [(SignalKind(k).label, k, n) for k, n in sorted(counts.items())],
            # 落实增发 is a district approver's (benefits.services.apply_recheck_outcomes).
            "can_apply": request.user.has_role("district_approver"),
        },
    )


@console_user_required
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block, polled by htmx every 2 s while the run is queued or running."""
    return render(request, "verification/_progress.html", {"run": selectors.run_detail(pk)})


# --- work-lists ------------------------------------------------------------------------------------


@console_user_required
def signals(request: HttpRequest) -> HttpResponse:
    """核对信号工作清单: the open signals of the officer's own region subtree."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in SignalKind.values else ""
    status = request.GET.get("status", SignalStatus.OPEN)
    status = status if status in SignalStatus.values else SignalStatus.OPEN
    qs = selectors.signal_worklist(request.user, kind=kind, status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for s in page.object_list:
        s.evidence_items = json.loads(s.evidence or "[]")
    return render(
        request,
        "verification/signals.html",
        {
            "page": page,
            "kind": kind,
            "status": status,
            "kinds": SignalKind.choices,
            "statuses": SignalStatus.choices,
        },
    )


@console_user_required
@require_POST
def signal_handle(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_visible_or_404(Signal, request.user, pk=pk)
    try:
        services.handle_signal(
            signal=signal,
            officer=request.user,
            status=request.POST.get("status", ""),
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("已处理。"))
    except (ValidationError, PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    return redirect_next(request, "verification:signals")


@console_user_required
def deferred(request: HttpRequest) -> HttpResponse:
    """暂缓减发/退出清单: what the window holds back, to process in the month after it ends."""
    run_obj, qs = selectors.deferred_worklist(request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "verification/deferred.html", {"run": run_obj, "page": page})


# --- 复核周期 (条例第26条) ------------------------------------------------------------------------------


@console_user_required
def rechecks_overdue(request: HttpRequest) -> HttpResponse:
    """逾期未复核: the households in the user's subtree whose scheduled re-check month is over, and
    those due this month; a township officer records a re-check done by visit, phone or WeChat."""
    today = timezone.localdate()
    show = "due" if request.GET.get("show") == "due" else "overdue"
    qs = (
        selectors.due_rechecks(request.user, today)
        if show == "due"
        else selectors.overdue_rechecks(request.user, today)
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "verification/rechecks_overdue.html",
        {
            "page": page,
            "show": show,
            "today": today,
            "can_record": _can(request.user, services.SCHEDULE_RECORDERS),
        },
    )


@console_user_required
@require_POST
def recheck_record(request: HttpRequest, pk: int) -> HttpResponse:
    """登记复核 for one household (POST: checked_on, note)."""
    household = get_visible_or_404(Household.objects.all(), request.user, pk=pk)
    checked_on = _date(request.POST.get("checked_on", ""))
    try:
        if checked_on is None:
            raise ValidationError({"checked_on": [_("请填写有效的日期（YYYY-MM-DD）。")]})
        services.record_recheck(
            household=household,
            officer=request.user,
            checked_on=checked_on,
            note=request.POST.get("note", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, _("已登记复核。"))
    return redirect_next(request, "verification:rechecks_overdue")
