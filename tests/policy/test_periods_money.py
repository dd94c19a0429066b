"""Periods, month arithmetic (POLICY.md §1), the emergency window and exact money."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.policy.money import (
    divide_half_up,
    round_half_up,
    round_half_up_to_yuan,
    scale_half_up,
    yuan_to_fen,
)
from doudi.policy.periods import Period, Window, add_months, add_months_array


def reference_add_months(day: date, months: int) -> date:
    """Step month by month on the calendar, then clamp the original day to the month's length."""
    year, month = day.year, day.month
    for _ in range(abs(months)):
        month += 1 if months > 0 else -1
        if month == 13:
            year, month = year + 1, 1
        elif month == 0:
            year, month = year - 1, 12
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def test_add_months_examples_of_policy_section_1() -> None:
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)
    assert add_months(date(2020, 1, 31), 2) == date(2020, 3, 31)  # from the original date, not from 02-29
    assert add_months(date(2019, 1, 31), 1) == date(2019, 2, 28)
    assert add_months(date(2020, 2, 10), 1) == date(2020, 3, 10)
    assert add_months(date(2020, 12, 15), 1) == date(2021, 1, 15)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(-60, 60))
def test_add_months_matches_a_calendar_reference(day: date, months: int) -> None:
    expected = reference_add_months(day, months)
    assert add_months(day, months) == expected
    assert add_months_array(np.array([day], dtype="datetime64[D]"), months)[0] == np.datetime64(expected)


def test_add_months_array_keeps_missing_dates_missing() -> None:
    days = np.array(["2020-01-31", "NaT", "2020-03-31"], dtype="datetime64[D]")
    shifted = add_months_array(days, 1)
    assert shifted[0] == np.datetime64("2020-02-29") and np.isnat(shifted[1])
    assert shifted[2] == np.datetime64("2020-04-30")


@pytest.mark.parametrize(
    "text", ["2020-13", "2020-00", "2020-3", "20-03", "2020-03-01", " 2020-03", "2020‐03"]
)
def test_periods_are_strict(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text)


def test_period_properties() -> None:
    period = Period.parse("2020-02")
    assert (period.first_day, period.last_day, str(period)) == (
        date(2020, 2, 1),
        date(2020, 2, 29),
        "2020-02",
    )
    assert period.shift(11) == Period(2021, 1) and period.shift(-2) == Period(2019, 12)


def test_a_month_is_in_the_window_if_any_of_its_days_is() -> None:
    open_window = Window(date(2020, 1, 24), None)
    assert not open_window.contains_month(Period(2019, 12))
    assert open_window.contains_month(Period(2020, 1)) and open_window.contains_month(Period(2030, 1))
    closed = Window(date(2020, 1, 24), date(2020, 6, 1))
    assert closed.contains_month(Period(2020, 6)) and not closed.contains_month(Period(2020, 7))
    months = np.array(["2019-12", "2020-01", "2020-06", "2020-07", "NaT"], dtype="datetime64[M]")
    assert closed.contains_months(months).tolist() == [False, True, True, False, False]
    days = np.array(["2020-01-23", "2020-01-24", "2020-06-01", "2020-06-02", "NaT"], dtype="datetime64[D]")
    assert closed.contains_days(days).tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="before it starts"):
        Window(date(2020, 1, 24), date(2020, 1, 23))


@settings(max_examples=60, deadline=None)
@given(st.dates(date(2019, 1, 1), date(2022, 12, 31)), st.integers(0, 400), st.integers(0, 40))
def test_window_months_agree_with_days(start: date, length: int, month_offset: int) -> None:
    window = Window(start, start + timedelta(days=length))
    period = Period.of(start).shift(month_offset - 20)
    days = [period.first_day + timedelta(days=d) for d in range(period.last_day.day)]
    assert window.contains_month(period) == any(window.contains_day(day) for day in days)


def test_rounding_is_half_up_and_exact() -> None:
    fen = np.array([0, 49, 50, 149, 150, 199_836, -50, -51], dtype=np.int64)
    assert round_half_up_to_yuan(fen).tolist() == [0, 0, 100, 100, 200, 199_800, 0, -100]
    assert scale_half_up(np.array([1010, 1000_03]), Fraction(1, 4)).tolist() == [253, 25001]
    assert divide_half_up(np.array([100_000, 200_000]), np.array([3, 3])).tolist() == [33333, 66667]
    assert round_half_up(Fraction(546) * Fraction(183, 1000) * 2 * 100, 100) == 20000
    assert yuan_to_fen(Decimal("12.34")) == 1234
    with pytest.raises(ValueError):
        yuan_to_fen(Decimal("0.001"))
