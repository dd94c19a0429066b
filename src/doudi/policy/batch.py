"""Batch evaluation of a whole population from Parquet, and the what-if simulation (政策测算).

Input: a directory with ``households.parquet`` and ``persons.parquet`` (the synthetic-population
schema: amounts in integer fen except ``dibao_last_amount`` in yuan, persons sorted by household).
Columns are read with pyarrow straight into numpy; no Python loop runs per row.

Output of :func:`evaluate_parquet`, amounts in whole yuan:

- ``out_path`` — one row per person: ``household_id``, ``person_id``, ``tekun``, ``child_allowance``,
  ``child_allowance_kind``, ``price_subsidy`` (null where the index is missing), ``covid_assistance``,
  ``covid_episode_months``, ``covid_episode_total``;
- ``<out_path stem>.households.parquet`` beside it — one row per household: ``household_id``,
  ``district``, ``dibao_decision``, ``dibao_amount``, ``bereavement`` (null where the district has set
  no amount), ``needs_district_standard``, ``members_total`` (the members' amounts) and ``total``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.policy.engine import Result, evaluate
from doudi.policy.money import FEN_PER_YUAN
from doudi.policy.parameters import ParameterSet, ValueType, coerce_value, parse_iso_date
from doudi.policy.periods import Period
from doudi.policy.population import (
    CATEGORY_NAMES,
    COUNTED_INCOME,
    SEPARATE_NAMES,
    STANDING_NAMES,
    WORK_NAMES,
    Population,
)
from doudi.policy.rules.children import KINDS
from doudi.policy.rules.dibao import DECISIONS

PERSON_AMOUNTS = ("tekun.amount", "child_allowance.amount", "price_subsidy.amount", "covid_assistance.amount")


HOUSEHOLD_COLUMNS = (
    "household_id",
    "district",
    "area_type",
    "dibao_enrolled",
    "dibao_last_amount",
    "deposits_fen",
    "vehicles",
    "houses",
)
PERSON_COLUMNS = (
    "person_id",
    "household_id",
    "birth_date",
    "work",
    "orphan_care",
    "covid_confirmed_on",
    "covid_discharged_on",
    "covid_died_on",
    *(f"income_{name}_fen" for name in COUNTED_INCOME),
    *(f"cat_{name}" for name in CATEGORY_NAMES),
)


# 条例第11–13条, optional (an extract without them is read as: no such assets, the application on the
# period's first day, no farming household, every member present and counted with the household).
OPTIONAL_HOUSEHOLD_COLUMNS = (
    "securities_fen",
    "claims_fen",
    "boats",
    "disability_vehicles",
    "application_date",
    "farming",
    "farming_cash_income_fen",
    "farming_in_kind_income_fen",
    "farming_direct_costs_fen",
)
OPTIONAL_PERSON_COLUMNS = ("membership_status", "married", "living_apart_since", "separate_household")


class BatchInputError(ValueError):
    """The Parquet input does not follow the population schema."""


# --- reading ----------------------------------------------------------------------------------------


def read_population(input_dir: str | Path) -> Population:
    """The columnar population of ``households.parquet`` and ``persons.parquet`` in ``input_dir``."""
    households = _read(Path(input_dir) / "households.parquet", HOUSEHOLD_COLUMNS, OPTIONAL_HOUSEHOLD_COLUMNS)
    persons = _read(Path(input_dir) / "persons.parquet", PERSON_COLUMNS, OPTIONAL_PERSON_COLUMNS)
    return population_from_tables(households, persons)


def population_from_tables(households: pa.Table, persons: pa.Table) -> Population:
    """The columnar population of Arrow tables in the schema of ``households.parquet`` and
    ``persons.parquet`` (one district's partition of them, in doudi.batch)."""
    household_ids = _numbers(households, "household_id")
    order = None
    if len(household_ids) > 1 and not np.all(household_ids[1:] > household_ids[:-1]):
        order = np.argsort(household_ids, kind="stable")
        household_ids = household_ids[order]
        if np.any(household_ids[1:] == household_ids[:-1]):
            raise BatchInputError("households.parquet: household_id is not unique")

    def household_column(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if order is None else values[order]

    person_households = _numbers(persons, "household_id")
    index = np.searchsorted(household_ids, person_households)
    found = index < len(household_ids)
    found[found] = household_ids[index[found]] == person_households[found]
    if not found.all():
        raise BatchInputError(
            f"persons.parquet: household_id {person_households[~found][0]} has no household"
        )
    person_order = None
    if len(index) > 1 and np.any(index[1:] < index[:-1]):
        person_order = np.argsort(index, kind="stable")
        index = index[person_order]

    def person_column(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if person_order is None else values[person_order]

    area = _strings(households, "area_type", ("urban", "rural"))
    enrolled = _flags(households, "dibao_enrolled")
    last_amount = households.column("dibao_last_amount").fill_null(0).to_numpy() * FEN_PER_YUAN
    categories = np.zeros(len(person_households), dtype=np.uint8)
    for bit, name in enumerate(CATEGORY_NAMES):
        categories |= _flags(persons, f"cat_{name}").astype(np.uint8) << np.uint8(bit)
    counted = sum((_numbers(persons, f"income_{name}_fen") for name in COUNTED_INCOME), np.int64(0))
    orphan_care = persons.column("orphan_care")
    return Population(
        household_id=household_ids,
        household_district=household_column(_numbers(households, "district", cast=True)),
        household_urban=household_column(area == 0),
        household_enrolled=household_column(enrolled),
        household_last_amount_fen=household_column(np.where(enrolled, last_amount, 0)),
        household_deposits_fen=household_column(_numbers(households, "deposits_fen")),
        household_vehicles=household_column(_numbers(households, "vehicles")),
        household_houses=household_column(_numbers(households, "houses")),
        person_id=person_column(_numbers(persons, "person_id")),
        person_household=index,
        person_birth_date=person_column(_dates(persons, "birth_date")),
        person_wage_fen=person_column(_numbers(persons, "income_wage_fen")),
        person_counted_income_fen=person_column(np.asarray(counted)),
        person_work=person_column(_strings(persons, "work", WORK_NAMES).astype(np.int8)),
        person_categories=person_column(categories),
        person_orphan_institutional=person_column(
            pc.fill_null(pc.equal(orphan_care, "institutional"), False).to_numpy(zero_copy_only=False)
        ),
        person_covid_confirmed_on=person_column(_dates(persons, "covid_confirmed_on")),
        person_covid_discharged_on=person_column(_dates(persons, "covid_discharged_on")),
        person_covid_died_on=person_column(_dates(persons, "covid_died_on")),
        **_regulation_columns(households, persons, household_column, person_column),
    )


def _regulation_columns(
    households: pa.Table, persons: pa.Table, household_column: Any, person_column: Any
) -> dict[str, Any]:
    """The optional 条例第11–13条 columns present in the input (absent ones stay neutral)."""
    columns: dict[str, Any] = {}
    have = set(households.column_names)
    for name in ("securities_fen", "claims_fen", "boats", "disability_vehicles"):
        if name in have:
            columns[f"household_{name}"] = household_column(_numbers(households, name))
    if "application_date" in have:
        columns["household_application_date"] = household_column(_dates(households, "application_date"))
    if "farming" in have:
        farming = _flags(households, "farming")
        parts = [f"farming_{part}_fen" for part in ("cash_income", "in_kind_income", "direct_costs")]
        if not all(part in have for part in parts):
            raise BatchInputError(f"households.parquet: farming needs {', '.join(parts)}")
        cash, in_kind, costs = (_numbers(households, part) for part in parts)
        columns["household_farming"] = household_column(farming)
        columns["household_farming_net_fen"] = household_column(
            np.where(farming, np.maximum(cash + in_kind - costs, 0), 0)
        )
    have = set(persons.column_names)
    if "membership_status" in have:
        columns["person_standing"] = person_column(
            _strings(persons, "membership_status", STANDING_NAMES).astype(np.int8)
        )
    if "married" in have:
        columns["person_married"] = person_column(_flags(persons, "married"))
    if "living_apart_since" in have:
        columns["person_apart_since"] = person_column(_dates(persons, "living_apart_since"))
    if "separate_household" in have:
        given = persons.column("separate_household")
        codes = pc.index_in(given, value_set=pa.array(SEPARATE_NAMES))
        if codes.null_count != given.null_count:
            raise BatchInputError(f"separate_household has values outside {', '.join(SEPARATE_NAMES)}")
        columns["person_separate"] = person_column(
            np.asarray(pc.fill_null(codes, 0).to_numpy(), dtype=np.int8)
        )
    return columns


def _read(path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> pa.Table:
    names = pq.read_schema(path).names
    missing = [name for name in columns if name not in names]
    if missing:
        raise BatchInputError(f"{path.name}: missing columns {', '.join(missing)}")
    return pq.read_table(path, columns=[*columns, *(name for name in optional if name in names)])


def _numbers(table: pa.Table, name: str, *, cast: bool = False) -> npt.NDArray[np.int64]:
    column = table.column(name)
    if column.null_count:
        raise BatchInputError(f"{name} has null values")
    if cast:
        try:
            column = pc.cast(column, pa.int64())
        except pa.ArrowInvalid as error:
            raise BatchInputError(f"{name}: {error}") from None
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _flags(table: pa.Table, name: str) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(table.column(name), False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _strings(table: pa.Table, name: str, values: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """Codes of an enumerated text column (its position in ``values``)."""
    codes = pc.index_in(table.column(name), value_set=pa.array(values))
    if codes.null_count:
        raise BatchInputError(f"{name} has values outside {', '.join(values)}")
    return np.asarray(codes.to_numpy(), dtype=np.int64)


def _dates(table: pa.Table, name: str) -> npt.NDArray[np.datetime64]:
    return np.asarray(table.column(name).to_numpy(), dtype="datetime64[D]")


# --- evaluating and writing -----------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictTotals:
    """One district's month: counts and amounts in yuan (null amounts excluded and counted apart)."""

    district: str
    households: int
    persons: int
    dibao_recipients: int
    dibao: int
    tekun: int
    child_allowance: int
    price_subsidy: int
    covid_assistance: int
    bereavement: int
    total: int
    price_subsidy_null: int
    bereavement_null: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DistrictDifference:
    """A what-if against the parameters in force: cost in yuan, and households paid / no longer paid."""

    district: str
    households: int
    cost_base: int
    cost_reform: int
    difference: int
    gained: int
    lost: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Districts:
    """Per-district integer sums of household or person arrays."""

    def __init__(self, population: Population) -> None:
        self.codes, self.of_household = np.unique(population.household_district, return_inverse=True)
        self.of_person = self.of_household[population.person_household]

    def sum(self, values: npt.NDArray[Any], *, persons: bool = False) -> npt.NDArray[np.int64]:
        totals = np.zeros(len(self.codes), dtype=np.int64)
        np.add.at(
            totals, self.of_person if persons else self.of_household, values.astype(np.int64, copy=False)
        )
        return totals

    def label(self, i: int) -> str:
        return f"{int(self.codes[i]):06d}"


def evaluate_parquet(
    period: Period | str,
    input_dir: str | Path,
    out_path: str | Path,
    params: ParameterSet,
    *,
    quiet: bool = False,
) -> list[DistrictTotals]:
    """Evaluate every household of ``input_dir`` for ``period``, write the results (see the module
    docstring) and return — and, unless ``quiet``, print — the per-district totals."""
    period = period if isinstance(period, Period) else Period.parse(period)
    population = read_population(input_dir)
    result = evaluate(population, period, params)
    out = Path(out_path)
    pq.write_table(_person_table(result), out)
    pq.write_table(_household_table(result), households_path(out))
    totals = district_totals(result)
    if not quiet:
        for warning in result.warnings:
            print(f"warning: {warning['message']}", file=sys.stderr)
        print(format_table([row.as_dict() for row in totals]))
    return totals


def households_path(out_path: Path) -> Path:
    """``results.parquet`` → ``results.households.parquet``."""
    return out_path.with_name(f"{out_path.stem}.households.parquet")


def _yuan(values: npt.NDArray[np.int64], null: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    return pa.array(values // FEN_PER_YUAN, type=pa.int64(), mask=null)


def _labels(codes: npt.NDArray[Any], labels: tuple[str | None, ...]) -> pa.Array:
    """Integer codes as a dictionary-encoded text column; a ``None`` label is a null."""
    null = np.array([label is None for label in labels])[codes]
    dictionary = pa.array([label or "" for label in labels], type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8), mask=null), dictionary)


def _person_table(result: Result) -> pa.Table:
    p = result.population
    return pa.table(
        {
            "household_id": pa.array(p.household_id[p.person_household]),
            "person_id": pa.array(p.person_id),
            "tekun": _yuan(result["tekun.amount"]),
            "child_allowance": _yuan(result["child_allowance.amount"]),
            "child_allowance_kind": _labels(result["child_allowance.kind"], KINDS),
            "price_subsidy": _yuan(result["price_subsidy.amount"], result.null("price_subsidy.amount")),
            "covid_assistance": _yuan(result["covid_assistance.amount"]),
            "covid_episode_months": pa.array(result["covid_assistance.episode_months"]),
            "covid_episode_total": _yuan(result["covid_assistance.episode_total"]),
        }
    )


def _members_total(result: Result) -> npt.NDArray[np.int64]:
    per_person = sum((result[name] for name in PERSON_AMOUNTS), np.zeros(result.population.persons, np.int64))
    return result.population.sum_by_household(per_person)


def _household_table(result: Result) -> pa.Table:
    p = result.population
    district = pc.utf8_lpad(pc.cast(pa.array(p.household_district), pa.string()), 6, "0")
    bereavement_null = result.null("bereavement.amount")
    return pa.table(
        {
            "household_id": pa.array(p.household_id),
            "district": district,
            "dibao_decision": _labels(result["dibao.decision"], DECISIONS),
            "dibao_amount": _yuan(result["dibao.amount"]),
            "bereavement": _yuan(result["bereavement.amount"], bereavement_null),
            "needs_district_standard": pa.array(bereavement_null),
            "members_total": _yuan(_members_total(result)),
            "total": _yuan(result["total"]),
        }
    )


def district_totals(result: Result) -> list[DistrictTotals]:
    p = result.population
    districts = _Districts(p)

    def yuan(name: str, *, persons: bool = False) -> npt.NDArray[np.int64]:
        return districts.sum(result[name], persons=persons) // FEN_PER_YUAN

    def nulls(name: str, *, persons: bool = False) -> npt.NDArray[np.int64]:
        null = result.null(name)
        return (
            districts.sum(null, persons=persons)
            if null is not None
            else np.zeros(len(districts.codes), np.int64)
        )

    columns = {
        "households": districts.sum(np.ones(p.households, np.int64)),
        "persons": districts.sum(p.household_size),
        "dibao_recipients": districts.sum(result["dibao.recipient"]),
        "dibao": yuan("dibao.amount"),
        "tekun": yuan("tekun.amount", persons=True),
        "child_allowance": yuan("child_allowance.amount", persons=True),
        "price_subsidy": yuan("price_subsidy.amount", persons=True),
        "covid_assistance": yuan("covid_assistance.amount", persons=True),
        "bereavement": yuan("bereavement.amount"),
        "total": yuan("total"),
        "price_subsidy_null": nulls("price_subsidy.amount", persons=True),
        "bereavement_null": nulls("bereavement.amount"),
    }
    return [
        DistrictTotals(districts.label(i), **{name: int(values[i]) for name, values in columns.items()})
        for i in range(len(districts.codes))
    ]


def simulate(
    period: Period | str,
    input_dir: str | Path,
    params: ParameterSet,
    overrides: Mapping[str, object],
) -> list[DistrictDifference]:
    """What-if: the per-district cost of ``overrides`` (e.g. ``{"dibao.standard.urban": 700}``)
    against ``params``, and the households that start (``gained``) or stop (``lost``) being paid."""
    period = period if isinstance(period, Period) else Period.parse(period)
    population = read_population(input_dir)
    base = evaluate(population, period, params)["total"]
    reform = evaluate(population, period, params.with_overrides(overrides))["total"]
    districts = _Districts(population)
    columns = {
        "households": districts.sum(np.ones(population.households, np.int64)),
        "cost_base": districts.sum(base) // FEN_PER_YUAN,
        "cost_reform": districts.sum(reform) // FEN_PER_YUAN,
        "gained": districts.sum((base == 0) & (reform > 0)),
        "lost": districts.sum((base > 0) & (reform == 0)),
    }
    return [
        DistrictDifference(
            districts.label(i),
            households=int(columns["households"][i]),
            cost_base=int(columns["cost_base"][i]),
            cost_reform=int(columns["cost_reform"][i]),
            difference=int(columns["cost_reform"][i] - columns["cost_base"][i]),
            gained=int(columns["gained"][i]),
            lost=int(columns["lost"][i]),
        )
        for i in range(len(districts.codes))
    ]


def parse_assignments(assignments: list[str], params: ParameterSet) -> dict[str, object]:
    """``["dibao.standard.urban=700", "emergency.window.end=2020-06-30"]`` → overrides for :func:`simulate`
    (``--set`` options). Values are typed by their parameter; ``null`` clears a nullable one."""
    overrides: dict[str, object] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep:
            raise ValueError(f"{assignment!r}: expected name=value")
        key, text = key.strip(), text.strip()
        try:
            parameter, _ = params.resolve(key)
        except KeyError:
            raise ValueError(f"unknown parameter {key!r}") from None
        value: object = None
        if text != "null":
            value = parse_iso_date(text) if parameter.type is ValueType.DATE else _decimal(text)
        overrides[key] = coerce_value(parameter.type, value, nullable=parameter.nullable)
    return overrides


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None


def format_table(rows: list[dict[str, Any]]) -> str:
    """Rows as an aligned text table with a totals line (for the terminal)."""
    if not rows:
        return "(no households)"
    names = list(rows[0])
    total = {name: sum(row[name] for row in rows) if name != names[0] else "all" for name in names}
    body = [*rows, total]
    widths = {name: max(len(name), *(len(str(row[name])) for row in body)) for name in names}
    lines = ["  ".join(name.rjust(widths[name]) for name in names)]
    lines += ["  ".join(str(row[name]).rjust(widths[name]) for name in names) for row in body]
    return "\n".join(lines)
