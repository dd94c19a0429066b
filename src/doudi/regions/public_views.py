"""The public hotline directory (notice 四: 公布热线): no login, read-only, mobile-first."""

from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from doudi.regions import selectors


@require_safe
def directory(request: HttpRequest) -> HttpResponse:
    """服务热线: active hotlines grouped by district (city-wide lines first), filter and search."""
    district = request.GET.get("district", "").strip()[:12]
    q = request.GET.get("q", "").strip()[:40]
    hotlines = list(selectors.hotlines_for(district or None, q=q))
    groups = [(region, list(lines)) for region, lines in groupby(hotlines, key=lambda h: h.district)]
    return render(
        request,
        "regions/public/hotlines.html",
        {
            "groups": groups,
            "count": len(hotlines),
            "districts": selectors.hotline_districts(),
            "district": district,
            "q": q,
        },
    )
