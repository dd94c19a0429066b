"""办理时限: working-day arithmetic on the Chinese calendar, pauses, and the dibao time limit.

Working days come from `chinese_calendar` (package `chinesecalendar`): weekends off, public holidays
off, and the adjusted workdays (调休上班, e.g. Sunday 2020-01-19) on. The package covers a fixed range
of years. A later year is covered once the bureau loads the State Council's holiday notice for it
(`HolidayYear`, `doudi holidays load` or the console's 节假日安排; intake/holidays.py); the package
stays authoritative for the years it covers. Outside both we refuse to compute and raise
`SlaUnavailable` with a message for the user — guessing a due date would be worse than saying we cannot.

Conventions (docs/intake.md):
- a limit of n working days from a start day S ends on the n-th working day *after* S;
- a limit of n calendar days ends on S + n, moved to the next working day when that day is not one
  (民法典 第二百零三条: a period whose last day is a statutory rest day ends on the day after it);
- a pause [from, to) (the case in deliberation or 公示, 条例第19条) removes the days from `from` up
  to the day before `to` from the count; a pause still open leaves the due date undefined.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar import constants as _cc_constants
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

WORKING = "wd"
CALENDAR = "cd"

Pause = tuple[datetime.date, datetime.date | None]

# The years the installed calendar knows (2004–2026 for chinesecalendar 1.11).
FIRST_YEAR = min(_cc_constants.holidays).year
LAST_YEAR = max(_cc_constants.holidays).year


# The bureau's loaded years, read at most once a minute per process (a year is loaded once a year;
# the loading process forgets its copy at once).
BUREAU_CALENDAR_TTL = 60.0
_bureau: tuple[float, dict[int, dict[datetime.date, bool]]] | None = None


def bureau_calendar() -> dict[int, dict[datetime.date, bool]]:
    """The years the bureau loaded: year → {listed day: is it a workday}."""
    global _bureau
    now = time.monotonic()
    if _bureau is None or now - _bureau[0] > BUREAU_CALENDAR_TTL:
        from doudi.intake.models import HolidayDay, HolidayYear

        years: dict[int, dict[datetime.date, bool]] = {
            y: {} for y in HolidayYear.objects.values_list("year", flat=True)
        }
        for day, workday in HolidayDay.objects.values_list("day", "workday"):
            years.setdefault(day.year, {})[day] = workday
        _bureau = (now, years)
    return _bureau[1]


def forget_bureau_calendar() -> None:
    global _bureau
    _bureau = None


def package_covers(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


class SlaUnavailable(Exception):
    """The calendar does not cover a date the computation needs: no due date can be given."""

    def __init__(self, year: int):
        self.year = year
        self.message = _(
            "节假日数据只覆盖 %(first)s–%(last)s 年，无法计算 %(year)s 年的工作日和办理期限；"
            "请市民政管理员在“节假日安排”中录入该年的国务院节假日安排后重新计算。"
        ) % {"first": FIRST_YEAR, "last": LAST_YEAR, "year": year}
        super().__init__(self.message)


def covers(day: datetime.date) -> bool:
    return package_covers(day.year) or day.year in bureau_calendar()


def is_workday(day: datetime.date) -> bool:
    if package_covers(day.year):
        return chinese_calendar.is_workday(day)
    listed = bureau_calendar().get(day.year)
    if listed is None:
        raise SlaUnavailable(day.year)
    # A day the notice does not list follows the week.
    return listed.get(day, day.weekday() < 5)


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """The n-th working day after `start` (`start` itself not counted); n = 0 gives `start`."""
    if n < 0:
        raise ValueError("n must be >= 0")
    day, counted = start, 0
    while counted < n:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days d with start < d <= end; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def next_workday_on_or_after(day: datetime.date) -> datetime.date:
    while not is_workday(day):
        day += datetime.timedelta(days=1)
    return day


def _paused(day: datetime.date, pauses: Sequence[Pause]) -> bool:
    return any(p_from <= day and (p_to is None or day < p_to) for p_from, p_to in pauses)


@dataclass(frozen=True)
class Limit:
    """A time limit: n working or calendar days, with where it comes from (shown to the officer)."""

    days: int
    unit: str  # WORKING or CALENDAR
    basis: str = ""


def due_date(start: datetime.date, limit: Limit, pauses: Iterable[Pause] = ()) -> datetime.date | None:
    """The last day of `limit` counted from `start`, skipping paused days; None while a pause is open."""
    pauses = sorted(pauses)
    if any(p_to is None for _p_from, p_to in pauses):
        return None
    day, counted = start, 0
    while counted < limit.days:
        day += datetime.timedelta(days=1)
        if _paused(day, pauses):
            continue
        if limit.unit == CALENDAR or is_workday(day):
            counted += 1
    if limit.unit == CALENDAR:
        day = next_workday_on_or_after(day)
    elif limit.days == 0:
        # Nothing to count: the limit ends the same day (or after a pause covering it).
        while _paused(day, pauses):
            day += datetime.timedelta(days=1)
    return day


def days_left(due: datetime.date, today: datetime.date, unit: str) -> int:
    """Remaining days in the limit's own unit (negative: overdue by that many)."""
    if unit == WORKING:
        return working_days_between(today, due)
    return (due - today).days


# ---------------------------------------------------------------------------------------------------
# The emergency window and the dibao limit

DIBAO_EMERGENCY_LIMIT = 7  # working days, Chongqing measures of 2020-02-07
DIBAO_NORMAL_LIMIT = 30  # days from acceptance, 条例第19条

DIBAO_EMERGENCY_BASIS = gettext_lazy("疫情防控期间7个工作日（重庆市2020年2月7日措施）；评议、公示期间不计")
DIBAO_NORMAL_BASIS = gettext_lazy(
    "受理之日起30日（《重庆市城乡居民最低生活保障条例》第19条）；评议、公示期间不计"
)


def emergency_window_open(region, on: datetime.date) -> bool:
    """Whether the emergency window (疫情防控期间) is in force for the region's district on a day.

    Reads the bureau's declarations through the regions app; with no declaration (or no selector)
    there is no window: the shortened limit applies only where the bureau declared it.
    """
    try:
        from doudi.regions.selectors import window_for
    except ImportError:  # regions app without windows: no window
        return False
    code = getattr(region, "district_code", None) or getattr(region, "code", None)
    if not code:
        return False
    return window_for(code, on) is not None


def dibao_limit(region, start: datetime.date) -> Limit:
    """一(一)a: 7 working days while the window is open for the case's district on the day the clock
    starts, else 30 days (条例第19条). A case whose district's window status on that day changes
    (a window declared or ended later, with dates covering it) is recomputed: see
    services.refresh_window_sensitive_cases."""
    if emergency_window_open(region, start):
        return Limit(DIBAO_EMERGENCY_LIMIT, WORKING, str(DIBAO_EMERGENCY_BASIS))
    return Limit(DIBAO_NORMAL_LIMIT, CALENDAR, str(DIBAO_NORMAL_BASIS))
