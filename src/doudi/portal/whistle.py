"""举报 (条例第34条): the public reporting form and the reporter's status look-up — no sign-in, anonymous
allowed. The rules live in supervision/whistle.py; this face parses, rate-limits and renders.

The same form sent twice (a double tap, a resend after a dropped connection) is one report: the form
carries a one-time token. Filing counts against the limits only once accepted (a refused form costs
nothing); a look-up counts every attempt, per address and per tracking number.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from doudi.core.forms import bootstrap_widgets
from doudi.portal import ratelimit
from doudi.portal.forms import add_errors, flag_invalid
from doudi.portal.views import too_many
from doudi.supervision import whistle
from doudi.supervision.models import WhistleKind

FILED_SESSION_KEY = "whistle_filed"


class WhistleForm(forms.Form):
    """Parsed loosely on purpose: supervision.whistle.file_report checks every field and its errors come
    back onto the fields, so the rules live in one place."""

    submission = forms.CharField(widget=forms.HiddenInput, required=False)
    district = forms.CharField(label=gettext_lazy("举报事项所在区县"), required=False, widget=forms.Select)
    kind = forms.CharField(
        label=gettext_lazy("举报类型"), required=False, widget=forms.RadioSelect(choices=WhistleKind.choices)
    )
    about = forms.CharField(
        label=gettext_lazy("被举报人或单位（可不填）"), required=False, max_length=10_000, strip=False
    )
    body = forms.CharField(
        label=gettext_lazy("举报内容"),
        help_text=gettext_lazy("请写明时间、地点、人员和具体事实，不超过2000字。"),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": whistle.MAX_BODY}),
        max_length=100_000,
        required=False,
        strip=False,
    )
    anonymous = forms.BooleanField(
        label=gettext_lazy("匿名举报（不留姓名和联系方式）"), required=False, initial=True
    )
    reporter_name = forms.CharField(label=gettext_lazy("姓名"), required=False, max_length=10_000)
    reporter_phone = forms.CharField(
        label=gettext_lazy("联系电话"),
        required=False,
        max_length=10_000,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    reporter_id_number = forms.CharField(
        label=gettext_lazy("身份证号（可不填）"), required=False, max_length=10_000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].widget.choices = [("", "—")] + [(r.code, r.name) for r in whistle.districts()]
        bootstrap_widgets(self, large=True)


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """我要举报: the form; a report filed goes to the page with its tracking number."""
    if request.method == "GET":
        form = WhistleForm(initial={"submission": secrets.token_urlsafe(24), "anonymous": True})
        return render(
            request, "portal/whistle_form.html", {"form": form, "limit": whistle.HANDLING_WORKING_DAYS}
        )
    form = WhistleForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        d = form.cleaned_data
        ip = ratelimit.client_ip(request)
        phone = "" if d["anonymous"] else d["reporter_phone"]
        try:
            ratelimit.check("whistle", ip=ip, phone=phone)
            filed = whistle.file_report(
                submission=d["submission"],
                district=d["district"],
                kind=d["kind"],
                body=d["body"],
                about=d["about"],
                anonymous=d["anonymous"],
                reporter_name=d["reporter_name"],
                reporter_phone=d["reporter_phone"],
                reporter_id_number=d["reporter_id_number"],
            )
        except ratelimit.RateLimited as exc:
            return too_many(request, exc)
        except ValidationError as exc:
            errors = add_errors(form, exc.message_dict)
        else:
            if not filed.again:
                ratelimit.count("whistle", ip=ip, phone=phone)
            request.session[FILED_SESSION_KEY] = filed.report.tracking_number
            return redirect("portal:whistle_done")
    flag_invalid(form)
    return render(
        request,
        "portal/whistle_form.html",
        {"form": form, "errors": errors, "limit": whistle.HANDLING_WORKING_DAYS},
        status=400,
    )


@require_safe
def done(request: HttpRequest) -> HttpResponse:
    """The tracking number, shown once after filing (kept in the session, never in the URL)."""
    number = request.session.get(FILED_SESSION_KEY)
    status = whistle.public_status(number) if number else None
    if status is None:
        return redirect("portal:whistle")
    return render(request, "portal/whistle_done.html", {"s": status})


@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    """举报查询: the state and the answer of a report, by its tracking number (posted, not in the URL)."""
    if request.method == "GET":
        return render(request, "portal/whistle_status.html", {})
    raw = request.POST.get("tracking_number", "")[:64]
    number = whistle.normalise_tracking(raw)
    try:
        ratelimit.hit("whistle_status", ip=ratelimit.client_ip(request), tracking=number)
    except ratelimit.RateLimited as exc:
        return too_many(request, exc)
    found = whistle.public_status(number)
    context = {"s": found, "tracking_number": number}
    if found is None:
        context["error"] = _("未找到该举报编号，请核对后重新输入（编号以 JB 开头，共14位）。")
    return render(request, "portal/whistle_status.html", context, status=200 if found else 404)
