"""Registry console screens for bulk import (批量导入): upload, template, error report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.excel import XLSX_CONTENT_TYPE
from doudi.registry import importing
from doudi.registry.forms import ImportForm
from doudi.registry.services import can_write_registry

ERRORS_SHOWN = 500


def _require_writer(request: HttpRequest) -> None:
    if not can_write_registry(request.user):
        raise PermissionDenied(_("您没有导入人员和家庭的权限"))


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form; after a POST, the counts written or every error with a downloadable report."""
    _require_writer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "result": None}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            result = importing.import_file(officer=request.user, data=upload.read(), filename=upload.name)
            context.update(
                result=result,
                errors_shown=result.errors[:ERRORS_SHOWN],
                errors_hidden=max(0, len(result.errors) - ERRORS_SHOWN),
                filename=upload.name,
            )
            if not result.ok:
                status = 400
                if result.table is not None:
                    context["report_token"] = importing.save_error_report(request.user, result)
        else:
            status = 400
    return render(request, "registry/import.html", context, status=status)


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    """The blank import sheet with its 填表说明 (no personal data: not audited)."""
    _require_writer(request)
    return _xlsx(importing.template_workbook(), _("人员和家庭导入模板") + ".xlsx")


@login_required
def import_report(request: HttpRequest, token: str) -> HttpResponse:
    """The error report of the officer's own failed import: their rows with an 错误 column. It holds
    personal data, so each download is an EXPORT entry in the audit log."""
    _require_writer(request)
    found = importing.open_error_report(request.user, token)
    if found is None:
        raise Http404
    data, rows = found
    record(
        actor=request.user,
        action=AuditAction.EXPORT,
        object_type="registry.import_report",
        object_id=token,
        region_path=request.user.region.path,
        after={"rows": rows},
    )
    return _xlsx(data, _("导入错误报告") + ".xlsx")
