"""The citizen portal (群众服务): landing page, online applications, status tracking — no sign-in.

Views parse input, call one service or selector, and render. The public POST endpoints (apply, code
request, status check, upload) are rate-limited per IP and per identity (ratelimit.py); a verified
status check opens a short session bound to that one case (tracking number + ID number + SMS code).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from doudi.benefits import selectors as benefits_selectors
from doudi.core.access import console_user_required, forbidden
from doudi.intake.models import Case, CaseType
from doudi.intake.workflows import change_report
from doudi.portal import forms, ratelimit, selectors, services
from doudi.portal.messaging import backend_available
from doudi.regions.models import RegionLevel
from doudi.regions.selectors import city_hotlines, hotline_districts, hotlines_for

# The assistance a citizen can ask for, each with its online application.
SERVICES = [
    {
        "key": "dibao",
        "title": gettext_lazy("最低生活保障（低保）"),
        "text": gettext_lazy(
            "家庭人均收入低于当地低保标准、财产符合规定的城乡居民，可以申请按月领取低保金。"
        ),
    },
    {
        "key": "tekun",
        "title": gettext_lazy("特困人员救助供养"),
        "text": gettext_lazy("无劳动能力、无生活来源、无法定赡养抚养扶养义务人的老年人、残疾人和未成年人。"),
    },
    {
        "key": "children",
        "title": gettext_lazy("儿童福利"),
        "text": gettext_lazy("孤儿、事实无人抚养儿童和困境儿童的基本生活保障；疫情期间可先承诺、后补材料。"),
    },
    {
        "key": "temporary",
        "title": gettext_lazy("临时救助"),
        "text": gettext_lazy(
            "因疫情、意外、疾病等突发原因导致基本生活暂时出现严重困难的家庭和个人，包括外地来渝人员。"
        ),
    },
]

STATUS_SESSION_KEY = "portal_case"
STATUS_SESSION_MINUTES = 15
APPLIED_SESSION_KEY = "portal_applied"
NOT_FOUND = gettext_lazy(
    "未找到匹配的申请。请核对受理编号、身份证号和短信验证码（验证码10分钟内有效，每个验证码最多可输入5次）。"
)
CODE_SENT = gettext_lazy(
    "如受理编号和身份证号无误，验证码已发送到申请时登记的手机号，10分钟内有效。一分钟内不会重复发送。"
)


def _first_url(*url_names: str) -> str | None:
    """The URL of the first named page that exists; the portal links only to pages that are there."""
    for name in url_names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def too_many(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    response = render(
        request, "portal/429.html", {"retry_minutes": max(1, exc.retry_after // 60)}, status=429
    )
    return retry_after(response, exc)


def retry_after(response: HttpResponse, exc: ratelimit.RateLimited | None) -> HttpResponse:
    if exc is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def rate_limited_text(exc: ratelimit.RateLimited) -> str:
    """Said above a re-shown form: it is refused for now, and nothing typed is lost."""
    return _("操作过于频繁，请 %(n)s 分钟后再提交。您填写的内容已保留（上传的文件需重新选择）。") % {
        "n": max(1, exc.retry_after // 60)
    }


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """首页: what help there is, how to ask for it, whom to call."""
    districts = list(hotline_districts())
    district = request.GET.get("district", "").strip() or _own_case_district(request)
    selected = next((d for d in districts if d.code == district), None)
    # Never all 42 districts at once (7,000 px on a phone): the citizen's district with the city-wide
    # lines, or the city-wide lines and a choice; the full list is one link away (hotlines_url).
    lines = hotlines_for(selected.code) if selected else city_hotlines()
    groups = [(region, list(items)) for region, items in groupby(lines, key=lambda h: h.district)]
    return render(
        request,
        "portal/home.html",
        {
            "services": SERVICES,
            "districts": districts,
            "selected": selected,
            "hotline_groups": groups,
            "hotlines_url": _first_url("hotlines:directory"),
            "disclosure_url": _first_url("disclosure:public", "disclosure:index", "portal:disclosure"),
        },
    )


def _own_case_district(request: HttpRequest) -> str:
    """The district of the citizen's own case in this session (the one just applied for, or the one whose
    status they opened), so the home page shows that district's hotlines without being asked."""
    for key in (STATUS_SESSION_KEY, APPLIED_SESSION_KEY):
        pk = (request.session.get(key) or {}).get("case")
        case = Case.objects.filter(pk=pk).select_related("region").first() if pk else None
        if case and case.region:
            return case.region.district_code or ""
    return ""


# --- 网上申请 -----------------------------------------------------------------------------------------------------


def scheme_or_404(scheme: str) -> str:
    if scheme not in services.SCHEMES:
        raise Http404
    return scheme


def _address_context(form: forms.ApplyForm) -> dict[str, Any]:
    """The district/township/village selects as submitted (or as pre-filled, or empty), so a re-shown
    form keeps them."""
    data = form.data if form.is_bound else form.initial
    district, township, village = selectors.village_chain(data.get("village", ""))
    district_code = district.code if district else data.get("district", "")
    township_code = township.code if township else data.get("township", "")
    return {
        "districts": selectors.districts(),
        "district_code": district_code,
        "townships": selectors.children_of(district_code, RegionLevel.TOWNSHIP) if district_code else [],
        "township_code": township_code,
        "villages": selectors.children_of(township_code, RegionLevel.VILLAGE) if township_code else [],
        "village_code": village.code if village else "",
    }


def apply_context(
    scheme: str, form: forms.ApplyForm, members: Any, errors: list[str], proofs_error: str = ""
) -> dict[str, Any]:
    from doudi.intake.workflows import children

    subtype = form.data.get("subtype", "") if form.is_bound else form.initial.get("subtype", "")
    forms.flag_invalid(form)
    for member in members.forms:
        forms.flag_invalid(member)
    return {
        "proofs_error": proofs_error,
        "scheme": scheme,
        "scheme_label": services.SCHEMES[scheme],
        "form": form,
        "members": members,
        "errors": errors,
        "subtype": subtype,
        "proof_fields": form.proof_fields(subtype),
        "commitment_text": children.COMMITMENT_TEXT,
        "commitment_open": scheme == CaseType.CHILDREN and _window_open_somewhere(form),
        "consent_text": services.CONSENT_TEXT,
        **_address_context(form),
    }


def _window_open_somewhere(form: forms.ApplyForm) -> bool:
    """Whether to offer the commitment box: the selected village's district is in the window today, or
    (nothing selected yet) some window is in force today; the service decides for the village chosen."""
    from django.db.models import Q

    from doudi.intake.workflows import children
    from doudi.regions.models import EmergencyWindow, Region

    today = timezone.localdate()
    village = Region.objects.filter(code=form.data.get("village", "") if form.is_bound else "").first()
    if village is not None:
        return children.commitment_allowed(village, today)
    return EmergencyWindow.objects.filter(Q(end__isnull=True) | Q(end__gte=today), start__lte=today).exists()


def _application(
    scheme: str, form: forms.ApplyForm, members: Any, request: HttpRequest
) -> services.Application:
    d = form.cleaned_data
    uploads = []
    for key, label in form.proof_choices().items():
        upload = d.get(f"proof_{key}")
        if upload:
            content = upload.read(services.files.max_bytes() + 1)  # never more than the limit allows
            uploads.append(services.Upload(key, str(label), upload.name, content))
    return services.Application(
        scheme=scheme,
        subtype=d.get("subtype", ""),
        applicant_name=d["applicant_name"],
        applicant_id_number=d["applicant_id_number"],
        applicant_phone=d["applicant_phone"],
        village_code=d["village"],
        reason=d["reason"],
        applicant_income=d.get("applicant_income") or Decimal(0),  # blank: no income
        members=forms.members_from(members),
        uploads=uploads,
        commitment=bool(d.get("commitment")),
        child_name=d.get("child_name", ""),
        child_id_number=d.get("child_id_number", ""),
        poverty=d.get("poverty", ""),
        consent=bool(d.get("consent")),
    )


def _done(request: HttpRequest, applied: services.Applied, who: dict[str, str]) -> HttpResponse:
    """An accepted submission: counted against the limits (a repeated one is not), its case remembered
    for the done page of this session."""
    if not applied.repeated:
        ratelimit.count("apply", **who)
    request.session[APPLIED_SESSION_KEY] = {
        "case": applied.case.pk,
        "sms": applied.message.ok if applied.message else None,
        "repeated": applied.repeated,
    }
    return redirect("portal:apply_done")


@require_safe
def apply_index(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/apply_index.html", {"services": SERVICES})


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, scheme: str) -> HttpResponse:
    """网上申请: one page per scheme; on success the case is open and the tracking number shown and texted."""
    scheme = scheme_or_404(scheme)
    if request.method == "GET":
        form = forms.ApplyForm(scheme=scheme)
        members = forms.MemberFormSet(prefix="members")
        return render(request, "portal/apply.html", apply_context(scheme, form, members, []))

    form = forms.ApplyForm(request.POST, request.FILES, scheme=scheme)
    members = forms.MemberFormSet(request.POST, prefix="members")
    errors: list[str] = []
    proofs_error = ""
    limited: ratelimit.RateLimited | None = None
    if form.is_valid() and members.is_valid():
        # Only accepted applications count; a refused one re-shows what was typed.
        who = {
            "ip": ratelimit.client_ip(request),
            "id": form.cleaned_data["applicant_id_number"],
            "phone": form.cleaned_data["applicant_phone"],
        }
        try:
            ratelimit.check("apply", **who)
            applied = services.apply_online(_application(scheme, form, members, request))
        except ratelimit.RateLimited as exc:
            limited = exc
            errors.append(rate_limited_text(exc))
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            proofs_error = "；".join(details.pop("proofs", []))
            field_errors = {k: v for k, v in details.items() if not k.startswith("members-")}
            errors += forms.add_errors(form, field_errors)
            errors += forms.member_errors(
                members, {k: v for k, v in details.items() if k.startswith("members-")}
            )
        else:
            return _done(request, applied, who)
    elif members.non_form_errors():
        errors += list(members.non_form_errors())
    context = apply_context(scheme, form, members, errors, proofs_error)
    return retry_after(render(request, "portal/apply.html", context, status=429 if limited else 400), limited)


@require_http_methods(["GET", "POST"])
def report_change(request: HttpRequest) -> HttpResponse:
    """家庭情况变化报告: a household in dibao reports what changed; protected like the application form
    (rate limit counted once accepted, names cleaned, consent, the same report twice is one case)."""
    form = forms.ChangeReportForm(request.POST or None)
    errors: list[str] = []
    limited: ratelimit.RateLimited | None = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        who = {
            "ip": ratelimit.client_ip(request),
            "id": d["applicant_id_number"],
            "phone": d["applicant_phone"],
        }
        try:
            ratelimit.check("apply", **who)
            applied = services.report_change(
                services.ChangeReport(
                    applicant_name=d["applicant_name"],
                    applicant_id_number=d["applicant_id_number"],
                    applicant_phone=d["applicant_phone"],
                    kinds=list(d["kinds"]),
                    description=d["description"],
                    household_income=d.get("household_income"),
                    consent=bool(d.get("consent")),
                )
            )
        except ratelimit.RateLimited as exc:
            limited = exc
            errors.append(rate_limited_text(exc))
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            errors += forms.add_errors(form, details)
        else:
            return _done(request, applied, who)
    if request.method == "GET":
        return render(request, "portal/report_change.html", _report_context(form, errors))
    response = render(
        request, "portal/report_change.html", _report_context(form, errors), status=429 if limited else 400
    )
    return retry_after(response, limited)


def _report_context(form: forms.ChangeReportForm, errors: list[str]) -> dict[str, Any]:
    forms.flag_invalid(form)
    return {"form": form, "errors": errors, "consent_text": services.CONSENT_TEXT}


@require_safe
def apply_done(request: HttpRequest) -> HttpResponse:
    """The tracking number, on screen (also texted). Only in the session that applied."""
    applied = request.session.get(APPLIED_SESSION_KEY)
    case = Case.objects.filter(pk=(applied or {}).get("case")).first() if applied else None
    if case is None:
        return redirect("portal:apply_index")
    return render(
        request,
        "portal/apply_done.html",
        {
            "case": case,
            "sms_sent": applied.get("sms"),
            "repeated": applied.get("repeated"),
            "scheme_label": services.SCHEMES.get(case.case_type, "") or case.get_case_type_display(),
        },
    )


@require_safe
def apply_regions(request: HttpRequest) -> HttpResponse:
    """htmx: the township select for a district (and an emptied village select), or the village select."""
    district = request.GET.get("district", "").strip()[:12]
    township = request.GET.get("township", "").strip()[:12]
    if "township" in request.GET:
        return render(
            request,
            "portal/_village_select.html",
            {
                "villages": selectors.children_of(township, RegionLevel.VILLAGE) if township else [],
                "village_code": "",
            },
        )
    return render(
        request,
        "portal/_township_select.html",
        {
            "townships": selectors.children_of(district, RegionLevel.TOWNSHIP) if district else [],
            "township_code": "",
            "villages": [],
            "village_code": "",
            "oob": True,
        },
    )


@require_safe
def apply_member_row(request: HttpRequest) -> HttpResponse:
    """htmx: one more household-member row (and the formset's updated count)."""
    try:
        index = int(request.GET.get("index", ""))
    except ValueError:
        index = -1
    if not 0 <= index < services.MAX_MEMBERS:
        return HttpResponse(status=204)
    members = forms.MemberFormSet(prefix="members")
    form = members.empty_form
    form.prefix = members.add_prefix(index)
    return render(
        request,
        "portal/_member_row.html",
        {"member": form, "index": index, "next": index + 1, "oob": True, "max": services.MAX_MEMBERS},
    )


@require_safe
def apply_children_proofs(request: HttpRequest) -> HttpResponse:
    """htmx: the proofs a kind of child needs."""
    subtype = request.GET.get("subtype", "")
    form = forms.ApplyForm(scheme=CaseType.CHILDREN)
    return render(
        request,
        "portal/_proofs.html",
        {"proof_fields": form.proof_fields(subtype), "scheme": CaseType.CHILDREN, "subtype": subtype},
    )


# --- 进度查询 -----------------------------------------------------------------------------------------------------


def _verified_case(request: HttpRequest) -> Case | None:
    entry = request.session.get(STATUS_SESSION_KEY) or {}
    try:
        until = datetime.datetime.fromisoformat(entry["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if until < timezone.now():
        request.session.pop(STATUS_SESSION_KEY, None)
        return None
    return Case.objects.select_related("region").filter(pk=entry.get("case")).first()


@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    """进度查询: step 1 sends a code to the phone on file, step 2 checks all three."""
    if request.method == "GET":
        return render(
            request, "portal/status.html", {"form": forms.StatusForm(), "sms_ok": backend_available()}
        )
    form = forms.StatusForm(request.POST)
    op = request.POST.get("op", "verify")
    context: dict[str, Any] = {"form": form, "sms_ok": backend_available()}
    if not form.is_valid():
        return render(request, "portal/status.html", context, status=400)
    d = form.cleaned_data
    try:
        ratelimit.hit(
            "code" if op == "send" else "status",
            ip=ratelimit.client_ip(request),
            id=d["id_number"],
            tracking=d["tracking_number"],
        )
    except ratelimit.RateLimited as exc:
        context["error"] = rate_limited_text(exc)
        return retry_after(render(request, "portal/status.html", context, status=429), exc)
    if op == "send":
        if not context["sms_ok"]:
            context["error"] = _("短信服务暂不可用，请拨打求助热线查询办理进度。")
            return render(request, "portal/status.html", context, status=503)
        services.request_status_code(tracking_number=d["tracking_number"], id_number=d["id_number"])
        context["info"] = CODE_SENT
        context["code_requested"] = True
        return render(request, "portal/status.html", context)
    try:
        case = services.verify_status(
            tracking_number=d["tracking_number"], id_number=d["id_number"], code=d.get("code", "")
        )
    except services.NotFound:
        context["error"] = NOT_FOUND
        context["code_requested"] = True
        return render(request, "portal/status.html", context, status=404)
    request.session.cycle_key()  # a fresh session id for the verified session
    request.session[STATUS_SESSION_KEY] = {
        "case": case.pk,
        "until": (timezone.now() + datetime.timedelta(minutes=STATUS_SESSION_MINUTES)).isoformat(),
    }
    return redirect("portal:status_case")


@require_safe
def status_case(request: HttpRequest) -> HttpResponse:
    case = _verified_case(request)
    if case is None:
        messages.info(request, _("请输入受理编号、身份证号和短信验证码。"))
        return redirect("portal:status")
    view = selectors.citizen_status(case)
    report = change_report.citizen_view(case)
    if report is not None:
        view.decision = None  # a change report's decision is told in its own words (below)
    return render(
        request,
        "portal/status_case.html",
        {
            "s": view,
            "case": case,
            "upload": forms.UploadForm(choices=view.upload_choices) if view.upload_choices else None,
            # Every change of the enrolment the decision produced (增发、减发、停发、恢复、退出).
            "changes": benefits_selectors.changes_for_citizen(case),
            "payments": selectors.citizen_payments(case),
            # A household's change report: what it reported and what was decided.
            "change_report": report,
        },
    )


NOTICE_FRAME = {"notice_base": "portal/_notice_base.html"}


@require_safe
def status_notice(request: HttpRequest, seq: int) -> HttpResponse:
    """The printable notice of one step of the citizen's own case (受理通知书, 审批决定书, 不予批准通知书 …),
    the very notice the console prints, in the portal's frame."""
    from doudi.intake.notices import notice_page

    case = _verified_case(request)
    if case is None:
        return redirect("portal:status")
    transition = selectors.citizen_transition(case, seq)
    if transition is None:
        raise Http404
    templates, context = notice_page(case, transition)
    return render(request, templates, {**context, **NOTICE_FRAME, "back_url": reverse("portal:status_case")})


@require_safe
def status_change_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable 变更通知书 of one later change of the citizen's enrolment, as the console prints it."""
    case = _verified_case(request)
    if case is None:
        return redirect("portal:status")
    change = selectors.citizen_change(case, pk)
    if change is None:
        raise Http404
    context = benefits_selectors.change_notice_context(change.enrolment, change)
    return render(
        request,
        "benefits/change_notice.html",
        {**context, **NOTICE_FRAME, "back_url": reverse("portal:status_case")},
    )


@require_POST
def status_upload(request: HttpRequest) -> HttpResponse:
    """补交材料 from the verified session."""
    case = _verified_case(request)
    if case is None:
        return redirect("portal:status")
    try:
        ratelimit.hit("upload", ip=ratelimit.client_ip(request), case=str(case.pk))
    except ratelimit.RateLimited as exc:
        return too_many(request, exc)
    view = selectors.citizen_status(case)
    form = forms.UploadForm(request.POST, request.FILES, choices=view.upload_choices)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.upload_document(
                case=case,
                key=form.cleaned_data["key"],
                name=upload.name,
                content=upload.read(services.files.max_bytes() + 1),
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("材料已提交，工作人员核对后会更新办理进度。"))
            return redirect("portal:status_case")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("portal:status_case")


@require_POST
def status_leave(request: HttpRequest) -> HttpResponse:
    request.session.pop(STATUS_SESSION_KEY, None)
    return redirect("portal:status")


# --- console: the development outbox ---------------------------------------------------------------------------


@require_safe
@console_user_required
def outbox(request: HttpRequest) -> HttpResponse:
    """短信发件箱: what the development backend "sent" — for municipal administrators, or anyone in DEBUG."""
    if not (settings.DEBUG or request.user.has_role("municipal_admin")):
        return forbidden(request)
    return render(request, "portal/outbox.html", {"messages_list": selectors.outbox()})
