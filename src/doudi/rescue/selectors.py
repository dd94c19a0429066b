"""Reads of the rescue app, every one scoped to the caller's region (out of scope = 404). A field report
describes a person found in the street: opening one is written to the audit log (查阅记录)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from doudi.audit.services import record_read
from doudi.core.scoping import get_visible_or_404
from doudi.rescue.models import FieldReport, InfectionCheck, Occupancy, SaturationAlert, Station

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
