"""Properties over random households: alone or in a crowd, the same result; no negative amount; no exit
or reduction of an enrolled household while the emergency lasts."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.policy.contract import evaluate_request

from .synthetic import random_household, random_households

BATCH = 2000
SCENARIOS = {
    "march, open window": ("2020-03", {}),
    "july, window closed in june, a district bereavement amount": (
        "2020-07", {"emergency.window.end": "2020-06-30", "covid.bereavement_assistance.500101": 3000}),
    "no price index yet": ("2021-02", {}),
}  # fmt: skip


@pytest.fixture(scope="module")
def batches() -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    households = random_households(BATCH, seed=14)
    results = {}
    for name, (period, parameters) in SCENARIOS.items():
        body = {"period": period, "parameters": parameters, "households": households}
        results[name] = (households, evaluate_request(body))
    return results


@settings(max_examples=60, deadline=None)
@given(scenario=st.sampled_from(sorted(SCENARIOS)), index=st.integers(0, BATCH - 1))
def test_a_household_alone_gets_what_it_gets_in_the_batch(batches, scenario: str, index: int) -> None:
    households, answer = batches[scenario]
    period, parameters = SCENARIOS[scenario]
    alone = evaluate_request({"period": period, "parameters": parameters, "households": [households[index]]})
    assert alone["households"][0] == answer["households"][index]
    batch_warnings = {w["parameter"] for w in answer["warnings"]}
    assert {w["parameter"] for w in alone["warnings"]} <= batch_warnings


def _amounts(result: dict[str, Any]) -> list[int | None]:
    amounts = [result["total"], result["dibao"]["amount"], result["dibao"]["computed_amount"],
               result["bereavement"]["amount"]]  # fmt: skip
    for member in result["members"]:
        amounts += [member[name]["amount"] for name in ("tekun", "child_allowance", "price_subsidy",
                                                        "covid_assistance")]  # fmt: skip
        amounts.append(member["covid_assistance"]["episode_total"])
    return amounts


def test_no_amount_is_negative_and_the_total_adds_up(batches) -> None:
    for _, answer in batches.values():
        for result in answer["households"]:
            assert all(amount is None or amount >= 0 for amount in _amounts(result)), result["id"]
            parts = _amounts(result)[1:2] + _amounts(result)[3:]
            members_paid = [a for m in result["members"] for a in (
                m["tekun"]["amount"], m["child_allowance"]["amount"], m["price_subsidy"]["amount"],
                m["covid_assistance"]["amount"])]  # fmt: skip
            expected = sum(a or 0 for a in (result["dibao"]["amount"], result["bereavement"]["amount"]))
            assert result["total"] == expected + sum(a or 0 for a in members_paid), parts


@st.composite
def enrolled_households(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    household = random_household(rng, 1, 1)
    household["members"].append({"id": "worker", "income": {"wage": draw(st.integers(0, 6000))},
                                 "work": draw(st.sampled_from(["none", "migrant", "returned"]))})  # fmt: skip
    household["dibao"] = {"enrolled": True, "last_amount": draw(st.integers(0, 3000))}
    return household


@settings(max_examples=80, deadline=None)
@given(household=enrolled_households(), period=st.sampled_from(["2020-01", "2020-03", "2020-06", "2021-05"]))
def test_an_enrolled_household_is_never_reduced_or_exited_in_the_window(
    household: dict[str, Any], period: str
) -> None:
    answer = evaluate_request({"period": period, "households": [household]})
    assert answer["in_emergency_window"] is True  # the window's end is open
    dibao = answer["households"][0]["dibao"]
    assert dibao["size"] >= 1  # "worker" is never tekun
    assert dibao["decision"] in {"continue", "raise", "hold", "exit_deferred"}
    assert dibao["amount"] >= household["dibao"]["last_amount"]


def test_an_explanation_does_not_depend_on_the_other_households_episodes() -> None:
    early = {"id": "early", "region": "500101", "area_type": "urban",
             "members": [{"id": "e", "covid": {"confirmed_on": "2020-02-10"}}]}  # fmt: skip
    late = {"id": "late", "region": "500101", "area_type": "urban",
            "members": [{"id": "l", "covid": {"confirmed_on": "2021-09-15"}}]}  # fmt: skip
    batch = evaluate_request({"period": "2021-10", "households": [early, late]})["households"]
    alone = evaluate_request({"period": "2021-10", "households": [late]})["households"]
    assert batch[1] == alone[0]
    step = next(s for s in alone[0]["explanation"] if s["rule"] == "covid_assistance.amount")
    standards = [p for p in step["parameters"] if p["name"] == "dibao.standard.urban"]
    assert [p["value"] for p in standards] == [636]
    early_step = next(s for s in batch[0]["explanation"] if s["rule"] == "covid_assistance.amount")
    assert sorted(p["value"] for p in early_step["parameters"] if p["name"] == "dibao.standard.urban") == [
        546,
        636,
    ]
