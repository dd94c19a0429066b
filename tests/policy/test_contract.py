"""The evaluation contract (POLICY.md §4) and the worked examples (§5)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema_rs
import pytest

from doudi.policy.contract import evaluate_request, input_json_schema
from doudi.policy.parameters import StoredValue, load_defaults

from .builders import household, member, request

SECTION_4_REQUEST = {
    "period": "2020-03",
    "parameters": {"emergency.window.end": "2020-06-30", "covid.bereavement_assistance.500101": 5000},
    "households": [
        {"id": "h1", "region": "500101", "area_type": "urban",
         "dibao": {"enrolled": True, "last_amount": 900},
         "assets": {"deposits": 10000, "vehicles": 0, "houses": 1},
         "members": [
             {"id": "p1", "birth_date": "1975-04-02",
              "income": {"wage": 1500}, "work": "migrant", "categories": [],
              "covid": {"confirmed_on": "2020-02-10", "discharged_on": "2020-03-11"}}]}],
}  # fmt: skip

SECTION_4_ANSWER_WITHOUT_EXPLANATION = {
    "period": "2020-03", "in_emergency_window": True, "warnings": [],
    "households": [
        {"id": "h1", "total": 2192,
         "dibao": {"standard": 546, "size": 1, "work_cost_deduction": 300.0, "counted_income": 1200.0,
                   "per_capita_income": 1200.0, "income_test": False, "asset_test": True, "eligible": False,
                   "enrolled": True, "computed_amount": 0, "decision": "exit_deferred", "amount": 900,
                   # additive (条例第12–13条): the income period, farming income, the asset items and limits
                   "income_period": {"kind": "month_before_application", "from": "2020-02-01",
                                     "to": "2020-02-29", "months": 1},
                   "farming_income": 0.0,
                   "asset_items": [{"item": "deposits", "value": 10000.0}, {"item": "securities", "value": 0.0},
                                   {"item": "claims", "value": 0.0}, {"item": "vehicles", "value": 0},
                                   {"item": "disability_vehicles", "value": 0, "excepted": True},
                                   {"item": "boats", "value": 0}, {"item": "houses", "value": 1}],
                   "asset_limits": [
                       {"test": "financial_assets", "items": ["deposits", "securities", "claims"],
                        "value": 10000.0, "limit": 13104.0, "passes": True},
                       {"test": "vehicles", "items": ["vehicles"], "value": 0, "limit": 0, "passes": True},
                       {"test": "boats", "items": ["boats"], "value": 0, "limit": 0, "passes": True},
                       {"test": "houses", "items": ["houses"], "value": 1, "limit": 1, "passes": True}]},
         "bereavement": {"amount": 0, "needs_district_standard": False},
         "members": [
             {"id": "p1",
              # additive (条例第11条): whether the member counted, and why
              "membership": {"counted": True, "reason": "member", "separate_household": None},
              "tekun": {"amount": 0},
              "child_allowance": {"amount": 0, "kind": None, "age_out_deferred": False},
              "price_subsidy": {"amount": 200, "basis": 546, "index": "food", "rise": 18.3, "multiplier": 2},
              "covid_assistance": {"amount": 1092, "episode_months": 2, "episode_total": 2184}}]}],
}  # fmt: skip


def _json_types(value):
    """The value with its JSON types made visible (1200.0 and 1200 differ)."""
    if isinstance(value, dict):
        return {key: _json_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_types(item) for item in value]
    return (type(value).__name__, value)


def test_section_4_example_gives_exactly_the_section_4_answer() -> None:
    answer = json.loads(json.dumps(evaluate_request(json.dumps(SECTION_4_REQUEST))))
    explanation = answer["households"][0].pop("explanation")
    assert _json_types(answer) == _json_types(SECTION_4_ANSWER_WITHOUT_EXPLANATION)
    assert list(answer) == ["period", "in_emergency_window", "warnings", "households"]
    assert list(answer["households"][0]) == ["id", "total", "dibao", "bereavement", "members"]
    decision = next(step for step in explanation if step["rule"] == "dibao.decision")
    assert decision["clause"] == "一(一)" and decision["value"] == "exit_deferred"
    standard = next(p for p in decision["parameters"] if p["name"] == "dibao.standard.urban")
    assert standard["value"] == 546 and standard["since"] == "2019-07-01" and standard["verified"] is False
    assert standard["reference"]
    assert set(standard) == {"name", "value", "since", "reference", "verified"}
    window_end = next(p for p in decision["parameters"] if p["name"] == "emergency.window.end")
    assert (
        window_end["value"] == "2020-06-30"
        and window_end["since"] is None
        and window_end["verified"] is False
    )


def test_the_request_may_be_text_bytes_or_a_dict() -> None:
    as_dict = evaluate_request(SECTION_4_REQUEST)
    assert evaluate_request(json.dumps(SECTION_4_REQUEST)) == as_dict
    assert evaluate_request(json.dumps(SECTION_4_REQUEST).encode()) == as_dict


def test_example_1_and_2() -> None:
    three = [member("a", income={"wage": 1000}), member("b", income={"wage": 300}), member("c")]
    answer = evaluate_request(request("2020-03", household("h1", *three)))["households"][0]
    assert answer["dibao"]["decision"] == "include" and answer["dibao"]["amount"] == 338
    assert [m["price_subsidy"]["amount"] for m in answer["members"]] == [200, 200, 200]
    assert answer["total"] == 938
    enrolled = household("h1", *three, dibao={"enrolled": True, "last_amount": 500})
    held = evaluate_request(request("2020-03", enrolled))["households"][0]["dibao"]
    assert (held["decision"], held["amount"]) == ("hold", 500)
    after = evaluate_request(request("2020-03", enrolled, **{"emergency.window.end": "2020-02-29"}))
    assert after["in_emergency_window"] is False
    assert (after["households"][0]["dibao"]["decision"], after["households"][0]["dibao"]["amount"]) == (
        "continue",
        338,
    )


@pytest.mark.parametrize(
    ("discharged", "paid"),
    [("2020-03-11", {"2020-02": 1092, "2020-03": 1092, "2020-04": 0}),
     ("2020-03-10", {"2020-02": 1092, "2020-03": 0, "2020-04": 0})],
)  # fmt: skip
def test_example_3(discharged: str, paid: dict[str, int]) -> None:
    patient = member("p", covid={"confirmed_on": "2020-02-10", "discharged_on": discharged})
    for period, amount in paid.items():
        answer = evaluate_request(request(period, household("h1", patient)))
        assert answer["households"][0]["members"][0]["covid_assistance"]["amount"] == amount, period


@pytest.mark.parametrize(
    ("window_end", "paid"),
    [(None, {"2020-02": (1200, False), "2020-03": (1200, True), "2020-09": (1200, True)}),
     ("2020-05-31", {"2020-02": (1200, False), "2020-03": (1200, True), "2020-05": (1200, True),
                     "2020-06": (0, False)})],
)  # fmt: skip
def test_example_4(window_end: str | None, paid: dict[str, tuple[int, bool]]) -> None:
    guardian = member("g", income={"wage": 5000})
    orphan = member("o", birth_date="2002-02-15", categories=["orphan"], orphan_care="scattered")
    parameters = {"emergency.window.end": window_end} if window_end else {}
    for period, (amount, deferred) in paid.items():
        answer = evaluate_request(request(period, household("h1", guardian, orphan), **parameters))
        allowance = answer["households"][0]["members"][1]["child_allowance"]
        assert (allowance["amount"], allowance["age_out_deferred"]) == (amount, deferred), period


def _mixed_request() -> dict:
    return request(
        "2020-03",
        household("dibao", member("a", income={"wage": 300}), member("t", categories=["tekun"])),
        household("child", member("g", income={"wage": 5000}),
                  member("o", birth_date="2010-01-01", categories=["orphan"])),
        household("covid", member("p", categories=["registered_poor"], covid={"confirmed_on": "2020-02-20",
                                                                              "died_on": "2020-03-02"}),
                  region="500230", area_type="rural"),
        **{"covid.bereavement_assistance.500230": 2000},
    )  # fmt: skip


CLAUSES = {"dibao": "一(一)", "tekun": "tekun", "child_allowance": "一(四)", "price_subsidy": "一(二)",
           "covid_assistance": "一(五)", "bereavement": "一(五)"}  # fmt: skip


def test_every_non_zero_amount_is_explained_with_its_clause() -> None:
    answer = evaluate_request(_mixed_request())
    checked = 0
    for result in answer["households"]:
        steps = result["explanation"]
        amounts = [(None, name, result[name]["amount"]) for name in ("dibao", "bereavement")]
        amounts += [(m["id"], name, m[name]["amount"]) for m in result["members"] for name in CLAUSES
                    if name in m]  # fmt: skip
        for member_id, name, amount in amounts:
            if amount:
                checked += 1
                assert any(
                    step["clause"] == CLAUSES[name]
                    and step["rule"] == f"{name}.amount"
                    and step.get("member") == member_id
                    and step["value"] == amount
                    and step["parameters"]
                    for step in steps
                ), (result["id"], member_id, name)
    assert checked >= 8


def test_explanations_show_only_the_parameters_that_served_the_household() -> None:
    households = {h["id"]: h for h in evaluate_request(_mixed_request())["households"]}
    names = {p["name"] for step in households["covid"]["explanation"] for p in step["parameters"]}
    assert "dibao.standard.rural" in names and "covid.bereavement_assistance.500230" in names
    assert "dibao.work_cost_deduction.rate" not in names  # nobody in it goes out to work
    urban = {p["name"] for step in households["dibao"]["explanation"] for p in step["parameters"]}
    assert "dibao.standard.urban" in urban and "dibao.standard.rural" not in urban
    assert not any(name.startswith("covid.") for name in urban)


def test_unset_bereavement_is_explained_as_missing() -> None:
    body = _mixed_request()
    del body["parameters"]
    result = evaluate_request(body)["households"][2]
    assert result["bereavement"] == {"amount": None, "needs_district_standard": True}
    step = next(step for step in result["explanation"] if step["rule"] == "bereavement.amount")
    missing = next(p for p in step["parameters"] if p["name"] == "covid.bereavement_assistance.500230")
    assert missing["value"] is None and missing["verified"] is False


def test_base_parameters_are_used_and_the_request_overrides_them() -> None:
    stored = load_defaults().overlay(
        [StoredValue("dibao.standard.urban", None, date(2020, 3, 1), 600, "bureau", True)]
    )
    body = request("2020-03", household("h1", member("a")))
    assert evaluate_request(body, stored)["households"][0]["dibao"]["standard"] == 600
    body["parameters"] = {"dibao.standard.urban": 700}
    assert evaluate_request(body, stored)["households"][0]["dibao"]["amount"] == 700


def test_the_input_schema_accepts_the_example_and_is_published() -> None:
    schema = input_json_schema()
    jsonschema_rs.meta.validate(schema)
    validator = jsonschema_rs.Draft202012Validator(schema)
    assert validator.is_valid(SECTION_4_REQUEST)
    assert validator.is_valid(_mixed_request())
    assert not validator.is_valid({**SECTION_4_REQUEST, "parameters": {"no.such": 1}})
    enrolled_without_amount = json.loads(json.dumps(SECTION_4_REQUEST))
    del enrolled_without_amount["households"][0]["dibao"]["last_amount"]
    assert not validator.is_valid(enrolled_without_amount)
    published = Path(__file__).resolve().parents[2] / "docs" / "evaluate-input.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == schema, (
        "regenerate docs/evaluate-input.schema.json"
    )
