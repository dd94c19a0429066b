"""Batch evaluation over Parquet: the same results as the contract, per-district totals, the what-if."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from doudi.policy.batch import (
    BatchInputError,
    evaluate_parquet,
    households_path,
    parse_assignments,
    read_population,
    simulate,
)
from doudi.policy.contract import evaluate_request
from doudi.policy.parameters import ParameterSet

from .synthetic import random_households, write_parquet

PARAMETERS = {"emergency.window.end": "2020-06-30", "covid.bereavement_assistance.500101": 3000}
PERSON_AMOUNTS = ("tekun", "child_allowance", "price_subsidy", "covid_assistance")


@pytest.fixture(scope="module")
def population_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    households = random_households(600, seed=2020)
    directory = tmp_path_factory.mktemp("population")
    shuffled = households[:]
    random.Random(1).shuffle(shuffled)  # the reader must not rely on the households' order
    write_parquet(shuffled, directory)
    return directory, households


@pytest.mark.parametrize("period", ["2020-03", "2020-06", "2021-01"])
def test_batch_results_equal_the_contract_results(
    population_dir, defaults: ParameterSet, tmp_path: Path, period: str
) -> None:
    directory, households = population_dir
    params = defaults.with_overrides(PARAMETERS)
    out = tmp_path / "results.parquet"
    totals = evaluate_parquet(period, directory, out, params, quiet=True)
    answer = evaluate_request({"period": period, "parameters": PARAMETERS, "households": households})
    expected = {h["id"]: h for h in answer["households"]}

    persons = pq.read_table(out).to_pylist()
    for row in persons:
        member = next(m for m in expected[row["household_id"]]["members"] if m["id"] == row["person_id"])
        assert [row[name] for name in PERSON_AMOUNTS] == [member[name]["amount"] for name in PERSON_AMOUNTS]
        assert row["child_allowance_kind"] == member["child_allowance"]["kind"]
        assert row["covid_episode_total"] == member["covid_assistance"]["episode_total"]
    assert len(persons) == sum(len(h["members"]) for h in households)

    rows = pq.read_table(households_path(out)).to_pylist()
    assert [row["household_id"] for row in rows] == sorted(expected)
    for row in rows:
        result = expected[row["household_id"]]
        assert row["total"] == result["total"]
        assert (row["dibao_decision"], row["dibao_amount"]) == (
            result["dibao"]["decision"],
            result["dibao"]["amount"],
        )
        assert row["bereavement"] == result["bereavement"]["amount"]
        assert row["needs_district_standard"] == result["bereavement"]["needs_district_standard"]

    by_district = {t.district: t for t in totals}
    for district in {h["region"] for h in households}:
        inside = [expected[h["id"]] for h in households if h["region"] == district]
        assert by_district[district].households == len(inside)
        assert by_district[district].total == sum(r["total"] for r in inside)
        assert by_district[district].price_subsidy_null == sum(
            m["price_subsidy"]["amount"] is None for r in inside for m in r["members"]
        )
    assert sum(t.total for t in totals) == sum(r["total"] for r in answer["households"])


def test_district_totals_are_printed(population_dir, defaults: ParameterSet, tmp_path: Path, capsys) -> None:
    directory, _ = population_dir
    totals = evaluate_parquet("2021-01", directory, tmp_path / "out.parquet", defaults)
    printed = capsys.readouterr()
    assert all(t.district in printed.out for t in totals) and "all" in printed.out
    assert "price_index.cpi_yoy" in printed.err  # the missing index is reported


def test_what_if_simulation(population_dir, defaults: ParameterSet) -> None:
    directory, households = population_dir
    same = simulate("2020-03", directory, defaults, {})
    assert all((d.difference, d.gained, d.lost) == (0, 0, 0) for d in same)
    overrides = parse_assignments(["dibao.standard.urban=700", "dibao.standard.rural=600"], defaults)
    reform = simulate("2020-03", directory, defaults, overrides)
    base = evaluate_request({"period": "2020-03", "households": households})["households"]
    raised = evaluate_request({"period": "2020-03", "parameters": {"dibao.standard.urban": 700,
                                                                   "dibao.standard.rural": 600},
                               "households": households})["households"]  # fmt: skip
    assert sum(d.cost_base for d in reform) == sum(r["total"] for r in base)
    assert (
        sum(d.difference for d in reform)
        == sum(r["total"] for r in raised) - sum(r["total"] for r in base)
        > 0
    )
    assert sum(d.gained for d in reform) == sum(
        b["total"] == 0 < r["total"] for b, r in zip(base, raised, strict=True)
    )
    assert sum(d.lost for d in reform) == 0


def test_parse_assignments(defaults: ParameterSet) -> None:
    assert parse_assignments(
        ["dibao.standard.urban = 700.5", "emergency.window.end=2020-06-30"], defaults
    ) == {
        "dibao.standard.urban": Decimal("700.5"),
        "emergency.window.end": date(2020, 6, 30),
    }
    assert parse_assignments(
        ["emergency.window.end=null", "covid.bereavement_assistance.500101=5000"], defaults
    ) == {
        "emergency.window.end": None,
        "covid.bereavement_assistance.500101": 5000,
    }
    for bad in ("dibao.standard.urban", "nope=1", "dibao.standard.urban=abc", "dibao.standard.urban=-1"):
        with pytest.raises(ValueError):
            parse_assignments([bad], defaults)


def test_bad_parquet_input_is_refused(tmp_path: Path) -> None:
    households = random_households(5, seed=1)
    write_parquet(households, tmp_path)
    table = pq.read_table(tmp_path / "households.parquet")
    pq.write_table(table.drop_columns(["area_type"]), tmp_path / "households.parquet")
    with pytest.raises(BatchInputError, match="area_type"):
        read_population(tmp_path)
    households[0]["area_type"] = "suburban"
    write_parquet(households, tmp_path)
    with pytest.raises(BatchInputError, match="urban, rural"):
        read_population(tmp_path)
    households[0]["area_type"] = "urban"
    households[1]["members"][0]["work"] = "abroad"
    write_parquet(households, tmp_path)
    with pytest.raises(BatchInputError, match="work"):
        read_population(tmp_path)
