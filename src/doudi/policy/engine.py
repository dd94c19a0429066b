"""The rules engine: rules registered by name, computed lazily over a :class:`Population`.

A rule is one small vectorised function of a :class:`Simulation`. It reads other rules with
``s["dibao.eligible"]`` and parameters with ``s.param(...)``; the simulation records both, so the
explanation of any value — every step, its clause and every parameter that produced it — is a
by-product of computing it, never a second implementation. Recording costs nothing per row: a read
keeps a reference to the mask of rows it served (its *scope*), evaluated only when explaining.

One rule of writing rules keeps a household's explanation the same alone or in a batch of a million:
read other rules unconditionally (a dependency is recorded for the rule, not per row), and give every
parameter read that does not serve all rows its scope (``households=`` or ``persons=``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from doudi.policy.arithmetic import Article, Formula, Operand, explain_line
from doudi.policy.money import FEN_PER_YUAN, exact_yuan_json, yuan_json
from doudi.policy.parameters import ParameterError, ParameterMissing, ParameterSet, ParameterValue
from doudi.policy.periods import Period, Window
from doudi.policy.population import Population

Entity = Literal["period", "household", "person"]
Explain = Literal["always", "nonzero", "never"]
Mask = npt.NDArray[np.bool_]

# Household data a formula may show, by its §4 name: (the population column, whether it is fen).
DATA = {
    "assets.deposits": ("household_deposits_fen", True),
    "assets.vehicles": ("household_vehicles", False),
    "assets.houses": ("household_houses", False),
    "assets.securities": ("household_securities_fen", True),
    "assets.claims": ("household_claims_fen", True),
    "assets.boats": ("household_boats", False),
    "farming.net_income": ("household_farming_net_fen", True),
    "income_period.months": ("household_income_months", False),
}


class Nullable(NamedTuple):
    """A rule value with rows that have no value (``null``); ``values`` holds 0 there."""

    values: npt.NDArray[Any]
    null: Mask


# --- formatting values for the explanation and the contract -----------------------------------------


def as_yuan(value: Any) -> int | float:
    return yuan_json(int(value))


def as_exact_yuan(value: Any) -> float:
    return exact_yuan_json(int(value))


def as_int(value: Any) -> int:
    return int(value)


def as_bool(value: Any) -> bool:
    return bool(value)


def choice(labels: tuple[str | None, ...]) -> Callable[[Any], str | None]:
    """Format an integer code as its label."""
    return lambda code: labels[int(code)]


# --- the rule registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    clause: str | None
    entity: Entity
    explain: Explain
    fmt: Callable[[Any], Any]
    func: Callable[[Simulation], Any]
    formula: Formula | None = None
    articles: tuple[Article, ...] = ()

    @property
    def money(self) -> bool:
        """Whether the values are fen (shown in yuan)."""
        return self.fmt in (as_yuan, as_exact_yuan)


RULES: dict[str, Rule] = {}


def rule(
    name: str,
    *,
    clause: str | None = None,
    entity: Entity = "household",
    explain: Explain = "never",
    fmt: Callable[[Any], Any] = as_int,
    formula: Formula | None = None,
    articles: tuple[Article, ...] = (),
) -> Callable[[Callable[[Simulation], Any]], Callable[[Simulation], Any]]:
    """Register a rule computing ``name``.

    ``explain`` says when the value is a step of a household's explanation: ``always``, ``nonzero``
    (an amount: when not 0, or null) or ``never`` (an intermediate value; its parameters still show
    in the steps that depend on it). ``fmt`` turns one row's value into JSON. ``formula`` is the
    arithmetic the step shows (``doudi.policy.arithmetic``); ``articles`` the regulation articles
    it applies, cited beside the notice's ``clause``.
    """

    def register(func: Callable[[Simulation], Any]) -> Callable[[Simulation], Any]:
        if name in RULES:
            raise ValueError(f"rule {name} is registered twice")
        RULES[name] = Rule(name, clause, entity, explain, fmt, func, formula, articles)
        return func

    return register


# --- computing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """A parameter a rule read, for the rows in ``scope`` (all when ``None``).

    A region-indexed read keeps no value: each household's is looked up for its district when explained.
    """

    name: str
    on: date
    value: ParameterValue | None
    scope: Mask | None
    scope_entity: Entity
    regional: bool = False


@dataclass
class Trace:
    deps: dict[str, dict[str, None]] = field(default_factory=dict)  # ordered sets
    reads: dict[str, list[Read]] = field(default_factory=dict)


class Simulation:
    """One evaluation of the rules for one period; values are computed on first use and kept."""

    def __init__(self, population: Population, period: Period, params: ParameterSet) -> None:
        self.population = population
        self.period = period
        self.params = params
        self.on = period.first_day
        self.values: dict[str, Any] = {}
        self.nulls: dict[str, Mask] = {}
        self.trace = Trace()
        self.warnings: dict[str, str] = {}
        self._stack: list[str] = []

    def __getitem__(self, name: str) -> Any:
        if self._stack:
            self.trace.deps[self._stack[-1]][name] = None
        if name not in self.values:
            self._compute(name)
        return self.values[name]

    def null(self, name: str) -> Mask | None:
        """Rows of ``name`` without a value, or ``None`` when every row has one."""
        self[name]
        return self.nulls.get(name)

    def _compute(self, name: str) -> None:
        if name in self._stack:
            raise RuntimeError(f"rules depend on each other in a cycle: {' → '.join(self._stack)} → {name}")
        self._stack.append(name)
        self.trace.deps.setdefault(name, {})
        self.trace.reads.setdefault(name, [])
        try:
            value = RULES[name].func(self)
        finally:
            self._stack.pop()
        if isinstance(value, Nullable):
            self.values[name], self.nulls[name] = value
        else:
            self.values[name] = value

    # parameters ------------------------------------------------------------------------------------

    def optional_param(
        self,
        name: str,
        *,
        on: date | None = None,
        households: Mask | None = None,
        persons: Mask | None = None,
    ) -> ParameterValue | None:
        """The value in force on ``on`` (default: the period's first day), recorded for the rows in scope."""
        day = on or self.on
        value = self.params.value_at(name, day)
        self._record(name, day, value, households, persons)
        return value

    def param(
        self,
        name: str,
        *,
        on: date | None = None,
        households: Mask | None = None,
        persons: Mask | None = None,
    ) -> ParameterValue:
        value = self.optional_param(name, on=on, households=households, persons=persons)
        if value is None:
            raise ParameterMissing(name, on or self.on)
        return value

    def money_by_region(
        self,
        name: str,
        districts: npt.NDArray[np.int64],
        *,
        households: Mask | None = None,
        persons: Mask | None = None,
        required: bool = True,
    ) -> Nullable:
        """A region-indexed money parameter in fen for each district code; null where none is set."""
        own, default = self.params.region_values(name, self.on)
        codes = np.array(sorted(int(region) for region in own), dtype=np.int64)
        table = np.array(
            [own[f"{c:06d}"].fen for c in codes] + [default.fen if default else 0], dtype=np.int64
        )
        position = np.searchsorted(codes, districts)
        found = position < len(codes)
        found[found] = codes[position[found]] == districts[found]
        values = table[np.where(found, position, len(codes))]
        null = ~found if default is None else np.zeros(len(districts), dtype=np.bool_)
        self._record(name, self.on, None, households, persons, regional=True)
        if required and null.any():
            raise ParameterMissing(f"{name}.{int(districts[null][0]):06d}", self.on)
        return Nullable(values, null)

    def window(self) -> Window:
        """The emergency window (疫情防控期间) as declared."""
        start = self.param("emergency.window.start").day
        end = self.param("emergency.window.end").day
        if start is None:
            raise ParameterError("emergency.window.start has no date")
        try:
            return Window(start, end)
        except ValueError as error:
            raise ParameterError(str(error)) from None

    def warn(self, parameter: str, message: str) -> None:
        self.warnings.setdefault(parameter, message)

    def _record(
        self,
        name: str,
        on: date,
        value: ParameterValue | None,
        households: Mask | None,
        persons: Mask | None,
        *,
        regional: bool = False,
    ) -> None:
        if self._stack:
            scope, entity = (households, "household") if persons is None else (persons, "person")
            read = Read(name, on, value, scope, entity, regional)  # type: ignore[arg-type]
            self.trace.reads[self._stack[-1]].append(read)


def evaluate(population: Population, period: Period, params: ParameterSet) -> Result:
    """Compute every rule for ``period``; ``evaluate`` serves one household or a million alike."""
    simulation = Simulation(population, period, params)
    for name in RULES:
        simulation[name]
    return Result(simulation)


# --- results and explanations ------------------------------------------------------------------


class Result:
    """Columnar results of an evaluation, plus the explanation of any household on demand."""

    def __init__(self, simulation: Simulation) -> None:
        self.population = simulation.population
        self.period = simulation.period
        self.params = simulation.params
        self.values = simulation.values
        self.nulls = simulation.nulls
        self._trace = simulation.trace
        self.warnings = [{"parameter": p, "message": m} for p, m in simulation.warnings.items()]
        self._closures: dict[str, list[str]] = {}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def null(self, name: str) -> Mask | None:
        return self.nulls.get(name)

    def is_null(self, name: str, row: int) -> bool:
        null = self.nulls.get(name)
        return bool(null is not None and null[row])

    def json_value(self, name: str, row: int | None = None) -> Any:
        """One row's value (or the period value) as JSON; ``None`` where the rule has no value."""
        if row is not None and self.is_null(name, row):
            return None
        value = self.values[name]
        return RULES[name].fmt(value if row is None else value[row])

    def explain(self, household: int) -> list[dict[str, Any]]:
        """The steps that produced household ``household``'s results, in rule order."""
        steps: list[dict[str, Any]] = []
        members = self.population.members(household)
        served = self._served(household)
        for rule_ in RULES.values():
            if rule_.explain == "never":
                continue
            rows = [household] if rule_.entity == "household" else list(members)
            for row in rows:
                if rule_.explain == "nonzero" and not (
                    self.is_null(rule_.name, row) or self.values[rule_.name][row]
                ):
                    continue
                step: dict[str, Any] = {"rule": rule_.name, "clause": rule_.clause}
                if rule_.entity == "person":
                    step["member"] = _json_id(self.population.person_id[row])
                step["value"] = self.json_value(rule_.name, row)
                step["parameters"] = self._parameters(rule_.name, served)
                if rule_.articles:
                    step["articles"] = [article.as_json() for article in rule_.articles]
                arithmetic = self.arithmetic(rule_.name, row)
                if arithmetic:
                    step["arithmetic"] = arithmetic
                steps.append(step)
        return steps

    def arithmetic(self, name: str, row: int) -> list[dict[str, Any]]:
        """The formula of rule ``name`` with row ``row``'s operands (``[]`` when it has none or it
        does not apply to the row, or the value is null)."""
        rule_ = RULES[name]
        formula = rule_.formula
        if formula is None or self.is_null(name, row):
            return []
        if formula.when is not None and not self._operand_row(formula.when, rule_.entity, row)[0]:
            return []
        raw = self.values[name][row]
        shown: Fraction | bool = (
            bool(raw) if isinstance(raw, np.bool_) else Fraction(int(raw), FEN_PER_YUAN if rule_.money else 1)
        )
        resolve = functools.partial(self._operand, rule_.entity, row)
        return [explain_line(line, resolve, shown) for line in formula.lines]

    def _operand_row(self, name: str, entity: Entity, row: int) -> tuple[Any, Rule]:
        """Rule ``name``'s value for the row of a step of ``entity`` (a member's household's value)."""
        operand = RULES[name]
        if operand.entity == "household" and entity == "person":
            row = int(self.population.person_household[row])
        elif operand.entity != entity:
            raise ValueError(f"{name} is not a {entity} value")
        return self.values[name][row], operand

    def _operand(self, entity: Entity, row: int, operand: Operand) -> Fraction:
        if operand.kind == "value":
            raw, source = self._operand_row(operand.name, entity, row)
            return Fraction(int(raw), FEN_PER_YUAN if source.money else 1)
        if operand.kind == "param":
            read = self.params.value_at(operand.name, self.period.first_day)
            if read is None or not isinstance(read.value, int | Decimal):
                raise ParameterMissing(operand.name, self.period.first_day)
            return Fraction(read.value)
        attribute, money = DATA[operand.name]
        household = row if entity == "household" else int(self.population.person_household[row])
        raw = getattr(self.population, attribute)[household]
        return Fraction(int(raw), FEN_PER_YUAN if money else 1)

    def _served(self, household: int) -> dict[int, dict[str, Any]]:
        """The parameter values (as JSON) of every read that served ``household``, by read."""
        served = {}
        for reads in self._trace.reads.values():
            for read in reads:
                if self._serves(read, household):
                    served[id(read)] = self._resolve(read, household).as_json()
        return served

    def _parameters(self, name: str, served: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        """Every parameter behind ``name``'s value: read by it or by a rule it depends on."""
        shown: dict[tuple[Any, ...], dict[str, Any]] = {}
        for dependency in self._closure(name):
            for read in self._trace.reads.get(dependency, ()):
                value = served.get(id(read))
                if value is not None:
                    shown.setdefault((value["name"], value["since"], value["value"]), value)
        return list(shown.values())

    def _closure(self, name: str) -> list[str]:
        """``name`` and every rule it depends on, dependencies first."""
        if name not in self._closures:
            order: dict[str, None] = {}

            def visit(current: str) -> None:
                if current in order:
                    return
                order[current] = None  # mark before descending: the graph is acyclic anyway
                for dependency in self._trace.deps.get(current, ()):
                    visit(dependency)
                order.pop(current)
                order[current] = None

            visit(name)
            self._closures[name] = list(order)
        return self._closures[name]

    def _serves(self, read: Read, household: int) -> bool:
        if read.scope is None:
            return True
        if read.scope_entity == "household":
            return bool(read.scope[household])
        members = self.population.members(household)
        return bool(read.scope[members.start : members.stop].any())

    def _resolve(self, read: Read, household: int) -> ParameterValue:
        """The value as read, or a ``null`` value saying that none was in force."""
        if not read.regional:
            return read.value or ParameterValue(read.name, None, None, f"no value for {read.on:%Y-%m}", False)
        region = f"{int(self.population.household_district[household]):06d}"
        value = self.params.value_at(read.name, read.on, region)
        if value is None:
            reference = self.params[read.name].reference or ""
            return ParameterValue(
                f"{read.name}.{region}", None, None, f"no value set for {region}; {reference}", False
            )
        return value


def _json_id(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
