"""R1 — 最低生活保障 (dibao), clause 一(一): the unit, the income and asset tests, the decision."""

import calendar
from datetime import date
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
from doudi.policy.population import Category, Separate, Standing, Work

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

# 条例第11条: whether a member counts in the household, and why. The first two count.
MEMBERSHIP = (
    "member",  # a household member living with it
    "assessed_alone",  # an adult with severe disability or bedridden illness, assessed as a household alone
    "tekun",  # 特困人员: supported by their own scheme (POLICY R1's dibao unit)
    "serving_conscript_unmarried",  # 服义务兵役的未婚人员
    "clergy_living_apart",  # 宗教教职人员, living apart for more than a year
    "prisoner",  # 服刑人员
    "separate_household",  # assessed as a separate household, so not counted in this one
)
MEMBER, ASSESSED_ALONE, TEKUN, CONSCRIPT, CLERGY, PRISONER, SEPARATE = range(len(MEMBERSHIP))
COUNTED = np.isin(np.arange(len(MEMBERSHIP)), [MEMBER, ASSESSED_ALONE])


@rule(
    "dibao.membership",
    entity="person",
    clause=CLAUSE,
    explain="always",
    fmt=choice(MEMBERSHIP),
    articles=MEMBERS_ART,
)
def membership(s: Simulation) -> npt.NDArray[np.int8]:
    """条例第11条: who counts. Not counted: 特困 members, unmarried serving conscripts, clergy living apart
    for more than a year (on the period's first day), prisoners; a member assessed as a separate
    household counts only in a household of their own (alone), not in the household they left."""
    p = s.population
    code = np.where(p.has_category(Category.TEKUN), TEKUN, MEMBER).astype(np.int8)
    special = np.flatnonzero(p.person_standing | p.person_separate)  # PRESENT and NONE are 0
    if len(special):  # few rows: the rest are plain members
        on = s.on
        a_year_before = np.datetime64(date(on.year - 1, on.month, on.day), "D")  # `on` is a 1st
        standing = p.person_standing[special]
        alone = p.household_size[p.person_household[special]] == 1
        rule_code = np.select(
            [
                standing == Standing.PRISONER,
                (standing == Standing.SERVING_CONSCRIPT) & ~p.person_married[special],
                (standing == Standing.CLERGY) & (p.person_apart_since[special] < a_year_before),
                (p.person_separate[special] != Separate.NONE) & alone,
                p.person_separate[special] != Separate.NONE,
            ],
            [PRISONER, CONSCRIPT, CLERGY, ASSESSED_ALONE, SEPARATE],
            MEMBER,
        )
        code[special] = np.where(code[special] == TEKUN, TEKUN, rule_code)
    return code


@rule("dibao.unit_member", entity="person", clause=CLAUSE, fmt=as_bool)
def unit_member(s: Simulation) -> Mask:
    """The dibao unit: the members who count (条例第11条) and are not 特困 (tekun)."""
    return s["dibao.membership"] <= ASSESSED_ALONE  # MEMBER and ASSESSED_ALONE count


INCOME_PERIODS = ("month_before_application", "farming_12_months")


def _income_period_json(code: object) -> dict[str, object]:
    """``{"kind", "from", "to", "months"}`` of an encoded income period (start month × 100 + months)."""
    start, months = divmod(int(code), 100)  # type: ignore[call-overload]
    first_year, first_month = divmod(start, 12)
    last_year, last_month = divmod(start + months - 1, 12)
    last_day = calendar.monthrange(1970 + last_year, last_month + 1)[1]
    return {
        "kind": INCOME_PERIODS[months == 12],
        "from": date(1970 + first_year, first_month + 1, 1).isoformat(),
        "to": date(1970 + last_year, last_month + 1, last_day).isoformat(),
        "months": months,
    }


@rule("dibao.income_period", clause=CLAUSE, explain="always", fmt=_income_period_json, articles=INCOME_ART)
def income_period(s: Simulation) -> npt.NDArray[np.int64]:
    """条例第12条: the income is the month before the application (the period's first day when no date is
    given); a farming household's, the 12 months before it. Coded as start month (since 1970-01) × 100
    + months."""
    p = s.population
    period_month = np.datetime64(s.on, "M").astype(np.int64)
    applied = p.household_application_date
    given = ~np.isnat(applied)
    if not given.any() and not p.household_farming.any():  # the batch's usual case: one value
        return np.full(p.households, (period_month - 1) * 100 + 1, dtype=np.int64)
    month = np.where(given, applied.astype("datetime64[M]").astype(np.int64), period_month)
    months = p.household_income_months
    return (month - months) * 100 + months


@rule(
    "dibao.farming_income",
    clause=CLAUSE,
    explain="nonzero",
    fmt=as_exact_yuan,
    formula=formula(data("farming.net_income") / data("income_period.months"), when="dibao.farming"),
    articles=INCOME_ART,
)
def farming_income(s: Simulation) -> Fen:
    """条例第12条: a farming household's monthly income — the 12 months' cash and in-kind income less
    direct costs (never below 0), ÷ 12, half up to the fen."""
    p = s.population
    farming_ = np.flatnonzero(p.household_farming)  # few
    monthly = np.zeros(p.households, dtype=np.int64)
    monthly[farming_] = divide_half_up(
        p.household_farming_net_fen[farming_], p.household_income_months[farming_]
    )
    return monthly


@rule("dibao.farming", clause=CLAUSE, fmt=as_bool)
def farming(s: Simulation) -> Mask:
    return s.population.household_farming


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
    """Counted income of the unit's members (exempt income is not counted), and a farming household's
    monthly farming income (条例第12条)."""
    p = s.population
    counted = p.sum_by_household(p.person_counted_income_fen) + s["dibao.farming_income"]
    outside = np.flatnonzero(~s["dibao.unit_member"])  # tekun and uncounted members: few
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
        data("assets.deposits") + data("assets.securities") + data("assets.claims")
        <= param("dibao.assets.deposit_limit_months") * value("dibao.standard") * value("dibao.size"),
        data("assets.vehicles") <= param("dibao.assets.max_vehicles"),
        data("assets.boats") <= param("dibao.assets.max_boats"),
        data("assets.houses") <= param("dibao.assets.max_houses"),
    ),
    articles=ASSETS_ART,
)
def asset_test(s: Simulation) -> Mask:
    """条例第13条, item by item: money assets (deposits, securities, claims) within the limit; vehicles
    (disability vehicles excepted — they are not in ``vehicles``), boats and houses within their counts."""
    p = s.population
    months = s.param("dibao.assets.deposit_limit_months").count
    max_vehicles = s.param("dibao.assets.max_vehicles").count
    max_boats = s.param("dibao.assets.max_boats").count
    max_houses = s.param("dibao.assets.max_houses").count
    deposit_limit = s["dibao.standard"] * s["dibao.size"] * months
    return (
        (p.household_financial_assets_fen <= deposit_limit)
        & (p.household_vehicles <= max_vehicles)
        & (p.household_boats <= max_boats)
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
