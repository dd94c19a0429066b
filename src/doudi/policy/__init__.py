"""doudi.policy — the policy engine (政策引擎): dated parameters, vectorised rules, explanations.

Pure Python and numpy; no Django. The Django apps turn rows into a :class:`Population` (or a §4
request) and call the engine; the same rule code serves one household and a million.

- :func:`load_defaults`, :class:`ParameterSet` (``overlay`` stored values, ``with_overrides``)
- :func:`evaluate` a :class:`Population` for a :class:`Period` → :class:`Result` (columns + ``explain``)
- :func:`doudi.policy.contract.evaluate_request` — the JSON contract of POLICY.md §4
- :mod:`doudi.policy.batch` — Parquet in and out, per-district totals, what-if simulation
- :func:`doudi.policy.cli.main` — ``doudi evaluate FILE|-``
"""

from doudi.policy import rules  # registers the rules with the engine
from doudi.policy.engine import Result, evaluate
from doudi.policy.parameters import (
    ParameterError,
    ParameterMissing,
    ParameterSet,
    ParameterValue,
    StoredValue,
    load_defaults,
)
from doudi.policy.periods import Period, Window, add_months
from doudi.policy.population import Category, Population, Work

__all__ = [
    "Category",
    "ParameterError",
    "ParameterMissing",
    "ParameterSet",
    "ParameterValue",
    "Period",
    "Population",
    "Result",
    "StoredValue",
    "Window",
    "Work",
    "add_months",
    "evaluate",
    "load_defaults",
    "rules",
]
