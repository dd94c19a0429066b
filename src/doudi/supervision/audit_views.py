"""审计日志查阅: the console pages of audit_review.py (thin: parse, call, render)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from doudi.audit.models import AuditAction
from doudi.core.access import console_user_required
from doudi.core.excel import INTEGER, Column, excel_response
from doudi.core.fields import require
from doudi.supervision import audit_review as review


def _common(request: HttpRequest) -> dict:
    return {"actions": AuditAction.choices, "tabs": "audit"}


@require_safe
@console_user_required
def search(request: HttpRequest) -> HttpResponse:
    """审计日志查询: by person, user, action, dates or entry number; newest first, keyset-paged."""
    require(review.can_review(request.user))
    q = review.parse_query(request.user, request.GET)
    page = None
    if not q.empty and not q.errors:
        page = review.keyset_page(
            review.filtered(request.user, q), before=request.GET.get("before"), after=request.GET.get("after")
        )
        if not request.GET.get("before") and not request.GET.get("after"):
            review.record_person_lookup(request.user, q.person, what="audit review: search by person")
    return render(
        request,
        "supervision/audit/search.html",
        {
            **_common(request),
            "q": q,
            "page": page,
            "query": urlencode(q.params()),
            "page_size": review.PAGE_SIZE,
        },
        status=400 if q.errors else 200,
    )


@require_safe
@console_user_required
def export(request: HttpRequest) -> HttpResponse:
    """The search's entries as .xlsx (masked, capped); the download is itself an audit entry."""
    require(review.can_review(request.user))
    q = review.parse_query(request.user, request.GET)
    if q.errors or q.empty:
        return search(request)
    review.record_person_lookup(request.user, q.person, what="audit review: export by person")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return excel_response(
        f"audit-log-{stamp}.xlsx",
        [
            Column(_("序号"), INTEGER),
            _("时间"),
            _("操作人"),
            _("操作"),
            _("对象类型"),
            _("对象"),
            _("区划"),
            _("原因"),
        ],
        review.export_rows(request.user, q),
        actor=request.user,
        sheet_title=_("审计日志"),
        object_type="audit.auditentry",
        reason=f"audit review export {urlencode(q.params())}"[:500],
    )


@require_safe
@console_user_required
def readers(request: HttpRequest) -> HttpResponse:
    """谁查阅了此人: everyone who read a person's record, their households or their cases."""
    require(review.can_review(request.user))
    q = review.parse_query(request.user, {"id_number": request.GET.get("id_number", "")})
    rows = None
    if q.person is not None and not q.errors:
        rows = review.readers(request.user, q.person)
        review.record_person_lookup(request.user, q.person, what="audit review: who read")
    return render(
        request,
        "supervision/audit/readers.html",
        {**_common(request), "q": q, "rows": rows, "limit": review.READERS_LIMIT},
        status=400 if q.errors else 200,
    )


@require_safe
@console_user_required
def unusual(request: HttpRequest) -> HttpResponse:
    """异常访问: the accesses a rule flags in a range of days, each with its rule."""
    require(review.can_review(request.user))
    start, end, errors = review.unusual_range(request.GET, today=timezone.localdate())
    found = [] if errors else review.unusual_access(request.user, start, end)
    rules = [
        review.rule_text(code)
        for code in (
            review.Rule.MANY_OUTSIDE,
            review.Rule.NIGHT,
            review.Rule.BULK_EXPORT,
            review.Rule.FREQUENT_EXPORT,
        )
    ]
    return render(
        request,
        "supervision/audit/unusual.html",
        {**_common(request), "start": start, "end": end, "errors": errors, "found": found, "rules": rules},
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
@console_user_required
def verify(request: HttpRequest) -> HttpResponse:
    """审计链校验: recompute the hash chain on request and show which entry breaks it, if any."""
    require(review.can_review(request.user))
    check = review.check_chain(request.user) if request.method == "POST" else None
    return render(request, "supervision/audit/verify.html", {**_common(request), "check": check})
