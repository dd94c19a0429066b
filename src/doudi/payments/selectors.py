"""Reads of 资金发放, every one about a person scoped to the caller's region subtree (`.visible_to`).
Account numbers leave these selectors in full; templates and exports show them masked
(`mask_account`), and only the bank's payment file carries the full number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from doudi.payments.models import AccountStatus, Bank, PayeeAccount

if TYPE_CHECKING:
    from doudi.accounts.models import User
    from doudi.registry.models import Person


def banks() -> QuerySet[Bank]:
    """The paying banks an officer may choose (代发银行 in use)."""
    return Bank.objects.filter(active=True).order_by("code")


def active_account(user: User, person: Person) -> PayeeAccount | None:
    """The account the person's payments go to now, if the user may see the person."""
    return (
        PayeeAccount.objects.visible_to(user)
        .filter(person=person, status=AccountStatus.ACTIVE)
        .select_related("bank")
        .first()
    )


def pending_accounts(user: User) -> QuerySet[PayeeAccount]:
    """待复核账户变更: the proposals waiting for a checker in the user's subtree, oldest first."""
    return (
        PayeeAccount.objects.visible_to(user)
        .filter(status=AccountStatus.PENDING)
        .select_related("person__region", "bank", "proposed_by")
        .order_by("proposed_at", "pk")
    )


def current_accounts(user: User, person_ids) -> dict[int, PayeeAccount]:
    """The active account of each person in the queue, to show what a proposal would replace."""
    rows = (
        PayeeAccount.objects.visible_to(user)
        .filter(person_id__in=list(person_ids), status=AccountStatus.ACTIVE)
        .select_related("bank")
    )
    return {a.person_id: a for a in rows}


@dataclass
class PersonAccounts:
    """The person page's 收款账户 card: the active account, the waiting proposal, the history."""

    active: PayeeAccount | None
    pending: PayeeAccount | None
    history: list[PayeeAccount]


def person_accounts(user: User, person: Person, *, limit: int = 20) -> PersonAccounts:
    rows = list(
        PayeeAccount.objects.visible_to(user)
        .filter(person=person)
        .select_related("bank", "proposed_by", "decided_by")
        .order_by("-proposed_at", "-pk")[:limit]
    )
    active = next((a for a in rows if a.status == AccountStatus.ACTIVE), None)
    if active is None:  # older than the history shown
        active = active_account(user, person)
    pending = next((a for a in rows if a.status == AccountStatus.PENDING), None)
    return PersonAccounts(active=active, pending=pending, history=rows)
