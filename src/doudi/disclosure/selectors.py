"""Reads of 公示. The public lists read only the `Publication` copies (masked by construction) and, for
the long-term list of recipients (条例第18条: name, amount, village only), active dibao enrolments;
staff reads of a case's publications are scoped like everything else."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from doudi.core.masking import mask_name
from doudi.disclosure.models import Publication
from doudi.regions.models import Region, RegionLevel

if TYPE_CHECKING:
    from doudi.accounts.models import User


def _area(district: Region | None, village: Region | None) -> dict:
    if village is not None:
        return {"village": village}
    if district is not None:
        return {"village__path__startswith": district.path}
    return {}


def current_publications(
    *, today: datetime.date, district: Region | None = None, village: Region | None = None
) -> QuerySet[Publication]:
    """公示中: the entries whose period includes today and that were not taken down."""
    return (
        Publication.objects.filter(start_date__lte=today, end_date__gte=today, withdrawn_at__isnull=True)
        .filter(**_area(district, village))
        .order_by("village__path", "end_date", "pk")
    )


class PublicationClosed(Exception):
    """The entry was published but its period is over (or it was withdrawn): objections online are closed."""

    def __init__(self, publication: Publication):
        self.publication = publication
        super().__init__(publication.pk)


def current_publication(pk: int, *, today: datetime.date) -> Publication:
    """One entry on the page today (for its objection form); PublicationClosed for one that was on the
    page and no longer is; else 404 (never published, or not yet)."""
    p = current_publications(today=today).filter(pk=pk).first()
    if p is not None:
        return p
    published = Publication.objects.filter(pk=pk, start_date__lte=today).first()
    if published is None:
        raise Http404
    raise PublicationClosed(published)


def filter_regions(district_code: str, village_code: str) -> tuple[Region | None, Region | None]:
    """The district and village a public filter names (unknown codes are ignored)."""
    district = (
        Region.objects.filter(code=district_code, level=RegionLevel.DISTRICT).first()
        if district_code
        else None
    )
    village = None
    if village_code:
        village = Region.objects.filter(code=village_code, level=RegionLevel.VILLAGE).first()
        if village is not None and district is not None and not village.path.startswith(district.path):
            village = None
    return district, village


@dataclass
class Recipient:
    name: str  # masked
    amount: int
    village: str
    from_month: datetime.date


def recipients(*, district: Region | None = None, village: Region | None = None):
    """低保对象长期公示 (条例第18条): active dibao enrolments — masked name, monthly amount, village."""
    from doudi.benefits.models import Enrolment, EnrolmentStatus, Scheme

    qs = Enrolment.objects.filter(scheme=Scheme.DIBAO, status=EnrolmentStatus.ACTIVE)
    if village is not None:
        qs = qs.filter(household__region=village)
    elif district is not None:
        qs = qs.filter(household__region__path__startswith=district.path)
    return qs.select_related("household__region", "household__head", "decision_case").order_by(
        "household__region__path", "household_id"
    )


def as_recipient(e) -> Recipient:
    name = e.decision_case.applicant_name if e.decision_case_id else ""
    if not name and e.household.head_id:
        name = e.household.head.name
    return Recipient(mask_name(name), e.monthly_amount, e.household.region.name, e.from_month)


def case_publications(user: User, case) -> list[Publication]:
    """The publications of a case the user can see (console)."""
    return list(Publication.objects.visible_to(user).filter(case=case).order_by("start_date", "pk"))
