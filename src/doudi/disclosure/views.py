"""The public 公示 pages (no sign-in): decisions under publicity, the objection form, the long-term
list of dibao recipients. They read only masked copies (Publication) or masked fields, never the
registry's personal data."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from doudi.core.errors import Conflict
from doudi.disclosure import selectors, services
from doudi.disclosure.models import Publication
from doudi.regions.models import Region, RegionLevel

PAGE_SIZE = 50
# Objections per client address and window (seconds): DOUDI_GONGSHI_OBJECTION_RATE = (count, seconds).
DEFAULT_RATE = (5, 3600)


def _today() -> datetime.date:
    return timezone.localdate()


def _filters(request: HttpRequest):
    district, village = selectors.filter_regions(
        request.GET.get("district", "").strip()[:12], request.GET.get("village", "").strip()[:12]
    )
    return district, village


def _district_choices() -> list[Region]:
    return list(Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code"))


def _village_choices(district: Region | None, codes) -> list[Region]:
    if district is None:
        return []
    return list(
        Region.objects.filter(
            level=RegionLevel.VILLAGE, path__startswith=district.path, code__in=codes
        ).order_by("path")
    )


def public(request: HttpRequest) -> HttpResponse:
    """网上公示: the entries whose period includes today, filtered by district / village."""
    today = _today()
    district, village = _filters(request)
    qs = selectors.current_publications(today=today, district=district, village=village)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    villages_with_entries = selectors.current_publications(today=today, district=district).values_list(
        "village_id", flat=True
    )
    response = render(
        request,
        "disclosure/public.html",
        {
            "page": page,
            "today": today,
            "district": district,
            "village": village,
            "districts": _district_choices(),
            "villages": _village_choices(district, set(villages_with_entries)),
        },
    )
    response["Cache-Control"] = "no-store"  # the list changes every day
    return response


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(request: HttpRequest) -> bool:
    """A fixed window per client address, counted in the cache (shared between workers once a shared
    cache is configured)."""
    limit, seconds = getattr(settings, "DOUDI_GONGSHI_OBJECTION_RATE", DEFAULT_RATE)
    key = f"gongshi-objection:{_client_ip(request)}"
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count > limit


@never_cache
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    """提出异议 on one entry under publicity: name optional, a contact phone, the reason. A hidden
    honeypot field must stay empty (bots fill it); submissions are rate limited per address."""
    values = {"name": "", "phone": "", "id_number": "", "reason": ""}
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[:2000] for k in values}
    try:
        entry: Publication = selectors.current_publication(pk, today=_today())
    except selectors.PublicationClosed as closed:
        # Say the period is over (and keep what was typed, to phone it in) rather than a bare 404.
        return render(
            request,
            "disclosure/objection_closed.html",
            {"entry": closed.publication, "values": values},
            status=410,
        )
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.POST.get("website", ""):
            # A bot: answer as if accepted, open nothing.
            return render(request, "disclosure/objection_done.html", {"entry": entry, "number": None})
        if _rate_limited(request):
            return render(
                request,
                "disclosure/objection.html",
                {"entry": entry, "values": values, "limited": True},
                status=429,
            )
        try:
            case = services.file_objection(
                publication=entry,
                name=values["name"],
                phone=values["phone"],
                reason=values["reason"],
                id_number=values["id_number"],
            )
        except ValidationError as exc:
            errors = {k: "；".join(v) for k, v in exc.message_dict.items()}
        except Conflict as exc:
            errors = {"form": exc.message}
        else:
            return render(
                request,
                "disclosure/objection_done.html",
                {"entry": entry, "number": case.tracking_number, "trackable": bool(case.applicant_id_number)},
            )
    return render(
        request,
        "disclosure/objection.html",
        {"entry": entry, "values": values, "errors": errors},
        status=400 if errors else 200,
    )


def recipients(request: HttpRequest) -> HttpResponse:
    """低保对象长期公示 (条例第18条): name (masked), monthly amount and village — nothing else."""
    district, village = _filters(request)
    qs = selectors.recipients(district=district, village=village)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [selectors.as_recipient(e) for e in page.object_list]
    return render(
        request,
        "disclosure/recipients.html",
        {
            "page": page,
            "rows": rows,
            "district": district,
            "village": village,
            "districts": _district_choices(),
            "villages": list(
                Region.objects.filter(level=RegionLevel.VILLAGE, path__startswith=district.path).order_by(
                    "path"
                )
            )
            if district
            else [],
        },
    )
