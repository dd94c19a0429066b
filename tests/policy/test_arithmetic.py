"""The arithmetic and the regulation articles an explanation shows beside the notice's clause."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from doudi.policy.arithmetic import CQ_DIBAO_REGULATION, SOCIAL_ASSISTANCE_MEASURES
from doudi.policy.contract import evaluate_request
from doudi.policy.engine import RULES

from .builders import household, member, request
from .synthetic import random_households


def _steps(body: dict[str, Any], index: int = 0) -> dict[str, dict[str, Any]]:
    return {
        s["rule"]: s for s in evaluate_request(body)["households"][index]["explanation"] if "member" not in s
    }


def test_the_top_up_shows_its_arithmetic_636_times_2_minus_300() -> None:
    steps = _steps(request("2021-10", household("h", member("a", income={"wage": 300}), member("b"))))
    top_up = steps["dibao.computed_amount"]
    assert top_up["value"] == 972
    assert top_up["arithmetic"] == [
        {
            "expression": "dibao.standard × dibao.size − dibao.counted_income",
            "operands": [
                {"name": "dibao.standard", "value": 636},
                {"name": "dibao.size", "value": 2},
                {"name": "dibao.counted_income", "value": 300},
            ],
            "result": 972,
            "text": "636 × 2 − 300 = 972",
        }
    ]
    income = steps["dibao.income_test"]["arithmetic"][0]
    assert income["text"] == "300 < 1272 (= 636 × 2)" and income["result"] is True
    # 条例第13条 item by item: money assets (deposits + securities + claims), vehicles, boats, houses
    money, vehicles, boats, houses = steps["dibao.asset_test"]["arithmetic"]
    assert money["text"] == "0 + 0 + 0 ≤ 30528 (= 24 × 636 × 2)"
    assert money["expression"].startswith("assets.deposits + assets.securities + assets.claims ≤")
    assert vehicles["expression"] == "assets.vehicles ≤ dibao.assets.max_vehicles"
    assert boats["text"] == "0 ≤ 0"
    assert houses["text"] == "0 ≤ 1"


def test_a_rounded_result_shows_the_exact_value_then_the_rounding() -> None:
    body = request(
        "2021-10", household("h", member("a", income={"business": 1000.5}), member("b"), member("c"))
    )
    steps = _steps(body)
    assert steps["dibao.computed_amount"]["arithmetic"][0]["text"] == "636 × 3 − 1000.5 = 907.5 → 908"
    assert steps["dibao.per_capita_income"]["arithmetic"][0]["text"] == "1000.5 ÷ 3 = 333.5"


def test_no_top_up_arithmetic_when_not_eligible_and_none_without_a_unit() -> None:
    steps = _steps(request("2021-10", household("h", member("a", income={"wage": 5000}))))
    assert steps["dibao.computed_amount"]["value"] == 0 and "arithmetic" not in steps["dibao.computed_amount"]
    assert steps["dibao.income_test"]["arithmetic"][0]["text"] == "5000 < 636 (= 636 × 1)"
    alone = _steps(request("2021-10", household("t", member("a", categories=["tekun"]))))
    assert (
        alone["dibao.per_capita_income"]["value"] is None
        and "arithmetic" not in alone["dibao.per_capita_income"]
    )


def test_each_test_cites_the_regulation_article_beside_the_notice_clause() -> None:
    steps = _steps(request("2021-10", household("h", member("a"))))
    cited = {
        name: [(a["instrument"], a["article"]) for a in s.get("articles", [])] for name, s in steps.items()
    }
    assert all(s["clause"] == "一(一)" for name, s in steps.items() if name.startswith("dibao."))
    assert cited["dibao.income_test"] == [(CQ_DIBAO_REGULATION, 12)]
    assert cited["dibao.asset_test"] == [(CQ_DIBAO_REGULATION, 13)]
    assert (SOCIAL_ASSISTANCE_MEASURES, None) in cited["dibao.computed_amount"]
    assert cited["dibao.standard"] == [(CQ_DIBAO_REGULATION, 9)]


def _half_up(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def test_every_formula_gives_its_rule_value_over_random_households() -> None:
    """The declared formula and the rule's code cannot drift apart."""
    checked = {name: 0 for name, rule in RULES.items() if rule.formula}
    for period, parameters in (("2020-03", {}), ("2020-07", {"emergency.window.end": "2020-06-30"})):
        body = {"period": period, "parameters": parameters, "households": random_households(400, seed=7)}
        for result in evaluate_request(body)["households"]:
            for step in result["explanation"]:
                lines = step.get("arithmetic")
                if not lines:
                    continue
                checked[step["rule"]] += 1
                if isinstance(step["value"], bool):
                    assert all(isinstance(line["result"], bool) for line in lines)
                    assert step["value"] == all(line["result"] for line in lines), step
                else:
                    (line,) = lines
                    exact = Decimal(str(line["result"]))
                    assert Decimal(str(step["value"])) in {exact, _half_up(line["result"])}, step
    assert all(checked.values()), checked
