"""疫情防控期间 as the enrolment changes see it: whether a month of a household's district is in the
emergency window, during which no reduction, suspension or exit takes effect (一(一)b, POLICY R1)."""

from __future__ import annotations

import datetime
from typing import Any


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_last_day(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)


def emergency_window(region: Any, month: datetime.date) -> tuple[datetime.date, datetime.date | None]:
    """疫情防控期间 (start, end or None) that decides `month` for the region's district: the district's
    own declaration or the city's (regions.selectors.policy_window_for), else the parameter default
    (POLICY.md: 2020-01-24, end open)."""
    from doudi.parameters.selectors import current_parameters
    from doudi.regions.selectors import policy_window_for

    interval = policy_window_for(region.district_code or region.code, on=month_last_day(month))
    if interval is not None:
        return interval
    params = current_parameters()
    start = params.value_at("emergency.window.start", month)
    end = params.value_at("emergency.window.end", month)
    return start.day, (end.day if end is not None else None)


def in_emergency_window(region: Any, month: datetime.date) -> bool:
    """Whether any day of `month` lies in the district's emergency window (POLICY §1)."""
    start, end = emergency_window(region, month)
    return start <= month_last_day(month) and (end is None or first_of_month(month) <= end)
