"""Reads of 救助待遇, every one scoped to the caller's region subtree (`.visible_to`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from doudi.benefits.models import Enrolment, EnrolmentChange, EnrolmentStatus, Scheme

if TYPE_CHECKING:
    from doudi.accounts.models import User


def enrolments(user: User, *, scheme: str = "", active_only: bool = True) -> QuerySet[Enrolment]:
    """在保记录 of the households in the user's subtree."""
    qs = Enrolment.objects.visible_to(user).select_related(
        "household__region", "decision_case", "approved_by"
    )
    if scheme:
        qs = qs.filter(scheme=scheme)
    if active_only:
        qs = qs.filter(status=EnrolmentStatus.ACTIVE)
    return qs.order_by("household__region_id", "household_id", "-from_month")


def enrolment_for_case(user: User, case) -> Enrolment | None:
    """The enrolment a decision case produced, if the user may see it."""
    return Enrolment.objects.visible_to(user).filter(decision_case=case).first()


def active_dibao(user: User, household) -> Enrolment | None:
    return (
        Enrolment.objects.visible_to(user)
        .filter(household=household, scheme=Scheme.DIBAO, status=EnrolmentStatus.ACTIVE)
        .first()
    )


def enrolment_changes(user: User, enrolment: Enrolment) -> QuerySet[EnrolmentChange]:
    return EnrolmentChange.objects.visible_to(user).filter(enrolment=enrolment).order_by("at", "pk")
