"""Reads of 救助待遇, every one scoped to the caller's region subtree (`.visible_to`)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet, Sum

from doudi.benefits.models import ENROLLED, Enrolment, EnrolmentChange, EnrolmentStatus, Scheme

if TYPE_CHECKING:
    from doudi.accounts.models import User


def enrolments(user: User, *, scheme: str = "", active_only: bool = True) -> QuerySet[Enrolment]:
    """在保记录 of the households (and their people) in the user's subtree, by village, household,
    person."""
    qs = Enrolment.objects.visible_to(user).select_related(
        "household__region", "household__head", "person", "decision_case", "approved_by"
    )
    if scheme:
        qs = qs.filter(scheme=scheme)
    if active_only:
        qs = qs.filter(status__in=ENROLLED)  # a suspended (停发) enrolment is still on the roster
    return qs.order_by("household__region_id", "household_id", "person_id", "-from_month", "-pk")


def enrolment_summary(qs: QuerySet[Enrolment]) -> dict:
    """How many enrolments a (scoped) list holds and their monthly total (yuan): what is paid, so a
    suspended (停发) or ended enrolment counts but adds nothing."""
    totals = qs.order_by().aggregate(
        count=Count("pk"), amount=Sum("monthly_amount", filter=Q(status=EnrolmentStatus.ACTIVE))
    )
    return {"count": totals["count"] or 0, "amount": totals["amount"] or 0}


def enrolment_for_case(user: User, case) -> Enrolment | None:
    """The enrolment a decision case produced, if the user may see it."""
    return Enrolment.objects.visible_to(user).filter(decision_case=case).first()


def active_dibao(user: User, household) -> Enrolment | None:
    return (
        Enrolment.objects.visible_to(user)
        .filter(household=household, scheme=Scheme.DIBAO, status=EnrolmentStatus.ACTIVE)
        .first()
    )


def active_enrolment(user: User, person, scheme: str) -> Enrolment | None:
    """The person's active enrolment in a person-level scheme (特困, children), if the user may see it."""
    return (
        Enrolment.objects.visible_to(user)
        .filter(person=person, scheme=scheme, status=EnrolmentStatus.ACTIVE)
        .first()
    )


def enrolment_changes(user: User, enrolment: Enrolment) -> QuerySet[EnrolmentChange]:
    return EnrolmentChange.objects.visible_to(user).filter(enrolment=enrolment).order_by("at", "pk")


def enrolment_detail(user: User, pk: int) -> Enrolment:
    """One enrolment with its beneficiary; a staff read of personal data, logged (查阅记录)."""
    from doudi.audit.services import record_read
    from doudi.core.scoping import get_visible_or_404

    enrolment = get_visible_or_404(
        Enrolment.objects.select_related(
            "household__region", "household__head", "person", "decision_case", "approved_by"
        ),
        user,
        pk=pk,
    )
    record_read(actor=user, obj=enrolment.household, reason="在保记录")
    return enrolment


def enrolment_change(user: User, enrolment: Enrolment, pk: int) -> EnrolmentChange:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(enrolment_changes(user, enrolment).select_related("by__region"), pk=pk)


# --- the re-check's reductions and exits, once the window no longer holds them back ------------------


def _proposal_outcomes(user: User, run):
    from doudi.verification.models import Change, RecheckOutcome

    qs = RecheckOutcome.objects.visible_to(user).filter(change__in=[Change.REDUCE, Change.EXIT])
    return qs if run is None else qs.filter(run=run)


def recheck_proposals(user: User, today: datetime.date) -> tuple[Any, list]:
    """减发/退出待办: the reductions and exits the latest finished re-check found in the user's subtree,
    for households whose district is no longer in the emergency window this month and whose dibao is
    still paid at the amount checked (not yet acted on). Each outcome carries its `enrolment`."""
    from doudi.benefits.window import first_of_month, in_emergency_window
    from doudi.verification.selectors import latest_finished_run

    run = latest_finished_run()
    if run is None:
        return None, []
    outcomes = list(
        _proposal_outcomes(user, run).select_related("region").order_by("region_id", "household_id")
    )
    enrolments = {
        e.household_id: e
        for e in Enrolment.objects.visible_to(user)
        .filter(
            household_id__in=[o.household_id for o in outcomes],
            scheme=Scheme.DIBAO,
            status=EnrolmentStatus.ACTIVE,
        )
        .select_related("household__head")
    }
    month = first_of_month(today)
    held: dict[str, bool] = {}
    found = []
    for o in outcomes:
        e = enrolments.get(o.household_id)
        if e is None or e.monthly_amount != o.last_amount:
            continue
        district = o.region.district_code or o.region_id
        if district not in held:
            held[district] = in_emergency_window(o.region, month)
        if not held[district]:
            o.enrolment = e
            found.append(o)
    return run, found


def recheck_proposal(user: User, enrolment: Enrolment, pk: int):
    """One reduction or exit outcome of the enrolment's household (to prefill the change form)."""
    return (
        _proposal_outcomes(user, None)
        .filter(pk=pk, household_id=enrolment.household_id)
        .select_related("run")
        .first()
    )


def changes_for_citizen(case) -> list[EnrolmentChange]:
    """The changes after enrolment of the enrolment(s) a decision case produced, oldest first, for the
    citizen who proved to the portal that the case is theirs (tracking number, ID number, SMS code)."""
    return list(
        EnrolmentChange.objects.filter(enrolment__decision_case=case)
        .exclude(kind="enrolled")
        .select_related("enrolment")
        .order_by("at", "pk")
    )


def change_notice_context(enrolment: Enrolment, entry: EnrolmentChange) -> dict:
    """What the printed 变更通知书 of one ledger entry needs — the console and the citizen's portal
    print the same notice (benefits/change_notice.html)."""
    from doudi.regions.selectors import hotlines_for

    district = enrolment.household.region.district_code
    return {
        "enrolment": enrolment,
        "t": entry,
        "who": enrolment.beneficiary,
        "hotlines": list(hotlines_for(district)[:3]) if district else [],
        "unit": entry.by.region if entry.by and entry.by.region_id else enrolment.household.region,
    }


# --- the end of the emergency window (疫情防控期结束) ---------------------------------------------------------


def window_end_reviews(user: User) -> QuerySet:
    """The previews a user may see: those of the user's subtree, and those of the nodes above the user
    (a city-wide preview, of which each district sees and approves its own part)."""
    from doudi.benefits.models import WindowEndReview

    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    if region is None:
        return WindowEndReview.objects.none()
    above = [code for code in region.path.strip("/").split("/") if code]
    return (
        WindowEndReview.objects.filter(Q(region__path__startswith=region.path) | Q(region__code__in=above))
        .select_related("region", "prepared_by")
        .order_by("-prepared_at", "-pk")
    )


def window_end_review(user: User, pk: int) -> Any:
    from django.http import Http404

    review = window_end_reviews(user).filter(pk=pk).first()
    if review is None:
        raise Http404
    return review


def window_end_items(user: User, review: Any, *, kind: str = "") -> QuerySet:
    """The preview's changes in the user's subtree (a district sees its own part of a city preview)."""
    from doudi.benefits.models import WindowEndItem

    qs = WindowEndItem.objects.visible_to(user).filter(review=review)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("household__region", "household__head", "person", "enrolment", "change", "case")


def window_end_item(user: User, review: Any, pk: int) -> Any:
    from django.http import Http404

    from doudi.audit.services import record_read

    item = window_end_items(user, review).filter(pk=pk).first()
    if item is None:
        raise Http404
    record_read(actor=user, obj=item.household, reason="疫情防控期结束通知书")
    return item
