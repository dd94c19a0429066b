"""Console screens of 一门受理: the work queue, the case page, filing, 转办/转介, notices, COVID events,
the registered-poor coverage report. Views parse input, call one service or selector, and render."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.accounts.models import User
from doudi.accounts.roles import READ_ONLY_ROLES, Role
from doudi.audit.services import record_read
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import DATE, Column, excel_response
from doudi.core.http import flash_refusal, redirect_next, refusal_text
from doudi.core.masking import mask_id_number, mask_phone
from doudi.core.pagination import count_up_to, keyset_page
from doudi.intake import flows, holidays, notices, selectors, services, sla
from doudi.intake.confirmations import confirmation
from doudi.intake.forms import (
    ChangeReportForm,
    CovidEventForm,
    CovidImportForm,
    HolidayYearForm,
    OpenCaseForm,
    ReferralForm,
    TransferForm,
)
from doudi.intake.models import Case, CaseType, Channel, HolidayYear
from doudi.regions.models import Region
from doudi.registry.models import Person

PAGE_SIZE = 50
EXPORT_LIMIT = 20_000


def _today() -> datetime.date:
    return timezone.localdate()


def _run(request: HttpRequest, fn: Callable[[], Any], success: str | Callable[[Any], str]) -> bool:
    """Call a service; its refusals become messages on the next page (403/409/422 in the API). The
    confirmation may be written from what the service returned."""
    try:
        result = fn()
    except (PermissionDenied, Conflict, ValidationError) as exc:
        flash_refusal(request, exc)
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the queue ---------------------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> selectors.CaseFilters:
    g = request.GET
    return selectors.CaseFilters(
        case_type=g.get("type", "") if g.get("type") in CaseType.values else "",
        state=g.get("state", "")[:32],
        channel=g.get("channel", "") if g.get("channel") in Channel.values else "",
        q=g.get("q", "").strip()[:64],
        overdue=g.get("overdue") == "1",
        due_this_week=g.get("due") == "week",
        mine=g.get("mine") == "1",
        actionable=g.get("all") != "1" and selectors.has_queue(request.user),
        include_closed=g.get("closed") == "1",
    )


def _state_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for flow in flows.FLOWS.values():
        for state, label in flow.states.items():
            seen.setdefault(state, str(label))
    return sorted(seen.items())


def _bulk_actions(user: User) -> list[tuple[str, str]]:
    """Bulk operations the user may offer: flow actions marked bulk for one of their roles."""
    out: dict[str, str] = {}
    for flow in flows.FLOWS.values():
        for act in flow.actions:
            if act.bulk and user.has_role(*act.roles):
                out.setdefault(act.name, str(act.label))
    return sorted(out.items())


def _assignees(user: User):
    return (
        User.objects.filter(region__in=Region.objects.visible_to(user), is_active=True)
        .select_related("region")  # each is shown with their unit
        .exclude(groups__name__in=[str(r) for r in READ_ONLY_ROLES])
        .order_by("username")
        .distinct()
    )


@console_user_required
def case_list(request: HttpRequest) -> HttpResponse:
    """待办案件: the user's queue (or all visible cases), overdue highlighted, with bulk actions."""
    filters = _filters(request)
    today = _today()
    # A keyset page (no COUNT, no OFFSET): a district's queue reads as fast on page 100 as on page 1.
    page = keyset_page(
        selectors.work_queue(request.user, filters, today=today),
        selectors.QUEUE_ORDER,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    query = request.GET.copy()
    for key in ("page", "after", "before"):
        query.pop(key, None)
    return render(
        request,
        "intake/list.html",
        {
            "page": page,
            "filters": filters,
            "today": today,
            "query": query.urlencode(),
            "case_types": CaseType.choices,
            "channels": Channel.choices,
            "states": _state_choices(),
            "bulk_actions": _bulk_actions(request.user),
            "assignees": _assignees(request.user),
            "can_act": services.is_actor(request.user),
            "overdue": count_up_to(selectors.overdue_cases(request.user, today=today)),
            "incoming": count_up_to(selectors.incoming_transfers(request.user)),
        },
    )


@require_POST
@console_user_required
def case_bulk(request: HttpRequest) -> HttpResponse:
    """批量操作: the selected cases one by one, each in its own transaction; a refusal skips that case only."""
    op = request.POST.get("op", "")
    selected = request.POST.getlist("cases")[:PAGE_SIZE]
    done, refused = [], []
    reason = request.POST.get("reason", "")
    assignee = None
    if op == "assign":
        assignee = _assignees(request.user).filter(pk=_int(request.POST.get("assignee"))).first()
    for item in selected:
        pk, _sep, version = item.partition(":")
        pk_int = _int(pk)
        if pk_int is None:
            continue
        label = f"#{pk_int}"
        try:
            case = selectors.get_case(request.user, pk_int)
            label = case.tracking_number
            if op == "assign":
                services.assign_case(
                    case=case, by=request.user, assignee=assignee, expected_version=_int(version)
                )
            elif op.startswith("act:"):
                services.perform_action(
                    case=case, action=op[4:], by=request.user, reason=reason, expected_version=_int(version)
                )
            else:
                raise ValidationError(_("请选择批量操作。"))
            done.append(label)
        except Http404:
            refused.append(f"{label}: {_('未找到')}")
        except (PermissionDenied, Conflict, ValidationError) as exc:
            refused.append(f"{label}: {refusal_text(exc)}")
    if done:
        messages.success(request, _("已处理 %(n)s 件：%(list)s") % {"n": len(done), "list": "、".join(done)})
    for line in refused:
        messages.warning(request, line)
    if not selected:
        messages.info(request, _("请先勾选案件。"))
    return redirect_next(request, "intake:list")


@console_user_required
def case_export(request: HttpRequest) -> HttpResponse:
    """The queue with its filters as Excel; ID numbers and phones masked as on screen."""
    filters = _filters(request)
    today = _today()
    qs = selectors.work_queue(request.user, filters, today=today)[:EXPORT_LIMIT]
    headers = [
        _("受理编号"),
        _("案件类型"),
        _("细类"),
        _("来源渠道"),
        _("状态"),
        _("责任单位"),
        _("申请人"),
        _("身份证号"),
        _("联系电话"),
        Column(_("登记时间")),
        Column(_("受理日期"), DATE),
        Column(_("办理期限"), DATE),
        _("逾期"),
        _("经办人"),
    ]

    def rows():
        for c in qs:
            yield [
                c.tracking_number,
                c.get_case_type_display(),
                c.subtype,
                c.get_channel_display(),
                flows.flow_for(c.case_type).state_label(c.state),
                c.region.name,
                c.display_name,
                mask_id_number(c.applicant_id_number),
                mask_phone(c.applicant_phone),
                c.filed_at,
                c.accepted_on,
                c.due_on,
                selectors.is_overdue(c, today),
                c.assigned_to.username if c.assigned_to else "",
            ]

    return excel_response(
        f"cases-{today:%Y%m%d}.xlsx",
        headers,
        rows(),
        actor=request.user,
        sheet_title=_("案件"),
        object_type="intake.case",
    )


# --- filing -------------------------------------------------------------------------------------------------


@console_user_required
def case_new(request: HttpRequest) -> HttpResponse:
    """登记: a walk-in visit, a hotline call, a patrol report, a department's referral."""
    if not services.is_actor(request.user):
        raise PermissionDenied
    form = OpenCaseForm(
        request.POST or None,
        user=request.user,
        initial={"channel": request.GET.get("channel", Channel.WALK_IN)},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case = services.open_case(
                by=request.user,
                case_type=d["case_type"],
                subtype=d["subtype"],
                channel=d["channel"],
                region=d["region"],
                summary=d["summary"],
                applicant_name=d["applicant_name"],
                applicant_id_number=d["applicant_id_number"],
                applicant_phone=d["applicant_phone"],
                on_behalf=d["on_behalf"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已登记，受理编号 %(n)s。") % {"n": case.tracking_number})
            return redirect("intake:case", pk=case.pk)
    return render(request, "intake/new.html", {"form": form}, status=400 if form.errors else 200)


@console_user_required
def change_report_new(request: HttpRequest) -> HttpResponse:
    """登记家庭情况变化报告 for a household in dibao of the officer's region (the village on its behalf)."""
    from doudi.intake.workflows import change_report

    if not services.is_actor(request.user):
        raise PermissionDenied
    form = ChangeReportForm(
        request.POST or None, initial={"on_behalf": request.user.has_role(Role.VILLAGE_WORKER)}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case, repeated = change_report.file_for_household(
                by=request.user,
                id_number=d["applicant_id_number"],
                summary=d["summary"],
                kinds=d["kinds"],
                phone=d["applicant_phone"],
                on_behalf=d["on_behalf"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if repeated:
                messages.warning(
                    request, _("该家庭已有一份变化报告正在办理：%(n)s。") % {"n": case.tracking_number}
                )
            else:
                messages.success(request, _("已登记，受理编号 %(n)s。") % {"n": case.tracking_number})
            return redirect("intake:case", pk=case.pk)
    return render(
        request, "intake/change_report/new.html", {"form": form}, status=400 if form.errors else 200
    )


# --- the case page -----------------------------------------------------------------------------------------


@dataclass
class CasePanel:
    """A workflow's own block on the case page (e.g. the dibao evaluation, 公示 and approval forms).

    `html` is rendered above the generic actions; the actions named in `handles` are rendered by the
    panel (with their own forms, posting to `intake:act` like every action) and left out of the
    generic list."""

    html: str
    handles: frozenset[str] = frozenset()


# case type → panel(request, detail, can_act) -> CasePanel | None; registered by intake.workflows.*
CASE_PANELS: dict[str, Callable[..., CasePanel | None]] = {}


def register_case_panel(case_type: str, panel: Callable[..., CasePanel | None]) -> None:
    CASE_PANELS[case_type] = panel


@console_user_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    detail = selectors.case_detail(request.user, pk)
    can_act = services.is_actor(request.user) and detail.in_scope
    panel_fn = CASE_PANELS.get(detail.case.case_type)
    panel = panel_fn(request, detail, can_act) if panel_fn else None
    if panel is not None:
        detail.actions = [a for a in detail.actions if a.name not in panel.handles]
    return render(
        request,
        "intake/case.html",
        {
            "d": detail,
            "case": detail.case,
            "can_act": can_act,
            "panel": panel,
            "assignees": _assignees(request.user) if detail.in_scope else [],
        },
    )


def _action_data(request: HttpRequest, act: flows.Action) -> dict:
    data = {f.name: request.POST.get(f"data_{f.name}", "") for f in act.fields}
    # Tabular input of a workflow panel (e.g. one income row per household member) arrives as further
    # data_* keys; handlers that do not read them are unaffected (clean_action_data keeps the fields).
    for key in request.POST:
        if key.startswith("data_") and key[5:] not in data:
            data[key[5:]] = request.POST.get(key, "")
    return data


@require_POST
@console_user_required
def case_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Take one action of the case's flow (the buttons of the case page)."""
    case = selectors.get_case(request.user, pk)
    act = flows.flow_for(case.case_type).action(action)
    if act is None:
        raise Http404
    ok = _run(
        request,
        lambda: services.perform_action(
            case=case,
            action=action,
            by=request.user,
            reason=request.POST.get("reason", ""),
            data=_action_data(request, act),
            expected_version=_int(request.POST.get("version")),
        ),
        # Read back as the action left it (some handlers return another case, e.g. 转一事一议).
        lambda _done: confirmation(Case.objects.get(pk=pk), act),
    )
    if ok and act.notice:
        latest = case.transitions.order_by("-seq").first()
        messages.info(request, _("可打印通知书。"))
        return redirect(reverse("intake:case", args=[pk]) + f"#notice-{latest.seq}")
    return redirect("intake:case", pk=pk)


@require_POST
@console_user_required
def case_comment(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.get_case(request.user, pk)
    _run(
        request,
        lambda: services.add_comment(case=case, by=request.user, text=request.POST.get("text", "")),
        _("已添加办理意见。"),
    )
    return redirect(reverse("intake:case", args=[pk]) + "#timeline")


@require_POST
@console_user_required
def case_attach(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.get_case(request.user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择文件。"))
        return redirect("intake:case", pk=pk)
    limit = services.files.max_bytes()
    content = upload.read(limit + 1)  # never read more than the limit allows
    _run(
        request,
        lambda: services.add_attachment(
            case=case, by=request.user, name=upload.name, content=content, label=request.POST.get("label", "")
        ),
        _("已上传附件。"),
    )
    return redirect(reverse("intake:case", args=[pk]) + "#attachments")


@console_user_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = selectors.get_attachment(request.user, pk)
    record_read(actor=request.user, obj=attachment.case, reason=_("下载附件 %(l)s") % {"l": attachment.label})
    response = FileResponse(
        default_storage.open(attachment.file.name, "rb"),
        as_attachment=True,
        filename=attachment.original_name or attachment.file.name.rsplit("/", 1)[-1],
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@console_user_required
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.get_case(request.user, pk)
    raw = request.POST.get("assignee")
    assignee = _assignees(request.user).filter(pk=_int(raw)).first() if raw else None
    if raw and assignee is None:
        messages.error(request, _("经办人无效。"))
    else:
        _run(
            request,
            lambda: services.assign_case(
                case=case,
                by=request.user,
                assignee=assignee,
                expected_version=_int(request.POST.get("version")),
            ),
            _("已分派经办人。"),
        )
    return redirect("intake:case", pk=pk)


@require_POST
@console_user_required
def case_identify(request: HttpRequest, pk: int) -> HttpResponse:
    """确认申请人: link the case to a registry record by ID number (within scope)."""
    case = selectors.get_case(request.user, pk)
    number = request.POST.get("id_number", "").strip().upper()
    person = Person.objects.visible_to(request.user).filter(id_number=number).first()
    if person is None:
        messages.error(request, _("本辖区未登记该身份证号。"))
    else:
        _run(
            request,
            lambda: services.identify_applicant(
                case=case, by=request.user, person=person, expected_version=_int(request.POST.get("version"))
            ),
            _("已关联申请人。"),
        )
    return redirect("intake:case", pk=pk)


@console_user_required
def case_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """转办 form."""
    case = selectors.get_case(request.user, pk)
    form = TransferForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            transfer = services.transfer_case(
                case=case,
                by=request.user,
                to_region=d["to_region"],
                reason=d["reason"],
                due_on=d.get("due_on"),
                expected_version=_int(request.POST.get("version")),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except (PermissionDenied, Conflict) as exc:
            form.add_error(None, refusal_text(exc))
        else:
            messages.success(request, _("已转办至 %(u)s。") % {"u": transfer.to_region.name})
            return (
                redirect("intake:case", pk=pk)
                if transfer.status == "accepted" or selectors.cases_for(request.user).filter(pk=pk).exists()
                else redirect("intake:transfers")
            )
    return render(
        request, "intake/transfer_form.html", {"form": form, "case": case}, status=400 if form.errors else 200
    )


@console_user_required
def case_refer(request: HttpRequest, pk: int) -> HttpResponse:
    """转介 form."""
    case = selectors.get_case(request.user, pk)
    form = ReferralForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.refer_case(
                case=case,
                by=request.user,
                department=d["department"],
                reason=d["reason"],
                to_unit_name=d["to_unit_name"],
                ack_due_on=d.get("ack_due_on"),
                answer_due_on=d.get("answer_due_on"),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except (PermissionDenied, Conflict) as exc:
            form.add_error(None, refusal_text(exc))
        else:
            messages.success(request, _("已转介。"))
            return redirect("intake:case", pk=pk)
    return render(
        request, "intake/refer_form.html", {"form": form, "case": case}, status=400 if form.errors else 200
    )


# --- notices ---------------------------------------------------------------------------------------------------


@console_user_required
def notice(request: HttpRequest, pk: int, seq: int) -> HttpResponse:
    """A printable notice (受理通知书, 补正告知书, 不予受理/不予批准通知书, 决定书) for one ledger entry."""
    case, transition = selectors.get_transition(request.user, pk, seq)
    if not notices.notice_kind(case, transition):
        raise Http404
    record_read(actor=request.user, obj=case, reason=_("打印通知书"))
    templates, context = notices.notice_page(case, transition)
    return render(request, templates, context)


# --- 转办 / 转介 lists ----------------------------------------------------------------------------------------------


@console_user_required
def transfers(request: HttpRequest) -> HttpResponse:
    """转办转介: transfers waiting for this unit, the unit's outgoing trail, referrals waiting for answers."""
    today = _today()
    outgoing = Paginator(selectors.outgoing_transfers(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "intake/handoffs.html",
        {
            "incoming": selectors.incoming_transfers(request.user),
            "outgoing": outgoing,
            "referrals": selectors.open_referrals(request.user),
            "today": today,
            "can_act": services.is_actor(request.user),
        },
    )


@require_POST
@console_user_required
def transfer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = selectors.get_incoming_or_outgoing_transfer(request.user, pk)
    if _run(
        request,
        lambda: services.accept_transfer(
            transfer=transfer, by=request.user, note=request.POST.get("note", "")
        ),
        _("已接收转办。"),
    ):
        return redirect("intake:case", pk=transfer.case_id)
    return redirect_next(request, "intake:transfers")


@require_POST
@console_user_required
def transfer_return(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = selectors.get_incoming_or_outgoing_transfer(request.user, pk)
    _run(
        request,
        lambda: services.return_transfer(
            transfer=transfer, by=request.user, reason=request.POST.get("reason", "")
        ),
        _("已退回转办。"),
    )
    return redirect_next(request, "intake:transfers")


@require_POST
@console_user_required
def transfer_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = selectors.get_incoming_or_outgoing_transfer(request.user, pk)
    _run(
        request,
        lambda: services.withdraw_transfer(
            transfer=transfer, by=request.user, reason=request.POST.get("reason", "")
        ),
        _("已撤回转办。"),
    )
    return redirect_next(request, "intake:transfers")


@require_POST
@console_user_required
def referral_ack(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral(request.user, pk)
    _run(
        request,
        lambda: services.acknowledge_referral(
            referral=referral, by=request.user, contact=request.POST.get("contact", "")
        ),
        _("已记录签收。"),
    )
    return redirect_next(request, "intake:case", referral.case_id)


@require_POST
@console_user_required
def referral_answer(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral(request.user, pk)
    _run(
        request,
        lambda: services.answer_referral(
            referral=referral,
            by=request.user,
            answer=request.POST.get("answer", ""),
            contact=request.POST.get("contact", ""),
        ),
        _("已记录答复。"),
    )
    return redirect_next(request, "intake:case", referral.case_id)


# --- COVID events ------------------------------------------------------------------------------------------------


@console_user_required
def covid(request: HttpRequest) -> HttpResponse:
    """新冠事件: the latest events in scope, manual entry and the health-department list import."""
    form = CovidEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        number = d["id_number"].strip().upper()
        person = Person.objects.visible_to(request.user).filter(id_number=number).first()
        if person is None:
            form.add_error("id_number", _("本辖区未登记该身份证号。"))
        else:
            try:
                services.record_covid_event(
                    person=person, kind=d["kind"], date=d["date"], by=request.user, note=d["note"]
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("已录入。"))
                return redirect("intake:covid")
    page = Paginator(selectors.covid_events(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "intake/covid.html",
        {
            "form": form,
            "import_form": CovidImportForm(),
            "page": page,
            "imports": selectors.covid_imports(request.user)[:10],
        },
        status=400 if form.errors else 200,
    )


@console_user_required
def covid_import(request: HttpRequest) -> HttpResponse:
    form = CovidImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.import_covid_events(
                by=request.user, filename=upload.name, content=upload.read(20 * 1024 * 1024)
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("您没有导入名单的权限。"))
        else:
            if result.ok:
                messages.success(
                    request,
                    _("已导入：新增 %(c)s 条，已有记录跳过 %(s)s 条。")
                    % {"c": result.created, "s": result.skipped},
                )
                return redirect("intake:covid")
    return render(
        request,
        "intake/covid_import.html",
        {"form": form, "result": result},
        status=400 if (form.errors or (result and not result.ok)) else 200,
    )


@require_POST
@console_user_required
def covid_void(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.covid_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404
    _run(
        request,
        lambda: services.void_covid_event(
            event=event, by=request.user, reason=request.POST.get("reason", "")
        ),
        _("已作废。"),
    )
    return redirect("intake:covid")


# --- 一(三) coverage report -----------------------------------------------------------------------------------------


@console_user_required
def coverage(request: HttpRequest) -> HttpResponse:
    rows = selectors.registered_poor_uncovered(request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "intake/coverage.html", {"page": page, "total": len(rows)})


@console_user_required
def coverage_export(request: HttpRequest) -> HttpResponse:
    rows = selectors.registered_poor_uncovered(request.user)
    headers = [_("家庭编号"), _("村社区"), _("户主"), _("建档立卡人员"), _("身份证号"), _("家庭现有人数")]

    def out():
        for row in rows:
            h = row.household
            for p in row.registered_poor:
                yield [
                    str(h) if h else "",
                    (h.region.name if h else p.region.name),
                    (h.head.name if h and h.head else ""),
                    p.name,
                    mask_id_number(p.id_number),
                    row.members,
                ]

    return excel_response(
        f"registered-poor-uncovered-{_today():%Y%m%d}.xlsx",
        headers,
        out(),
        actor=request.user,
        sheet_title=_("建档立卡未覆盖"),
        object_type="intake.coverage",
    )


HOLIDAY_FILE_LIMIT = 1024 * 1024  # a year's notice is a few kilobytes


@console_user_required
def holiday_years(request: HttpRequest) -> HttpResponse:
    """节假日安排: the years the time limits can be computed in; the municipal administrator loads the
    next year's State Council notice here."""
    can_load = holidays.can_load(request.user)
    form = HolidayYearForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if not can_load:
            raise PermissionDenied(_("只有市民政管理员可以录入节假日安排。"))
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > HOLIDAY_FILE_LIMIT:
                form.add_error("file", _("文件超过 1 MB，不是一份节假日安排。"))
            else:
                try:
                    calendar = holidays.load_year(
                        year=form.cleaned_data["year"],
                        data=upload.read(),
                        source=form.cleaned_data["source"],
                        by=request.user,
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                else:
                    messages.success(request, _("已录入 %(year)s 年节假日安排。") % {"year": calendar.year})
                    return redirect("intake:holidays")
        status = 400
    years = HolidayYear.objects.prefetch_related("days").select_related("loaded_by")
    return render(
        request,
        "intake/holidays.html",
        {
            "form": form,
            "can_load": can_load,
            "years": years,
            "first": sla.FIRST_YEAR,
            "last": sla.LAST_YEAR,
            "uncovered_next": _today().year + 1
            if not sla.package_covers(_today().year + 1) and not years.filter(year=_today().year + 1).exists()
            else None,
        },
        status=status,
    )
