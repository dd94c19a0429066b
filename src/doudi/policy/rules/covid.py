"""R5 — 新冠肺炎确诊患者临时救助 (COVID temporary assistance) and R6 — 病亡人员家庭救助, clause 一(五)."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doudi.policy.arithmetic import formula, param, value
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
    period = s.period.month64
    who = np.flatnonzero(
        s["covid_assistance.covered"] & (p.person_covid_confirmed_on <= np.datetime64(s.period.last_day))
    )
    if not len(who):
        return Episode(amount, months, total)
    confirmed = p.person_covid_confirmed_on[who]
    discharged, died = p.person_covid_discharged_on[who], p.person_covid_died_on[who]
    end = np.where(np.isnat(discharged) | (died < discharged), died, discharged)
    first_month = confirmed.astype("datetime64[M]")
    last_k = (period - first_month).astype(np.int64)  # month k starts in the period
    counted = np.zeros(len(who), dtype=np.int64)
    for k in range(int(last_k.max()) + 1):
        counts = (k <= last_k) & ((k == 0) | np.isnat(end) | (add_months_array(confirmed, k) < end))
        if not counts.any():
            break  # each later month starts later still
        counted += counts
    # the counted months are the calendar months first_month … last_month, one each
    last_month = first_month + (counted - 1)
    urban = p.household_urban[p.person_household[who]]
    paid, counted_total = np.zeros(len(who), dtype=np.int64), np.zeros(len(who), dtype=np.int64)
    for start, stop in _stretches(s, first_month.min(), period):
        overlap = (np.minimum(last_month, stop) - np.maximum(first_month, start)).astype(np.int64) + 1
        monthly = _monthly_amount(s, start, who, urban, served=overlap > 0)
        counted_total += np.maximum(overlap, 0) * monthly
        if start <= period <= stop:
            paid = np.where(last_month == period, monthly, 0)
    amount[who], months[who], total[who] = paid, counted, counted_total
    return Episode(amount, months, total)


_MONTHLY_PARAMETERS = ("covid.assistance_multiple", "dibao.standard.urban", "dibao.standard.rural")


def _stretches(
    s: Simulation, first: np.datetime64, last: np.datetime64
) -> list[tuple[np.datetime64, np.datetime64]]:
    """The months ``first … last`` cut where the multiple or a standard changes (rarely: one stretch)."""
    stretches: list[tuple[np.datetime64, np.datetime64]] = []
    previous = None
    for month in np.arange(first, last + 1):
        on = Period.parse(str(month)).first_day
        values = tuple(s.params.value_at(name, on) for name in _MONTHLY_PARAMETERS)
        if values == previous:
            stretches[-1] = (stretches[-1][0], month)
        else:
            stretches.append((month, month))
        previous = values
    return stretches


def _monthly_amount(
    s: Simulation, start: np.datetime64, who: npt.NDArray[np.intp], urban: Mask, served: Mask
) -> Fen:
    """2 × the household's standard in a stretch beginning ``start``, read for the persons it serves."""
    on = Period.parse(str(start)).first_day
    scope = {area: np.zeros(s.population.persons, dtype=np.bool_) for area in ("urban", "rural")}
    scope["urban"][who[served & urban]] = True
    scope["rural"][who[served & ~urban]] = True
    multiple = s.param("covid.assistance_multiple", on=on, persons=scope["urban"] | scope["rural"]).ratio
    amounts = {
        area: round_half_up(multiple * s.param(f"dibao.standard.{area}", on=on, persons=scope[area]).fen, 100)
        for area in ("urban", "rural")
    }
    return np.where(urban, amounts["urban"], amounts["rural"])


@rule(
    "covid_assistance.amount",
    entity="person",
    clause=CLAUSE,
    explain="nonzero",
    fmt=as_yuan,
    formula=formula(param("covid.assistance_multiple") * value("dibao.standard")),
)
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
