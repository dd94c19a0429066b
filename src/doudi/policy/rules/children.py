"""R3 — 孤儿、事实无人抚养儿童基本生活保障 (child allowance), clause 一(四), with the age-out deferral."""

import numpy as np
import numpy.typing as npt

from doudi.policy.engine import Mask, Simulation, as_bool, as_yuan, choice, rule
from doudi.policy.money import Fen
from doudi.policy.population import Category

KINDS = (None, "institutional", "scattered")
NO_KIND, INSTITUTIONAL, SCATTERED = range(len(KINDS))
CLAUSE = "一(四)"


@rule("child_allowance.child", entity="person", clause=CLAUSE, fmt=as_bool)
def child(s: Simulation) -> Mask:
    p = s.population
    return p.has_category(Category.ORPHAN) | p.has_category(Category.DE_FACTO_UNSUPPORTED_CHILD)


@rule("child_allowance.last_regular_month", entity="person", clause=CLAUSE)
def last_regular_month(s: Simulation) -> npt.NDArray[np.datetime64]:
    """The month of the 18th birthday: the allowance normally runs up to and including it (NaT if no child)."""
    child_ = s["child_allowance.child"]
    adult_age = s.param("children.adult_age", persons=child_).count
    months = np.full(s.population.persons, np.datetime64("NaT", "M"))
    who = np.flatnonzero(child_)  # few: converting days to months is costly over everyone
    months[who] = s.population.person_birth_date[who].astype("datetime64[M]") + 12 * adult_age
    return months


@rule("child_allowance.age_out_deferred", entity="person", clause=CLAUSE, fmt=as_bool)
def age_out_deferred(s: Simulation) -> Mask:
    """一(四): a child who came of age in the emergency leaves the month after the window ends."""
    last_regular = s["child_allowance.last_regular_month"]
    month = s.period.month64
    aged_out = s["child_allowance.child"] & (last_regular < month)
    window = s.window()
    deferred = aged_out & window.contains_months(last_regular + 1)
    if window.end is not None:
        deferred &= month <= np.datetime64(window.end, "M")
    return deferred


@rule("child_allowance.entitlement", entity="person", clause=CLAUSE, fmt=choice(KINDS))
def entitlement(s: Simulation) -> npt.NDArray[np.int8]:
    """Which allowance is due this month: institutional only for an orphan in institutional care (集中养育)."""
    p = s.population
    born = p.person_birth_date <= np.datetime64(s.period.last_day)
    of_age = s["child_allowance.last_regular_month"] >= s.period.month64
    due = s["child_allowance.child"] & born & (of_age | s["child_allowance.age_out_deferred"])
    institutional = p.has_category(Category.ORPHAN) & p.person_orphan_institutional
    return np.where(due, np.where(institutional, INSTITUTIONAL, SCATTERED), NO_KIND).astype(np.int8)


@rule("child_allowance.amount", entity="person", clause=CLAUSE, explain="nonzero", fmt=as_yuan)
def amount(s: Simulation) -> Fen:
    due = s["child_allowance.entitlement"]
    institutional, scattered = due == INSTITUTIONAL, due == SCATTERED
    return np.select(
        [institutional, scattered],
        [
            s.param("children.allowance.institutional", persons=institutional).fen,
            s.param("children.allowance.scattered", persons=scattered).fen,
        ],
        0,
    )


@rule("child_allowance.kind", entity="person", clause=CLAUSE, fmt=choice(KINDS))
def kind(s: Simulation) -> npt.NDArray[np.int8]:
    """The allowance's kind, reported only when its amount is not 0."""
    return np.where(s["child_allowance.amount"] != 0, s["child_allowance.entitlement"], NO_KIND).astype(
        np.int8
    )
