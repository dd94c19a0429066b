"""The monthly payroll: what the lines say, the snapshot, the approval tiers."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.core.errors import Conflict
from doudi.payments import services
from doudi.payments.models import BatchStatus, PaymentLine, PayrollTransition
from doudi.policy.periods import Period

M = Period.parse("2020-03")


def compute(month=M):
    run = services.freeze_run(month=month)
    return services.compute_run(run)


def lines(run, **filters):
    return {
        (line.scheme, line.beneficiary_id): line for line in PaymentLine.objects.filter(run=run, **filters)
    }


def test_lines_per_scheme_and_the_no_silent_reduction_rule(world):
    run = compute()
    got = lines(run)
    same = got[("dibao", world.h_same.pk)]
    assert (same.amount_fen, same.flag, same.status, same.decision) == (33_800, "", "pending", "continue")
    # In the window (default: open since 2020-01-24) a lower computed amount is held back: paid at 500.
    lower = got[("dibao", world.h_lower.pk)]
    assert (lower.amount_fen, lower.flag, lower.decision) == (50_000, "deferred_hold", "hold")
    exit_ = got[("dibao", world.h_exit.pk)]
    assert (exit_.amount_fen, exit_.flag, exit_.decision) == (20_000, "deferred_exit", "exit_deferred")
    # 特困: 1.3 × 546 = 709.8 → 710; the orphan 1200 (scattered), paid to the guardian's card.
    assert got[("tekun", world.tekun.pk)].amount_fen == 71_000
    orphan = got[("children", world.orphan.pk)]
    assert (orphan.amount_fen, orphan.holder_name) == (120_000, "孙监护")
    # Price subsidy 2020-03: 546 × 18.3% × 2 → 200 per covered person.
    assert got[("price_subsidy", world.tekun.pk)].amount_fen == 20_000
    # No account: held, never dropped.
    noacct = got[("dibao", world.h_noacct.pk)]
    assert (noacct.status, noacct.flag, noacct.account_number) == ("held", "no_account", "")
    assert run.line_count == PaymentLine.objects.filter(run=run).count()
    assert run.total_fen == sum(line.amount_fen for line in got.values())
    assert run.held_count == sum(1 for line in got.values() if line.status == "held")


def test_outside_the_window_a_reduction_or_exit_is_paid_at_the_enrolled_amount_and_flagged(world):
    from doudi.regions.services import declare_window

    declare_window(
        by=world.users.city_admin,
        name="疫情防控期间",
        start=dt.date(2020, 1, 24),
        end=dt.date(2020, 2, 29),
        reason="结束",
    )
    run = compute()
    got = lines(run)
    lower = got[("dibao", world.h_lower.pk)]
    assert (lower.amount_fen, lower.flag, lower.status) == (50_000, "reduce", "pending")
    exit_ = got[("dibao", world.h_exit.pk)]
    assert (exit_.amount_fen, exit_.flag, exit_.decision) == (20_000, "exit", "exit")


def test_snapshot_isolation_an_edit_after_freezing_changes_nothing(world):
    from doudi.benefits.models import Enrolment
    from doudi.payments.models import PayeeAccount
    from doudi.registry.models import Person

    run = services.freeze_run(month=M)
    frozen = (run.snapshot_sha256, run.snapshot_rows)
    Enrolment.objects.filter(pk=world.e_same.pk).update(monthly_amount=999)
    Person.objects.filter(pk=world.h_same.head_id).update(income_wage_fen=0)
    PayeeAccount.objects.filter(person=world.h_same.head_id).update(account_number="6222000000000000000")
    from doudi.parameters.services import add_parameter_value

    add_parameter_value(
        user=world.users.city_admin,
        name="dibao.standard.urban",
        effective_from=dt.date(2020, 3, 1),
        value=800,
        reference="测试",
        reason="调标",
    )
    run = services.compute_run(run)
    same = lines(run)[("dibao", world.h_same.pk)]
    assert same.amount_fen == 33_800
    assert lines(run)[("tekun", world.tekun.pk)].amount_fen == 71_000
    assert same.account_number != "6222000000000000000"
    # Freezing again returns the frozen run untouched.
    again = services.freeze_run(month=M)
    assert (again.pk, again.snapshot_sha256, again.snapshot_rows) == (run.pk, *frozen)


def test_computing_twice_adds_nothing(world):
    run = compute()
    before = list(PaymentLine.objects.filter(run=run).order_by("ref").values_list("ref", "amount_fen"))
    again = services.compute_run(run)
    assert (
        list(PaymentLine.objects.filter(run=again).order_by("ref").values_list("ref", "amount_fen")) == before
    )


def test_the_unique_key_refuses_a_second_line_for_the_same_beneficiary_scheme_month(world):
    from django.db import IntegrityError, transaction

    run = compute()
    line = PaymentLine.objects.filter(run=run).first()
    line.pk, line.ref = None, "X"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


def test_tiers_cannot_be_skipped_and_the_preparer_never_approves(world):
    from doudi.accounts.services import create_staff_user

    u = world.users
    run = compute()
    batch = run.batches.get(district=world.regions.a)
    with pytest.raises(Conflict):
        services.sign_batch(batch=batch, action="approve", officer=u.a_approver)
    with pytest.raises(Conflict):
        services.sign_batch(batch=batch, action="confirm", officer=u.finance)
    with pytest.raises(PermissionDenied):  # another district's officer
        services.sign_batch(batch=batch, action="submit", officer=u.b_officer)
    # An officer holding both district roles prepares, and then may not approve.
    both = create_staff_user(
        username="both",
        password="Doudi-test-2020",
        region=world.regions.a,
        roles=["district_officer", "district_approver"],
    )
    services.sign_batch(batch=batch, action="submit", officer=both)
    with pytest.raises(PermissionDenied):
        services.sign_batch(batch=batch, action="approve", officer=both)
    with pytest.raises(PermissionDenied):  # the officer role alone cannot approve either
        services.sign_batch(batch=batch, action="approve", officer=u.a_officer)
    services.sign_batch(batch=batch, action="approve", officer=u.a_approver, note="核对无误")
    with pytest.raises(Conflict):  # the same tier twice
        services.sign_batch(batch=batch, action="approve", officer=u.a_approver)
    services.sign_batch(batch=batch, action="confirm", officer=u.finance)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CONFIRMED
    ledger = list(PayrollTransition.objects.filter(batch=batch).values_list("action", "to_state", "by_label"))
    assert ledger == [
        ("compute", "computed", "system"),
        ("submit", "prepared", "both"),
        ("approve", "approved", "a_approver"),
        ("confirm", "confirmed", "finance"),
    ]
    with pytest.raises(PermissionError):
        PayrollTransition.objects.filter(batch=batch).delete()


def test_a_line_explains_its_arithmetic_in_words_and_figures_not_codes(world):
    got = lines(compute())
    same = got[("dibao", world.h_same.pk)]
    assert (same.standard_fen, same.size, same.income_fen, same.computed_fen, same.enrolled_fen) == (
        54_600,
        3,
        130_000,
        33_800,
        33_800,
    )
    assert same.explanation == ""  # the figures are stored, the sentence is written when shown
    assert "低保标准 × 保障人口 − 计算收入 = 546 × 3 − 1300 = 338 元" in same.basis
    assert "评估结论：继续保障" in same.basis and "continue" not in same.basis
    lower = got[("dibao", world.h_lower.pk)]
    assert "= 546 × 3 − 1300 = 338 元" in lower.basis
    assert "核定金额 500 元；疫情防控期间暂缓减发；本月发放 500 元" in lower.basis
    # No longer eligible: the income test that failed, in words and figures.
    exit_ = got[("dibao", world.h_exit.pk)]
    assert "收入条件不符（计算收入 < 低保标准 × 保障人口）：3000 < 546 (= 546 × 1) 不成立" in exit_.basis
    assert "exit_deferred" not in exit_.basis
    tekun = got[("tekun", world.tekun.pk)]
    assert tekun.basis.endswith("测算 710 元；核定金额 710 元；本月发放 710 元")
    # Held for want of an account: no "paid" in its basis.
    assert "本月发放" not in got[("dibao", world.h_noacct.pk)].basis
