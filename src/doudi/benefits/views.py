"""Console screens of 救助待遇: the roster of enrolments (在保名册) in the user's region, one enrolment
with its changes (增发、减发、停发、恢复发放、退出) and their printed notices; thin views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.accounts.roles import Role
from doudi.benefits import selectors, services
from doudi.benefits.forms import AmountForm, ExitForm, SuspendForm
from doudi.benefits.models import ChangeKind, Scheme
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import INTEGER, MONTH, Column, excel_response
from doudi.core.http import flash_refusal
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


# --- one enrolment: its ledger, its changes (增发、减发、停发、恢复发放、退出) and their notices ------------------

ACTIONS = {
    "amount": (AmountForm, services.change_amount),
    "suspend": (SuspendForm, services.suspend_enrolment),
    "resume": (SuspendForm, services.resume_enrolment),
    "exit": (ExitForm, services.exit_enrolment),
}


def _enrolment_page(request: HttpRequest, enrolment, forms: dict, status: int = 200) -> HttpResponse:
    month = services.first_of_month(timezone.localdate())
    region = enrolment.household.region
    return render(
        request,
        "benefits/enrolment.html",
        {
            "enrolment": enrolment,
            "who": enrolment.beneficiary,
            "changes": selectors.enrolment_changes(request.user, enrolment).select_related("case"),
            "forms": forms,
            "can_change": request.user.has_role(Role.DISTRICT_APPROVER),
            "month": month,
            "in_window": services.in_emergency_window(region, month),
            "window": services.emergency_window(region, month),
        },
        status=status,
    )


def _blank_forms(initial: dict | None = None) -> dict:
    return {
        name: form_class(prefix=name, initial=(initial or {}).get(name))
        for name, (form_class, _service) in ACTIONS.items()
    }


@console_user_required
def enrolment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """在保记录: the enrolment, every change with its notice, and (district approvers) the change forms."""
    enrolment = selectors.enrolment_detail(request.user, pk)
    return _enrolment_page(request, enrolment, _blank_forms(_proposal_initial(request, enrolment)))


@require_POST
@console_user_required
def enrolment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    enrolment = selectors.enrolment_detail(request.user, pk)
    form_class, service = ACTIONS[action]
    forms = _blank_forms()
    form = forms[action] = form_class(request.POST, prefix=action)
    if form.is_valid():
        try:
            change = service(enrolment=enrolment, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except (PermissionDenied, Conflict) as exc:
            flash_refusal(request, exc)
            return redirect("benefits:enrolment", pk=pk)
        else:
            messages.success(request, _("已变更，请打印通知书送达家庭。"))
            return redirect("benefits:change_notice", pk=pk, change=change.pk)
    return _enrolment_page(request, enrolment, forms, status=400)


@console_user_required
def change_notice(request: HttpRequest, pk: int, change: int) -> HttpResponse:
    """变更通知书, printable: what changed, from which month, why, and the household's appeal rights."""
    enrolment = selectors.enrolment_detail(request.user, pk)
    entry = selectors.enrolment_change(request.user, enrolment, change)
    if entry.kind == ChangeKind.ENROLLED:
        raise Http404  # the decision letter (审批决定书) is the intake case's notice
    return render(request, "benefits/change_notice.html", selectors.change_notice_context(enrolment, entry))


def _proposal_initial(request: HttpRequest, enrolment) -> dict | None:
    """The forms prefilled from a re-check outcome (`?outcome=`): the reduction or exit it found."""
    raw = request.GET.get("outcome", "")
    outcome = selectors.recheck_proposal(request.user, enrolment, int(raw)) if raw.isdigit() else None
    if outcome is None:
        return None
    month = timezone.localdate().strftime("%Y-%m")
    reason = _("%(m)s 月度动态复核：按核对的收入和财产，月低保金测算为 %(a)s 元（现发 %(l)s 元）。") % {
        "m": outcome.run.month,
        "a": outcome.computed_amount,
        "l": outcome.last_amount,
    }
    if outcome.change == "exit":
        return {"exit": {"end_month": month, "reason": reason}}
    return {"amount": {"amount": outcome.computed_amount, "effective_month": month, "reason": reason}}


# --- the monthly re-check's outcomes -----------------------------------------------------------------------


@require_POST
@console_user_required
def apply_recheck(request: HttpRequest, run: int) -> HttpResponse:
    """落实复核增发: the button on the re-check page."""
    from doudi.verification.selectors import run_detail

    item = run_detail(run)
    try:
        counts = services.apply_recheck_outcomes(run=item, by=request.user)
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    else:
        messages.success(
            request,
            _(
                "已落实增发 %(applied)d 户（自 %(m)s 起）；已落实过 %(already)d 户；情况已变化、需人工复查 %(stale)d 户。"
            )
            % {**counts, "m": item.month},
        )
    return redirect("verification:run", pk=item.pk)


@console_user_required
def recheck_proposals(request: HttpRequest) -> HttpResponse:
    """减发/退出待办: what the re-check found to reduce or end, now that the window no longer holds it."""
    run, found = selectors.recheck_proposals(request.user, timezone.localdate())
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "benefits/recheck_proposals.html", {"run": run, "page": page})


# --- the end of the emergency window (疫情防控期结束：影响预览) ---------------------------------------------------


def _window_end_scopes(user) -> list:
    """Where the user may prepare a preview: the user's district, or (municipal) the city."""
    region = getattr(user, "region", None)
    if region is None or not user.has_role(*services.WINDOW_END_PREPARERS):
        return []
    return [region] if region.level in (1, 2) else []


@console_user_required
def window_end_list(request: HttpRequest) -> HttpResponse:
    """疫情防控期结束：影响预览 — the previews of the user's scope, and where one may be prepared."""
    scopes = []
    for region in _window_end_scopes(request.user):
        try:
            start, end = services.declared_window_end(region)
        except ValidationError as exc:
            scopes.append({"region": region, "refusal": exc.message_dict["region"][0]})
        else:
            scopes.append({"region": region, "start": start, "end": end, "month": services._next_month(end)})
    reviews = Paginator(selectors.window_end_reviews(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "benefits/window_end_list.html", {"scopes": scopes, "page": reviews})


@require_POST
@console_user_required
def window_end_prepare(request: HttpRequest) -> HttpResponse:
    scopes = {r.code: r for r in _window_end_scopes(request.user)}
    region = scopes.get(request.POST.get("region", ""))
    if region is None:
        raise PermissionDenied(_("只有本区县民政经办人、审批人或市民政管理员可以编制影响预览。"))
    try:
        review = services.prepare_window_end(region=region, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect("benefits:window_end_list")
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
        return redirect("benefits:window_end_list")
    from doudi.benefits.tasks import compute_window_end_task

    compute_window_end_task.enqueue(review.pk)
    messages.success(request, _("已开始计算影响预览。"))
    return redirect("benefits:window_end", pk=review.pk)


SCHEME_ORDER = ("dibao", "tekun", "children", "price_subsidy", "covid", "bereavement")


def _totals_rows(review) -> list[dict]:
    from doudi.payments.models import PayScheme

    totals = (review.summary or {}).get("totals", {})
    rows = []
    for scheme in SCHEME_ORDER:
        t = totals.get(scheme)
        if t:
            rows.append(
                {"label": PayScheme(scheme).label, **t, "difference_fen": t["after_fen"] - t["before_fen"]}
            )
    return rows


@console_user_required
def window_end_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview: totals by scheme before and after, the changes by kind (each with its notice once
    applied), the districts' approvals, and for a district approver other than the preparer 审批."""
    from doudi.benefits.models import ItemKind, ReviewStatus

    review = selectors.window_end_review(request.user, pk)
    kind = request.GET.get("kind", "")
    if kind not in ItemKind.values:
        kind = ""
    found = selectors.window_end_items(request.user, review, kind=kind)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    approvals = list(review.approvals.select_related("district", "by"))
    mine = request.user.region
    can_approve = (
        review.status == ReviewStatus.READY
        and request.user.has_role(Role.DISTRICT_APPROVER)
        and review.prepared_by_id != request.user.pk
        and mine is not None
        and mine.level == 2
        and not any(a.district_id == mine.pk for a in approvals)
    )
    counts = (review.summary or {}).get("counts", {})
    return render(
        request,
        "benefits/window_end.html",
        {
            "review": review,
            "rows": _totals_rows(review),
            "kinds": [(k, label, counts.get(k, 0)) for k, label in ItemKind.choices],
            "kind": kind,
            "page": page,
            "query_prefix": f"kind={kind}&" if kind else "",
            "approvals": approvals,
            "can_approve": can_approve,
        },
    )


@console_user_required
def window_end_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request,
        "benefits/_window_end_progress.html",
        {"review": selectors.window_end_review(request.user, pk)},
    )


@require_POST
@console_user_required
def window_end_approve(request: HttpRequest, pk: int) -> HttpResponse:
    review = selectors.window_end_review(request.user, pk)
    try:
        approval = services.approve_window_end(
            review=review, by=request.user, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    else:
        from doudi.benefits.tasks import apply_window_end_task

        apply_window_end_task.enqueue(approval.pk)
        messages.success(request, _("已审批，正在逐项落实变更；完成后可打印通知书。"))
    return redirect("benefits:window_end", pk=pk)


@console_user_required
def window_end_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The changes (one kind, or all) as Excel; ID numbers masked as on screen."""
    review = selectors.window_end_review(request.user, pk)
    kind = request.GET.get("kind", "")
    found = selectors.window_end_items(request.user, review, kind=kind)[:EXPORT_LIMIT]
    headers = [
        _("类别"),
        _("救助项目"),
        _("村社区"),
        _("户主"),
        _("保障对象"),
        _("身份证号"),
        Column(_("人数"), INTEGER),
        Column(_("原月发放（元）"), INTEGER),
        Column(_("结束后月发放（元）"), INTEGER),
        _("理由"),
        _("落实情况"),
    ]

    def rows():
        for i in found:
            who = i.person or i.household.head
            yield [
                i.get_kind_display(),
                _scheme_label(i.scheme),
                i.household.region.name,
                i.household.head.name if i.household.head_id else "",
                who.name if who else "",
                mask_id_number(who.id_number) if who else "",
                i.persons,
                i.before_amount,
                i.after_amount,
                i.reason,
                i.get_outcome_display(),
            ]

    return excel_response(
        f"window-end-{review.pk}-{kind or 'all'}.xlsx",
        headers,
        rows(),
        actor=request.user,
        sheet_title=_("疫情防控期结束影响预览"),
        object_type="benefits.windowenditem",
    )


def _scheme_label(scheme: str) -> str:
    from doudi.payments.models import PayScheme

    return str(PayScheme(scheme).label) if scheme in PayScheme.values else scheme


@console_user_required
def window_end_notice(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """The household's notice of one change: an enrolment's is its ledger entry's notice (变更通知书);
    a COVID assistance that stops and proofs now due have their own, once the district approved."""
    from doudi.benefits.models import ItemOutcome

    review = selectors.window_end_review(request.user, pk)
    entry = selectors.window_end_item(request.user, review, item)
    if entry.change_id:
        return redirect("benefits:change_notice", pk=entry.change.enrolment_id, change=entry.change_id)
    if entry.outcome != ItemOutcome.APPLIED:
        raise Http404  # nothing decided yet: no notice
    from doudi.regions.selectors import hotlines_for

    district = entry.household.region.district_code
    approval = review.approvals.filter(district__code=entry.district).select_related("by__region").first()
    return render(
        request,
        "benefits/window_end_notice.html",
        {
            "review": review,
            "t": entry,
            "who": entry.person or entry.household.head,
            "hotlines": list(hotlines_for(district)[:3]) if district else [],
            "unit": approval.by.region if approval and approval.by.region_id else entry.household.region,
            "at": entry.applied_at,
        },
    )
