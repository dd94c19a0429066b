"""The monthly re-check's outcomes applied (一(一)c): a raise is paid from the month it is found; the
reductions and exits the window holds back are never touched, and once it closes they become an
officer's proposals (减发/退出待办)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from doudi.benefits import selectors, services
from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.policy.periods import Period
from doudi.registry.models import Household
from doudi.verification.services import execute_recheck

recheck_db = pytest.mark.django_db(transaction=True)  # ADBC reads committed rows on PostgreSQL
APRIL, JUNE = Period(2020, 4), Period(2020, 6)


@pytest.fixture
def approver(make_user, regions):
    return make_user("rc_approver", regions.a, "district_approver")


@pytest.fixture
def window(regions, make_user):
    from doudi.regions.services import declare_window

    admin = make_user("rc_admin", regions.city, "municipal_admin")
    return declare_window(
        by=admin, name="一级响应", start=dt.date(2020, 1, 24), end=None, reason="测试"
    ), admin


def enrol(household, amount):
    return Enrolment.objects.create(
        household=household, scheme="dibao", from_month=dt.date(2020, 3, 1), monthly_amount=amount,
        approved_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def households(recheck_household, load, consent, township_a, window):
    """Three enrolled households with consent; department data shows: A's wage fell (a raise), B's wage
    rose a little (a reduction), C's wage rose far (an exit)."""
    a = recheck_household([{"name": "甲", "income_wage_fen": 50_000}], last_amount=46)  # 546 − 500
    b = recheck_household([{"name": "乙", "income_wage_fen": 10_000}], last_amount=446)
    c = recheck_household([{"name": "丙", "income_wage_fen": 10_000}], last_amount=446)
    rows = []
    for h, wage in ((a, "300.00"), (b, "200.00"), (c, "3000.00")):
        consent(h, township_a)
        p = h.memberships.get().person
        rows.append({"id_number": p.id_number, "name": p.name, "employer": "某公司", "monthly_wage": wage})
    load("social_insurance", rows)
    return {"raise": enrol(a, 46), "reduce": enrol(b, 446), "exit": enrol(c, 446)}


@recheck_db
def test_the_rechecks_raise_paid_in_the_month_found(households, approver, township_a):
    run = execute_recheck(APRIL)
    assert {o.household_id: (o.change, o.deferred) for o in run.outcomes.all()} == {
        households["raise"].household_id: ("raise", False),
        households["reduce"].household_id: ("reduce", True),
        households["exit"].household_id: ("exit", True),
    }
    with pytest.raises(PermissionDenied):
        services.apply_recheck_outcomes(run=run, by=township_a)

    counts = services.apply_recheck_outcomes(run=run, by=approver)
    assert counts == {"applied": 1, "already": 0, "stale": 0}
    raised = Enrolment.objects.get(pk=households["raise"].pk)
    assert raised.monthly_amount == 246  # 546 − 300
    change = EnrolmentChange.objects.get(enrolment=raised)
    assert (
        change.kind,
        change.effective_month,
        change.before["monthly_amount"],
        change.after["monthly_amount"],
    ) == (
        "amount",
        dt.date(2020, 4, 1),
        46,
        246,
    )
    assert "2020-04" in change.reason and change.after["recheck_run"] == "2020-04"
    assert Household.objects.get(pk=raised.household_id).dibao_last_amount == 246
    # The deferred reduction and exit are untouched …
    for kind in ("reduce", "exit"):
        e = Enrolment.objects.get(pk=households[kind].pk)
        assert (e.status, e.monthly_amount, e.changes.count()) == ("active", 446, 0)
    # … and applying twice pays nothing twice.
    assert services.apply_recheck_outcomes(run=run, by=approver) == {"applied": 0, "already": 1, "stale": 0}
    assert EnrolmentChange.objects.count() == 1
    # While the window is open they are not proposals yet: they wait on the deferred list.
    assert selectors.recheck_proposals(approver, dt.date(2020, 4, 15))[1] == []


@recheck_db
def test_after_the_window_reductions_and_exits_become_proposals(households, approver, window, client):
    from doudi.regions.services import end_window

    run = execute_recheck(APRIL)
    services.apply_recheck_outcomes(run=run, by=approver)
    end_window(window[0], dt.date(2020, 5, 31), window[1], "解除")
    run, found = selectors.recheck_proposals(approver, dt.date(2020, 6, 10))
    assert run.month == "2020-04"
    assert {(o.enrolment.pk, o.change) for o in found} == {
        (households["reduce"].pk, "reduce"),
        (households["exit"].pk, "exit"),
    }
    client.force_login(approver)
    page = client.get(reverse("benefits:recheck_proposals")).content.decode()
    assert reverse("benefits:enrolment", args=[households["reduce"].pk]) in page
    reduce = next(o for o in found if o.change == "reduce")
    form = client.get(reverse("benefits:enrolment", args=[households["reduce"].pk]) + f"?outcome={reduce.pk}")
    assert f'value="{reduce.computed_amount}"' in form.content.decode()  # the form is prefilled
    # Decided by the officer: it leaves the list.
    services.change_amount(
        enrolment=households["reduce"], by=approver, amount=reduce.computed_amount,
        effective_month=dt.date(2020, 6, 1), reason="复核：收入增加",
    )  # fmt: skip
    assert [o.change for o in selectors.recheck_proposals(approver, dt.date(2020, 6, 10))[1]] == ["exit"]


@recheck_db
def test_the_button_on_the_recheck_page(households, approver, township_a, client):
    run = execute_recheck(APRIL)
    client.force_login(township_a)
    assert (
        'data-testid="apply-recheck"'
        not in client.get(reverse("verification:run", args=[run.pk])).content.decode()
    )
    client.force_login(approver)
    assert (
        'data-testid="apply-recheck"'
        in client.get(reverse("verification:run", args=[run.pk])).content.decode()
    )
    response = client.post(reverse("benefits:apply_recheck", args=[run.pk]), follow=True)
    assert "已落实增发 1 户" in response.content.decode()
    assert Enrolment.objects.get(pk=households["raise"].pk).monthly_amount == 246
