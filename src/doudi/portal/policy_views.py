"""救助政策 and 自助试算 (五 宣传): a district's public page of the standards in force, the two-minute
self-check, and the application form pre-filled from it — no sign-in, nothing stored.

The self-check and the pre-fill are public POST forms: rate-limited per IP like the portal's other
public forms (ratelimit.py, scope `selfcheck`), every field checked with its own error, a body larger
than any self-check refused with a plain message (413).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from doudi.benefits.evaluation import window_parameters
from doudi.intake import sla
from doudi.intake.workflows import children
from doudi.parameters.selectors import current_parameters
from doudi.policy.contract import InputError
from doudi.policy.periods import Period
from doudi.portal import policy_page, ratelimit, selectors, selfcheck, selfcheck_forms, services
from doudi.portal import views as portal_views
from doudi.portal.forms import ApplyForm, flag_invalid
from doudi.regions.models import Region, RegionLevel
from doudi.regions.selectors import hotlines_for, window_for

# A self-check of 11 people with every field at its longest is under 8 KB; anything much larger is
# not a self-check.
MAX_BODY = 64 * 1024


def _district_or_404(code: str) -> Region:
    district = Region.objects.filter(code=code[:12], level=RegionLevel.DISTRICT).first()
    if district is None:
        raise Http404
    return district


@require_safe
def policy_index(request: HttpRequest) -> HttpResponse:
    """救助政策: choose a district (also the target of the home page's district choice)."""
    code = request.GET.get("district", "").strip()[:12]
    if code and Region.objects.filter(code=code, level=RegionLevel.DISTRICT).exists():
        return redirect("portal:policy", code=code)
    return render(request, "portal/policy_index.html", {"districts": selectors.districts()})


@require_safe
def policy(request: HttpRequest, code: str) -> HttpResponse:
    """One district's standards in force, who can apply and how, its hotlines, and the self-check."""
    district = _district_or_404(code)
    today = timezone.localdate()
    period = Period.of(today)
    try:
        standards = policy_page.district_standards(
            district.code, period, current_parameters(), window_parameters(district.code, period)
        )
    except InputError:  # a parameter the rules need has no value this month: say so, do not fail
        standards = None
    lines = hotlines_for(district.code)
    return render(
        request,
        "portal/policy.html",
        {
            "district": district,
            "period": period,
            "standards": standards,
            "window": window_for(district.code, today),
            "limit": sla.dibao_limit(district, today),
            "schemes": _schemes(),
            "hotline_groups": [
                (region, list(items)) for region, items in groupby(lines, key=lambda h: h.district)
            ],
        },
    )


def _schemes() -> list[dict[str, Any]]:
    """Who can apply for what, and the proofs each online application asks for."""
    out = []
    for s in portal_views.SERVICES:
        proofs = services.PROOFS.get(s["key"], {})
        out.append({**s, "proofs": list(proofs.values())})
    return out


def _self_check_page(
    request: HttpRequest,
    district: Region,
    form: selfcheck_forms.SelfCheckForm,
    people: selfcheck_forms.BasePersonFormSet,
    *,
    answer: selfcheck.Answer | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    flag_invalid(form)
    for person in people.forms:
        flag_invalid(person)
    return render(
        request,
        "portal/selfcheck.html",
        {
            "district": district,
            "form": form,
            "people": people,
            "answer": answer,
            "errors": errors or [],
            "posted": selfcheck_forms.posted_fields(form, people) if answer else [],
            "max_people": selfcheck.MAX_PEOPLE,
            "vehicles_help": selfcheck_forms.VEHICLES_HELP,
        },
        status=status,
    )


def _blank(district: Region, today: Any) -> tuple[Any, Any]:
    return (
        selfcheck_forms.SelfCheckForm(initial={"district": district.code}),
        selfcheck_forms.PersonFormSet(prefix=selfcheck_forms.PREFIX, today=today),
    )


def _too_large(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY
    except ValueError:
        return True


def _limited(request: HttpRequest) -> ratelimit.RateLimited | None:
    try:
        ratelimit.hit("selfcheck", ip=ratelimit.client_ip(request))
    except ratelimit.RateLimited as exc:
        return exc
    return None


@require_http_methods(["GET", "POST"])
def self_check(request: HttpRequest, code: str) -> HttpResponse:
    """自助试算: the household typed on a phone, evaluated by the policy engine for this month."""
    district = _district_or_404(code)
    today = timezone.localdate()
    if request.method == "GET":
        return _self_check_page(request, district, *_blank(district, today))
    if _too_large(request):
        return _self_check_page(
            request,
            district,
            *_blank(district, today),
            errors=[_("提交的内容过多，请重新填写后试算。")],
            status=413,
        )
    limited = _limited(request)
    data = request.POST.copy()
    data["district"] = district.code  # the page's district, whatever was posted
    form, people = selfcheck_forms.bind(data, today)
    if limited is not None:
        response = _self_check_page(
            request, district, form, people, errors=[portal_views.rate_limited_text(limited)], status=429
        )
        return portal_views.retry_after(response, limited)
    errors: list[str] = []
    if form.is_valid() and people.is_valid():
        household = selfcheck_forms.household_from(form, people)
        period = Period.of(today)
        try:
            answer = selfcheck.run(
                household,
                period,
                current_parameters(),
                window_parameters(district.code, period),
                commitment_open=children.commitment_allowed(district, today),
            )
        except InputError as exc:  # the forms check what the engine checks; this is the last guard
            errors += [e["message"] for e in exc.errors]
        else:
            return _self_check_page(request, district, form, people, answer=answer)
    errors += [str(e) for e in people.non_form_errors()]
    return _self_check_page(request, district, form, people, errors=errors, status=400)


@require_safe
def self_check_row(request: HttpRequest, code: str) -> HttpResponse:
    """htmx: one more person row (and the formset's updated count)."""
    district = _district_or_404(code)
    try:
        index = int(request.GET.get("index", ""))
    except ValueError:
        index = -1
    if not 1 <= index < selfcheck.MAX_PEOPLE:
        return HttpResponse(status=204)
    people = selfcheck_forms.PersonFormSet(prefix=selfcheck_forms.PREFIX, today=timezone.localdate())
    person = people.empty_form
    person.prefix = people.add_prefix(index)
    person.index = index
    return render(
        request,
        "portal/_selfcheck_person.html",
        {
            "person": person,
            "index": index,
            "next": index + 1,
            "oob": True,
            "max": selfcheck.MAX_PEOPLE,
            "district": district,
        },
    )


@require_POST
def apply_prefilled(request: HttpRequest, scheme: str) -> HttpResponse:
    """The application form of `scheme`, filled with what the self-check carried (sent back by the
    browser, checked again): district, incomes, relations, the kind of child. Nothing is stored; the
    citizen adds names and ID numbers and submits it like any application."""
    scheme = portal_views.scheme_or_404(scheme)
    if _too_large(request):
        return redirect("portal:apply", scheme=scheme)
    limited = _limited(request)
    if limited is not None:
        return portal_views.too_many(request, limited)
    today = timezone.localdate()
    form, people = selfcheck_forms.bind(request.POST, today)
    initial: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    if form.is_valid() and people.is_valid():
        household = selfcheck_forms.household_from(form, people)
        initial, rows = selfcheck_forms.application_initial(household, scheme, request.POST.get("row", ""))
    apply_form = ApplyForm(scheme=scheme, initial=initial)
    members = selfcheck_forms.prefilled_members(rows)
    context = portal_views.apply_context(scheme, apply_form, members, [])
    context["prefilled"] = bool(initial)
    context["prefill_failed"] = not initial
    return render(request, "portal/apply.html", context)
