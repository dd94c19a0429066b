"""Reads of 救助待遇, every one scoped to the caller's region subtree (`.visible_to`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet, Sum

from doudi.benefits.models import Enrolment, EnrolmentChange, EnrolmentStatus, Scheme

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
        qs = qs.filter(status=EnrolmentStatus.ACTIVE)
    return qs.order_by("household__region_id", "household_id", "person_id", "-from_month", "-pk")


def enrolment_summary(qs: QuerySet[Enrolment]) -> dict:
    """How many enrolments a (scoped) list holds and their monthly total (yuan)."""
    totals = qs.order_by().aggregate(count=Count("pk"), amount=Sum("monthly_amount"))
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
