"""The household total: every non-null amount of R1–R6."""

from doudi.policy.engine import Simulation, as_yuan, rule
from doudi.policy.money import Fen


@rule("total", fmt=as_yuan)
def total(s: Simulation) -> Fen:
    """The sum of every non-null amount of the household and its members."""
    per_person = s["tekun.amount"] + s["child_allowance.amount"]
    per_person += s["price_subsidy.amount"]
    per_person += s["covid_assistance.amount"]
    return s["dibao.amount"] + s.population.sum_by_household(per_person) + s["bereavement.amount"]
