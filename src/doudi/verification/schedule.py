"""复核周期 (条例第26条): how often each recipient household is re-checked, by rule.

- a household with a member of working age who is able to work but has no work: **monthly** in a city,
  **quarterly** in the countryside (the most frequent applies, whatever else the household has);
- otherwise, a household with a member who is severely disabled or severely ill (its income is then
  taken as stable): **yearly**;
- otherwise (a household whose income is stable): **every six months**.

Working age is 18 to 59 (the day before the 60th birthday); "able to work" means holding neither the
重度残疾 nor the 重病 category on the day, and not 特困. "No work" is the registry's work status ``none``.
Pure: the facts come in as plain values, so the rule is tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from doudi.policy.periods import add_months

MONTHLY, QUARTERLY, SIX_MONTHLY, YEARLY = "monthly", "quarterly", "six_monthly", "yearly"
INTERVAL_MONTHS = {MONTHLY: 1, QUARTERLY: 3, SIX_MONTHLY: 6, YEARLY: 12}
WORKING_AGE = (18, 60)  # from the 18th birthday to the day before the 60th
UNABLE = frozenset({"severe_disability", "severe_illness"})


@dataclass(frozen=True)
class MemberFacts:
    birth_date: date
    work: str
    categories: frozenset[str]


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def able_jobless(member: MemberFacts, on: date) -> bool:
    """A member of working age, able to work, without work (条例第26条: checked monthly / quarterly)."""
    low, high = WORKING_AGE
    return (
        low <= age_on(member.birth_date, on) < high
        and member.work == "none"
        and not (member.categories & UNABLE)
        and "tekun" not in member.categories
    )


def classify(area_type: str, members: Iterable[MemberFacts], on: date) -> tuple[str, str]:
    """The schedule of a household on ``on`` and the reason (a code shown in the user's language)."""
    members = list(members)
    if any(able_jobless(m, on) for m in members):
        return (MONTHLY if area_type == "urban" else QUARTERLY), "able_jobless_member"
    if any(m.categories & UNABLE for m in members):
        return YEARLY, "severe_illness_or_disability"
    return SIX_MONTHLY, "stable_income"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_due(checked_month: date, kind: str) -> date:
    """The first day of the month the next re-check falls due, counted from the month checked."""
    return add_months(first_of_month(checked_month), INTERVAL_MONTHS[kind])


def overdue(next_due_on: date, today: date) -> bool:
    """Due in the month of ``next_due_on``; overdue once that month is over."""
    return next_due_on < first_of_month(today)
