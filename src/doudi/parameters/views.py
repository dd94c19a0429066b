"""Console screens for policy parameters (政策参数) and what-if runs (政策测算); thin views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.core.access import console_user_required
from doudi.core.errors import Conflict
from doudi.parameters import selectors, services
from doudi.parameters.forms import ParameterValueForm, SimulationForm
from doudi.parameters.models import ParameterValue
from doudi.policy.parameters import load_defaults
from doudi.regions.models import Region, RegionLevel


def _can_edit(user) -> bool:
    return user.has_role(Role.MUNICIPAL_ADMIN)


@console_user_required
def parameter_list(request: HttpRequest) -> HttpResponse:
    """Every parameter with the value in force today; unverified values carry a badge."""
    catalogue = selectors.parameter_catalogue(on=timezone.localdate())
    return render(
        request,
        "parameters/list.html",
        {
            "parameters": catalogue,
            "unverified_count": sum(1 for p in catalogue if p.unverified),
            "wage_warnings": selectors.minimum_wage_warnings(),
            "can_edit": _can_edit(request.user),
            "can_simulate": services.may_simulate(request.user),
        },
    )


@console_user_required
def parameter_detail(request: HttpRequest, name: str) -> HttpResponse:
    if name not in load_defaults():
        raise Http404
    info = selectors.parameter_catalogue(on=timezone.localdate(), name=name)[0]
    warnings = [
        w
        for w in selectors.minimum_wage_warnings()
        if name in (w["standard_name"], w["wage_name"], "minimum_wage.district_tier")
    ]
    return render(
        request,
        "parameters/detail.html",
        {"p": info, "can_edit": _can_edit(request.user), "wage_warnings": warnings},
    )


def _districts() -> list[tuple[str, str]]:
    return [
        (code, f"{name}（{code}）")
        for code, name in Region.objects.filter(level=RegionLevel.DISTRICT)
        .order_by("code")
        .values_list("code", "name")
    ]


@console_user_required
def parameter_add(request: HttpRequest, name: str) -> HttpResponse:
    """录入取值 (municipal administrator). Entering a date that already has a stored value asks for
    confirmation; the confirmation carries the row it corrects, so a concurrent correction by
    someone else is detected instead of overwritten."""
    parameter = load_defaults().get(name)
    if parameter is None:
        raise Http404
    if not _can_edit(request.user):
        raise PermissionDenied(_("只有市民政管理员可以录入政策参数。"))
    initial = {k: request.GET[k] for k in ("effective_from", "region", "supersedes") if request.GET.get(k)}
    form = ParameterValueForm(
        request.POST or None, initial=initial, parameter=parameter, districts=_districts()
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.add_parameter_value(
                    user=request.user,
                    name=name,
                    effective_from=data["effective_from"],
                    value=data["value"],
                    region=data.get("region") or None,
                    reference=data["reference"],
                    reason=data["reason"],
                    verified=data["verified"],
                    supersedes=data.get("supersedes"),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            except Conflict as conflict:
                current = (
                    ParameterValue.objects.filter(
                        name=name, region=data.get("region") or "", effective_from=data["effective_from"]
                    )
                    .order_by("-revision")
                    .first()
                )
                post = request.POST.copy()
                post["supersedes"] = str(current.pk) if current else ""
                form = ParameterValueForm(post, parameter=parameter, districts=_districts())
                form.is_valid()
                form.add_error(None, conflict.message)
                form.add_error(None, _("如确认更正，请核对后再次提交。"))
                return render(
                    request,
                    "parameters/add.html",
                    {"p": parameter, "form": form, "current": current},
                    status=409,
                )
            else:
                messages.success(request, _("已录入 %(name)s 的新取值。") % {"name": name})
                return redirect("parameters:detail", name=name)
        status = 400
    current = None
    if form.initial.get("supersedes"):
        current = ParameterValue.objects.filter(pk=form.initial["supersedes"], name=name).first()
    return render(
        request, "parameters/add.html", {"p": parameter, "form": form, "current": current}, status=status
    )


@console_user_required
def simulate(request: HttpRequest) -> HttpResponse:
    """政策测算: choose a period and overrides; the run is queued and this page polls it."""
    if not services.may_simulate(request.user):
        raise PermissionDenied(_("只有市级民政人员可以进行政策测算。"))
    populations = selectors.population_choices()
    form = SimulationForm(
        request.POST or None, initial={"population": selectors.REGISTRY}, populations=populations
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.start_simulation(
                user=request.user,
                period=data["period"],
                overrides_text=data["overrides"],
                population=data["population"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("parameters:simulation", pk=run.pk)
    return render(
        request,
        "parameters/simulate.html",
        {
            "form": form,
            "recent": selectors.simulations_for(request.user)[:10],
        },
        status=400 if form.errors else 200,
    )


@console_user_required
def simulation(request: HttpRequest, pk) -> HttpResponse:
    """One run; while it is queued or running, the result block re-fetches itself (htmx)."""
    run = get_object_or_404(selectors.simulations_for(request.user), pk=pk)
    template = (
        "parameters/_simulation_result.html"
        if request.headers.get("HX-Request")
        else "parameters/simulation.html"
    )
    return render(request, template, {"run": run})
