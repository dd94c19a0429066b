"""收款账户: account numbers checked and masked, changed by maker-checker (the proposer never approves),
audited, region-scoped; the person page and the checkers' queue."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from stdnum import luhn

from benefits.support import make_household
from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.core.masking import mask_account_number
from doudi.payments import selectors, services
from doudi.payments.models import Bank, PayeeAccount


def card(prefix: str = "622949", length: int = 19, serial: int = 1) -> str:
    body = f"{prefix}{serial:0{length - len(prefix) - 1}d}"
    return body + luhn.calc_check_digit(body)


GOOD = card()  # 19 digits, Luhn-valid
OTHER = card(serial=2)


@pytest.fixture
def rcb(db):
    return Bank.objects.create(code="CQRCB", name="重庆农村商业银行", account_lengths=[19], uses_luhn=True)


@pytest.fixture
def passbook(db):
    return Bank.objects.create(code="X", name="某存折银行", account_lengths=[12, 16], uses_luhn=False)


@pytest.fixture
def person(regions):
    _household, people = make_household(regions.a_v, [("张小明", 0), ("张乐", 0)])
    return people[0]


def propose(officers, person, bank, number=GOOD, **kw):
    kw.setdefault("by", officers.a_village)
    return services.propose_account(person=person, bank=bank, account_number=number, **kw)


# --- account numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        GOOD,
        f" {GOOD[:4]} {GOOD[4:8]} {GOOD[8:12]} {GOOD[12:]} ",  # grouped as printed on the card
        GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width digits (IME)
        f"{GOOD[:6]}\u3000{GOOD[6:]}",  # ideographic space
        f"{GOOD[:6]}\u00a0{GOOD[6:]}\t",  # no-break space, tab
    ],
)
def test_an_account_number_keeps_its_digits(rcb, raw):
    assert services.clean_account_number(raw, rcb) == GOOD


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "请填写账号"),
        ("   ", "请填写账号"),
        (None, "请填写账号"),
        (GOOD[:-1] + "A", "只能由数字"),
        (GOOD[:6] + "-" + GOOD[6:], "只能由数字"),
        ("٦" + GOOD[1:], "只能由数字"),  # an Arabic-Indic digit is a digit to Python, not to a bank
        (card(length=16), "应为 19 位，您填写了 16 位"),
        (GOOD + "0", "应为 19 位，您填写了 20 位"),
        (GOOD[:-1] + str((int(GOOD[-1]) + 1) % 10), "校验位"),
        (GOOD[:6] + "\u200b" + GOOD[6:], "不可见字符"),  # zero-width space
        ("\u202e" + GOOD, "不可见字符"),  # right-to-left override: shows the digits reversed
        ("\ufeff" + GOOD, "不可见字符"),
        (GOOD[:6] + "\x00" + GOOD[6:], "不可见字符"),
    ],
)
def test_a_bad_account_number_is_refused_with_the_reason(rcb, raw, says):
    with pytest.raises(ValidationError) as exc:
        services.clean_account_number(raw, rcb)
    assert says in exc.value.message_dict["account_number"][0]


def test_a_bank_without_luhn_takes_any_of_its_lengths(passbook):
    assert services.clean_account_number("1234 5678 9012", passbook) == "123456789012"
    assert services.clean_account_number("1" * 16, passbook) == "1" * 16
    with pytest.raises(ValidationError, match="12、16"):
        services.clean_account_number("1" * 13, passbook)


def test_mask_keeps_first_and_last_four():
    assert mask_account_number("6222021234567891234") == "6222 **** **** 1234"
    assert mask_account_number("6222123412341234") == "6222 **** **** 1234"
    assert mask_account_number("12345678") == "********"
    assert mask_account_number("") == mask_account_number(None) == ""


# --- maker-checker -----------------------------------------------------------------------------------


def test_the_proposer_cannot_approve_and_a_second_officer_can(officers, person, rcb):
    account = propose(officers, person, rcb, by=officers.a_district)
    assert account.status == "pending" and selectors.active_account(officers.a_district, person) is None
    with pytest.raises(PermissionDenied, match="提出人不能复核"):
        services.approve_account(account=account, by=officers.a_district)
    with pytest.raises(PermissionDenied, match="提出人不能复核"):
        services.reject_account(account=account, by=officers.a_district, note="写错了")
    services.approve_account(account=account, by=officers.a_approver, note="已核对银行卡复印件")
    account.refresh_from_db()
    assert (account.status, account.decided_by, account.decision_note) == (
        "active",
        officers.a_approver,
        "已核对银行卡复印件",
    )
    assert selectors.active_account(officers.a_village, person) == account


def test_approving_a_change_supersedes_the_old_account(officers, person, rcb):
    first = services.approve_account(account=propose(officers, person, rcb), by=officers.a_district)
    with pytest.raises(ValidationError) as exc:  # replacing an account needs a written reason
        propose(officers, person, rcb, OTHER)
    assert "reason" in exc.value.message_dict
    second = propose(officers, person, rcb, OTHER, reason="原卡挂失")
    first.refresh_from_db()
    assert first.status == "active"  # until the change is approved
    services.approve_account(account=second, by=officers.a_approver)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "active")
    assert PayeeAccount.objects.filter(person=person, status="active").count() == 1


def test_the_database_allows_one_active_account_per_person(officers, person, rcb):
    services.approve_account(account=propose(officers, person, rcb), by=officers.a_district)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayeeAccount.objects.create(
            person=person,
            bank=rcb,
            account_number=OTHER,
            holder_name=person.name,
            status="active",
            proposed_at=PayeeAccount.objects.get().proposed_at,
        )


def test_rejecting_keeps_the_active_account_and_needs_a_reason(officers, person, rcb):
    first = services.approve_account(account=propose(officers, person, rcb), by=officers.a_district)
    change = propose(officers, person, rcb, OTHER, reason="换卡")
    with pytest.raises(ValidationError, match="驳回须写明理由"):
        services.reject_account(account=change, by=officers.a_district, note="  ")
    services.reject_account(account=change, by=officers.a_district, note="户名与卡面不符")
    change.refresh_from_db()
    first.refresh_from_db()
    assert (change.status, first.status) == ("rejected", "active")


def test_one_pending_change_at_a_time_and_one_decision(officers, person, rcb):
    account = propose(officers, person, rcb)
    with pytest.raises(Conflict, match="待复核"):
        propose(officers, person, rcb, OTHER, by=officers.a_township)
    services.approve_account(account=account, by=officers.a_district)
    with pytest.raises(Conflict, match="已经复核"):  # the same click twice
        services.approve_account(account=account, by=officers.a_approver)
    with pytest.raises(Conflict, match="已经复核"):
        services.reject_account(account=account, by=officers.a_approver, note="迟到")
    with pytest.raises(ValidationError, match="与在用账户相同"):
        propose(officers, person, rcb, reason="再来一次")


def test_who_may_propose_and_who_may_check(officers, person, rcb):
    with pytest.raises(PermissionDenied):  # supervisors only read
        propose(officers, person, rcb, by=officers.supervisor)
    with pytest.raises(PermissionDenied):  # another district
        propose(officers, person, rcb, by=officers.b_district)
    account = propose(officers, person, rcb)
    for outsider in (officers.a_township, officers.a_village, officers.b_approver, officers.supervisor):
        with pytest.raises(PermissionDenied):
            services.approve_account(account=account, by=outsider)
    assert PayeeAccount.objects.get().status == "pending"


def test_holder_rules(officers, person, rcb):
    with pytest.raises(ValidationError) as exc:
        propose(officers, person, rcb, holder_name="李四")  # someone else's name as 本人
    assert "holder_name" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        propose(officers, person, rcb, holder_name="张大山", holder_relation="guardian")
    assert "holder_reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        propose(
            officers, person, rcb, holder_name="张\u200b大山", holder_relation="agent", holder_reason="卧床"
        )
    assert "holder_name" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # every problem at once
        propose(officers, person, None, "abc", holder_relation="boss")
    assert set(exc.value.message_dict) == {"bank", "holder_relation"}
    account = propose(
        officers,
        person,
        rcb,
        holder_name=" 张大山 ",
        holder_relation="guardian",
        holder_reason="重度残疾，由监护人代领",
    )
    assert (account.holder_name, account.holder_relation) == ("张大山", "guardian")
    assert (
        propose(
            officers, person.memberships.get().household.memberships.last().person, rcb, OTHER
        ).holder_name
        == "张乐"
    )


def test_every_step_is_audited_with_the_number_masked(officers, person, rcb):
    first = services.approve_account(account=propose(officers, person, rcb), by=officers.a_district)
    change = propose(officers, person, rcb, OTHER, reason="原卡挂失")
    services.approve_account(account=change, by=officers.a_approver)
    entries = AuditEntry.objects.filter(object_type="payments.payeeaccount").order_by("pk")
    assert [(e.action, e.object_id, e.actor_label) for e in entries] == [
        ("create", str(first.pk), "a_village"),
        ("update", str(first.pk), "a_district"),
        ("create", str(change.pk), "a_village"),
        ("update", str(first.pk), "a_approver"),  # superseded
        ("update", str(change.pk), "a_approver"),
    ]
    assert entries[3].after["status"] == "superseded" and entries[4].after["status"] == "active"
    assert entries[2].after["account_number"] == mask_account_number(OTHER)
    for e in AuditEntry.objects.all():
        text = f"{e.before} {e.after} {e.reason}"
        assert GOOD not in text and OTHER not in text


# --- pages --------------------------------------------------------------------------------------------


def test_person_page_shows_the_account_masked_with_the_change_button(client, officers, person, rcb):
    services.approve_account(account=propose(officers, person, rcb), by=officers.a_district)
    client.force_login(officers.a_village)
    page = client.get(reverse("console:person", args=[person.pk])).content.decode()
    assert mask_account_number(GOOD) in page and GOOD not in page
    assert reverse("payments:account_propose", args=[person.pk]) in page
    client.force_login(officers.supervisor)  # reads, never proposes
    page = client.get(reverse("console:person", args=[person.pk])).content.decode()
    assert mask_account_number(GOOD) in page
    assert reverse("payments:account_propose", args=[person.pk]) not in page


def test_propose_page_reports_errors_on_the_field_and_saves_nothing(client, officers, person, rcb):
    client.force_login(officers.a_village)
    url = reverse("payments:account_propose", args=[person.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"bank": rcb.pk, "account_number": GOOD[:-1] + "X", "holder_relation": "self"}
    )
    assert response.status_code == 400
    assert "只能由数字" in response.content.decode() and not PayeeAccount.objects.exists()
    response = client.post(url, {"bank": rcb.pk, "account_number": GOOD, "holder_relation": "self"})
    assert response.status_code == 302 and PayeeAccount.objects.get().status == "pending"
    page = client.get(reverse("console:person", args=[person.pk])).content.decode()
    assert 'data-testid="account-pending"' in page and GOOD not in page


def test_queue_lists_masked_proposals_and_the_checker_decides(client, officers, person, rcb):
    account = propose(officers, person, rcb)
    client.force_login(officers.a_district)
    page = client.get(reverse("payments:account_queue")).content.decode()
    assert person.name in page and mask_account_number(GOOD) in page and GOOD not in page
    assert person.id_number not in page
    response = client.post(reverse("payments:account_approve", args=[account.pk]), {"note": "核对无误"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == "active"
    response = client.post(reverse("payments:account_approve", args=[account.pk]), follow=True)
    assert "已经复核" in response.content.decode()  # the second click is told, not a 500


def test_the_proposer_sees_no_buttons_on_their_own_proposal(client, officers, person, rcb):
    account = propose(officers, person, rcb, by=officers.a_district)
    client.force_login(officers.a_district)
    page = client.get(reverse("payments:account_queue")).content.decode()
    assert reverse("payments:account_approve", args=[account.pk]) not in page
    client.post(reverse("payments:account_approve", args=[account.pk]))
    account.refresh_from_db()
    assert account.status == "pending"


def test_out_of_scope_is_404(client, officers, person, rcb):
    account = propose(officers, person, rcb)
    client.force_login(officers.b_district)
    assert client.get(reverse("payments:account_propose", args=[person.pk])).status_code == 404
    assert client.post(reverse("payments:account_approve", args=[account.pk])).status_code == 404
    assert (
        client.post(reverse("payments:account_reject", args=[account.pk]), {"note": "x"}).status_code == 404
    )
    assert person.name not in client.get(reverse("payments:account_queue")).content.decode()
    assert list(selectors.pending_accounts(officers.b_district)) == []
    assert selectors.person_accounts(officers.b_district, person).pending is None
    account.refresh_from_db()
    assert account.status == "pending"


def test_demo_gives_every_beneficiary_a_valid_account_once(db):
    import io

    from django.core.management import call_command

    call_command("demo", households=60, stdout=io.StringIO())
    accounts = list(PayeeAccount.objects.select_related("bank"))
    assert accounts and {a.status for a in accounts} == {"active"}
    assert {a.bank.name for a in accounts} >= {"重庆农村商业银行"}
    for a in accounts:
        services.clean_account_number(a.account_number, a.bank)  # valid by the bank's own rules
        assert a.holder_relation == "self" or a.holder_reason
    before = PayeeAccount.objects.count()
    call_command("demo", households=60, stdout=io.StringIO())
    assert PayeeAccount.objects.count() == before
