"""The engine itself: no Django, rules registered with their clauses, one code for one or many."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from doudi.policy import Period, Population, evaluate
from doudi.policy.engine import RULES, Simulation, rule
from doudi.policy.parameters import ParameterMissing, ParameterSet

POLICY_SRC = Path(__file__).resolve().parents[2] / "src" / "doudi" / "policy"


def test_the_policy_package_does_not_import_django() -> None:
    for path in POLICY_SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "django" for name in names), path
    code = (
        "import sys; import doudi.policy, doudi.policy.contract, doudi.policy.batch, doudi.policy.cli;"
        "import doudi.policy.rules; assert 'django' not in sys.modules, 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(POLICY_SRC.parents[1])})


def test_every_explained_amount_carries_a_clause_of_the_notice() -> None:
    import doudi.policy.rules  # noqa: F401

    amounts = {
        name: r.clause for name, r in RULES.items() if name.endswith(".amount") and r.explain != "never"
    }
    assert amounts == {
        "dibao.amount": "一(一)",
        "tekun.amount": "tekun",
        "child_allowance.amount": "一(四)",
        "price_subsidy.amount": "一(二)",
        "covid_assistance.amount": "一(五)",
        "bereavement.amount": "一(五)",
    }


def test_a_rule_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        rule("dibao.amount")(lambda s: None)


def _population(households: int, persons_per_household: int) -> Population:
    persons = households * persons_per_household
    no_dates = np.full(persons, np.datetime64("NaT"), dtype="datetime64[D]")
    return Population(
        household_id=np.arange(households),
        household_district=np.full(households, 500101),
        household_urban=np.ones(households, bool),
        household_enrolled=np.zeros(households, bool),
        household_last_amount_fen=np.zeros(households, np.int64),
        household_deposits_fen=np.zeros(households, np.int64),
        household_vehicles=np.zeros(households, np.int64),
        household_houses=np.zeros(households, np.int64),
        person_id=np.arange(persons),
        person_household=np.repeat(np.arange(households), persons_per_household),
        person_birth_date=no_dates,
        person_wage_fen=np.full(persons, 30_000),
        person_counted_income_fen=np.full(persons, 30_000),
        person_work=np.zeros(persons, np.int8),
        person_categories=np.zeros(persons, np.uint8),
        person_orphan_institutional=np.zeros(persons, bool),
        person_covid_confirmed_on=no_dates,
        person_covid_discharged_on=no_dates,
        person_covid_died_on=no_dates,
    )


def test_one_household_and_many_are_evaluated_by_the_same_code(defaults: ParameterSet) -> None:
    one = evaluate(_population(1, 3), Period(2020, 3), defaults)
    many = evaluate(_population(10_000, 3), Period(2020, 3), defaults)
    assert one["dibao.amount"][0] == 163_800 - 90_000  # 546 × 3 − 900
    assert (many["dibao.amount"] == one["dibao.amount"][0]).all()
    assert (many["total"] == one["total"][0]).all()

    def without_members(steps: list[dict]) -> list[dict]:
        return [{k: v for k, v in step.items() if k != "member"} for step in steps]

    assert without_members(one.explain(0)) == without_members(many.explain(9_999))


def test_households_without_members_and_unordered_persons(defaults: ParameterSet) -> None:
    population = _population(3, 1)
    persons = {
        f.name: getattr(population, f.name)[:2] for f in fields(Population) if f.name.startswith("person_")
    }
    empty = replace(
        population, **{**persons, "person_id": np.arange(2), "person_household": np.array([0, 2])}
    )
    result = evaluate(empty, Period(2020, 3), defaults)
    assert result["dibao.size"].tolist() == [1, 0, 1]
    assert result["dibao.decision"].tolist()[1] == 0  # not_applicable
    with pytest.raises(ValueError, match="grouped by household"):
        replace(population, person_household=np.array([1, 0, 2]))
    with pytest.raises(ValueError, match="must not be negative"):
        replace(population, person_wage_fen=np.array([-1, 0, 0]))


def test_a_period_before_any_standard_is_refused(defaults: ParameterSet) -> None:
    with pytest.raises(ParameterMissing, match="dibao.standard"):
        evaluate(_population(1, 1), Period(2019, 6), defaults)


def test_rules_cannot_depend_on_each_other_in_a_cycle(defaults: ParameterSet) -> None:
    rule("test.cycle_a")(lambda s: s["test.cycle_b"])
    rule("test.cycle_b")(lambda s: s["test.cycle_a"])
    try:
        with pytest.raises(RuntimeError, match="cycle"):
            Simulation(_population(1, 1), Period(2020, 3), defaults)["test.cycle_a"]
    finally:
        del RULES["test.cycle_a"], RULES["test.cycle_b"]
