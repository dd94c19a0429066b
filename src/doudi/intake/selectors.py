"""Reads of 一门受理, every one scoped to the caller's region subtree (`.visible_to`).

A case is visible in the subtree above its responsible unit. Two rows are visible from two sides:
a transfer (转办) to its sending unit (`Transfer.objects.visible_to`) and to its receiving unit
(`IncomingTransfer.objects.visible_to`); while a transfer is pending the receiving unit may also open
the case page (read-only) to decide whether to accept it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudi.audit.services import record_read
from doudi.core.pagination import ordering
from doudi.intake import sla
from doudi.intake.flows import Action, Flow, Handoffs, actionable_q, available_actions, flow_for
from doudi.intake.models import (
    Attachment,
    Case,
    CaseTransition,
    CaseType,
    Comment,
    CovidEvent,
    CovidImport,
    IncomingTransfer,
    Referral,
    Transfer,
    TransferStatus,
)
from doudi.registry.models import Category, Household, Membership, Person, PersonCategory, Relation

if TYPE_CHECKING:
    from doudi.accounts.models import User

# The case types that count as assistance for the registered-poor coverage report (一(三)).
ASSISTANCE_TYPES = (
    CaseType.DIBAO,
    CaseType.TEKUN,
    CaseType.CHILDREN,
    CaseType.TEMPORARY,
    CaseType.CASE_BY_CASE,
    CaseType.FIRST_AID,
)
# Person categories that are themselves a scheme paying the household (低保, 特困, children's allowance).
SCHEME_CATEGORIES = (Category.DIBAO, Category.TEKUN, Category.ORPHAN, Category.DE_FACTO_UNSUPPORTED_CHILD)


def _today() -> datetime.date:
    return timezone.localdate()


# --- lists --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    case_type: str = ""
    state: str = ""
    channel: str = ""
    q: str = ""  # tracking number (prefix) or applicant name (prefix)
    overdue: bool = False
    due_this_week: bool = False  # due from today to Sunday
    mine: bool = False  # assigned to the caller
    actionable: bool = True  # only cases the caller's roles can act on (the work queue); else all visible
    include_closed: bool = False


def cases_for(user: User) -> QuerySet[Case]:
    """Every case the user may see."""
    return Case.objects.visible_to(user)


# The queue's total order: due date (none last), filing time, id — the keyset of its pages.
QUEUE_ORDER = ("due_on", "filed_at", "pk")


def work_queue(
    user: User, filters: CaseFilters | None = None, *, today: datetime.date | None = None
) -> QuerySet[Case]:
    """待办: the open cases in the user's subtree on which one of their roles has an action to take
    (or all visible cases with `actionable=False`), overdue first, then by due date."""
    filters = filters or CaseFilters()
    today = today or _today()
    # The applicant by a second query on the page's rows: joined here, PostgreSQL read the person of
    # every case in the subtree before sorting and keeping the page (616 lookups for a page of 50).
    qs = cases_for(user).select_related("region", "assigned_to").prefetch_related("applicant")
    if not filters.include_closed:
        qs = qs.open()
    if filters.actionable:
        qs = qs.filter(actionable_q(user.roles))
    if filters.case_type:
        qs = qs.filter(case_type=filters.case_type)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.mine:
        qs = qs.filter(assigned_to=user)
    if filters.overdue:
        qs = qs.filter(closed_at__isnull=True, due_on__lt=today)
    if filters.due_this_week:
        qs = qs.filter(due_on__gte=today, due_on__lte=week_end(today))
    q = (filters.q or "").strip()
    if q:
        qs = qs.filter(Q(tracking_number__startswith=q.upper()) | Q(applicant_name__startswith=q))
    pending = Transfer.objects.filter(case=OuterRef("pk"), status=TransferStatus.PENDING)
    return qs.annotate(in_transfer=Exists(pending)).order_by(*ordering(QUEUE_ORDER, Case))


def week_end(today: datetime.date) -> datetime.date:
    """The Sunday closing the week of `today`."""
    return today + datetime.timedelta(days=6 - today.weekday())


@dataclass(frozen=True)
class MyWork:
    """我的待办: the user's own share of the work queue, for the console's first page."""

    waiting: int  # open cases on which one of the user's roles has the next step
    overdue: int  # … of them past their due date
    due_this_week: int  # … of them due from today to Sunday
    assigned: int  # … of them assigned to the user by name


def has_queue(user: User) -> bool:
    """Whether any flow gives the user's roles something to do (else their list shows every visible case)."""
    from doudi.intake.flows import FLOWS

    return any(flow.acting_states(user.roles) for flow in FLOWS.values())


def my_work(user: User, *, today: datetime.date | None = None) -> MyWork | None:
    """The counts behind the links of the console's home page (each is the queue with one filter);
    None for a user whose roles take no step (supervisors, auditors)."""
    if not has_queue(user):
        return None
    today = today or _today()
    queue = cases_for(user).open().filter(actionable_q(user.roles))
    counts = queue.aggregate(
        waiting=Count("pk"),
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        due_this_week=Count("pk", filter=Q(due_on__gte=today, due_on__lte=week_end(today))),
        assigned=Count("pk", filter=Q(assigned_to=user)),
    )
    return MyWork(**counts)


def overdue_cases(user: User, *, today: datetime.date | None = None) -> QuerySet[Case]:
    """逾期: open cases past their due date (条例第35条: missed time limits are a supervised breach)."""
    return cases_for(user).overdue(today or _today()).order_by("due_on", "pk")


def is_overdue(case: Case, today: datetime.date | None = None) -> bool:
    return case.closed_at is None and case.due_on is not None and case.due_on < (today or _today())


def incoming_transfers(user: User, *, pending_only: bool = True) -> QuerySet[Transfer]:
    """转办 received by the user's subtree; pending first."""
    qs = IncomingTransfer.objects.visible_to(user).select_related(
        "case", "from_region", "to_region", "requested_by"
    )
    if pending_only:
        qs = qs.filter(status=TransferStatus.PENDING)
    return qs.order_by("due_on", "pk")


def outgoing_transfers(user: User) -> QuerySet[Transfer]:
    """The sender's trail: every transfer out of the user's subtree, whatever happened to the case."""
    return Transfer.objects.visible_to(user).select_related(
        "case", "from_region", "to_region", "responded_by"
    )


def open_referrals(user: User) -> QuerySet[Referral]:
    """转介 of the user's cases still waiting for the department's answer, by deadline."""
    return (
        Referral.objects.visible_to(user)
        .filter(answered_at__isnull=True)
        .select_related("case", "requested_by")
        .order_by("answer_due_on", "pk")
    )


def transfer_overdue(t: Transfer, today: datetime.date | None = None) -> bool:
    return t.status == TransferStatus.PENDING and t.due_on < (today or _today())


# --- the case page --------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime.datetime
    kind: str  # transition | comment | attachment | transfer | transfer_response | referral | referral_ack | referral_answer
    actor: str
    title: str
    body: str = ""
    obj: Any = None


@dataclass
class CaseDetail:
    case: Case
    flow: Flow
    actions: list[Action]
    timeline: list[TimelineEntry]
    transitions: list[CaseTransition]
    comments: list[Comment]
    attachments: list[Attachment]
    transfers: list[Transfer]
    referrals: list[Referral]
    pending_transfer: Transfer | None
    in_scope: bool  # False: the receiving unit of a pending transfer, reading only
    can_receive: bool = False
    today: datetime.date = field(default_factory=_today)
    declared: DeclaredFigures | None = None  # what the applicant declared online, beside the registry

    @property
    def state_label(self) -> str:
        return self.flow.state_label(self.case.state)

    @property
    def overdue(self) -> bool:
        return is_overdue(self.case, self.today)

    @property
    def days_left(self) -> int | None:
        if self.case.due_on is None or not self.case.is_open:
            return None
        try:
            return sla.days_left(self.case.due_on, self.today, self.case.sla_unit or sla.CALENDAR)
        except sla.SlaUnavailable:
            return None

    @property
    def notices(self) -> list[tuple[str, CaseTransition]]:
        """(kind, transition) of each printable notice the case has issued so far."""
        out = []
        for t in self.transitions:
            act = self.flow.action(t.action)
            if act is not None and act.notice:
                out.append((act.notice, t))
        return out


def get_case(user: User, pk: int, *, related: tuple[str, ...] = ("region",)) -> Case:
    """The case if in scope, or if a transfer to the user's subtree is pending; else 404. `related`:
    what to load with it in the same query."""
    case = Case.objects.visible_to(user).select_related(*related).filter(pk=pk).first()
    if case is None:
        incoming = IncomingTransfer.objects.visible_to(user).filter(case_id=pk, status=TransferStatus.PENDING)
        if not incoming.exists():
            raise Http404
        case = Case.objects.select_related(*related).get(pk=pk)
    return case


# What the case page shows of the case's relations, loaded with the case in one query.
CASE_PAGE_RELATED = (
    "region__parent__parent",
    "applicant__region",
    "household",
    "assigned_to",
    "filed_by",
    "related_case",
)


def case_detail(user: User, pk: int, *, log_read: bool = True) -> CaseDetail:
    """案件详情 with its timeline and the actions its state allows the user. The page shows the
    applicant's personal data, so the view is logged as a read (查阅记录)."""
    case = get_case(user, pk, related=CASE_PAGE_RELATED)
    flow = flow_for(case.case_type)
    from doudi.core.scoping import region_in_scope

    in_scope = region_in_scope(user, case.region)
    transitions = list(case.transitions.select_related("by__region").order_by("seq"))
    comments = list(case.comments.select_related("author__region").order_by("at", "pk"))
    attachments = list(case.attachments.select_related("uploaded_by__region").order_by("uploaded_at", "pk"))
    transfers = list(
        case.transfers.select_related(
            "from_region", "to_region", "requested_by__region", "responded_by__region"
        ).order_by("requested_at", "pk")
    )
    referrals = list(case.referrals.select_related("requested_by__region").order_by("requested_at", "pk"))
    pending = next((t for t in transfers if t.status == TransferStatus.PENDING), None)
    can_receive = bool(pending and region_in_scope(user, pending.to_region))
    detail = CaseDetail(
        case=case,
        flow=flow,
        actions=available_actions(
            case,
            user,
            handoffs=Handoffs(
                transfer_pending=pending is not None,
                referral_unanswered=any(r.answered_at is None for r in referrals),
            ),
        )
        if in_scope
        else [],
        timeline=_timeline(flow, transitions, comments, attachments, transfers, referrals, reader=user),
        transitions=transitions,
        comments=comments,
        attachments=attachments,
        transfers=transfers,
        referrals=referrals,
        pending_transfer=pending,
        in_scope=in_scope,
        can_receive=can_receive,
        declared=declared_figures(case, user),
    )
    if log_read:
        record_read(actor=user, obj=case)
    return detail


SYSTEM_LABEL = "system"  # the by_label of steps the platform takes itself (intake.services._label)


def _actor_label(user: User | None, label: str = "") -> str:
    """Who took a step, as a reader wants it: the officer's name, unit and post; "系统（自动）" for the
    platform's own steps; else the label stored with the row (e.g. an applicant uploading online)."""
    from django.utils.translation import gettext as _

    if user is not None:
        return user.byline
    if not label or label == SYSTEM_LABEL:
        return _("系统（自动）")
    return label


def _timeline(
    flow, transitions, comments, attachments, transfers, referrals, *, reader: User | None = None
) -> list[TimelineEntry]:
    from django.utils.translation import gettext as _

    entries: list[TimelineEntry] = []
    bylines: dict[int, str] = {}  # one roles query per officer, not per row

    def actor_label(user: User | None, label: str = "") -> str:
        if user is not None and user.pk not in bylines:
            # The reader's own steps: their roles are already loaded for this request.
            bylines[user.pk] = _actor_label(reader if reader is not None and reader.pk == user.pk else user)
        return bylines[user.pk] if user is not None else _actor_label(None, label)

    for t in transitions:
        act = flow.action(t.action)
        title = str(act.label) if act else (_("登记") if t.action == "open" else t.action)
        body = t.reason
        if t.data.get("items"):
            body = (body + "\n" if body else "") + "\n".join(f"· {i}" for i in t.data["items"])
        entries.append(
            TimelineEntry(
                t.at,
                "transition",
                actor_label(t.by, t.by_label),
                f"{title}：{flow.state_label(t.from_state) + ' → ' if t.from_state else ''}"
                f"{flow.state_label(t.to_state)}",
                body,
                t,
            )
        )
    for c in comments:
        entries.append(
            TimelineEntry(c.at, "comment", actor_label(c.author, c.author_label), _("办理意见"), c.text, c)
        )
    for a in attachments:
        entries.append(
            TimelineEntry(
                a.uploaded_at,
                "attachment",
                actor_label(a.uploaded_by, a.uploaded_by_label),
                _("上传附件"),
                a.label,
                a,
            )
        )
    for t in transfers:
        entries.append(
            TimelineEntry(
                t.requested_at,
                "transfer",
                actor_label(t.requested_by),
                _("转办：%(f)s → %(to)s") % {"f": t.from_region.name, "to": t.to_region.name},
                t.reason,
                t,
            )
        )
        if t.responded_at:
            entries.append(
                TimelineEntry(
                    t.responded_at,
                    "transfer_response",
                    actor_label(t.responded_by),
                    _("转办%(s)s") % {"s": t.get_status_display()},
                    t.response_note,
                    t,
                )
            )
    for r in referrals:
        entries.append(
            TimelineEntry(
                r.requested_at,
                "referral",
                actor_label(r.requested_by),
                _("转介：%(d)s") % {"d": r.get_department_display()},
                r.reason,
                r,
            )
        )
        if r.acknowledged_at:
            entries.append(
                TimelineEntry(
                    r.acknowledged_at,
                    "referral_ack",
                    r.acknowledged_contact,
                    _("转介已签收：%(d)s") % {"d": r.get_department_display()},
                    "",
                    r,
                )
            )
        if r.answered_at:
            entries.append(
                TimelineEntry(
                    r.answered_at,
                    "referral_answer",
                    r.answer_contact,
                    _("转介已答复：%(d)s") % {"d": r.get_department_display()},
                    r.answer,
                    r,
                )
            )
    entries.sort(key=lambda e: e.at)
    return entries


def get_transition(user: User, case_pk: int, seq: int) -> tuple[Case, CaseTransition]:
    case = get_case(user, case_pk)
    transition = CaseTransition.objects.filter(case=case, seq=seq).select_related("by").first()
    if transition is None:
        raise Http404
    return case, transition


def get_attachment(user: User, pk: int) -> Attachment:
    attachment = Attachment.objects.visible_to(user).select_related("case__region").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    return attachment


def get_incoming_or_outgoing_transfer(user: User, pk: int) -> Transfer:
    transfer = (
        Transfer.objects.visible_to(user).filter(pk=pk).first()
        or IncomingTransfer.objects.visible_to(user).filter(pk=pk).first()
    )
    if transfer is None:
        raise Http404
    return Transfer.objects.select_related("case", "from_region", "to_region").get(pk=transfer.pk)


def get_referral(user: User, pk: int) -> Referral:
    referral = Referral.objects.visible_to(user).select_related("case__region").filter(pk=pk).first()
    if referral is None:
        raise Http404
    return referral


# --- COVID events -------------------------------------------------------------------------------------------


def covid_events(
    user: User, *, person: Person | None = None, include_void: bool = False
) -> QuerySet[CovidEvent]:
    qs = CovidEvent.objects.visible_to(user).select_related("person__region", "recorded_by", "batch")
    if person is not None:
        qs = qs.filter(person=person)
    if not include_void:
        qs = qs.filter(voided_at__isnull=True)
    return qs.order_by("-recorded_at", "-pk")


def covid_imports(user: User) -> QuerySet[CovidImport]:
    return CovidImport.objects.visible_to(user).select_related("imported_by").order_by("-imported_at")


# --- 一(三): registered-poor households covered by no scheme ------------------------------------------------------


@dataclass
class UncoveredHousehold:
    household: Household | None  # None: a registered-poor person with no current household
    registered_poor: list[Person]
    members: int


def _open_on(day: datetime.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def registered_poor_uncovered(user: User, *, today: datetime.date | None = None) -> list[UncoveredHousehold]:
    """建档立卡 households that no scheme covers (一(三) asks that eligible ones be brought in).

    A household is listed when it has a current member holding an open `registered_poor` category
    and: the household is not enrolled in dibao; no current member holds an open dibao, tekun,
    orphan or de-facto-unsupported-child category; and no open assistance case (dibao, tekun,
    children, temporary, 一事一议, 先行救助) names the household or any current member. A
    registered-poor person with no current household is listed alone under the same tests.
    """
    day = today or _today()
    poor_ids = (
        PersonCategory.objects.filter(category=Category.REGISTERED_POOR)
        .filter(_open_on(day))
        .values("person_id")
    )
    poor = Person.objects.visible_to(user).filter(pk__in=poor_ids, merged_into__isnull=True)
    current = Membership.objects.filter(left_on__isnull=True)

    covered_people = (
        PersonCategory.objects.filter(category__in=SCHEME_CATEGORIES)
        .filter(_open_on(day))
        .values("person_id")
    )
    open_cases = Case.objects.open().filter(case_type__in=ASSISTANCE_TYPES)
    case_people = open_cases.filter(applicant__isnull=False).values("applicant_id")
    case_households = open_cases.filter(household__isnull=False).values("household_id")

    covered_households = Household.objects.filter(
        Q(dibao_enrolled=True)
        | Q(pk__in=current.filter(person_id__in=covered_people).values("household_id"))
        | Q(pk__in=current.filter(person_id__in=case_people).values("household_id"))
        | Q(pk__in=case_households)
    ).values("pk")

    with_household = list(
        current.filter(person__in=poor)
        .exclude(household_id__in=covered_households)
        .select_related("household__region", "household__head", "person")
        .order_by("household_id", "person_id")
    )
    by_household: dict[int, UncoveredHousehold] = {}
    for m in with_household:
        entry = by_household.setdefault(m.household_id, UncoveredHousehold(m.household, [], 0))
        entry.registered_poor.append(m.person)
    if by_household:
        counts = dict(
            current.filter(household_id__in=list(by_household))
            .values_list("household_id")
            .annotate(n=Count("pk"))
        )
        for hid, entry in by_household.items():
            entry.members = counts.get(hid, 0)
    alone = (
        poor.exclude(pk__in=current.values("person_id"))
        .exclude(pk__in=covered_people)
        .exclude(pk__in=case_people)
        .select_related("region")
        .order_by("region_id", "name", "pk")
    )
    result = list(by_household.values())
    result.extend(UncoveredHousehold(None, [p], 1) for p in alone)
    return result


# --- 申报与核对: what the applicant declared, beside the registry and the verification report -------------------


@dataclass
class DeclaredRow:
    """One person's monthly income (fen) as declared on the application, as the registry holds it and as
    the household's verification report found it; None where that source has no figure."""

    name: str
    id_number: str
    relation: str
    declared_fen: int | None
    registry_fen: int | None
    verified_fen: int | None

    @property
    def registry_difference_fen(self) -> int | None:
        """Registry minus declared."""
        if self.declared_fen is None or self.registry_fen is None:
            return None
        return self.registry_fen - self.declared_fen

    @property
    def verified_difference_fen(self) -> int | None:
        """Verified minus declared."""
        if self.declared_fen is None or self.verified_fen is None:
            return None
        return self.verified_fen - self.declared_fen

    @property
    def differs(self) -> bool:
        return bool(self.registry_difference_fen or self.verified_difference_fen) or self.declared_fen is None


@dataclass
class DeclaredFigures:
    rows: list[DeclaredRow]
    report: Any  # verification.CheckReport | None

    def _total(self, attr: str) -> int | None:
        values = [getattr(r, attr) for r in self.rows]
        return None if all(v is None for v in values) else sum(v or 0 for v in values)

    @property
    def declared_total_fen(self) -> int | None:
        return self._total("declared_fen")

    @property
    def registry_total_fen(self) -> int | None:
        return self._total("registry_fen")

    @property
    def verified_total_fen(self) -> int | None:
        return self._total("verified_fen")

    @property
    def difference_count(self) -> int:
        return sum(r.differs for r in self.rows)


def declared_figures(case: Case, user: User | None = None) -> DeclaredFigures | None:
    """申报与核对对照: the incomes the applicant declared online (case.details["portal"]), each beside
    the registry's counted income of the same person and the latest verification report of the case's
    household; registry members the applicant did not declare are listed too. Registry figures only of
    people the user may see. None for a case with no declaration (counter cases record the figures
    directly in the registry)."""
    from doudi.registry.selectors import COUNTED_INCOME_FIELDS
    from doudi.verification.check import COUNTED_KINDS
    from doudi.verification.models import CheckReport

    portal = (case.details or {}).get("portal")
    if not portal:
        return None
    declared = [
        (case.applicant_name, case.applicant_id_number, _("申请人本人"), portal.get("applicant_income_fen"))
    ] + [
        (
            m.get("name", ""),
            m.get("id_number", ""),
            _relation_label(m.get("relation", "")),
            m.get("income_fen"),
        )
        for m in portal.get("members") or []
    ]
    numbers = [number for _name, number, _rel, _fen in declared if number]
    members: dict[str, Person] = {}
    if case.household_id:
        current = Membership.objects.filter(household_id=case.household_id, left_on__isnull=True)
        members = {m.person.id_number: m.person for m in current.select_related("person")}
    people = Person.objects.visible_to(user) if user is not None else Person.objects.all()
    registry = {p.id_number: p for p in people.filter(id_number__in=numbers)} | members
    report = None
    if case.household_id:
        reports = CheckReport.objects.filter(household_id=case.household_id)
        report = reports.filter(case_number=case.tracking_number).first() or reports.first()
    by_person = {  # the report's members are the registry's, by person id
        m.get("person_id"): sum(m["income"][k]["verified_fen"] for k in COUNTED_KINDS if k in m["income"])
        for m in (report.data.get("members") or [] if report else [])
    }

    def counted(person: Person | None) -> int | None:
        return None if person is None else sum(getattr(person, f) for f in COUNTED_INCOME_FIELDS)

    def verified(person: Person | None) -> int | None:
        return None if person is None else by_person.get(person.pk)

    rows = [
        DeclaredRow(
            name, number, relation, fen, counted(registry.get(number)), verified(registry.get(number))
        )
        for name, number, relation, fen in declared
    ]
    for number, person in members.items():
        if number not in numbers:  # in the registry household, not on the application
            rows.append(DeclaredRow(person.name, number, "", None, counted(person), verified(person)))
    return DeclaredFigures(rows=rows, report=report)


def _relation_label(value: str) -> str:
    try:
        return str(Relation(value).label)
    except ValueError:
        return value
