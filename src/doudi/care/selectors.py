"""Reads of the care app, every one scoped to the caller's region (out of scope = 404); a read of one
person's screening is written to the audit log (查阅记录). Lists show masked ID numbers and phones
(templates use the `mask_id`/`mask_phone` filters, exports the same functions)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from doudi.audit.services import record_read
from doudi.care.models import (
    ChildReport,
    ChildReportEvent,
    ChildReportState,
    Contact,
    ContactCategory,
    DailyReport,
    GuardianshipArrangement,
    Institution,
    Outing,
    RiskArea,
    Screening,
)
from doudi.care.rules import EscalationClock, late_levels, psych_aid_due
from doudi.core.scoping import get_visible_or_404
from doudi.intake.sla import emergency_window_open
from doudi.regions.models import Region, RegionLevel
from doudi.registry.models import Category, OrphanCare, Person, PersonCategory

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


# --- contact schedules (三(四)) -----------------------------------------------------------------------


# The registry category each contact category comes from (散居孤儿: 孤儿 whose 养育方式 is 散居).
REGISTRY_CATEGORY = {
    ContactCategory.ELDERLY_ALONE: Category.ELDERLY_ALONE,
    ContactCategory.SCATTERED_ORPHAN: Category.ORPHAN,
    ContactCategory.LEFT_BEHIND_CHILD: Category.LEFT_BEHIND_CHILD,
    ContactCategory.LEFT_BEHIND_ELDERLY: Category.LEFT_BEHIND_ELDERLY,
    ContactCategory.SEVERE_ILLNESS: Category.SEVERE_ILLNESS,
    ContactCategory.SEVERE_DISABILITY: Category.SEVERE_DISABILITY,
}
_CONTACT_CATEGORY = {v: k for k, v in REGISTRY_CATEGORY.items()}


def interval_parameter(category: str, emergency: bool) -> str:
    return f"care.contact_days.{'emergency' if emergency else 'normal'}.{category}"


class Intervals:
    """Contact intervals in days on one day, from the bureau's dated parameters (defaults + stored
    values): the emergency set where the person's district is in its emergency window (疫情防控期间)."""

    def __init__(self, day: datetime.date):
        from doudi.parameters.selectors import current_parameters

        self.day = day
        self._params = current_parameters()
        self._days: dict[tuple[str, bool], int | None] = {}
        self._emergency: dict[str, bool] = {}

    def emergency(self, region: Region) -> bool:
        code = region.district_code or region.code
        if code not in self._emergency:
            self._emergency[code] = emergency_window_open(region, self.day)
        return self._emergency[code]

    def days(self, category: str, emergency: bool) -> int | None:
        key = (category, emergency)
        if key not in self._days:
            found = self._params.value_at(interval_parameter(category, emergency), self.day)
            self._days[key] = None if found is None else int(found.value)
        return self._days[key]


@dataclass
class ScheduleRow:
    """One person on the contact schedule on a day: categories, the interval (the shortest of their
    categories'), the last contact, when the next is due and how many days it is overdue."""

    person: Person
    categories: list[str]
    interval: int
    emergency: bool
    last_contact: datetime.date | None
    due: datetime.date
    overdue_days: int

    @property
    def category_labels(self) -> str:
        return "、".join(str(ContactCategory(c).label) for c in self.categories)

    @property
    def village(self) -> Region:
        return self.person.region

    @property
    def township(self) -> Region | None:
        return self.person.region.parent


def scheduled_categories(day: datetime.date, *, user: Any = None, region: Region | None = None) -> QuerySet:
    """The registry categories that put people on the schedule on `day` (open on that day), in scope."""
    qs = PersonCategory.objects.visible_to(user) if user is not None else PersonCategory.objects.all()
    if region is not None:
        qs = qs.filter(person__region__path__startswith=region.path)
    return (
        qs.filter(category__in=list(_CONTACT_CATEGORY), valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .filter(person__merged_into__isnull=True, person__covid_died_on__isnull=True)
        .exclude(category=Category.ORPHAN, person__orphan_care=OrphanCare.INSTITUTIONAL)
    )


def contact_schedule(
    day: datetime.date,
    *,
    user: Any = None,
    region: Region | None = None,
    person: Person | None = None,
    overdue_only: bool = False,
) -> list[ScheduleRow]:
    """The schedule on `day` in the user's scope (console) or under `region` (the daily job): people
    whose next contact is due — last contact (or, never contacted, the day their category began) plus
    the interval — sorted by township, village and due date. `overdue_only`: due before `day`."""
    held = scheduled_categories(day, user=user, region=region)
    if person is not None:
        held = held.filter(person=person)
    cats: dict[int, list[str]] = {}
    since: dict[int, datetime.date] = {}
    for person_id, category, valid_from in held.values_list("person_id", "category", "valid_from"):
        contact_category = _CONTACT_CATEGORY[category]
        if contact_category not in cats.setdefault(person_id, []):
            cats[person_id].append(contact_category)
        since[person_id] = min(since.get(person_id, valid_from), valid_from)
    if not cats:
        return []
    last = dict(
        Contact.objects.filter(person_id__in=held.values("person_id"), contacted_on__lte=day)
        .values("person_id")
        .annotate(last=Max("contacted_on"))
        .values_list("person_id", "last")
    )
    intervals = Intervals(day)
    rows = []
    for p in Person.objects.filter(pk__in=held.values("person_id")).select_related("region__parent"):
        emergency = intervals.emergency(p.region)
        found = [d for c in cats[p.pk] if (d := intervals.days(c, emergency)) is not None]
        if not found:
            continue  # no interval in force on that day (before the parameters' first date)
        interval = min(found)
        base = last.get(p.pk) or since[p.pk]
        due = base + datetime.timedelta(days=interval)
        overdue = max(0, (day - due).days)
        if overdue_only and not overdue:
            continue
        order = [c for c in ContactCategory.values if c in cats[p.pk]]
        rows.append(ScheduleRow(p, order, interval, emergency, last.get(p.pk), due, overdue))
    rows.sort(key=lambda r: (r.person.region.path, r.due, r.person.name, r.person.pk))
    return rows


@dataclass
class PersonContacts:
    person: Person
    schedule: ScheduleRow | None
    contacts: list[Contact]


def person_contacts(user: Any, pk: int, day: datetime.date) -> PersonContacts:
    """One person's schedule and contact history, with the full ID number: audited."""
    person = get_visible_or_404(Person.objects.select_related("region__parent"), user, pk=pk)
    record_read(actor=user, obj=person, reason="care.contacts")
    rows = contact_schedule(day, user=user, person=person)
    contacts = list(
        Contact.objects.filter(person=person)
        .select_related("follow_up_case")
        .order_by("-contacted_on", "-pk")
    )
    return PersonContacts(person, rows[0] if rows else None, contacts)


def contact_for(user: Any, pk: int) -> Contact:
    return get_visible_or_404(Contact.objects.select_related("person__region", "follow_up_case"), user, pk=pk)


# --- children left without guardianship (三(二)) -------------------------------------------------------


def clock_of(report: ChildReport) -> EscalationClock:
    return EscalationClock(
        report.township_due_at,
        report.district_due_at,
        report.township_acknowledged_at,
        report.district_acknowledged_at,
    )


def child_reports_for(user: Any, *, open_only: bool = True) -> QuerySet[ChildReport]:
    """The reports in the user's region (lists: the child's ID masked), newest first."""
    qs = ChildReport.objects.visible_to(user).select_related("region__parent")
    if open_only:
        qs = qs.exclude(state=ChildReportState.CLOSED)
    return qs.order_by("-reported_at", "-pk")


@dataclass
class ChildReportPage:
    report: ChildReport
    late: tuple[str, ...]
    events: list[ChildReportEvent]
    arrangement: GuardianshipArrangement | None
    arrangements: list[GuardianshipArrangement]


def child_report_page(user: Any, pk: int, now: datetime.datetime) -> ChildReportPage:
    """One report with its clock, ledger and arrangements: an audited read (a child's record)."""
    report = get_visible_or_404(ChildReport.objects.select_related("region__parent", "child"), user, pk=pk)
    record_read(actor=user, obj=report)
    arrangements = list(report.arrangements.order_by("-arranged_at", "-pk"))
    return ChildReportPage(
        report=report,
        late=late_levels(clock_of(report), now),
        events=list(report.events.order_by("at", "pk")),
        arrangement=arrangements[0] if arrangements else None,
        arrangements=arrangements,
    )


def late_acknowledgements(now: datetime.datetime, *, user: Any = None, region: Region | None = None) -> list:
    """Open reports whose township or district acknowledgement is missing past its due time (督办):
    (report, late levels), oldest first — the console list and the daily job."""
    qs = ChildReport.objects.visible_to(user) if user is not None else ChildReport.objects.all()
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    qs = (
        qs.exclude(state=ChildReportState.CLOSED)
        .filter(
            Q(township_acknowledged_at__isnull=True, township_due_at__lt=now)
            | Q(district_acknowledged_at__isnull=True, district_due_at__lt=now)
        )
        .select_related("region__parent")
        .order_by("reported_at", "pk")
    )
    return [(r, late_levels(clock_of(r), now)) for r in qs]


def child_report_for(user: Any, pk: int) -> ChildReport:
    return get_visible_or_404(ChildReport.objects.select_related("region"), user, pk=pk)


# --- psychological aid (心理援助, notice 五) -------------------------------------------------------------


def psych_aid_cases(user: Any, *, open_only: bool = True) -> QuerySet:
    """The psychological-aid offers (照料服务 cases of department 心理援助, each with its offer) in the
    user's region, the open ones by due date."""
    from doudi.intake.models import Case, CaseType

    qs = (
        Case.objects.visible_to(user)
        .filter(case_type=CaseType.CARE, details__psych_aid__isnull=False)
        .select_related("region", "applicant", "psych_aid_offer")
    )
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    return qs.order_by("closed_at", "due_on", "-filed_at", "-pk")


def psych_aid_offer(user: Any, pk: int):
    """One offer for printing (the family's name and phone): an audited read."""
    from doudi.intake.models import Case, CaseType

    case = get_visible_or_404(
        Case.objects.filter(case_type=CaseType.CARE, details__psych_aid__isnull=False).select_related(
            "region", "applicant"
        ),
        user,
        pk=pk,
    )
    record_read(actor=user, obj=case, reason="care.psych_aid")
    return case


@dataclass
class PsychAidPage:
    offer: Any
    transitions: list
    follow_ups: list
    due: datetime.date | None


def psych_aid_page(user: Any, pk: int, today: datetime.date) -> PsychAidPage:
    """One offer with its ledger and follow-ups (the family's name and phone shown): an audited read."""
    from doudi.care.models import PsychAidOffer

    offer = get_visible_or_404(
        PsychAidOffer.objects.select_related("case__region", "case__applicant", "person"), user, pk=pk
    )
    record_read(actor=user, obj=offer.case, reason="care.psych_aid")
    return PsychAidPage(
        offer=offer,
        transitions=[
            (t, _state_label(t.from_state), _state_label(t.to_state))
            for t in offer.transitions.order_by("seq")
        ],
        follow_ups=list(offer.follow_ups.order_by("-contacted_on", "-pk")),
        due=due_of(offer, today),
    )


def _state_label(state: str) -> str:
    from doudi.care.rules import PsychAidState

    return str(PsychAidState(state).label) if state in PsychAidState.values else state


def due_of(offer: Any, today: datetime.date) -> datetime.date | None:
    from doudi.care.services import follow_up_days

    return psych_aid_due(offer.state, offer.last_on, follow_up_days(today), offer.next_on)


@dataclass
class OverdueOffer:
    offer: Any
    due: datetime.date
    overdue_days: int
    township: Region | None
    village: Region


def overdue_psych_aid(
    day: datetime.date, *, user: Any = None, region: Region | None = None
) -> list[OverdueOffer]:
    """回访逾期: the open offers whose contact is due before `day` (never contacted within the interval
    after the offer, or not called back by the day agreed), for the township — oldest first."""
    from doudi.care.models import PsychAidOffer
    from doudi.care.rules import PSYCH_AID_OPEN

    qs = PsychAidOffer.objects.filter(state__in=PSYCH_AID_OPEN).select_related(
        "case__region__parent", "case__applicant", "person"
    )
    if user is not None:
        qs = qs.visible_to(user)
    if region is not None:
        qs = qs.filter(case__region__path__startswith=region.path)
    from doudi.care.services import follow_up_days

    interval = follow_up_days(day)
    rows = []
    for offer in qs:
        due = psych_aid_due(offer.state, offer.last_on, interval, offer.next_on)
        if due is None or due >= day:
            continue
        village = offer.case.region
        township = village.parent if village.level == RegionLevel.VILLAGE else None
        if village.level == RegionLevel.TOWNSHIP:
            township = village
        rows.append(OverdueOffer(offer, due, (day - due).days, township, village))
    rows.sort(key=lambda r: (r.due, r.offer.pk))
    return rows


# --- hotline calls (热线来电, 四) --------------------------------------------------------------------------

CALL_ORDER = ("-received_at", "-pk")


@dataclass
class CallFilters:
    region: Region | None = None
    category: str = ""
    outcome: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    q: str = ""


def hotline_calls(user: Any, filters: CallFilters) -> QuerySet:
    """The calls of the user's region (newest first), filtered; a keyset page reads them."""
    from django.utils import timezone

    from doudi.care.models import HotlineCall

    qs = HotlineCall.objects.visible_to(user).select_related("region", "case")
    f = filters
    if f.region is not None:
        qs = qs.filter(region__path__startswith=f.region.path)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    tz = timezone.get_current_timezone()
    if f.date_from:
        start = datetime.datetime.combine(f.date_from, datetime.time.min, tzinfo=tz)
        qs = qs.filter(received_at__gte=start)
    if f.date_to:
        end = datetime.datetime.combine(f.date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        qs = qs.filter(received_at__lt=end)
    if f.q:
        qs = qs.filter(Q(caller_name__icontains=f.q) | Q(summary__icontains=f.q))
    return qs


def hotline_call_for(user: Any, pk: int):
    """One call with the caller's name, ID number and phone in full: an audited read."""
    from doudi.care.models import HotlineCall

    call = get_visible_or_404(HotlineCall.objects.select_related("region", "case", "caller"), user, pk=pk)
    if call.caller_name or call.caller_id_number or call.caller_phone:
        record_read(actor=user, obj=call, reason="care.hotline")
    return call


# --- care arrangements (三(四)) and placements (三(三)) --------------------------------------------------

ENDING_DAYS = 3


@dataclass
class ArrangementRow:
    arrangement: Any
    tekun: bool
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def ending(self) -> bool:
        return 0 <= self.days_left <= ENDING_DAYS


def arrangements_in_force(user: Any, day: datetime.date) -> list[ArrangementRow]:
    """The latest care arrangement of each dependent in the user's region — 特困 (scattered: at home)
    first, then the most urgent end date; an arrangement past its end date is overdue (to renew or to
    close), one ending within ENDING_DAYS days is flagged."""
    from doudi.care.models import CareArrangement, CareLedger

    latest: dict[int, Any] = {}
    for a in (
        CareArrangement.objects.visible_to(user)
        .select_related("person__region")
        .order_by("person_id", "-arranged_at", "-pk")
    ):
        latest.setdefault(a.person_id, a)
    closed = set(
        CareLedger.objects.filter(
            arrangement_id__in=[a.pk for a in latest.values()], action="close"
        ).values_list("arrangement_id", flat=True)
    )
    latest = {k: a for k, a in latest.items() if a.pk not in closed}  # ended early: no longer in force
    tekun = set(
        PersonCategory.objects.filter(
            person_id__in=list(latest), category=Category.TEKUN, valid_from__lte=day
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .values_list("person_id", flat=True)
    )
    rows = [ArrangementRow(a, a.person_id in tekun, (a.ends_on - day).days) for a in latest.values()]
    rows.sort(key=lambda r: (not r.tekun, r.days_left, r.arrangement.person.name, r.arrangement.pk))
    return rows


def placements_for(user: Any) -> QuerySet:
    """The placements in the user's region, newest first, each with its closure if it ended
    (`closure`: a list of at most one ledger row)."""
    from django.db.models import Prefetch

    from doudi.care.models import CareLedger, Placement

    return (
        Placement.objects.visible_to(user)
        .select_related("person__region", "institution")
        .prefetch_related(Prefetch("ledger", CareLedger.objects.filter(action="close"), to_attr="closure"))
        .order_by("-observation_from", "-pk")
    )


@dataclass
class CarePage:
    """One arrangement or placement for the officer who may close it: the person (masked in lists, in
    full here — an audited read) and its closure, if any."""

    arrangement: Any
    placement: Any
    closure: Any
    in_force: bool


def arrangement_page(user: Any, pk: int) -> CarePage:
    from doudi.care.models import CareArrangement, CareLedger

    a = get_visible_or_404(CareArrangement.objects.select_related("person__region"), user, pk=pk)
    record_read(actor=user, obj=a.person, reason="care.arrangement")
    latest = CareArrangement.objects.filter(person_id=a.person_id).order_by("-arranged_at", "-pk").first()
    closure = CareLedger.objects.filter(arrangement=a, action="close").first()
    return CarePage(a, None, closure, latest is not None and latest.pk == a.pk and closure is None)


def placement_page(user: Any, pk: int) -> CarePage:
    from doudi.care.models import CareLedger, Placement

    p = get_visible_or_404(Placement.objects.select_related("person__region", "institution"), user, pk=pk)
    record_read(actor=user, obj=p.person, reason="care.placement")
    closure = CareLedger.objects.filter(placement=p, action="close").first()
    return CarePage(None, p, closure, closure is None)


def person_by_id_number(user: Any, raw: Any) -> Person | None:
    """A person of the user's region by resident ID (None: not found, not in scope, or not a valid ID)."""
    from django.core.exceptions import ValidationError

    from doudi.registry import identity

    try:
        number = identity.validate(raw)
    except ValidationError:
        return None
    return Person.objects.visible_to(user).filter(id_number=number).first()


def elderly_homes_of_district(user: Any) -> QuerySet[Institution]:
    """The operating elderly homes of the user's district (a village places in a nearby home that lies
    outside its own node); all in scope for a city user."""
    from doudi.care.models import InstitutionKind

    qs = Institution.objects.filter(active=True, kind=InstitutionKind.ELDERLY_HOME).select_related("region")
    region = getattr(user, "region", None)
    parts = region.path.strip("/").split("/") if region is not None else []
    if len(parts) >= 2:
        qs = qs.filter(region__path__startswith=f"{parts[0]}/{parts[1]}/")
    else:
        qs = qs.filter(pk__in=Institution.objects.visible_to(user).values("pk"))
    return qs.order_by("region__path", "name")
