"""Reads of the registry (人员与家庭) for the staff console and exports.

Every read starts from `.visible_to(user)`, so a user sees only their region subtree and an
out-of-scope object is a 404, never a 403. Lists carry what a list needs (masked on display);
the full record is `person_detail`, and each call of it is written to the audit log (查阅记录).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, F, Prefetch, Q, QuerySet

from doudi.audit.models import AuditAction, AuditEntry
from doudi.audit.services import chained_entries, record_read
from doudi.core.scoping import get_visible_or_404
from doudi.registry import identity
from doudi.registry.models import (
    DuplicateStatus,
    Household,
    Membership,
    Person,
    PersonCategory,
    PossibleDuplicate,
)
from doudi.registry.services import INCOME_FIELDS

if TYPE_CHECKING:
    from doudi.accounts.models import User

# A name search never returns more than this many rows: it is a look-up, not a report.
SEARCH_LIMIT = 200
AUDIT_HISTORY_LIMIT = 50
AUDIT_READS_LIMIT = 10

# POLICY.md: wage, business, agricultural, property and transfer income are counted; exempt is not.
COUNTED_INCOME_FIELDS = tuple(f for f in INCOME_FIELDS if f != "income_exempt_fen")

ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")


def normalise_id_number(q: str) -> str | None:
    """The query as a stored 18-digit ID (upper-case check letter), or None when it is not one.

    Full-width digits and spaces from Chinese input methods are normalised like at registration.
    Only the shape is checked here: a mistyped checksum simply finds nobody, which is the
    honest answer to a search.
    """
    q = identity.normalise(q)
    return q if ID_NUMBER_RE.match(q) else None


def _name_filter(prefix: str, q: str, contains: bool) -> Q:
    lookup = "icontains" if contains else "startswith"
    return Q(**{f"{prefix}name__{lookup}": q})


def search_people(user: User, q: str, *, contains: bool = False) -> QuerySet[Person]:
    """人员查询: by exact ID number (the unique index) or by name prefix (or substring).

    Each person comes with `current_memberships` (0 or 1 rows) and its household, prefetched.
    """
    q = (q or "").strip()
    qs = Person.objects.visible_to(user)
    id_number = normalise_id_number(q)
    if id_number:
        qs = qs.filter(id_number=id_number).order_by("pk")
    elif q:
        qs = qs.filter(_name_filter("", q, contains)).order_by("name", "pk")
    else:
        return qs.none()
    current = Membership.objects.filter(left_on__isnull=True).select_related("household")
    return qs.select_related("region").prefetch_related(
        Prefetch("memberships", queryset=current, to_attr="current_memberships")
    )


def search_households(user: User, q: str, *, contains: bool = False) -> QuerySet[Household]:
    """家庭查询: households with a current member matching the ID number or the name."""
    q = (q or "").strip()
    id_number = normalise_id_number(q)
    members = Membership.objects.filter(left_on__isnull=True)
    if id_number:
        members = members.filter(person__id_number=id_number)
    elif q:
        members = members.filter(_name_filter("person__", q, contains))
    else:
        return Household.objects.none()
    return (
        Household.objects.visible_to(user)
        .filter(pk__in=members.values("household_id"))
        .select_related("region", "head")
        .annotate(member_count=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
        .order_by("pk")
    )


@dataclass
class MemberRow:
    """One stay of a person in the household, with the person's categories and declared income."""

    membership: Membership
    person: Person
    categories: list[PersonCategory]
    visible: bool  # whether the user may open the person's page (a past member may live elsewhere now)

    @property
    def is_current(self) -> bool:
        return self.membership.left_on is None

    @property
    def income_total_fen(self) -> int:
        return sum(getattr(self.person, f) for f in COUNTED_INCOME_FIELDS)


@dataclass
class HouseholdDetail:
    household: Household
    members: list[MemberRow]
    history: list[AuditEntry] = field(default_factory=list)
    reads: list[AuditEntry] = field(default_factory=list)

    @property
    def current(self) -> list[MemberRow]:
        return [m for m in self.members if m.is_current]

    @property
    def past(self) -> list[MemberRow]:
        return [m for m in self.members if not m.is_current]

    @property
    def has_categories(self) -> bool:
        return any(m.categories for m in self.current)

    @property
    def income_totals_fen(self) -> dict[str, int]:
        """Declared monthly income of the current members, by kind and in total (exempt kept apart)."""
        totals = {f: sum(getattr(m.person, f) for m in self.current) for f in INCOME_FIELDS}
        totals["counted"] = sum(totals[f] for f in COUNTED_INCOME_FIELDS)
        return totals


def _audit_visible_to(user: User) -> QuerySet[AuditEntry]:
    # Audit entries keep the region path of their object as it was when written (a string, not a
    # Region key), so `.visible_to` cannot apply; this prefix test is the same subtree rule.
    region = getattr(user, "region", None)
    if region is None:
        return AuditEntry.objects.none()
    return chained_entries().filter(region_path__startswith=region.path)


def _audit_for(user: User, objects: dict[str, list]) -> QuerySet[AuditEntry]:
    cond = Q()
    for object_type, ids in objects.items():
        if ids:
            cond |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    if not cond:
        return AuditEntry.objects.none()
    return _audit_visible_to(user).filter(cond).order_by("-at", "-id")


def _label_subjects(entries: list[AuditEntry], names: dict[tuple[str, str], str]) -> None:
    """Give each entry a readable `subject` (张三, H12, 张三 · 低保对象) from objects already loaded."""
    for e in entries:
        e.subject = names.get((e.object_type, e.object_id)) or f"#{e.object_id}"


def household_detail(user: User, pk: int) -> HouseholdDetail:
    """家庭详情: members past and present, categories, income, assets, audit history.

    The page shows members' personal data (masked IDs), so the view is logged as a read of the
    household.
    """
    household = get_visible_or_404(
        Household.objects.select_related("region__parent__parent", "head"), user, pk=pk
    )
    memberships = list(
        Membership.objects.filter(household=household)
        .select_related("person__region")
        .prefetch_related(
            Prefetch("person__categories", queryset=PersonCategory.objects.order_by("-valid_from", "pk"))
        )
        .order_by(F("left_on").desc(nulls_first=True), "joined_on", "pk")
    )
    person_ids = {m.person_id for m in memberships}
    visible_ids = set(Person.objects.visible_to(user).filter(pk__in=person_ids).values_list("pk", flat=True))
    members = [
        MemberRow(
            membership=m,
            person=m.person,
            categories=list(m.person.categories.all()),
            visible=m.person_id in visible_ids,
        )
        for m in memberships
    ]
    category_ids = [c.pk for row in members for c in row.categories]
    entries = _audit_for(
        user,
        {
            "registry.household": [household.pk],
            "registry.person": sorted(person_ids),
            "registry.membership": [m.pk for m in memberships],
            "registry.personcategory": category_ids,
        },
    )
    history = list(entries.exclude(action=AuditAction.READ)[:AUDIT_HISTORY_LIMIT])
    reads = list(entries.filter(action=AuditAction.READ)[:AUDIT_READS_LIMIT])
    _label_subjects(
        history + reads,
        {
            ("registry.household", str(household.pk)): str(household),
            **{("registry.person", str(m.person_id)): m.person.name for m in memberships},
            **{("registry.membership", str(m.pk)): m.person.name for m in memberships},
            **{
                ("registry.personcategory", str(c.pk)): f"{row.person.name} · {c.get_category_display()}"
                for row in members
                for c in row.categories
            },
        },
    )
    record_read(actor=user, obj=household)
    return HouseholdDetail(household=household, members=members, history=history, reads=reads)


@dataclass
class PersonDetail:
    person: Person
    memberships: list[Membership]
    categories: list[PersonCategory]
    visible_household_ids: set[int]
    history: list[AuditEntry]
    reads: list[AuditEntry]

    @property
    def current_membership(self) -> Membership | None:
        return next((m for m in self.memberships if m.left_on is None), None)

    @property
    def income_total_fen(self) -> int:
        return sum(getattr(self.person, f) for f in COUNTED_INCOME_FIELDS)


def person_detail(user: User, pk: int) -> PersonDetail:
    """人员详情 with the full ID number; every call writes a READ entry to the audit log."""
    person = get_visible_or_404(Person.objects.select_related("region__parent__parent"), user, pk=pk)
    memberships = list(
        person.memberships.select_related("household__region").order_by(
            F("left_on").desc(nulls_first=True), "-joined_on", "-pk"
        )
    )
    visible_households = set(
        Household.objects.visible_to(user)
        .filter(pk__in=[m.household_id for m in memberships])
        .values_list("pk", flat=True)
    )
    categories = list(person.categories.order_by("-valid_from", "pk"))
    entries = _audit_for(
        user,
        {
            "registry.person": [person.pk],
            "registry.personcategory": [c.pk for c in categories],
            "registry.membership": [m.pk for m in memberships],
        },
    )
    history = list(entries.exclude(action=AuditAction.READ)[:AUDIT_HISTORY_LIMIT])
    reads = list(entries.filter(action=AuditAction.READ)[:AUDIT_READS_LIMIT])
    _label_subjects(
        history + reads,
        {
            ("registry.person", str(person.pk)): person.name,
            **{("registry.membership", str(m.pk)): str(m.household) for m in memberships},
            **{("registry.personcategory", str(c.pk)): c.get_category_display() for c in categories},
        },
    )
    record_read(actor=user, obj=person)
    return PersonDetail(
        person=person,
        memberships=memberships,
        categories=categories,
        visible_household_ids=visible_households,
        history=history,
        reads=reads,
    )


def open_duplicates(user: User) -> QuerySet[PossibleDuplicate]:
    """疑似重复 waiting for an officer, oldest first."""
    return (
        PossibleDuplicate.objects.visible_to(user)
        .filter(status=DuplicateStatus.OPEN)
        .select_related("region", "person__region", "other__region")
        .order_by("created_at", "pk")
    )


def region_summary(user: User) -> dict[str, int]:
    """Counts for the console's home page, all within the user's subtree."""
    return {
        "households": Household.objects.visible_to(user).count(),
        "persons": Person.objects.visible_to(user).count(),
        "open_duplicates": PossibleDuplicate.objects.visible_to(user)
        .filter(status=DuplicateStatus.OPEN)
        .count(),
    }


def household_for_edit(user: User, pk: int) -> Household:
    """The household whose 条例第12、13条 figures an officer edits (404 outside the user's subtree)."""
    return get_visible_or_404(Household.objects.select_related("region"), user, pk=pk)


def current_membership_for_edit(user: User, pk: int) -> Membership:
    """A current member's 条例第11条 facts to edit: the page names the person, so the read is logged
    (404 outside the user's subtree or once the member has left)."""
    membership = get_visible_or_404(
        Membership.objects.select_related("person", "household__region"), user, pk=pk, left_on__isnull=True
    )
    record_read(actor=user, obj=membership.person)
    return membership
