"""Console pages of the supervision checks: the findings queue (问题线索) with its Excel export, one
finding (evidence, ledger, recovery) with the supervisor's actions, and the staff-relatives register
(近亲属备案). Thin: parse, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doudi.accounts.models import User
from doudi.audit.services import record_read
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.core.excel import MONEY_FEN, Column, excel_response
from doudi.core.http import flash_refusal
from doudi.core.masking import mask_id_number, mask_name
from doudi.core.text import clean_text
from doudi.registry.models import Person
from doudi.supervision import selectors, services
from doudi.supervision.models import Check, FindingState, Kinship

# What a check's evidence holds, as the page names it (the keys are the checks' own).
EVIDENCE_LABELS = {
    "scheme": gettext_lazy("发放项目"),
    "ref": gettext_lazy("流水号"),
    "refs": gettext_lazy("流水号"),
    "lines": gettext_lazy("发放笔数"),
    "total_fen": gettext_lazy("合计（分）"),
    "amount_fen": gettext_lazy("金额（分）"),
    "expected_fen": gettext_lazy("规则测算应发（分）"),
    "computed_fen": gettext_lazy("测算金额（分）"),
    "enrolled_fen": gettext_lazy("核定金额（分）"),
    "flag": gettext_lazy("提示"),
    "households": gettext_lazy("家庭"),
    "districts": gettext_lazy("区县"),
    "deaths": gettext_lazy("死亡记录"),
    "tekun": gettext_lazy("特困供养"),
    "dibao": gettext_lazy("低保"),
    "account": gettext_lazy("账号"),
    "holders": gettext_lazy("户名"),
    "declaration": gettext_lazy("备案编号"),
    "staff": gettext_lazy("工作人员"),
    "relation": gettext_lazy("关系"),
    "roles": gettext_lazy("经办环节"),
    "case": gettext_lazy("案件"),
    "amount": gettext_lazy("批准金额（元）"),
    "evaluated_amount": gettext_lazy("评估金额（元）"),
    "evaluation_decision": gettext_lazy("评估结论"),
    "overridden": gettext_lazy("不按评估结论批准"),
    "enrolment": gettext_lazy("在保记录"),
    "before": gettext_lazy("调整前（元）"),
    "after": gettext_lazy("调整后（元）"),
    "by": gettext_lazy("操作人"),
    "effective_month": gettext_lazy("生效月份"),
    "due_on": gettext_lazy("办理期限"),
    "decided_on": gettext_lazy("决定日期"),
    "days_late": gettext_lazy("超期天数"),
    "limit": gettext_lazy("时限"),
    "paid_month": gettext_lazy("发放月份"),
    "approved_on": gettext_lazy("审批日期"),
    "publications": gettext_lazy("公示"),
}


def evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    """The evidence as (label, text) rows; a value that is a list or a record is written as JSON."""
    import json

    rows = []
    for key, value in evidence.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append((str(EVIDENCE_LABELS.get(key, key)), text))
    return rows


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@console_user_required
def findings(request: HttpRequest) -> HttpResponse:
    """问题线索: the supervisor's queue (everyone else sees only the findings assigned to them)."""
    f = selectors.FindingFilter.from_query(request.GET)
    supervisor = services.can_read_all(request.user)
    if not supervisor:
        f = selectors.FindingFilter(f.state, f.check, f.month, f.district, mine=True)
    rows = selectors.findings(request.user, f)
    if request.GET.get("format") == "xlsx":
        return _export(request, rows)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/findings.html",
        {
            "page": page,
            "filter": f,
            "states": FindingState.choices,
            "checks": Check.choices,
            "supervisor": supervisor,
            "can_run": services.is_supervisor(request.user),
            "runs": selectors.recent_runs(5) if supervisor else [],
            "this_month": timezone.localdate().strftime("%Y-%m"),
        },
    )


def _export(request: HttpRequest, rows) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return excel_response(
        f"findings-{stamp}.xlsx",
        [
            _("线索编号"),
            _("检查项目"),
            _("所属月份"),
            _("区县"),
            _("村社区"),
            _("保障对象"),
            _("身份证号"),
            Column(_("涉及金额（元）"), MONEY_FEN),
            _("状态"),
            _("核查人"),
            Column(_("应追回（元）"), MONEY_FEN),
            Column(_("已追回（元）"), MONEY_FEN),
            _("发现时间"),
        ],
        (
            [
                f.key,
                f.get_check_code_display(),
                f.month,
                f.district,
                f.region.name,
                mask_name(f.person.name) if f.person_id else "",
                mask_id_number(f.person.id_number) if f.person_id else "",
                f.amount_fen,
                f.get_state_display(),
                str(f.assigned_to or ""),
                f.recover_fen,
                f.recovery.repaid_fen if hasattr(f, "recovery") else None,
                timezone.localtime(f.found_at).strftime("%Y-%m-%d %H:%M"),
            ]
            for f in rows.select_related("person", "recovery").iterator(chunk_size=2000)
        ),
        actor=request.user,
        sheet_title=_("问题线索"),
        object_type="supervision.finding",
    )


@console_user_required
@require_POST
def run(request: HttpRequest) -> HttpResponse:
    """Run the checks now (queued for `doudi worker`: at a million lines they take seconds)."""
    from doudi.supervision.tasks import supervise_task

    if not services.is_supervisor(request.user):
        flash_refusal(request, PermissionDenied())
        return redirect("supervision:findings")
    try:
        month = services.raise_if_invalid_month(request.POST.get("month", ""))
    except ValidationError as exc:
        flash_refusal(request, exc)
        return redirect("supervision:findings")
    supervise_task.enqueue(month, "console", request.user.pk)
    messages.success(request, _("已排队检查 %(m)s 的发放，完成后线索列入此处。") % {"m": month})
    return redirect("supervision:findings")


@console_user_required
def finding(request: HttpRequest, pk: int) -> HttpResponse:
    f = selectors.finding(request.user, pk)
    if not (services.can_read_all(request.user) or f.assigned_to_id == request.user.pk):
        raise PermissionDenied
    if f.person_id:
        record_read(actor=request.user, obj=f.person, reason=f"supervision finding {f.key}")
    recovery = getattr(f, "recovery", None)
    return render(
        request,
        "supervision/finding.html",
        {
            "f": f,
            "evidence": evidence_rows(f.evidence),
            "transitions": f.transitions.all(),
            "recovery": recovery,
            "repayments": recovery.repayments.all() if recovery else [],
            "can_work": services.can_work(request.user, f),
            "is_supervisor": services.is_supervisor(request.user) and services.can_work(request.user, f),
            "assignees": services.assignees(request.user, f) if services.is_supervisor(request.user) else [],
            "today": timezone.localdate(),
        },
    )


@console_user_required
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    f = selectors.finding(request.user, pk)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    try:
        if action == "assign":
            to = User.objects.filter(pk=request.POST.get("assigned_to") or 0).select_related("region").first()
            services.assign(finding=f, to=to, by=request.user, reason=reason, version=_version(request))
        elif action == "confirm":
            services.confirm(
                finding=f,
                by=request.user,
                reason=reason,
                recover=request.POST.get("recover", ""),
                version=_version(request),
            )
        elif action == "explain":
            services.explain(finding=f, by=request.user, reason=reason, version=_version(request))
        elif action == "reopen":
            services.reopen(finding=f, by=request.user, reason=reason, version=_version(request))
        elif action == "repay":
            services.record_repayment(
                finding=f,
                by=request.user,
                amount=request.POST.get("amount", ""),
                paid_on=request.POST.get("paid_on", ""),
                reference=request.POST.get("reference", ""),
            )
        else:
            raise ValidationError({"action": _("未知的操作。")})
    except (ValidationError, Conflict, PermissionDenied) as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, _("已保存。"))
    return redirect("supervision:finding", pk=f.pk)


# --- 近亲属备案 --------------------------------------------------------------------------------------------


@console_user_required
def relatives(request: HttpRequest) -> HttpResponse:
    """近亲属备案: one's own declarations and the form to add one; the supervisor sees the register."""
    supervisor = services.can_read_all(request.user)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "withdraw":
                declaration = get_object_or_404(
                    selectors.relatives_declared_by(request.user), pk=request.POST.get("id") or 0
                )
                services.withdraw_relative(
                    declaration=declaration, by=request.user, reason=request.POST.get("reason", "")
                )
            else:
                id_number = clean_text(request.POST.get("id_number", "")).upper()
                person = Person.objects.filter(id_number=id_number).first() if id_number else None
                if id_number and person is None:
                    raise ValidationError({"id_number": _("户籍库中没有此身份证号的人员。")})
                services.declare_relative(
                    staff=request.user,
                    person=person,
                    relation=request.POST.get("relation", ""),
                    note=request.POST.get("note", ""),
                )
        except (ValidationError, Conflict, PermissionDenied) as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, _("已保存。"))
        return redirect("supervision:relatives")
    register = selectors.relatives_register(request.user) if supervisor else None
    return render(
        request,
        "supervision/relatives.html",
        {
            "own": selectors.relatives_declared_by(request.user),
            "register": Paginator(register, 100).get_page(request.GET.get("page"))
            if register is not None
            else None,
            "kinship": Kinship.choices,
        },
    )
