"""演示数据: three Chongqing paying banks and an active account for every demo beneficiary.

Idempotent: banks are matched by code, and only beneficiaries without an active account get one. The
accounts are loaded as already approved (the demo's starting state, like the synthetic population it
sits on); account numbers are made up, Luhn-valid, with each bank's own prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from doudi.payments.models import AccountStatus, Bank, HolderRelation, PayeeAccount
from doudi.registry.models import Category, Household, Membership, PersonCategory

# (code, name, account lengths, Luhn, the demo numbers' prefix)
DEMO_BANKS = (
    ("CQRCB", "重庆农村商业银行", [19], True, "622949"),
    ("CQCB", "重庆银行", [16, 19], True, "622368"),
    ("PSBC", "中国邮政储蓄银行", [19], True, "621799"),
)
PERSON_CATEGORIES = (Category.TEKUN, Category.ORPHAN, Category.DE_FACTO_UNSUPPORTED_CHILD)
CHILD_CATEGORIES = {Category.ORPHAN, Category.DE_FACTO_UNSUPPORTED_CHILD}


def demo_account_number(prefix: str, person_id: int, length: int = 19) -> str:
    body = f"{prefix}{person_id:0{length - len(prefix) - 1}d}"
    return body + luhn.calc_check_digit(body)


def load_demo_banks() -> list[Bank]:
    banks = []
    for code, name, lengths, uses_luhn, _prefix in DEMO_BANKS:
        bank, _created = Bank.objects.get_or_create(
            code=code, defaults={"name": name, "account_lengths": lengths, "uses_luhn": uses_luhn}
        )
        banks.append(bank)
    return banks


@transaction.atomic
def load_demo_accounts(villages: Iterable) -> dict[str, int]:
    """The banks, and an account for the head of every dibao household and every 特困 person and
    child in the villages who has none: a child's held by the household head as guardian."""
    banks = load_demo_banks()
    prefixes = {code: prefix for code, *_rest, prefix in DEMO_BANKS}
    households = Household.objects.filter(region__in=list(villages))
    payees: dict[int, tuple[str, str, str]] = {}  # person → (holder name, relation, reason)
    for h in households.filter(dibao_enrolled=True, head__isnull=False).select_related("head"):
        payees[h.head_id] = (h.head.name, HolderRelation.SELF, "")
    grants = (
        PersonCategory.objects.filter(
            category__in=PERSON_CATEGORIES,
            valid_to__isnull=True,
            person__memberships__household__in=households,
        )
        .select_related("person")
        .distinct()
    )
    heads = dict(
        Membership.objects.filter(household__in=households, left_on__isnull=True).values_list(
            "person_id", "household__head__name"
        )
    )
    for g in grants:
        head = heads.get(g.person_id)
        if g.category in CHILD_CATEGORIES and head and head != g.person.name:
            payees[g.person_id] = (head, HolderRelation.GUARDIAN, _("未成年，由监护人代领"))
        else:
            payees.setdefault(g.person_id, (g.person.name, HolderRelation.SELF, ""))
    have = set(
        PayeeAccount.objects.filter(person_id__in=payees, status=AccountStatus.ACTIVE).values_list(
            "person_id", flat=True
        )
    )
    now = timezone.now()
    new = []
    for i, (person_id, (holder, relation, why)) in enumerate(sorted(payees.items())):
        if person_id in have:
            continue
        bank = banks[i % len(banks)]
        new.append(
            PayeeAccount(
                person_id=person_id,
                bank=bank,
                account_number=demo_account_number(prefixes[bank.code], person_id),
                holder_name=holder,
                holder_relation=relation,
                holder_reason=why,
                status=AccountStatus.ACTIVE,
                proposed_at=now,
                decided_at=now,
                proposal_reason=_("演示数据"),
            )
        )
    PayeeAccount.objects.bulk_create(new, batch_size=1000)
    return {"banks": len(banks), "accounts": len(new)}
