"""Checks of the parameters against each other (the regulation's own constraints on them).

条例第9条: the dibao standard is set below the minimum wage. The minimum wage is a dated parameter per
tier (``minimum_wage.tier_1``, ``minimum_wage.tier_2``) and each district applies one tier
(``minimum_wage.district_tier``, region-indexed). :func:`standard_not_below_minimum_wage` lists every
time span where a dibao standard (urban or rural) is not below the minimum wage of a tier some district
applies — each problem once, from the date it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from doudi.policy.parameters import ParameterSet

STANDARDS = ("dibao.standard.urban", "dibao.standard.rural")
TIER_WAGES = {1: "minimum_wage.tier_1", 2: "minimum_wage.tier_2"}
DISTRICT_TIER = "minimum_wage.district_tier"


@dataclass(frozen=True)
class StandardAboveWage:
    """From ``since`` on, ``standard`` (yuan) is not below the minimum ``wage`` of ``tier``, which
    ``districts`` apply (``None`` in it: every district without a tier of its own)."""

    since: date
    standard_name: str
    standard: int | float
    tier: int
    wage_name: str
    wage: int | float
    districts: tuple[str | None, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "standard": {"name": self.standard_name, "value": self.standard},
            "minimum_wage": {"name": self.wage_name, "tier": self.tier, "value": self.wage},
            "districts": list(self.districts),
        }


def _change_dates(params: ParameterSet) -> list[date]:
    days: set[date] = set()
    for name in (*STANDARDS, *TIER_WAGES.values(), DISTRICT_TIER):
        parameter = params[name]
        for entry in (*parameter.values, *(e for series in parameter.by_region.values() for e in series)):
            if entry.since is not None:
                days.add(entry.since)
    return sorted(days)


def _tiers_on(params: ParameterSet, on: date) -> dict[int, list[str | None]]:
    """The tiers in use on ``on`` and the districts applying each (``None``: the city-wide default)."""
    own, default = params.region_values(DISTRICT_TIER, on)
    tiers: dict[int, list[str | None]] = {}
    if default is not None:
        tiers.setdefault(default.count, []).append(None)
    for region, value in sorted(own.items()):
        tiers.setdefault(value.count, []).append(region)
    return tiers


def standard_not_below_minimum_wage(params: ParameterSet) -> list[StandardAboveWage]:
    """条例第9条: every span where a dibao standard is not below a minimum wage in use (in date order)."""
    problems: list[StandardAboveWage] = []
    open_: set[tuple[object, ...]] = set()
    for on in _change_dates(params):
        now: set[tuple[object, ...]] = set()
        for tier, districts in sorted(_tiers_on(params, on).items()):
            wage_name = TIER_WAGES.get(tier)
            wage = params.value_at(wage_name, on) if wage_name else None
            if wage is None or wage_name is None:
                continue
            for standard_name in STANDARDS:
                standard = params.value_at(standard_name, on)
                if standard is None or standard.number < wage.number:
                    continue
                key = (standard_name, standard.value, tier, wage.value, tuple(districts))
                now.add(key)
                if key not in open_:
                    problems.append(
                        StandardAboveWage(
                            on,
                            standard_name,
                            _plain(standard.number),
                            tier,
                            wage_name,
                            _plain(wage.number),
                            tuple(districts),
                        )  # fmt: skip
                    )
        open_ = now
    return problems


def _plain(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)
