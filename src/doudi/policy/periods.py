"""Periods (calendar months), month arithmetic and the emergency window (疫情防控期间).

Dates inside the engine are ``numpy.datetime64[D]`` arrays, with ``NaT`` for "no date": every
comparison with ``NaT`` is false, so a missing date never satisfies a condition by accident.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Days: TypeAlias = npt.NDArray[np.datetime64]
_PERIOD = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month ``YYYY-MM``; parameters are read as in force on its first day."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9999):
            raise ValueError(f"{self.year:04d}-{self.month:02d} is not a month")

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not a period YYYY-MM")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def month64(self) -> np.datetime64:
        return np.datetime64(str(self), "M")

    def shift(self, months: int) -> Period:
        year, month0 = divmod(self.year * 12 + self.month - 1 + months, 12)
        return Period(year, month0 + 1)


def add_months(day: date, months: int) -> date:
    """POLICY §1: keep the day of month, clamped to the target month's last day."""
    target = Period.of(day).shift(months)
    return date(target.year, target.month, min(day.day, target.last_day.day))


def add_months_array(days: Days, months: int) -> Days:
    """:func:`add_months` over a ``datetime64[D]`` array (``NaT`` stays ``NaT``)."""
    month = days.astype("datetime64[M]")
    day_offset = days - month.astype("datetime64[D]")
    target = month + months
    target_start = target.astype("datetime64[D]")
    month_length = (target + 1).astype("datetime64[D]") - target_start
    return target_start + np.minimum(day_offset, month_length - np.timedelta64(1, "D"))


@dataclass(frozen=True)
class Window:
    """The emergency window ``[start, end]``; ``end`` is ``None`` while no end is declared."""

    start: date
    end: date | None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"the emergency window ends ({self.end}) before it starts ({self.start})")

    def contains_day(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def contains_month(self, period: Period) -> bool:
        """A month is in the window if any day of it is."""
        return self.start <= period.last_day and (self.end is None or period.first_day <= self.end)

    def contains_days(self, days: Days) -> npt.NDArray[np.bool_]:
        inside = days >= np.datetime64(self.start, "D")
        if self.end is not None:
            inside &= days <= np.datetime64(self.end, "D")
        return inside

    def contains_months(self, months: npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
        """Vectorised :meth:`contains_month` over ``datetime64[M]`` values (``NaT`` → false)."""
        inside = months >= np.datetime64(self.start, "M")
        if self.end is not None:
            inside &= months <= np.datetime64(self.end, "M")
        return inside
