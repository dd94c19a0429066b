"""Runs every OpenFisca-style case of ``cases/*.yaml``: a request, and the results it must give.

A case has ``name``, ``period``, optional ``parameters``, ``households`` (as in the §4 request) and
``expect``: per household id, the fields that must match (a subset; ``members`` keyed by member id).
Optional ``warnings`` lists the parameters the answer must warn about (exactly), and
``in_emergency_window`` the expected flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from doudi.policy.contract import evaluate_request

CASES_DIR = Path(__file__).parent / "cases"


class _CaseLoader(yaml.SafeLoader):
    """Dates stay text, as in a JSON request."""


_CaseLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.load(path.read_text(encoding="utf-8"), Loader=_CaseLoader):
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def _matches(expected: Any, actual: Any, path: str, problems: list[str]) -> None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            problems.append(f"{path}: expected an object, got {actual!r}")
            return
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                _matches(value, actual[key], f"{path}.{key}", problems)
    elif expected != actual or type(expected) is bool and type(actual) is not bool:
        problems.append(f"{path}: expected {expected!r}, got {actual!r}")


@pytest.mark.parametrize("case", _cases())
def test_case(case: dict[str, Any]) -> None:
    request = {"period": case["period"], "households": case["households"]}
    if "parameters" in case:
        request["parameters"] = case["parameters"]
    answer = evaluate_request(request)
    problems: list[str] = []
    households = {h["id"]: h for h in answer["households"]}
    for household_id, expected in case["expect"].items():
        actual = dict(households[household_id])
        actual["members"] = {m["id"]: m for m in actual["members"]}
        _matches(expected, actual, household_id, problems)
    if "warnings" in case:
        warned = sorted(w["parameter"] for w in answer["warnings"])
        if warned != sorted(case["warnings"]):
            problems.append(f"warnings: expected {sorted(case['warnings'])}, got {warned}")
    if "in_emergency_window" in case and answer["in_emergency_window"] != case["in_emergency_window"]:
        problems.append(f"in_emergency_window: expected {case['in_emergency_window']}")
    assert not problems, "\n".join(problems)


def test_every_rule_has_cases() -> None:
    names = " ".join(path.stem for path in CASES_DIR.glob("*.yaml"))
    for rule_file in ("dibao", "tekun", "children", "price_subsidy", "covid", "bereavement"):
        assert rule_file in names
