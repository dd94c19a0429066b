"""R4 — 价格临时补贴 (temporary price subsidy), clause 一(二): paid when the CPI or food index triggers."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from doudi.policy.engine import Mask, Nullable, Simulation, as_bool, as_yuan, rule
from doudi.policy.money import round_half_up
from doudi.policy.parameters import json_value
from doudi.policy.population import Category

CLAUSE = "一(二)"
NOT_COVERED, URBAN_BASIS, RURAL_BASIS = 0, 1, 2


@dataclass(frozen=True)
class Trigger:
    """The month's rise: ``index`` is ``"cpi"``, ``"food"`` or ``None`` (not triggered or missing)."""

    index: str | None
    rise: Decimal | None
    missing: tuple[str, ...] = ()


@rule("price_subsidy.trigger", entity="period", clause=CLAUSE, fmt=lambda t: t.index)
def trigger(s: Simulation) -> Trigger:
    """联动机制: the larger triggered rise of the CPI and the (weighted) food index; the CPI on a tie."""
    cpi = s.optional_param("price_index.cpi_yoy")
    food = s.optional_param("price_index.food_yoy")
    missing = tuple(
        value for value, found in (("price_index.cpi_yoy", cpi), ("price_index.food_yoy", food)) if not found
    )
    if cpi is None or food is None:
        return Trigger(None, None, missing)
    candidates: list[tuple[str, Decimal]] = []
    if cpi.number >= s.param("price_subsidy.trigger.cpi").number:
        candidates.append(("cpi", cpi.number))
    if food.number >= s.param("price_subsidy.trigger.food").number:
        candidates.append(("food", food.number * s.param("price_subsidy.food_weight").number))
    if not candidates:
        return Trigger(None, None)
    index, rise = max(candidates, key=lambda candidate: candidate[1])
    return Trigger(index, rise)


@rule("price_subsidy.multiplier", entity="period", clause=CLAUSE, fmt=json_value)
def multiplier(s: Simulation) -> int | Decimal | date | None:
    """The 2020 temporary doubling (2020-03 to 2020-06)."""
    return s.param("price_subsidy.multiplier").value


@rule("price_subsidy.covered", entity="person", clause=CLAUSE, fmt=as_bool)
def covered(s: Simulation) -> Mask:
    """低保对象、特困人员、孤儿、事实无人抚养儿童: recipient members, tekun, children with an allowance."""
    tekun = s.population.has_category(Category.TEKUN)
    return s["dibao.recipient_member"] | tekun | (s["child_allowance.amount"] > 0)


@rule("price_subsidy.basis_standard", entity="person", clause=CLAUSE)
def basis_standard(s: Simulation) -> npt.NDArray[np.int8]:
    """Which standard is the basis: the household's for a recipient member, else the urban one."""
    p = s.population
    member_of_rural = s["dibao.recipient_member"] & ~p.of_person(p.household_urban)
    return np.where(
        s["price_subsidy.covered"], np.where(member_of_rural, RURAL_BASIS, URBAN_BASIS), NOT_COVERED
    )


def _basis_standards(s: Simulation) -> tuple[int, int]:
    """The urban and rural standards (fen), each read for the persons whose basis it is."""
    basis = s["price_subsidy.basis_standard"]
    urban = s.param("dibao.standard.urban", persons=basis == URBAN_BASIS).fen
    rural = s.param("dibao.standard.rural", persons=basis == RURAL_BASIS).fen
    return urban, rural


@rule("price_subsidy.basis", entity="person", clause=CLAUSE, fmt=as_yuan)
def basis(s: Simulation) -> Nullable:
    code = s["price_subsidy.basis_standard"]
    table = np.array([0, *_basis_standards(s)], dtype=np.int64)
    return Nullable(table[code], code == NOT_COVERED)


@rule("price_subsidy.amount", entity="person", clause=CLAUSE, explain="nonzero", fmt=as_yuan)
def amount(s: Simulation) -> Nullable:
    """``round_half_up(basis × rise / 100 × multiplier) + district supplement``; null without an index."""
    p = s.population
    covered_ = s["price_subsidy.covered"]
    trigger_ = s["price_subsidy.trigger"]
    if trigger_.missing:
        if covered_.any():
            for name in trigger_.missing:
                s.warn(
                    name, f"{name} has no value for {s.period}: price subsidies are null until it is entered"
                )
        return Nullable(np.zeros(p.persons, dtype=np.int64), covered_)
    if trigger_.rise is None:
        return Nullable(np.zeros(p.persons, dtype=np.int64), np.zeros(p.persons, dtype=np.bool_))
    factor = Fraction(trigger_.rise) / 100 * Fraction(s["price_subsidy.multiplier"])
    # the basis takes two values only: round each once, exactly, then look it up per person
    table = np.array(
        [0, *(round_half_up(standard * factor, 100) for standard in _basis_standards(s))], dtype=np.int64
    )
    subsidy = table[s["price_subsidy.basis_standard"]]
    who = np.flatnonzero(covered_)
    districts = p.household_district[p.person_household[who]]
    subsidy[who] += s.money_by_region("price_subsidy.district_supplement", districts, persons=covered_).values
    return Nullable(subsidy, np.zeros(p.persons, dtype=np.bool_))
