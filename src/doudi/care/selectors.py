"""Reads of the care app, every one scoped to the caller's region (out of scope = 404); a read of one
person's screening is written to the audit log (查阅记录). Lists show masked ID numbers and phones
(templates use the `mask_id`/`mask_phone` filters, exports the same functions)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from doudi.audit.services import record_read
from doudi.care.models import DailyReport, Institution, Outing, RiskArea, Screening
from doudi.core.scoping import get_visible_or_404
from doudi.regions.models import Region

RECENT = 50


def institutions_for(user: Any, *, kind: str = "", q: str = "") -> QuerySet[Institution]:
    qs = Institution.objects.visible_to(user).select_related("region")
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("region__path", "name", "pk")


def institution_for(user: Any, pk: int) -> Institution:
    return get_visible_or_404(Institution.objects.select_related("region"), user, pk=pk)


@dataclass
class InstitutionPage:
    institution: Institution
    screenings: list[Screening]
    outings_out: list[Outing]
    outings_recent: list[Outing]
    reports: list[DailyReport]
    reported_today: DailyReport | None


def institution_page(user: Any, pk: int, today: datetime.date) -> InstitutionPage:
    """One institution with its latest screenings, outings and daily reports (lists: masked)."""
    inst = institution_for(user, pk)
    outings = Outing.objects.filter(institution=inst)
    reports = list(DailyReport.objects.filter(institution=inst).order_by("-day")[:14])
    return InstitutionPage(
        institution=inst,
        screenings=list(Screening.objects.filter(institution=inst)[:RECENT]),
        outings_out=list(outings.filter(returned_at__isnull=True).order_by("left_at")),
        outings_recent=list(outings.filter(returned_at__isnull=False)[:RECENT]),
        reports=reports,
        reported_today=next((r for r in reports if r.day == today), None),
    )


def screening_detail(user: Any, pk: int) -> Screening:
    """One screening with the full ID number: audited."""
    screening = get_visible_or_404(
        Screening.objects.select_related("institution__region", "screened_by"), user, pk=pk
    )
    record_read(actor=user, obj=screening)
    return screening


def outing_for(user: Any, pk: int) -> Outing:
    return get_visible_or_404(Outing.objects.select_related("institution__region"), user, pk=pk)


# --- the high-risk list ---------------------------------------------------------------------------------


def risk_areas_for(user: Any, *, include_lifted: bool = False) -> QuerySet[RiskArea]:
    """The list as it applies to the user: the city's and their own district's entries, and (for a city
    user) every district's. Public acts of the bureau, not personal data."""
    region = getattr(user, "region", None)
    if region is None:
        return RiskArea.objects.none()
    ancestors = region.path.strip("/").split("/")
    qs = RiskArea.objects.filter(
        Q(region__code__in=ancestors) | Q(region__path__startswith=region.path)
    ).select_related("region", "listed_by", "lifted_by")
    if not include_lifted:
        qs = qs.filter(lifted_on__isnull=True)
    return qs.order_by("region__path", "-listed_on", "name")


# --- missing daily reports (日报缺报) ---------------------------------------------------------------------


def missing_reports(
    day: datetime.date, *, user: Any = None, region: Region | None = None
) -> QuerySet[Institution]:
    """Active institutions without a daily report for `day`: in the user's scope (console), or under
    `region` / everywhere (the daily job)."""
    qs = Institution.objects.visible_to(user) if user is not None else Institution.objects.all()
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    reported = DailyReport.objects.filter(institution=OuterRef("pk"), day=day)
    return (
        qs.filter(active=True)
        .exclude(Exists(reported))
        .select_related("region__parent__parent")
        .order_by("region__path", "name", "pk")
    )


def district_of(region: Region) -> Region | None:
    """The 区县 node above (or at) a region, from the nodes already loaded by select_related."""
    node: Region | None = region
    while node is not None and node.level > 2:
        node = node.parent
    return node
