"""Console screens of 资金发放: payee accounts (收款账户) — propose a change, the checkers' queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core.access import console_user_required, forbidden
from doudi.core.errors import Conflict
from doudi.core.http import flash_refusal
from doudi.core.scoping import get_visible_or_404
from doudi.payments import selectors, services
from doudi.payments.forms import AccountForm, DecisionForm
from doudi.payments.models import PayeeAccount
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
