"""R1 — 最低生活保障 (dibao), clause 一(一): the unit, the income and asset tests, the decision."""

from fractions import Fraction

import numpy as np
import numpy.typing as npt

from doudi.policy.arithmetic import (
    CQ_DIBAO_REGULATION,
    SOCIAL_ASSISTANCE_MEASURES,
    Article,
    data,
    formula,
    param,
    value,
)
from doudi.policy.engine import (
    Mask,
    Nullable,
    Simulation,
    as_bool,
    as_exact_yuan,
    as_yuan,
    choice,
    rule,
)
from doudi.policy.money import Fen, divide_half_up, round_half_up_to_yuan, scale_half_up
from doudi.policy.population import Category, Work

DECISIONS = (
    "not_applicable",
    "include",
    "not_eligible",
    "continue",
    "raise",
    "hold",
    "exit_deferred",
    "exit",
)
NOT_APPLICABLE, INCLUDE, NOT_ELIGIBLE, CONTINUE, RAISE, HOLD, EXIT_DEFERRED, EXIT = range(len(DECISIONS))
RECIPIENT = np.isin(np.arange(len(DECISIONS)), [INCLUDE, CONTINUE, RAISE, HOLD, EXIT_DEFERRED])
PAYS_COMPUTED = np.isin(np.arange(len(DECISIONS)), [INCLUDE, CONTINUE, RAISE])
PAYS_LAST = np.isin(np.arange(len(DECISIONS)), [HOLD, EXIT_DEFERRED])
CLAUSE = "一(一)"
# Beside the notice's clause, the standing law each step applies (notice/REQUIREMENTS.md): the
# Chongqing dibao regulation's articles on the standard (9), who counts (11), income (12) and assets
# (13), payment (22) and changes (28); the top-up is the national measures' (article not cited here).
STANDARD_ART = (Article(CQ_DIBAO_REGULATION, 9),)
MEMBERS_ART = (Article(CQ_DIBAO_REGULATION, 11),)
INCOME_ART = (Article(CQ_DIBAO_REGULATION, 12),)
ASSETS_ART = (Article(CQ_DIBAO_REGULATION, 13),)
TOP_UP_ART = (Article(SOCIAL_ASSISTANCE_MEASURES), Article(CQ_DIBAO_REGULATION, 9))
DECISION_ART = (Article(CQ_DIBAO_REGULATION, 28),)
PAYMENT_ART = (Article(CQ_DIBAO_REGULATION, 22),)


@rule("dibao.unit_member", entity="person", clause=CLAUSE, fmt=as_bool)
def unit_member(s: Simulation) -> Mask:
    """The dibao unit: the members who are not 特困 (tekun)."""
    return ~s.population.has_category(Category.TEKUN)


@rule("dibao.standard", clause=CLAUSE, explain="always", fmt=as_yuan, articles=STANDARD_ART)
def standard(s: Simulation) -> Fen:
    """低保标准 of the household's area type."""
    urban = s.population.household_urban
    urban_standard = s.param("dibao.standard.urban", households=urban).fen
    rural_standard = s.param("dibao.standard.rural", households=~urban).fen
    return np.where(urban, urban_standard, rural_standard)


@rule("dibao.size", clause=CLAUSE, explain="always", articles=MEMBERS_ART)
def size(s: Simulation) -> npt.NDArray[np.int64]:
    p = s.population
    return p.household_size - p.count_by_household(~s["dibao.unit_member"])


@rule("dibao.work_cost_deduction", clause=CLAUSE, explain="always", fmt=as_exact_yuan)
def work_cost_deduction(s: Simulation) -> Fen:
    """务工成本扣减: enrolled members who go out to or return to work keep part of their wage."""
    p = s.population
    going_to_work = (p.person_work == Work.MIGRANT) | (p.person_work == Work.RETURNED)
    applies = going_to_work & s["dibao.unit_member"] & p.of_person(p.household_enrolled)
    # read whether or not anyone applies: an explanation must not depend on the rest of the batch
    standard_ = s["dibao.standard"]
    deduction = np.zeros(p.households, dtype=np.int64)
    workers = np.flatnonzero(applies)
    rate = s.param("dibao.work_cost_deduction.rate", persons=applies).ratio if len(workers) else Fraction(0)
    if rate:
        cap_ratio = s.param("dibao.work_cost_deduction.cap_ratio", persons=applies).ratio
        households = p.person_household[workers]
        per_worker = np.minimum(
            scale_half_up(p.person_wage_fen[workers], rate), scale_half_up(standard_[households], cap_ratio)
        )
        np.add.at(deduction, households, per_worker)
    return deduction


@rule("dibao.unit_income", clause=CLAUSE, fmt=as_exact_yuan)
def unit_income(s: Simulation) -> Fen:
    """Counted income of the unit's members (exempt income is not counted)."""
    p = s.population
    counted = p.sum_by_household(p.person_counted_income_fen)
    outside = np.flatnonzero(~s["dibao.unit_member"])  # tekun members: few
    np.subtract.at(counted, p.person_household[outside], p.person_counted_income_fen[outside])
    return counted


@rule(
    "dibao.counted_income",
    clause=CLAUSE,
    explain="always",
    fmt=as_exact_yuan,
    formula=formula(value("dibao.unit_income") - value("dibao.work_cost_deduction")),
    articles=INCOME_ART,
)
def counted_income(s: Simulation) -> Fen:
    """The unit's counted income less the work-cost deductions."""
    return s["dibao.unit_income"] - s["dibao.work_cost_deduction"]


@rule(
    "dibao.per_capita_income",
    clause=CLAUSE,
    explain="always",
    fmt=as_exact_yuan,
    formula=formula(value("dibao.counted_income") / value("dibao.size")),
    articles=INCOME_ART,
)
def per_capita_income(s: Simulation) -> Nullable:
    """Reported rounded half up to the fen; the tests compare exact values. Null without a unit."""
    size_ = s["dibao.size"]
    has_unit = size_ > 0
    per_capita = divide_half_up(s["dibao.counted_income"], np.maximum(size_, 1))
    return Nullable(np.where(has_unit, per_capita, 0), ~has_unit)


@rule(
    "dibao.income_test",
    clause=CLAUSE,
    explain="always",
    fmt=as_bool,
    formula=formula(value("dibao.counted_income") < value("dibao.standard") * value("dibao.size")),
    articles=INCOME_ART,
)
def income_test(s: Simulation) -> Mask:
    return s["dibao.counted_income"] < s["dibao.standard"] * s["dibao.size"]


@rule(
    "dibao.asset_test",
    clause=CLAUSE,
    explain="always",
    fmt=as_bool,
    formula=formula(
        data("assets.deposits")
        <= param("dibao.assets.deposit_limit_months") * value("dibao.standard") * value("dibao.size"),
        data("assets.vehicles") <= param("dibao.assets.max_vehicles"),
        data("assets.houses") <= param("dibao.assets.max_houses"),
    ),
    articles=ASSETS_ART,
)
def asset_test(s: Simulation) -> Mask:
    p = s.population
    months = s.param("dibao.assets.deposit_limit_months").count
    max_vehicles = s.param("dibao.assets.max_vehicles").count
    max_houses = s.param("dibao.assets.max_houses").count
    deposit_limit = s["dibao.standard"] * s["dibao.size"] * months
    return (
        (p.household_deposits_fen <= deposit_limit)
        & (p.household_vehicles <= max_vehicles)
        & (p.household_houses <= max_houses)
    )


@rule("dibao.eligible", clause=CLAUSE, explain="always", fmt=as_bool, articles=INCOME_ART + ASSETS_ART)
def eligible(s: Simulation) -> Mask:
    return s["dibao.income_test"] & s["dibao.asset_test"]


@rule(
    "dibao.computed_amount",
    clause=CLAUSE,
    explain="always",
    fmt=as_yuan,
    formula=formula(
        value("dibao.standard") * value("dibao.size") - value("dibao.counted_income"), when="dibao.eligible"
    ),
    articles=TOP_UP_ART,
)
def computed_amount(s: Simulation) -> Fen:
    """低保补差: the gap between the standard and the counted income, paid only if eligible."""
    gap = s["dibao.standard"] * s["dibao.size"] - s["dibao.counted_income"]
    return np.where(s["dibao.eligible"], round_half_up_to_yuan(gap), 0)


@rule("dibao.decision", clause=CLAUSE, explain="always", fmt=choice(DECISIONS), articles=DECISION_ART)
def decision(s: Simulation) -> npt.NDArray[np.int8]:
    """The decision table of R1."""
    p = s.population
    eligible_, computed = s["dibao.eligible"], s["dibao.computed_amount"]
    last = p.household_last_amount_fen
    if s["emergency.in_window"]:
        # 一(一): exits are suspended and no top-up is reduced while the emergency lasts
        enrolled = np.select(
            [~eligible_, computed > last, computed < last], [EXIT_DEFERRED, RAISE, HOLD], CONTINUE
        )
    else:
        enrolled = np.where(eligible_, CONTINUE, EXIT)
    decided = np.where(p.household_enrolled, enrolled, np.where(eligible_, INCLUDE, NOT_ELIGIBLE))
    return np.where(s["dibao.size"] > 0, decided, NOT_APPLICABLE).astype(np.int8)


@rule("dibao.amount", clause=CLAUSE, explain="always", fmt=as_yuan, articles=PAYMENT_ART)
def amount(s: Simulation) -> Fen:
    decided = s["dibao.decision"]
    computed, last = s["dibao.computed_amount"], s.population.household_last_amount_fen
    return np.where(PAYS_COMPUTED[decided], computed, np.where(PAYS_LAST[decided], last, 0))


@rule("dibao.recipient", clause=CLAUSE, fmt=as_bool)
def recipient(s: Simulation) -> Mask:
    return RECIPIENT[s["dibao.decision"]]


@rule("dibao.recipient_member", entity="person", clause=CLAUSE, fmt=as_bool)
def recipient_member(s: Simulation) -> Mask:
    return s.population.of_person(s["dibao.recipient"]) & s["dibao.unit_member"]
