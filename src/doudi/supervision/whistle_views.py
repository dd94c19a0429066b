"""举报办理: the supervisors' queue of whistle-blowers' reports (thin views over whistle.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import DATE, Column, excel_response
from doudi.core.fields import require
from doudi.core.http import flash_refusal
from doudi.supervision import whistle
from doudi.supervision.models import WhistleOutcome, WhistleState

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> tuple[str, bool]:
    state = request.GET.get("state", "")
    return (state if state in WhistleState.values else ""), request.GET.get("overdue") == "1"


def _reports(request: HttpRequest):
    state, overdue = _filters(request)
    return whistle.queue(request.user, state=state, overdue_on=timezone.localdate() if overdue else None)


@require_safe
@console_user_required
def queue(request: HttpRequest) -> HttpResponse:
    """举报受理台: the reports in the reader's region, overdue marked."""
    require(whistle.can_read_queue(request.user))
    state, overdue = _filters(request)
    page = Paginator(_reports(request), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(r, whistle.masked_label(r, request.user)) for r in page.object_list]
    return render(
        request,
        "supervision/whistle/queue.html",
        {
            "page": page,
            "rows": rows,
            "state": state,
            "overdue": overdue,
            "states": WhistleState.choices,
            "today": timezone.localdate(),
            "sees_identity": whistle.can_see_identity(request.user),
        },
    )


@require_safe
@console_user_required
def export(request: HttpRequest) -> HttpResponse:
    """The queue as .xlsx: the reporter's columns filled for a supervisor only; the download is audited."""
    require(whistle.can_read_queue(request.user))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return excel_response(
        f"whistle-reports-{stamp}.xlsx",
        [
            _("举报编号"),
            _("受理时间"),
            _("涉及区县"),
            _("举报类型"),
            _("被举报人或单位"),
            _("状态"),
            Column(_("办理期限"), DATE),
            _("承办人"),
            _("办理结果"),
            _("举报方式"),
            _("举报人姓名"),
            _("举报人电话"),
            _("举报人身份证号"),
        ],
        whistle.export_rows(request.user, _reports(request)),
        actor=request.user,
        sheet_title=_("举报"),
        object_type=whistle.OBJECT_TYPE,
        reason="whistle-blower queue export"
        + (" (with reporter identity)" if whistle.can_see_identity(request.user) else ""),
    )


@require_safe
@console_user_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    view = whistle.report_view(request.user, pk)
    return render(
        request,
        "supervision/whistle/detail.html",
        {
            "v": view,
            "r": view.report,
            "assignees": whistle.assignees(request.user, view.report) if view.can_handle else [],
            "outcomes": WhistleOutcome.choices,
            "errors": {},
        },
    )


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    try:
        action()
        messages.success(request, _("已保存。"))
    except ValidationError as exc:
        view = whistle.report_view(request.user, pk)
        return render(
            request,
            "supervision/whistle/detail.html",
            {
                "v": view,
                "r": view.report,
                "assignees": whistle.assignees(request.user, view.report) if view.can_handle else [],
                "outcomes": WhistleOutcome.choices,
                "errors": {k: " ".join(v) for k, v in exc.message_dict.items()},
                "posted": request.POST,
            },
            status=400,
        )
    except Conflict as exc:
        flash_refusal(request, exc, denied="")
        return redirect("supervision:whistle_detail", pk=pk)
    except PermissionDenied:
        raise
    return redirect("supervision:whistle_detail", pk=pk)


@require_POST
@console_user_required
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: whistle.assign(
            by=request.user,
            pk=pk,
            version=request.POST.get("version"),
            assignee_id=request.POST.get("assignee", ""),
            note=request.POST.get("note", ""),
        ),
    )


@require_POST
@console_user_required
def conclude(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: whistle.conclude(
            by=request.user,
            pk=pk,
            version=request.POST.get("version"),
            outcome=request.POST.get("outcome", ""),
            findings=request.POST.get("findings", ""),
            reply=request.POST.get("reply", ""),
        ),
    )
