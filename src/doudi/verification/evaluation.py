"""Re-evaluating recipient households with verified figures: POLICY R1 through `doudi.policy`.

The rules are the policy engine's; this module only turns the re-check's arrays into a
`doudi.policy.population.Population`, runs the dibao rules once per distinct emergency window (each
district may have its own, see regions.selectors.policy_window_for), and maps the R1 decision to the
change the benefits stage must act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from doudi.policy.engine import Simulation
from doudi.policy.money import FEN_PER_YUAN
from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.policy.population import Population
from doudi.policy.rules.dibao import DECISIONS

Interval = tuple[date, date | None]

# Codes of `Change` (models.Change), as stored.
NONE, RAISE, REDUCE, EXIT = "none", "raise", "reduce", "exit"
_DECISION = {name: code for code, name in enumerate(DECISIONS)}


@dataclass
class DibaoOutcome:
    """Per household: R1's decision name, the amount it pays, the verified computed amount (fen),
    whether the month is in the window, the change and whether it is deferred by the window."""

    decision: np.ndarray  # object array of decision names
    amount_fen: np.ndarray
    computed_fen: np.ndarray
    in_window: np.ndarray
    change: np.ndarray  # object array of NONE/RAISE/REDUCE/EXIT
    deferred: np.ndarray


def window_overrides(window: Interval | None) -> dict[str, object]:
    if window is None:
        return {}  # the shipped default (POLICY.md: 2020-01-24, open)
    start, end = window
    return {
        "emergency.window.start": start.isoformat(),
        "emergency.window.end": end.isoformat() if end else None,
    }


def evaluate_dibao(
    population: Population,
    period: Period,
    params: ParameterSet,
    windows: dict[int, Interval | None],
) -> DibaoOutcome:
    """R1 for every household of `population` (all enrolled), each under its district's window.

    A household whose unit is empty (every member has died, or all are 特困) has no R1 decision
    (`not_applicable`); for an enrolled household that is an exit, and like any exit it is deferred
    while the window is open (一(一)b), so it is mapped to `exit_deferred` in the window and `exit`
    outside it.
    """
    n = population.households
    decision = np.zeros(n, dtype=np.int8)
    amount = np.zeros(n, dtype=np.int64)
    computed = np.zeros(n, dtype=np.int64)
    in_window = np.zeros(n, dtype=np.bool_)
    district = population.household_district
    groups: dict[Interval | None, list[int]] = {}
    for code, window in windows.items():
        groups.setdefault(window, []).append(code)
    covered = np.zeros(n, dtype=np.bool_)
    for window, codes in groups.items():
        rows = np.isin(district, np.array(codes, dtype=np.int64))
        covered |= rows
        _simulate_into(
            population,
            period,
            params.with_overrides(window_overrides(window)),
            rows,
            decision,
            amount,
            computed,
            in_window,
        )
    if not covered.all():  # districts without a declared window: the parameter default
        _simulate_into(population, period, params, ~covered, decision, amount, computed, in_window)

    last = population.household_last_amount_fen
    empty = decision == _DECISION["not_applicable"]
    decision = np.where(empty & in_window, _DECISION["exit_deferred"], decision)
    decision = np.where(empty & ~in_window, _DECISION["exit"], decision)
    amount = np.where(empty & in_window, last, np.where(empty, 0, amount))
    names = np.array(DECISIONS, dtype=object)[decision]

    deferred = (names == "hold") | (names == "exit_deferred")
    change = np.full(n, NONE, dtype=object)
    change[amount > last] = RAISE
    change[(amount < last) | (names == "hold")] = REDUCE
    change[(names == "exit") | (names == "exit_deferred")] = EXIT
    return DibaoOutcome(names, amount, computed, in_window, change, deferred)


def _simulate_into(population, period, params, rows, decision, amount, computed, in_window) -> None:
    if not rows.any():
        return
    s = Simulation(population, period, params)
    decision[rows] = s["dibao.decision"][rows]
    amount[rows] = s["dibao.amount"][rows]
    computed[rows] = s["dibao.computed_amount"][rows]
    in_window[rows] = bool(s["emergency.in_window"])


def yuan(fen: np.ndarray) -> np.ndarray:
    """Whole yuan of amounts R1 already rounded to the yuan."""
    return fen // FEN_PER_YUAN
