"""The payroll pays for month M what the enrolment ledger has in force in M: a change recorded today
with effect from a later month changes nothing before that month (issue 10, item 5)."""

import datetime as dt

from doudi.benefits import services as benefits
from doudi.payments import services
from doudi.payments.models import PaymentLine
from doudi.policy.periods import Period

D = dt.date


def paid(month: str) -> dict:
    run = services.compute_run(services.freeze_run(month=Period.parse(month)))
    return {(x.scheme, x.beneficiary_id): x.amount_fen for x in PaymentLine.objects.filter(run=run)}


def _end_window(world, end=D(2020, 2, 29)):
    from doudi.regions.services import declare_window

    declare_window(
        by=world.users.city_admin, name="疫情防控期间", start=D(2020, 1, 24), end=end, reason="结束"
    )


def test_a_raise_dated_ahead_is_paid_from_its_month_not_before(world):
    a, b = world.users.a_approver, world.users.b_approver
    benefits.change_amount(
        enrolment=world.e_same, by=a, amount=600, effective_month=D(2020, 5, 1), reason="增发（五月起）"
    )
    tekun = world.tekun.enrolments.get(scheme="tekun")
    benefits.change_amount(enrolment=tekun, by=b, amount=800, effective_month=D(2020, 5, 1), reason="增发")
    march = paid("2020-03")
    assert march[("dibao", world.h_same.pk)] == 33_800  # not yet 600
    assert march[("tekun", world.tekun.pk)] == 71_000
    may = paid("2020-05")
    assert may[("dibao", world.h_same.pk)] == 60_000  # in the window: max(computed 338, enrolled 600)
    assert may[("tekun", world.tekun.pk)] == 80_000


def test_a_later_decision_overrides_an_earlier_one_from_its_own_month(world):
    a = world.users.a_approver
    benefits.change_amount(
        enrolment=world.e_same, by=a, amount=600, effective_month=D(2020, 5, 1), reason="一"
    )
    benefits.change_amount(
        enrolment=world.e_same, by=a, amount=700, effective_month=D(2020, 4, 1), reason="二"
    )
    assert paid("2020-03")[("dibao", world.h_same.pk)] == 33_800
    assert paid("2020-04")[("dibao", world.h_same.pk)] == 70_000
    assert paid("2020-05")[("dibao", world.h_same.pk)] == 70_000


def test_a_reduction_dated_ahead_is_not_paid_early(world):
    _end_window(world)
    a = world.users.a_approver
    benefits.change_amount(
        enrolment=world.e_lower, by=a, amount=338, effective_month=D(2020, 5, 1), reason="减发（五月起）"
    )
    march = paid("2020-03")
    assert march[("dibao", world.h_lower.pk)] == 50_000  # the enrolled 500 is still in force
    assert paid("2020-05")[("dibao", world.h_lower.pk)] == 33_800


def test_a_suspension_dated_ahead_pays_the_months_before_it(world):
    _end_window(world)
    a = world.users.a_approver
    benefits.suspend_enrolment(enrolment=world.e_same, by=a, effective_month=D(2020, 5, 1), reason="停发")
    assert ("dibao", world.h_same.pk) in paid("2020-04")
    assert ("dibao", world.h_same.pk) not in paid("2020-05")
    benefits.resume_enrolment(enrolment=world.e_same, by=a, effective_month=D(2020, 7, 1), reason="恢复")
    assert ("dibao", world.h_same.pk) not in paid("2020-06")
    assert paid("2020-07")[("dibao", world.h_same.pk)] == 33_800
