"""Re-evaluating recipient households with verified figures: POLICY R1 through `doudi.policy`.

The rules are the policy engine's; this module only runs the dibao rules once per distinct
emergency window (each district may have its own, see regions.selectors.policy_window_for) and maps
R1's decision to the change the benefits stage must act on. Decisions and changes stay integer codes
(positions in DECISIONS and CHANGES) until the few changed households are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from doudi.policy.engine import Simulation
from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.policy.population import Population
from doudi.policy.rules.dibao import DECISIONS

Interval = tuple[date, date | None]

CHANGES = ("none", "raise", "reduce", "exit")  # models.Change values
NONE, RAISE, REDUCE, EXIT = range(len(CHANGES))
_D = {name: code for code, name in enumerate(DECISIONS)}
# Decisions that keep paying the last amount because the window holds back a reduction or an exit.
DEFERRED = np.isin(np.arange(len(DECISIONS)), [_D["hold"], _D["exit_deferred"]])


@dataclass
class DibaoOutcome:
    """Per household: R1's decision (code), the amount it pays and the verified computed amount (fen),
    whether the month is in the window, and the change (code) the amount means against the last one."""

    decision: np.ndarray
    amount_fen: np.ndarray
    computed_fen: np.ndarray
    in_window: np.ndarray
    change: np.ndarray


def window_json(window: Interval | None) -> list | None:
    """[start, end or None] for records and reports; None when the parameter default applies."""
    if window is None:
        return None
    return [window[0].isoformat(), window[1].isoformat() if window[1] else None]


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
    groups: dict[Interval | None, list[int]] = {}
    for code, window in windows.items():
        groups.setdefault(window, []).append(code)
    covered = np.zeros(n, dtype=np.bool_)
    for window, codes in groups.items():
        rows = np.isin(population.household_district, np.array(codes, dtype=np.int64))
        covered |= rows
        overridden = params.with_overrides(window_overrides(window))
        _simulate_into(population, period, overridden, rows, decision, amount, computed, in_window)
    if not covered.all():  # districts without a declared window: the parameter default
        _simulate_into(population, period, params, ~covered, decision, amount, computed, in_window)

    last = population.household_last_amount_fen
    empty = decision == _D["not_applicable"]
    decision[empty] = np.where(in_window[empty], _D["exit_deferred"], _D["exit"])
    amount[empty] = np.where(in_window[empty], last[empty], 0)

    change = np.full(n, NONE, dtype=np.int8)
    change[amount > last] = RAISE
    change[(amount < last) | (decision == _D["hold"])] = REDUCE
    change[(decision == _D["exit"]) | (decision == _D["exit_deferred"])] = EXIT
    return DibaoOutcome(decision, amount, computed, in_window, change)


def _simulate_into(population, period, params, rows, decision, amount, computed, in_window) -> None:
    if not rows.any():
        return
    s = Simulation(population, period, params)
    decision[rows] = s["dibao.decision"][rows]
    amount[rows] = s["dibao.amount"][rows]
    computed[rows] = s["dibao.computed_amount"][rows]
    in_window[rows] = bool(s["emergency.in_window"])
