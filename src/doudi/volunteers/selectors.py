"""Reads of the volunteers app, scoped to the caller's region. A volunteer or organisation is seen by the
officers of its subtree and by those below it (a township's volunteer serves the township's villages, so
the villages see it); an assignment by the officers of the person served. Lists mask phones; opening one
volunteer or organisation (the phone in full) is an audited read."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from doudi.audit.services import record_read
from doudi.core.scoping import get_visible_or_404
from doudi.registry.models import Person
from doudi.volunteers import rules
from doudi.volunteers.models import Assignment, AssignmentState, Organisation, Provider, Volunteer

LIST_ORDER = ("name", "id")
MAX_SUGGESTIONS = 20


def providers_visible_to(model: type[Provider], user: Any) -> QuerySet:
    """The volunteers (or organisations) of the user's subtree and of the nodes above the user."""
    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    if region is None:
        return model.objects.none()
    above = region.path.strip("/").split("/")
    return model.objects.filter(Q(region__path__startswith=region.path) | Q(region__code__in=above))


def _filtered(qs: QuerySet, *, skill: str = "", q: str = "", active_only: bool = True) -> QuerySet:
    if skill:
        qs = qs.filter(skills__contains=f",{skill},")
    if q:
        qs = qs.filter(name__icontains=q)
    if active_only:
        qs = qs.filter(active=True)
    return qs


def volunteers_for(
    user: Any, *, skill: str = "", q: str = "", active_only: bool = True
) -> QuerySet[Volunteer]:
    """The volunteer list (keyset-paged by name, id): region and organisation loaded."""
    qs = providers_visible_to(Volunteer, user).select_related("region", "organisation")
    return _filtered(qs, skill=skill, q=q, active_only=active_only)


def organisations_for(user: Any, *, skill: str = "", q: str = "", active_only: bool = True) -> QuerySet:
    qs = providers_visible_to(Organisation, user).select_related("region")
    return _filtered(qs, skill=skill, q=q, active_only=active_only).order_by(*LIST_ORDER)


def volunteer_for(user: Any, pk: int) -> Volunteer:
    return _one(Volunteer, user, pk)


def _one(model: type[Provider], user: Any, pk: int) -> Any:
    from django.http import Http404

    found = providers_visible_to(model, user).select_related("region").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def organisation_for(user: Any, pk: int) -> Organisation:
    return _one(Organisation, user, pk)


@dataclass
class ProviderPage:
    provider: Any
    assignments: list[Assignment]
    members: list[Volunteer]


def provider_page(user: Any, model: type[Provider], pk: int) -> ProviderPage:
    """One volunteer or organisation with the phone in full (an audited read) and its assignments for
    people in the user's region."""
    provider = _one(model, user, pk)
    record_read(actor=user, obj=provider, reason="volunteers.provider")
    field = "volunteer" if model is Volunteer else "organisation"
    assignments = list(
        Assignment.objects.visible_to(user)
        .filter(**{field: provider})
        .select_related("person__region")
        .order_by("-starts_on", "-pk")[:200]
    )
    members = list(provider.members.order_by("name", "pk")) if model is Organisation else []
    return ProviderPage(provider, assignments, members)


# --- assignments -----------------------------------------------------------------------------------------


def assignments_of(
    user: Any, *, arrangement: Any = None, person: Person | None = None, purpose: str = ""
) -> list:
    qs = Assignment.objects.visible_to(user).select_related(
        "volunteer__region", "organisation__region", "person"
    )
    if arrangement is not None:
        qs = qs.filter(arrangement=arrangement)
    if person is not None:
        qs = qs.filter(person=person)
    if purpose:
        qs = qs.filter(purpose=purpose)
    return list(qs.order_by("-starts_on", "-pk"))


def is_current(a: Assignment, day: datetime.date) -> bool:
    """Serving on `day` or later: not ended by hand or with its arrangement, its last day not passed."""
    return a.state == AssignmentState.ACTIVE and day <= a.last_day


def assignment_for(user: Any, pk: int) -> Assignment:
    return get_visible_or_404(Assignment.objects.select_related("person__region"), user, pk=pk)


@dataclass
class Suggestion:
    provider: Any
    distance: int
    load: int
    skills_matched: int

    @property
    def kind(self) -> str:
        return "v" if isinstance(self.provider, Volunteer) else "o"

    @property
    def choice(self) -> str:
        return f"{self.kind}-{self.provider.pk}"


def suggestions(
    user: Any, person: Person, skill: str, start: datetime.date, end: datetime.date
) -> list[Suggestion]:
    """Volunteers and organisations for `person` over [start, end] holding `skill`, in the user's view,
    serving the person's area, available every day of the period, with room on its busiest day — ranked
    by rules.rank: nearest region first, then the lighter load."""
    from doudi.volunteers.services import serves_person

    found: list[Provider] = []
    for model in (Volunteer, Organisation):
        qs = _filtered(providers_visible_to(model, user).select_related("region"), skill=skill)
        qs = qs.filter(available_from__lte=start).filter(
            Q(available_to__isnull=True) | Q(available_to__gte=end)
        )
        found += [p for p in qs[:500] if serves_person(p, person)]
    busy: dict[tuple[str, int], list[rules.Period]] = {}
    overlapping = Assignment.objects.filter(starts_on__lte=end, last_day__gte=start).filter(
        Q(volunteer__in=[p.pk for p in found if isinstance(p, Volunteer)])
        | Q(organisation__in=[p.pk for p in found if isinstance(p, Organisation)])
    )
    for v, o, first, last in overlapping.values_list(
        "volunteer_id", "organisation_id", "starts_on", "last_day"
    ):
        busy.setdefault(("v", v) if v else ("o", o), []).append((first, last))
    by_key = {}
    candidates = []
    for p in found:
        key = ("v" if isinstance(p, Volunteer) else "o", p.pk)
        by_key[key] = p
        candidates.append(
            rules.Candidate(
                key=key,
                region_path=p.region.path,
                skills_matched=1 if skill in p.skill_list else 0,
                load=rules.peak_load(busy.get(key, []), start, end),
                capacity=p.capacity,
                name=p.name,
            )
        )
    return [
        Suggestion(
            by_key[c.key], rules.region_distance(c.region_path, person.region.path), c.load, c.skills_matched
        )  # type: ignore[index]
        for c in rules.rank(candidates, person.region.path)[:MAX_SUGGESTIONS]
    ]


def provider_from_choice(user: Any, raw: str) -> Provider | None:
    """'v-12' / 'o-3' (the assign form's value) → the volunteer or organisation in the user's view."""
    kind, _sep, pk = str(raw).partition("-")
    model = {"v": Volunteer, "o": Organisation}.get(kind)
    if model is None or not pk.isdigit():
        return None
    return providers_visible_to(model, user).select_related("region").filter(pk=int(pk)).first()
