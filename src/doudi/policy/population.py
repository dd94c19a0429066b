"""The columnar population: households and persons as numpy arrays, one rule code for 1 or 1,000,000.

Persons are stored grouped by household, in household order: ``person_household`` is the index of each
person's household and never decreases. Money is int64 fen; dates are ``datetime64[D]`` with ``NaT``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

NO_DATE = np.datetime64("NaT", "D")


class Work(IntEnum):
    """A person's work situation; ``migrant``/``returned`` workers get the work-cost deduction."""

    NONE = 0
    LOCAL = 1
    MIGRANT = 2
    RETURNED = 3


class Category(IntFlag):
    """The categories a person may hold, as bits of ``person_categories``."""

    TEKUN = 1  # 特困人员
    ORPHAN = 2  # 孤儿
    DE_FACTO_UNSUPPORTED_CHILD = 4  # 事实无人抚养儿童
    HARDSHIP_CHILD = 8  # 困境儿童
    REGISTERED_POOR = 16  # 建档立卡贫困人口


class Standing(IntEnum):
    """Why a member may not be counted in the household (条例第11条), from what the caller reports."""

    PRESENT = 0  # living with the household
    SERVING_CONSCRIPT = 1  # 服义务兵役 (counted only when married)
    CLERGY = 2  # 宗教教职人员 (not counted when living apart for more than a year)
    PRISONER = 3  # 服刑人员


class Separate(IntEnum):
    """Why an adult may be assessed as a household of their own (条例第11条: 单独施保)."""

    NONE = 0
    SEVERE_DISABILITY = 1  # 重度残疾
    BEDRIDDEN_ILLNESS = 2  # 重病卧床


WORK_NAMES = tuple(w.name.lower() for w in Work)
STANDING_NAMES = tuple(s.name.lower() for s in Standing)
SEPARATE_NAMES = tuple(s.name.lower() for s in Separate)
CATEGORY_NAMES = tuple(str(c.name).lower() for c in Category)
COUNTED_INCOME = ("wage", "business", "agricultural", "property", "transfer")  # ``exempt`` is not counted

_DTYPES: dict[str, Any] = {
    "household_district": np.int64,
    "household_urban": np.bool_,
    "household_enrolled": np.bool_,
    "household_last_amount_fen": np.int64,
    "household_deposits_fen": np.int64,
    "household_vehicles": np.int64,
    "household_houses": np.int64,
    "person_household": np.int64,
    "person_birth_date": "datetime64[D]",
    "person_wage_fen": np.int64,
    "person_counted_income_fen": np.int64,
    "person_work": np.int8,
    "person_categories": np.uint8,
    "person_orphan_institutional": np.bool_,
    "person_covid_confirmed_on": "datetime64[D]",
    "person_covid_discharged_on": "datetime64[D]",
    "person_covid_died_on": "datetime64[D]",
    "household_securities_fen": np.int64,
    "household_claims_fen": np.int64,
    "household_boats": np.int64,
    "household_disability_vehicles": np.int64,
    "household_application_date": "datetime64[D]",
    "household_farming": np.bool_,
    "household_farming_net_fen": np.int64,
    "person_standing": np.int8,
    "person_married": np.bool_,
    "person_apart_since": "datetime64[D]",
    "person_separate": np.int8,
}
# Columns a caller may leave out (the batch's older Parquet schema, a test's population): absent, they
# are neutral — no securities, claims or boats, the application on the period's first day, no farming
# household, every member present, none assessed separately.
ABSENT: Any = None


@dataclass(frozen=True, eq=False)
class Population:
    """Households (``household_*``, length H) and their members (``person_*``, length P).

    ``household_district`` is the 6-digit district code as an integer (region-indexed parameters are
    keyed by it); ``household_last_amount_fen`` is 0 when not enrolled; ``person_counted_income_fen``
    is the sum of the counted incomes (wage included), ``person_wage_fen`` the wage alone.
    ``household_id``/``person_id`` are labels only (strings or integers); no rule reads them.

    条例第11–13条 (optional columns): ``household_securities_fen``, ``household_claims_fen``,
    ``household_boats`` and ``household_disability_vehicles`` (excepted from the vehicle count) are the
    asset items beside deposits, vehicles and houses; ``household_application_date`` (``NaT``: the
    period's first day) fixes the income period, which for a ``household_farming`` household is the 12
    months before it, ``household_farming_net_fen`` their cash and in-kind income less direct costs
    (≥ 0); ``person_standing`` (:class:`Standing`), ``person_married`` and ``person_apart_since`` say
    whether a member counts, ``person_separate`` (:class:`Separate`) why an adult is assessed alone.
    """

    household_id: npt.NDArray[Any]
    household_district: npt.NDArray[np.int64]
    household_urban: npt.NDArray[np.bool_]
    household_enrolled: npt.NDArray[np.bool_]
    household_last_amount_fen: npt.NDArray[np.int64]
    household_deposits_fen: npt.NDArray[np.int64]
    household_vehicles: npt.NDArray[np.int64]
    household_houses: npt.NDArray[np.int64]
    person_id: npt.NDArray[Any]
    person_household: npt.NDArray[np.int64]
    person_birth_date: npt.NDArray[np.datetime64]
    person_wage_fen: npt.NDArray[np.int64]
    person_counted_income_fen: npt.NDArray[np.int64]
    person_work: npt.NDArray[np.int8]
    person_categories: npt.NDArray[np.uint8]
    person_orphan_institutional: npt.NDArray[np.bool_]
    person_covid_confirmed_on: npt.NDArray[np.datetime64]
    person_covid_discharged_on: npt.NDArray[np.datetime64]
    person_covid_died_on: npt.NDArray[np.datetime64]
    household_securities_fen: npt.NDArray[np.int64] = ABSENT
    household_claims_fen: npt.NDArray[np.int64] = ABSENT
    household_boats: npt.NDArray[np.int64] = ABSENT
    household_disability_vehicles: npt.NDArray[np.int64] = ABSENT
    household_application_date: npt.NDArray[np.datetime64] = ABSENT
    household_farming: npt.NDArray[np.bool_] = ABSENT
    household_farming_net_fen: npt.NDArray[np.int64] = ABSENT
    person_standing: npt.NDArray[np.int8] = ABSENT
    person_married: npt.NDArray[np.bool_] = ABSENT
    person_apart_since: npt.NDArray[np.datetime64] = ABSENT
    person_separate: npt.NDArray[np.int8] = ABSENT

    def __post_init__(self) -> None:
        rows = {"household": len(self.household_id), "person": len(self.person_id)}
        for spec in fields(self):
            if getattr(self, spec.name) is ABSENT:
                dtype = _DTYPES[spec.name]
                length = rows["household" if spec.name.startswith("household_") else "person"]
                neutral = np.full(length, NO_DATE) if dtype == "datetime64[D]" else np.zeros(length, dtype)
                object.__setattr__(self, spec.name, neutral)
        for spec in fields(self):
            array = np.asarray(getattr(self, spec.name), dtype=_DTYPES.get(spec.name))
            if array.ndim != 1:
                raise ValueError(f"{spec.name} must be one-dimensional")
            object.__setattr__(self, spec.name, array)
        for spec in fields(self):
            entity = "household" if spec.name.startswith("household_") else "person"
            expected = self.households if entity == "household" else self.persons
            if len(getattr(self, spec.name)) != expected:
                raise ValueError(f"{spec.name} has {len(getattr(self, spec.name))} rows, expected {expected}")
        index = self.person_household
        if self.persons and (index[0] < 0 or index[-1] >= self.households or np.any(index[1:] < index[:-1])):
            raise ValueError("persons must be grouped by household, in household order")
        for name in (
            "household_last_amount_fen",
            "household_deposits_fen",
            "household_vehicles",
            "household_houses",
            "person_wage_fen",
            "person_counted_income_fen",
            "household_securities_fen",
            "household_claims_fen",
            "household_boats",
            "household_disability_vehicles",
            "household_farming_net_fen",
        ):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"{name} must not be negative")
        _ = self.household_start, self._occupied  # index the members with the population, not in a rule

    @property
    def households(self) -> int:
        return len(self.household_id)

    @property
    def persons(self) -> int:
        return len(self.person_id)

    @cached_property
    def household_size(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.person_household, minlength=self.households).astype(np.int64)

    @cached_property
    def household_start(self) -> npt.NDArray[np.int64]:
        """Index of each household's first person (its members are ``start … start + size - 1``)."""
        starts = np.zeros(self.households, dtype=np.int64)
        np.cumsum(self.household_size[:-1], out=starts[1:])
        return starts

    def members(self, household: int) -> range:
        start = int(self.household_start[household])
        return range(start, start + int(self.household_size[household]))

    def sum_by_household(self, values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """Per-household sum of a person array, exact in int64 (booleans count)."""
        values = values.astype(np.int64, copy=False)
        if not self.persons:
            return np.zeros(self.households, dtype=np.int64)
        if len(self._occupied) == self.households:
            return np.add.reduceat(values, self.household_start)
        totals = np.zeros(self.households, dtype=np.int64)
        totals[self._occupied] = np.add.reduceat(values, self.household_start[self._occupied])
        return totals

    def count_by_household(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """Per-household count of members in ``mask`` (fast when ``mask`` is sparse)."""
        return np.bincount(self.person_household[mask], minlength=self.households).astype(np.int64)

    def of_person(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A household array broadcast to each person."""
        return values[self.person_household]

    @cached_property
    def _occupied(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.household_size)

    @cached_property
    def household_income_months(self) -> npt.NDArray[np.int64]:
        """条例第12条: the months the income is taken over — 12 for a farming household, else 1."""
        return np.where(self.household_farming, 12, 1).astype(np.int64)

    @cached_property
    def household_financial_assets_fen(self) -> npt.NDArray[np.int64]:
        """条例第13条: money assets — deposits, securities and claims."""
        return self.household_deposits_fen + self.household_securities_fen + self.household_claims_fen

    def has_category(self, category: Category) -> npt.NDArray[np.bool_]:
        return (self.person_categories & np.uint8(category)) != 0
