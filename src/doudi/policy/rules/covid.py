"""R5 — 新冠肺炎确诊患者临时救助 (COVID temporary assistance) and R6 — 病亡人员家庭救助, clause 一(五)."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doudi.policy.engine import Mask, Nullable, Simulation, as_bool, as_yuan, rule
from doudi.policy.money import Fen, round_half_up
from doudi.policy.periods import Period, add_months_array
from doudi.policy.population import Category

CLAUSE = "一(五)"
_IN_HARDSHIP = (
    Category.TEKUN
    | Category.ORPHAN
    | Category.DE_FACTO_UNSUPPORTED_CHILD
    | Category.HARDSHIP_CHILD
    | Category.REGISTERED_POOR
)


@rule("covid_assistance.covered", entity="person", clause=CLAUSE, fmt=as_bool)
def covered(s: Simulation) -> Mask:
    """确诊患者中的低保对象、特困人员、困境儿童、建档立卡贫困人口, confirmed inside the window."""
    p = s.population
    confirmed_in_window = s.window().contains_days(p.person_covid_confirmed_on)
    in_hardship = (p.person_categories & np.uint8(_IN_HARDSHIP)) != 0
    return confirmed_in_window & (s["dibao.recipient_member"] | in_hardship)


@dataclass(frozen=True)
class Episode:
    """Per person: the amount paid in the period, the counted months so far and their sum."""

    amount: Fen
    months: npt.NDArray[np.int64]
    total: Fen


@rule("covid_assistance.episode", entity="person", clause=CLAUSE)
def episode(s: Simulation) -> Episode:
    """按低保标准2倍按月发放, 直到出院 (不足一个月按一个月, 从确诊之日算起).

    Month ``k`` of the episode starts on ``add_months(confirmed_on, k)`` and counts if it is the first
    or starts before discharge/death; it is paid in the calendar month in which it starts, at the
    standard and multiple in force on that month's first day.
    """
    p = s.population
    amount = np.zeros(p.persons, dtype=np.int64)
    months = np.zeros(p.persons, dtype=np.int64)
    total = np.zeros(p.persons, dtype=np.int64)
    covered_ = s["covid_assistance.covered"]
    period = s.period.month64
    who = np.flatnonzero(covered_ & (p.person_covid_confirmed_on <= np.datetime64(s.period.last_day)))
    if not len(who):
        return Episode(amount, months, total)
    confirmed = p.person_covid_confirmed_on[who]
    discharged, died = p.person_covid_discharged_on[who], p.person_covid_died_on[who]
    end = np.where(np.isnat(discharged) | (died < discharged), died, discharged)
    urban = p.household_urban[p.person_household[who]]
    # monthly amounts for every month from the earliest confirmation to the period, by area
    first = confirmed.astype("datetime64[M]").min()
    table = np.array(
        [_monthly_amounts(s, Period.parse(str(m)), covered_) for m in np.arange(first, period + 1)],
        dtype=np.int64,
    ).T  # [rural, urban] × month
    confirmed_month = confirmed.astype("datetime64[M]")
    offset = (confirmed_month - first).astype(np.int64)
    last_k = (period - confirmed_month).astype(np.int64)  # months starting on or before the period's end
    area = urban.astype(np.int64)
    paid, counted_months, counted_total = (np.zeros(len(who), dtype=np.int64) for _ in range(3))
    for k in range(int(last_k.max()) + 1):
        start = add_months_array(confirmed, k)
        counted = (k <= last_k) & ((k == 0) | np.isnat(end) | (start < end))
        if not counted.any():
            break  # later months start later still: none counts
        monthly = np.where(counted, table[area, np.minimum(offset + k, table.shape[1] - 1)], 0)
        counted_months += counted
        counted_total += monthly
        paid += np.where(k == last_k, monthly, 0)
    amount[who], months[who], total[who] = paid, counted_months, counted_total
    return Episode(amount, months, total)


def _monthly_amounts(s: Simulation, month: Period, covered_: Mask) -> tuple[int, int]:
    p = s.population
    urban = covered_ & p.of_person(p.household_urban)
    multiple = s.param("covid.assistance_multiple", on=month.first_day, persons=covered_).ratio
    rural_standard = s.param("dibao.standard.rural", on=month.first_day, persons=covered_ & ~urban).fen
    urban_standard = s.param("dibao.standard.urban", on=month.first_day, persons=urban).fen
    return round_half_up(multiple * rural_standard, 100), round_half_up(multiple * urban_standard, 100)


@rule("covid_assistance.amount", entity="person", clause=CLAUSE, explain="nonzero", fmt=as_yuan)
def amount(s: Simulation) -> Fen:
    return s["covid_assistance.episode"].amount


@rule("covid_assistance.episode_months", entity="person", clause=CLAUSE)
def episode_months(s: Simulation) -> npt.NDArray[np.int64]:
    return s["covid_assistance.episode"].months


@rule("covid_assistance.episode_total", entity="person", clause=CLAUSE, fmt=as_yuan)
def episode_total(s: Simulation) -> Fen:
    return s["covid_assistance.episode"].total


@rule("bereavement.amount", clause=CLAUSE, explain="nonzero", fmt=as_yuan)
def bereavement(s: Simulation) -> Nullable:
    """对其中的病亡人员家庭再给予临时救助: once per household, at its district's amount; null if unset."""
    p = s.population
    who = np.flatnonzero(s["covid_assistance.covered"])
    died_in_period = p.person_covid_died_on[who].astype("datetime64[M]") == s.period.month64
    bereaved = np.zeros(p.households, dtype=np.bool_)
    bereaved[p.person_household[who[died_in_period]]] = True
    amount_ = np.zeros(p.households, dtype=np.int64)
    unset = np.zeros(p.households, dtype=np.bool_)
    which = np.flatnonzero(bereaved)
    if len(which):
        districts = p.household_district[which]
        found = s.money_by_region(
            "covid.bereavement_assistance", districts, households=bereaved, required=False
        )
        amount_[which], unset[which] = found
        for district in np.unique(districts[found.null]):
            s.warn(
                f"covid.bereavement_assistance.{district:06d}",
                f"district {district:06d} has set no bereavement assistance (具体救助标准由各区县自行确定): "
                "the amount is null and staff decide it",
            )
    return Nullable(amount_, unset)
