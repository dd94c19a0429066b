"""R2 — 特困人员基本生活标准 (tekun basic living), a multiple of the urban dibao standard."""

import numpy as np

from doudi.policy.arithmetic import formula, param
from doudi.policy.engine import Simulation, as_yuan, rule
from doudi.policy.money import Fen, round_half_up
from doudi.policy.population import Category


@rule(
    "tekun.amount",
    entity="person",
    clause="tekun",
    explain="nonzero",
    fmt=as_yuan,
    formula=formula(param("dibao.standard.urban") * param("tekun.basic_living_ratio")),
)
def amount(s: Simulation) -> Fen:
    tekun = s.population.has_category(Category.TEKUN)
    urban_standard = s.param("dibao.standard.urban", persons=tekun).fen
    ratio = s.param("tekun.basic_living_ratio", persons=tekun).ratio
    return np.where(tekun, round_half_up(urban_standard * ratio, 100), 0)
