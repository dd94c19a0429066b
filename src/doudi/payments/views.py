"""Console screens of 资金发放: payee accounts (收款账户) — propose a change, the checkers' queue — and
the monthly payroll (发放花名册): runs with progress, the review by district and scheme, the approval
tiers, bank files (download audited), returns, and the banks' file templates."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core.access import console_user_required, forbidden
from doudi.core.errors import Conflict
from doudi.core.http import flash_refusal
from doudi.core.scoping import get_visible_or_404
from doudi.payments import bankfiles, selectors, services
from doudi.payments.forms import AccountForm, BankForm, DecisionForm
from doudi.payments.models import Bank, BankFile, PayeeAccount, PayrollBatch, PayrollRun, PayScheme
from doudi.policy.periods import Period
from doudi.registry.models import Person

PAGE_SIZE = 50


@console_user_required
def account_propose(request: HttpRequest, person_pk: int) -> HttpResponse:
    """变更账户: propose the account a person is paid into; another officer approves it."""
    person = get_visible_or_404(Person.objects.select_related("region"), request.user, pk=person_pk)
    if not services.can_propose_account(request.user):
        return forbidden(request)
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.propose_account(person=person, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except (PermissionDenied, Conflict) as exc:
            flash_refusal(request, exc)
            return redirect("console:person", pk=person.pk)
        else:
            messages.success(request, _("账户变更已提交，待另一位工作人员复核后生效。"))
            return redirect("console:person", pk=person.pk)
    return render(
        request,
        "payments/account_form.html",
        {"form": form, "person": person, "accounts": selectors.person_accounts(request.user, person)},
        status=400 if form.errors else 200,
    )


@console_user_required
def account_queue(request: HttpRequest) -> HttpResponse:
    """待复核账户变更: the proposals of the user's subtree, each beside the account it would replace."""
    page = Paginator(selectors.pending_accounts(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    current = selectors.current_accounts(request.user, {a.person_id for a in page.object_list})
    for a in page.object_list:
        a.replaces = current.get(a.person_id)
    return render(
        request,
        "payments/account_queue.html",
        {"page": page, "can_decide": services.can_approve_accounts(request.user)},
    )


def _decide(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    account = get_visible_or_404(PayeeAccount, request.user, pk=pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else request.POST.get("note", "")
    try:
        if approve:
            services.approve_account(account=account, by=request.user, note=note)
            messages.success(request, _("已复核通过，新账户生效。"))
        else:
            services.reject_account(account=account, by=request.user, note=note)
            messages.success(request, _("已驳回该账户变更。"))
    except (ValidationError, PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    return redirect("payments:account_queue")


@require_POST
@console_user_required
def account_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=True)


@require_POST
@console_user_required
def account_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=False)


# --- the monthly payroll (发放花名册) ----------------------------------------------------------------


def _period(value: str) -> Period | None:
    try:
        return Period.parse((value or "").strip())
    except ValueError:
        return None


@console_user_required
def payroll_runs(request: HttpRequest) -> HttpResponse:
    """发放花名册: the runs, and (municipal administrator) freeze and compute a month or a follow-up."""
    can_run = request.user.has_role(*services.RUNNERS)
    if request.method == "POST":
        if not can_run:
            return forbidden(request)
        month = _period(request.POST.get("month", ""))
        if month is None:
            messages.error(request, _("请填写发放月份（YYYY-MM）。"))
            return redirect("payments:payroll_runs")
        try:
            if request.POST.get("follow_up"):
                run = services.create_follow_up(month=month, officer=request.user)
                services.request_compute_run(run=run, officer=request.user)
            else:
                run = services.request_compute(month=month, officer=request.user)
        except (PermissionDenied, Conflict) as exc:
            flash_refusal(request, exc)
            return redirect("payments:payroll_runs")
        return redirect("payments:payroll_run", pk=run.pk)
    return render(
        request,
        "payments/payroll_runs.html",
        {
            "runs": selectors.payroll_runs()[:48],
            "can_run": can_run,
            "backdated": selectors.backdated_changes() if can_run else [],
            "this_month": Period.of(timezone.localdate()),
        },
    )


@console_user_required
def payroll_run(request: HttpRequest, pk: int) -> HttpResponse:
    """发放审核: the review by district and scheme, the approval tiers, bank files and returns."""
    run = get_object_or_404(PayrollRun, pk=pk)
    review = selectors.payroll_review(request.user, run)
    batches = list(selectors.payroll_batches(request.user, run))
    for b in batches:
        b.actions = [
            a
            for a, (state, _to, role) in services.TIERS.items()
            if b.status == state and request.user.has_role(role)
        ]
    return render(
        request,
        "payments/payroll_run.html",
        {
            "run": run,
            "review": review,
            "batches": batches,
            "ledger": selectors.batch_ledger(request.user, run),
            "files": selectors.bank_files(run),
            "can_issue": request.user.has_role(*services.FILE_MAKERS),
            "kinds": selectors.LINE_KINDS,
            "arrears": selectors.arrears_review(request.user, run) if run.is_arrears else None,
        },
    )


@console_user_required
@require_POST
def arrears_create(request: HttpRequest) -> HttpResponse:
    """补发差额 (municipal administrator): freeze the owed months under the parameters in force now and
    queue the computation; the run page then shows, per district, owed month and scheme, what would
    be paid before any district submits it."""
    if not request.user.has_role(*services.RUNNERS):
        return forbidden(request)
    first = _period(request.POST.get("from", ""))
    last = _period(request.POST.get("to", ""))
    paying = _period(request.POST.get("month", "")) if request.POST.get("month", "").strip() else None
    bad = {
        name: _("请填写月份（YYYY-MM）。") for name, value in (("from", first), ("to", last)) if value is None
    }
    if request.POST.get("month", "").strip() and paying is None:
        bad["month"] = _("请填写月份（YYYY-MM）。")
    if bad:
        labels = {"from": _("补发起始月份"), "to": _("补发截止月份"), "month": _("发放月份")}
        messages.error(request, "；".join(f"{labels[k]}：{v}" for k, v in bad.items()))
        return redirect("payments:payroll_runs")
    try:
        run = services.create_arrears(first=first, last=last, month=paying, officer=request.user)
        services.request_compute_run(run=run, officer=request.user)
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
        return redirect("payments:payroll_runs")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("payments:payroll_runs")
    return redirect("payments:payroll_run", pk=run.pk)


@console_user_required
def arrears_reductions(request: HttpRequest, pk: int) -> HttpResponse:
    """补发差额核减清单: the owed amounts now lower than what was paid, in the user's subtree — listed for
    the bureau's decision, never clawed back by the payroll."""
    run = get_object_or_404(PayrollRun, pk=pk, kind="arrears")
    page = Paginator(selectors.arrears_reductions(request.user, run), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "payments/arrears_reductions.html", {"run": run, "page": page})


@console_user_required
def payroll_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block, polled by htmx every 2 s while the run computes."""
    return render(request, "payments/_payroll_progress.html", {"run": get_object_or_404(PayrollRun, pk=pk)})


@console_user_required
def payroll_lines(request: HttpRequest, pk: int) -> HttpResponse:
    """发放明细 of the user's subtree, one review category at a time (account numbers masked)."""
    run = get_object_or_404(PayrollRun, pk=pk)
    kind = request.GET.get("kind", "")
    kind = kind if kind in selectors.LINE_KINDS else ""
    scheme = request.GET.get("scheme", "")
    scheme = scheme if scheme in PayScheme.values else ""
    district = request.GET.get("district", "")[:12]
    qs = selectors.payroll_lines(request.user, run, district=district, scheme=scheme, kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/payroll_lines.html",
        {
            "run": run,
            "page": page,
            "kind": kind,
            "scheme": scheme,
            "district": district,
            "schemes": PayScheme.choices,
        },
    )


@console_user_required
@require_POST
def batch_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """One approval tier of a district batch (submit / approve / confirm)."""
    batch = get_visible_or_404(PayrollBatch, request.user, pk=pk)
    try:
        services.sign_batch(
            batch=batch,
            action=request.POST.get("action", ""),
            officer=request.user,
            note=request.POST.get("note", ""),
        )
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已签署。"))
    return redirect("payments:payroll_run", pk=batch.run_id)


@console_user_required
@require_POST
def issue_files(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayrollRun, pk=pk)
    try:
        files = services.issue_bank_files(run=run, officer=request.user)
    except (PermissionDenied, Conflict) as exc:
        flash_refusal(request, exc)
    except bankfiles.BankFileError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已生成 %(n)s 个代发文件。") % {"n": len(files)})
    return redirect("payments:payroll_run", pk=run.pk)


@console_user_required
def bank_file_download(request: HttpRequest, pk: int) -> HttpResponse:
    """下载代发文件 (audited as an export: the only place account numbers appear in full)."""
    bank_file = get_object_or_404(BankFile, pk=pk)
    try:
        content = services.record_download(bank_file=bank_file, officer=request.user)
    except PermissionDenied:
        return forbidden(request)
    except Conflict as exc:
        flash_refusal(request, exc)
        return redirect("payments:payroll_run", pk=bank_file.run_id)
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{bank_file.file_name}"'
    return response


MAX_RETURN_BYTES = 50 * 1024 * 1024


@console_user_required
@require_POST
def return_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """导入回盘: the bank's answer, validated whole (nothing settled on any bad row)."""
    bank_file = get_object_or_404(BankFile, pk=pk)
    upload = request.FILES.get("file")
    if upload is None or upload.size == 0:
        messages.error(request, _("请选择回盘文件。"))
    elif upload.size > MAX_RETURN_BYTES:
        messages.error(request, _("回盘文件不能超过 50 MB。"))
    else:
        try:
            imported = services.import_return(
                bank_file=bank_file, content=upload.read(), file_name=upload.name, officer=request.user
            )
        except PermissionDenied:
            return forbidden(request)
        if imported.status == "loaded":
            messages.success(
                request,
                _("回盘已导入：成功 %(p)s 笔，失败 %(f)s 笔。")
                % {"p": imported.paid_count, "f": imported.failed_count},
            )
        else:
            messages.error(
                request,
                _("回盘文件有 %(n)s 处问题，未导入任何一笔，见下方明细。") % {"n": imported.error_count},
            )
    return redirect("payments:payroll_run", pk=bank_file.run_id)


# --- banks (代发银行) ----------------------------------------------------------------------------------


@console_user_required
def bank_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(*services.BANK_ADMINS):
        return forbidden(request)
    return render(request, "payments/banks.html", {"banks": Bank.objects.order_by("code")})


@console_user_required
def bank_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """配置代发银行: code, name, account formats and the file template (JSON, validated whole)."""
    if not request.user.has_role(*services.BANK_ADMINS):
        return forbidden(request)
    bank = get_object_or_404(Bank, pk=pk) if pk else None
    form = BankForm(request.POST or None, bank=bank)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_bank(bank=bank, data=form.cleaned_data, officer=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("代发银行已保存。"))
            return redirect("payments:bank_list")
    return render(
        request, "payments/bank_form.html", {"form": form, "bank": bank}, status=400 if form.errors else 200
    )
