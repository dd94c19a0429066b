"""复核周期 (条例第26条): each recipient household's schedule by rule, the monthly re-check taking the
households due, the overdue list for the township (region-scoped), and recording a re-check done."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.policy.periods import Period
from doudi.registry.models import PersonCategory
from doudi.verification import schedule, selectors
from doudi.verification.models import RecheckDone, RecheckSchedule
from doudi.verification.services import execute_recheck, record_recheck, refresh_schedules

APRIL = Period(2020, 4)
ON = dt.date(2020, 4, 1)
recheck_db = pytest.mark.django_db(transaction=True)  # ADBC reads committed rows on PostgreSQL


def _category(household, index, category):
    person = household.memberships.order_by("pk")[index].person
    PersonCategory.objects.create(person=person, category=category, valid_from=dt.date(2019, 1, 1))


def _schedule(household):
    return RecheckSchedule.objects.get(household=household)


# --- each schedule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "members", "category", "kind", "reason"),
    [
        # a working-age member able to work and without work: monthly in a city, quarterly in the country
        ("urban", [{"birth_date": dt.date(1990, 1, 1)}], None, "monthly", "able_jobless_member"),
        ("rural", [{"birth_date": dt.date(1990, 1, 1)}], None, "quarterly", "able_jobless_member"),
        # severe illness or disability, nobody able and jobless: yearly
        ("urban", [{"birth_date": dt.date(1990, 1, 1), "work": "local"}, {"birth_date": dt.date(1950, 1, 1)}],
         (1, "severe_disability"), "yearly", "severe_illness_or_disability"),
        ("rural", [{"birth_date": dt.date(1990, 1, 1)}], (0, "severe_illness"), "yearly",
         "severe_illness_or_disability"),  # the jobless member is ill: not able to work
        # stable: working, or past working age
        ("urban", [{"birth_date": dt.date(1990, 1, 1), "work": "local"}], None, "six_monthly", "stable_income"),
        ("urban", [{"birth_date": dt.date(1950, 1, 1)}], None, "six_monthly", "stable_income"),
        ("urban", [{"birth_date": dt.date(1990, 1, 1)}], (0, "tekun"), "six_monthly", "stable_income"),
        # the ages: 17 and 60 are outside working age, 18 and 59 inside
        ("urban", [{"birth_date": dt.date(2002, 4, 2)}], None, "six_monthly", "stable_income"),
        ("urban", [{"birth_date": dt.date(2002, 4, 1)}], None, "monthly", "able_jobless_member"),
        ("urban", [{"birth_date": dt.date(1960, 4, 2)}], None, "monthly", "able_jobless_member"),
        ("urban", [{"birth_date": dt.date(1960, 4, 1)}], None, "six_monthly", "stable_income"),
        # a household with both an able jobless member and a severely disabled one: the more frequent
        ("rural", [{"birth_date": dt.date(1990, 1, 1)}, {"birth_date": dt.date(1950, 1, 1)}],
         (1, "severe_disability"), "quarterly", "able_jobless_member"),
    ],
)  # fmt: skip
def test_each_schedule_by_rule(make_household, area, members, category, kind, reason) -> None:
    household = make_household(members, area_type=area)
    if category:
        _category(household, *category)
    assert refresh_schedules(on=ON) == {"created": 1, "changed": 0}
    row = _schedule(household)
    assert (row.kind, row.reason) == (kind, reason)
    assert row.next_due_on == schedule.next_due(ON, kind)  # first due one interval on
    assert refresh_schedules(on=ON) == {"created": 0, "changed": 0}  # nothing to write the second time


def test_the_intervals_and_due_months() -> None:
    assert schedule.INTERVAL_MONTHS == {"monthly": 1, "quarterly": 3, "six_monthly": 6, "yearly": 12}
    assert schedule.next_due(dt.date(2020, 1, 31), "monthly") == dt.date(2020, 2, 1)
    assert schedule.next_due(dt.date(2020, 11, 15), "quarterly") == dt.date(2021, 2, 1)
    assert not schedule.overdue(dt.date(2020, 5, 1), dt.date(2020, 5, 31))  # due in May: not yet overdue
    assert schedule.overdue(dt.date(2020, 5, 1), dt.date(2020, 6, 1))


def test_a_household_not_enrolled_has_no_schedule_and_a_change_brings_the_due_date_forward(make_household):
    make_household([{"birth_date": dt.date(1990, 1, 1)}], enrolled=False)
    stable = make_household([{"birth_date": dt.date(1990, 1, 1), "work": "local"}])
    refresh_schedules(on=ON)
    assert RecheckSchedule.objects.count() == 1
    assert (_schedule(stable).kind, _schedule(stable).next_due_on) == ("six_monthly", dt.date(2020, 10, 1))
    stable.memberships.get().person.__class__.objects.filter(pk=stable.head_id).update(work="none")
    assert refresh_schedules(on=dt.date(2020, 5, 1)) == {"created": 0, "changed": 1}
    # now monthly, counted from when the six-monthly schedule started (April): due in May
    assert (_schedule(stable).kind, _schedule(stable).next_due_on) == ("monthly", dt.date(2020, 5, 1))


AGES = st.dates(dt.date(1940, 1, 1), dt.date(2010, 12, 31))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    area=st.sampled_from(["urban", "rural"]),
    members=st.lists(
        st.tuples(AGES, st.sampled_from(["none", "local", "migrant"]),
                  st.sets(st.sampled_from(["severe_disability", "severe_illness", "tekun", "orphan"]))),
        min_size=1, max_size=4),
)  # fmt: skip
@pytest.mark.django_db
def test_the_database_rule_agrees_with_the_plain_one(make_household, area, members) -> None:
    RecheckSchedule.objects.all().delete()
    household = make_household(
        [{"birth_date": born, "work": work} for born, work, _ in members], area_type=area
    )
    for i, (_, _, categories) in enumerate(members):
        for category in categories:
            _category(household, i, category)
    refresh_schedules(on=ON)
    facts = [schedule.MemberFacts(born, work, frozenset(c)) for born, work, c in members]
    assert (_schedule(household).kind, _schedule(household).reason) == schedule.classify(area, facts, ON)


# --- the re-check job takes the households due ---------------------------------------------------------


@recheck_db
def test_the_monthly_recheck_completes_the_households_due_it_could_check(make_household, consent, township_a):
    due = make_household([{"birth_date": dt.date(1990, 1, 1)}])  # monthly
    no_consent = make_household([{"birth_date": dt.date(1990, 1, 1)}])
    later = make_household([{"birth_date": dt.date(1990, 1, 1), "work": "local"}])  # six-monthly
    for h in (due, later):
        consent(h, township_a)
    refresh_schedules(on=dt.date(2020, 3, 1))  # monthly: due 2020-04; six-monthly: 2020-09
    run = execute_recheck(APRIL)
    done = RecheckDone.objects.get(household=due)
    assert (done.run, done.due_on, done.checked_on, done.kind) == (
        run,
        dt.date(2020, 4, 1),
        APRIL.last_day,
        "monthly",
    )
    assert (_schedule(due).next_due_on, _schedule(due).last_checked_on) == (
        dt.date(2020, 5, 1),
        APRIL.last_day,
    )
    assert not RecheckDone.objects.filter(household__in=[no_consent, later]).exists()
    assert _schedule(no_consent).next_due_on == dt.date(2020, 4, 1)  # still due: overdue from May
    assert _schedule(later).next_due_on == dt.date(2020, 9, 1)
    assert run.timings["schedules"] >= 0
    execute_recheck(APRIL)  # the finished month again adds nothing
    assert RecheckDone.objects.count() == 1


# --- the township's overdue list, and recording a re-check --------------------------------------------


@pytest.fixture
def overdue_household(make_household):
    household = make_household([{"name": "王小明", "birth_date": dt.date(1990, 1, 1)}])
    refresh_schedules(on=dt.date(2020, 1, 1))  # monthly, due 2020-02: overdue from March
    return household


def test_the_overdue_list_is_region_scoped_and_masked(client, overdue_household, township_a, township_b):
    today = dt.date(2020, 3, 10)
    assert list(selectors.overdue_rechecks(township_a, today)) == [_schedule(overdue_household)]
    assert not selectors.overdue_rechecks(township_a, dt.date(2020, 2, 29)).exists()  # due in February
    assert list(selectors.due_rechecks(township_a, dt.date(2020, 2, 29))) == [_schedule(overdue_household)]
    assert not selectors.overdue_rechecks(township_b, today).exists()
    client.force_login(township_a)
    html = client.get(reverse("verification:rechecks_overdue")).content.decode()
    assert f'data-household="{overdue_household.pk}"' in html and "王小明" not in html and "王" in html
    assert reverse("verification:rechecks_overdue") in html  # linked from the console menu
    client.force_login(township_b)
    html = client.get(reverse("verification:rechecks_overdue")).content.decode()
    assert f'data-household="{overdue_household.pk}"' not in html


def test_recording_a_recheck_moves_the_due_month_once(overdue_household, township_a, township_b) -> None:
    today = dt.date.today()
    done = record_recheck(household=overdue_household, officer=township_a, checked_on=today, note="入户核查")
    again = record_recheck(household=overdue_household, officer=township_a, checked_on=today, note="入户核查")
    assert again == done and RecheckDone.objects.count() == 1
    assert _schedule(overdue_household).next_due_on == schedule.next_due(today, "monthly")
    with pytest.raises(PermissionDenied):
        record_recheck(household=overdue_household, officer=township_b, checked_on=today, note="x")
    for checked_on, note, field in [
        (today, " \u200b ", "note"),
        (today + dt.timedelta(days=1), "电话核查", "checked_on"),
        (today - dt.timedelta(days=1), "电话核查", "checked_on"),  # before the last re-check
        (today, "长" * 201, "note"),
    ]:
        with pytest.raises(ValidationError) as refused:
            record_recheck(household=overdue_household, officer=township_a, checked_on=checked_on, note=note)
        assert field in refused.value.message_dict


def test_the_record_form_answers_every_input(client, overdue_household, township_a, township_b) -> None:
    url = reverse("verification:recheck_record", args=[overdue_household.pk])
    client.force_login(township_b)
    assert client.post(url, {"checked_on": "2020-03-01", "note": "x"}).status_code == 404
    client.force_login(township_a)
    for bad in ({"checked_on": "", "note": "x"}, {"checked_on": "2020-02-30", "note": "x"}, {"note": "x"}):
        assert client.post(url, bad).status_code == 302
    assert not RecheckDone.objects.exists()
    assert (
        client.post(url, {"checked_on": dt.date.today().isoformat(), "note": "微信视频核查"}).status_code
        == 302
    )
    assert RecheckDone.objects.get().note == "微信视频核查"
