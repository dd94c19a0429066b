"""Working-day arithmetic on the Chinese calendar (2020 Spring Festival, extended for the epidemic)."""

import datetime

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.intake import sla

D = datetime.date


def test_calendar_data_for_2020_spring_festival():
    # The State Council extended the 2020 holiday to 2 February; Sunday 19 January was a workday.
    for day in range(24, 32):
        assert not chinese_calendar.is_workday(D(2020, 1, day))
    assert not chinese_calendar.is_workday(D(2020, 2, 1))
    assert not chinese_calendar.is_workday(D(2020, 2, 2))
    assert chinese_calendar.is_workday(D(2020, 1, 19))  # 调休上班 (a Sunday)
    assert chinese_calendar.is_workday(D(2020, 2, 3))


def test_adjusted_sunday_counts_as_a_working_day():
    # Saturday 18 Jan → the next working day is Sunday 19 Jan (adjusted), not Monday 20 Jan.
    assert sla.add_working_days(D(2020, 1, 18), 1) == D(2020, 1, 19)
    # Friday 17 Jan + 2 working days = Mon 20 Jan (Sat off, Sun 19 on).
    assert sla.add_working_days(D(2020, 1, 17), 2) == D(2020, 1, 20)


def test_seven_working_days_across_the_spring_festival():
    # Accepted Thursday 23 Jan 2020 (the last working day before the holiday): the holiday runs
    # 24 Jan – 2 Feb, so the 7 working days are 3–7 Feb and 10–11 Feb.
    assert sla.add_working_days(D(2020, 1, 23), 7) == D(2020, 2, 11)
    assert sla.working_days_between(D(2020, 1, 23), D(2020, 2, 11)) == 7
    # Accepted during the holiday: counting starts on Monday 3 Feb.
    assert sla.add_working_days(D(2020, 1, 28), 1) == D(2020, 2, 3)
    assert sla.add_working_days(D(2020, 1, 28), 7) == D(2020, 2, 11)
    # Accepted Friday 17 Jan: 19 (Sun, adjusted), 20, 21, 22, 23, then 3, 4 Feb.
    assert sla.add_working_days(D(2020, 1, 17), 7) == D(2020, 2, 4)


def test_working_days_between_is_signed_and_excludes_start():
    assert sla.working_days_between(D(2020, 2, 3), D(2020, 2, 3)) == 0
    assert sla.working_days_between(D(2020, 2, 3), D(2020, 2, 4)) == 1
    assert sla.working_days_between(D(2020, 2, 11), D(2020, 1, 23)) == -7
    assert sla.working_days_between(D(2020, 1, 23), D(2020, 2, 2)) == 0  # all holiday


def test_thirty_calendar_days_end_moves_past_a_holiday():
    # 30 days from 1 Jan 2020 is 31 Jan, inside the holiday: the period ends on Mon 3 Feb (民法典 art. 203).
    limit = sla.Limit(30, sla.CALENDAR)
    assert sla.due_date(D(2020, 1, 1), limit) == D(2020, 2, 3)
    # 30 days from 2 Mar 2020 is Wed 1 Apr, a working day: unchanged.
    assert sla.due_date(D(2020, 3, 2), limit) == D(2020, 4, 1)


def test_pauses_do_not_count():
    limit = sla.Limit(7, sla.WORKING)
    start = D(2020, 3, 2)  # Monday
    assert sla.due_date(start, limit) == D(2020, 3, 11)
    # 公示 from Wed 4 Mar to Wed 11 Mar (7 days; 4–10 Mar not counted, 5 working days).
    assert sla.due_date(start, limit, [(D(2020, 3, 4), D(2020, 3, 11))]) == D(2020, 3, 18)
    # An open pause: no due date until it ends.
    assert sla.due_date(start, limit, [(D(2020, 3, 4), None)]) is None
    # A pause entered and left the same day changes nothing.
    assert sla.due_date(start, limit, [(D(2020, 3, 4), D(2020, 3, 4))]) == D(2020, 3, 11)
    # Calendar limits skip paused days too (条例第19条).
    cal = sla.Limit(30, sla.CALENDAR)
    assert sla.due_date(D(2020, 3, 2), cal, [(D(2020, 3, 10), D(2020, 3, 17))]) == D(2020, 4, 8)


@pytest.mark.django_db  # a year beyond the package is looked up among the bureau's loaded years
def test_beyond_calendar_coverage_is_a_clear_error():
    beyond = D(sla.LAST_YEAR + 1, 1, 5)
    with pytest.raises(sla.SlaUnavailable) as exc:
        sla.add_working_days(beyond, 1)
    assert str(sla.LAST_YEAR + 1) in exc.value.message
    assert str(sla.FIRST_YEAR) in exc.value.message
    # A limit that runs into the uncovered year fails too, rather than guessing.
    with pytest.raises(sla.SlaUnavailable):
        sla.add_working_days(D(sla.LAST_YEAR, 12, 28), 10)
    with pytest.raises(sla.SlaUnavailable):
        sla.due_date(D(sla.LAST_YEAR, 12, 20), sla.Limit(30, sla.CALENDAR))
    with pytest.raises(sla.SlaUnavailable):
        sla.working_days_between(D(sla.FIRST_YEAR - 1, 6, 1), D(sla.FIRST_YEAR, 1, 10))


covered_days = st.dates(min_value=D(2005, 1, 1), max_value=D(sla.LAST_YEAR - 1, 6, 30))


@settings(max_examples=60, deadline=None)
@given(start=covered_days, n=st.integers(min_value=1, max_value=40))
def test_add_and_count_agree(start, n):
    due = sla.add_working_days(start, n)
    assert sla.is_workday(due)
    assert sla.working_days_between(start, due) == n
    assert sla.working_days_between(start, due - datetime.timedelta(days=1)) == n - 1


@settings(max_examples=60, deadline=None)
@given(
    start=covered_days,
    n=st.integers(min_value=1, max_value=30),
    pause_at=st.integers(min_value=1, max_value=20),
    pause_len=st.integers(min_value=0, max_value=10),
)
def test_a_pause_never_brings_the_due_date_forward(start, n, pause_at, pause_len):
    limit = sla.Limit(n, sla.WORKING)
    p_from = start + datetime.timedelta(days=pause_at)
    plain = sla.due_date(start, limit)
    paused = sla.due_date(start, limit, [(p_from, p_from + datetime.timedelta(days=pause_len))])
    assert paused >= plain
    # The paused due date still leaves exactly n counted working days.
    counted = sum(
        1
        for k in range(1, (paused - start).days + 1)
        if sla.is_workday(d := start + datetime.timedelta(days=k))
        and not (p_from <= d < p_from + datetime.timedelta(days=pause_len))
    )
    assert counted == n
