"""Supervision's reads, each scoped to the caller's region (out of scope is absent, 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from doudi.core.text import clean_text
from doudi.supervision.models import Check, CheckRun, Finding, FindingState, StaffRelative


@dataclass(frozen=True)
class FindingFilter:
    state: str = ""
    check: str = ""
    month: str = ""
    district: str = ""
    mine: bool = False

    @classmethod
    def from_query(cls, query: Any) -> FindingFilter:
        """From a request's GET: unknown values are dropped, never an error."""
        state = clean_text(query.get("state", ""))
        check = clean_text(query.get("check", ""))
        month = clean_text(query.get("month", ""))[:7]
        district = clean_text(query.get("district", ""))[:12]
        return cls(
            state=state if state in FindingState.values or state == "unresolved" else "",
            check=check if check in Check.values else "",
            month=month if len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit() else "",
            district=district if district.isdigit() else "",
            mine=query.get("mine") == "1",
        )


def findings(user: Any, f: FindingFilter | None = None) -> QuerySet[Finding]:
    """问题线索 in the user's subtree, newest first, filtered."""
    qs = Finding.objects.visible_to(user).select_related("region", "assigned_to")
    f = f or FindingFilter()
    if f.state == "unresolved":
        qs = qs.filter(state__in=(FindingState.OPEN, FindingState.ASSIGNED))
    elif f.state:
        qs = qs.filter(state=f.state)
    if f.check:
        qs = qs.filter(check_code=f.check)
    if f.month:
        qs = qs.filter(month=f.month)
    if f.district:
        qs = qs.filter(district=f.district)
    if f.mine:
        qs = qs.filter(assigned_to=user)
    return qs.order_by("-found_at", "-id")


def finding(user: Any, pk: int) -> Finding:
    from doudi.core.scoping import get_visible_or_404

    return get_visible_or_404(
        Finding.objects.select_related("region", "person", "household", "case", "assigned_to"), user, pk=pk
    )


def recent_runs(limit: int = 10) -> QuerySet[CheckRun]:
    return CheckRun.objects.all()[:limit]


def relatives_declared_by(user: Any) -> QuerySet[StaffRelative]:
    """The user's own declarations (withdrawn ones too, for the record)."""
    return StaffRelative.objects.filter(staff=user).select_related("person")


def relatives_register(user: Any) -> QuerySet[StaffRelative]:
    """近亲属备案 of the staff in the user's subtree (the supervisor's view)."""
    return StaffRelative.objects.visible_to(user).select_related("person", "staff", "staff__region")
