"""主动发现的查询: every read scoped to the caller's region subtree."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from doudi.audit.services import record_read
from doudi.discovery.models import Lead, LeadState, SweepRun
from doudi.registry.models import Person


def lead_queue(
    user: Any, *, kind: str = "", state: str = "", overdue: bool = False, today: datetime.date
) -> QuerySet[Lead]:
    """The outreach queue: leads in the user's subtree, the earliest deadline first."""
    qs = Lead.objects.visible_to(user).select_related("region", "township", "person", "household__head")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state=LeadState.FOUND, due_on__lt=today)
    return qs.order_by("due_on", "id")


def lead_for_staff(user: Any, pk: int) -> Lead:
    """One lead with the people it names; the read is audited (it shows their names and ID numbers)."""
    from doudi.core.scoping import get_visible_or_404

    lead = get_visible_or_404(
        Lead.objects.select_related("region", "township", "case", "household"), user, pk=pk
    )
    record_read(actor=user, obj=lead.person or lead.household, reason=f"discovery lead {lead.pk}")
    return lead


def names_of(person_ids: set[int]) -> dict[int, Person]:
    return {p.pk: p for p in Person.objects.filter(pk__in=person_ids)}


def district_counts(user: Any, *, today: datetime.date) -> list[dict[str, Any]]:
    """Per district: leads found, contacted, applied, enrolled, dismissed, overdue (in the user's subtree)."""
    from doudi.regions.models import Region

    rows = list(
        Lead.objects.visible_to(user)
        .values("district")
        .annotate(
            found=Count("id"),
            contacted=Count("id", filter=Q(contacted_at__isnull=False)),
            applied=Count("id", filter=Q(case__isnull=False)),
            enrolled=Count("id", filter=Q(state=LeadState.ENROLLED)),
            dismissed=Count("id", filter=Q(state=LeadState.DISMISSED)),
            overdue=Count("id", filter=Q(state=LeadState.FOUND, due_on__lt=today)),
        )
        .order_by("district")
    )
    names = dict(Region.objects.filter(code__in=[r["district"] for r in rows]).values_list("code", "name"))
    for r in rows:
        r["name"] = names.get(r["district"], r["district"])
    return rows


def latest_runs(limit: int = 5) -> QuerySet[SweepRun]:
    return SweepRun.objects.all()[:limit]
