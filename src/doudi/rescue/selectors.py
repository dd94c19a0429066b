"""Reads of the rescue app, every one scoped to the caller's region (out of scope = 404). A field report
describes a person found in the street: opening one is written to the audit log (查阅记录)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from doudi.audit.services import record_read
from doudi.core.scoping import get_visible_or_404
from doudi.rescue.models import (
    AidItem,
    AidKind,
    FieldReport,
    InfectionCheck,
    Occupancy,
    SaturationAlert,
    Station,
    StationReferral,
)

RECENT = 30


def stations_for(user: Any, day: datetime.date) -> QuerySet[Station]:
    """Stations and shelters in scope, each with `occupants_today` (None: not reported)."""
    today = Occupancy.objects.filter(station=OuterRef("pk"), day=day).values("occupants")[:1]
    return (
        Station.objects.visible_to(user)
        .select_related("region")
        .annotate(occupants_today=Subquery(today))
        .order_by("region__path", "kind", "name", "pk")
    )


def station_for(user: Any, pk: int) -> Station:
    return get_visible_or_404(Station.objects.select_related("region"), user, pk=pk)


@dataclass
class StationPage:
    station: Station
    occupancies: list[Occupancy]
    checks: list[InfectionCheck]
    alerts: list[SaturationAlert]
    reports: list[FieldReport]
    checked_today: bool


def station_page(user: Any, pk: int, today: datetime.date) -> StationPage:
    station = station_for(user, pk)
    checks = list(InfectionCheck.objects.filter(station=station).order_by("-day")[:RECENT])
    return StationPage(
        station=station,
        occupancies=list(Occupancy.objects.filter(station=station).order_by("-day")[:RECENT]),
        checks=checks,
        alerts=list(SaturationAlert.objects.filter(station=station).select_related("shelter")[:RECENT]),
        reports=list(FieldReport.objects.filter(station=station)[:RECENT]),
        checked_today=any(c.day == today for c in checks),
    )


def alerts_for(user: Any, *, open_only: bool = False) -> QuerySet[SaturationAlert]:
    qs = SaturationAlert.objects.visible_to(user).select_related("station__region", "shelter")
    if open_only:
        qs = qs.filter(shelter__isnull=True)
    return qs.order_by("-day", "-pk")


def alert_for(user: Any, pk: int) -> SaturationAlert:
    return get_visible_or_404(
        SaturationAlert.objects.select_related("station__region", "shelter"), user, pk=pk
    )


def missing_checks(user: Any, day: datetime.date) -> QuerySet[Station]:
    """Active stations and shelters in scope without an infection-control check for `day`."""
    done = InfectionCheck.objects.filter(station=OuterRef("pk"), day=day)
    return (
        Station.objects.visible_to(user)
        .filter(active=True)
        .exclude(Exists(done))
        .select_related("region")
        .order_by("region__path", "name", "pk")
    )


def reports_for(user: Any) -> QuerySet[FieldReport]:
    return (
        FieldReport.objects.visible_to(user).select_related("region", "station").order_by("-found_at", "-pk")
    )


def report_detail(user: Any, pk: int) -> FieldReport:
    report = get_visible_or_404(
        FieldReport.objects.select_related("region", "station", "recorded_by"), user, pk=pk
    )
    record_read(actor=user, obj=report)
    return report


def stations_to_guide(user: Any) -> QuerySet[Station]:
    """The active stations and shelters of the user's district (a patrol in a township guides people
    to its district's station, which lies above the patrol's own node)."""
    region = getattr(user, "region", None)
    code = region.district_code if region is not None else None
    qs = Station.objects.filter(active=True).select_related("region")
    if code:
        parts = region.path.strip("/").split("/")
        qs = qs.filter(region__path__startswith=f"{parts[0]}/{parts[1]}/")
    else:
        qs = qs.visible_to(user)
    return qs.order_by("region__path", "name")


# --- stranded people (二(一)–二(二)) ---------------------------------------------------------------------


def stranded_cases(user: Any, *, open_only: bool = True) -> QuerySet:
    """Stranded-person cases in the user's region with the value of the aid given (fen), open first."""
    from django.db.models import Sum

    from doudi.intake.models import Case, CaseType

    qs = Case.objects.visible_to(user).filter(case_type=CaseType.STRANDED).select_related("region")
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    return qs.annotate(aid_fen=Sum("aid_items__amount_fen")).order_by("closed_at", "-filed_at", "-pk")


@dataclass
class StrandedPage:
    case: Any
    items: list[AidItem]
    total_fen: int
    totals: list[tuple[str, int, int]]  # (kind label, quantity, fen) per kind
    referral: StationReferral | None


def stranded_page(user: Any, pk: int) -> StrandedPage:
    """One stranded person's case with the aid item by item: an audited read (a person's record)."""
    from doudi.intake.models import Case, CaseType

    case = get_visible_or_404(
        Case.objects.filter(case_type=CaseType.STRANDED).select_related("region"), user, pk=pk
    )
    record_read(actor=user, obj=case, reason="rescue.stranded")
    items = list(AidItem.objects.filter(case=case).select_related("recorded_by").order_by("given_on", "pk"))
    by_kind: dict[str, list[int]] = {}
    for item in items:
        row = by_kind.setdefault(item.kind, [0, 0])
        row[0] += item.quantity
        row[1] += item.amount_fen
    totals = [(str(AidKind(k).label), q, f) for k, (q, f) in by_kind.items()]
    referral = StationReferral.objects.filter(case=case).select_related("station").first()
    return StrandedPage(case, items, sum(i.amount_fen for i in items), totals, referral)


def referrals_to_confirm(user: Any) -> QuerySet[StationReferral]:
    """Referrals to the stations in the user's scope still waiting for the arrival to be confirmed."""
    return (
        StationReferral.objects.visible_to(user)
        .filter(answered_at__isnull=True)
        .select_related("station", "case")
        .order_by("referred_at", "pk")
    )


def referral_for(user: Any, pk: int) -> StationReferral:
    return get_visible_or_404(StationReferral.objects.select_related("station__region", "case"), user, pk=pk)


def stations_of_district(region: Any) -> QuerySet[Station]:
    """The active stations and shelters of the district a region lies in (a referral's choices)."""
    parts = region.path.strip("/").split("/")
    qs = Station.objects.filter(active=True).select_related("region")
    if len(parts) < 2:
        return qs.none()
    return qs.filter(region__path__startswith=f"{parts[0]}/{parts[1]}/").order_by("region__path", "name")
