"""Registry console screens: bulk import (批量导入: upload, template, error report), and the forms of a
household's 条例第11–13条 facts (a member's standing and separate assessment; the asset items and the
farming household's 12 months)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.access import console_user_required
from doudi.core.excel import XLSX_CONTENT_TYPE
from doudi.registry import importing, selectors
from doudi.registry.forms import HouseholdEconomicsForm, ImportForm, MembershipFactsForm
from doudi.registry.services import can_write_registry, set_household_economics, set_membership_facts

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


@console_user_required
def household_economics(request: HttpRequest, pk: int) -> HttpResponse:
    """资产与农业收入 (条例第12、13条) of one household: the asset items and the farming household's 12
    months, saved through registry.services.set_household_economics (audited)."""
    _require_editor(request)
    household = selectors.household_for_edit(request.user, pk)
    form = HouseholdEconomicsForm(request.POST or None, household=household)
    if request.method == "POST":
        if form.is_valid():
            try:
                set_household_economics(officer=request.user, household=household, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("资产与农业收入已保存。"))
                return redirect("console:household", pk=household.pk)
        return render(
            request, "registry/household_economics.html", {"form": form, "household": household}, status=400
        )
    return render(request, "registry/household_economics.html", {"form": form, "household": household})


@console_user_required
def membership_facts(request: HttpRequest, pk: int) -> HttpResponse:
    """成员状况 (条例第11条) of one current member: counted or not and why, and the separate-household
    option with its reason, saved through registry.services.set_membership_facts (audited)."""
    _require_editor(request)
    membership = selectors.current_membership_for_edit(request.user, pk)
    form = MembershipFactsForm(request.POST or None, membership=membership)
    context = {"form": form, "membership": membership, "household": membership.household}
    if request.method == "POST":
        if form.is_valid():
            try:
                set_membership_facts(officer=request.user, membership=membership, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("成员状况已保存。"))
                return redirect("console:household", pk=membership.household_id)
        return render(request, "registry/membership_facts.html", context, status=400)
    return render(request, "registry/membership_facts.html", context)


def _require_editor(request: HttpRequest) -> None:
    if not can_write_registry(request.user):
        raise PermissionDenied(_("您没有修改家庭信息的权限"))
