"""Bad input (POLICY.md §4): nothing is evaluated, every problem is listed with its path; the CLI exits 2."""

from __future__ import annotations

import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.policy.cli import main
from doudi.policy.contract import InputError, evaluate_request
from doudi.policy.parameters import StoredValue, load_defaults

from .builders import household, member, request


def _errors(body: Any) -> list[dict[str, str]]:
    with pytest.raises(InputError) as raised:
        evaluate_request(body)
    assert raised.value.as_json() == {"errors": raised.value.errors}
    return raised.value.errors


def _paths(body: Any) -> list[str]:
    return [error["path"] for error in _errors(body)]


def _one(**fields: Any) -> dict[str, Any]:
    """A request with one household whose one member has ``fields``."""
    return request("2020-03", household("h1", member("p1", **fields)))


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ('{"period": "2020-03", "households": [', ""),
        (b"\xff\xfe", ""),
        ('{"period": "2020-03", "period": "2020-04", "households": []}', ""),
        ('{"period": "2020-03", "households": [], "parameters": {"dibao.standard.urban": NaN}}', ""),
        ("[]", ""),
        ({"households": []}, "period"),
        (request("2020-13"), "period"),
        (request("2020-3"), "period"),
        (request("March"), "period"),
        ({"period": 202003, "households": []}, "period"),
        ({"period": "2020-03"}, "households"),
        ({"period": "2020-03", "households": {}}, "households"),
        ({**request("2020-03"), "extra": 1}, "extra"),
        (request("2020-03", household("h1", area_type="city")), "households[0].area_type"),
        (request("2020-03", household("h1", region="50010")), "households[0].region"),
        (request("2020-03", household("h1", region=500101)), "households[0].region"),
        (request("2020-03", {"id": "h1", "region": "500101", "area_type": "urban"}), "households[0].members"),
        (request("2020-03", {"region": "500101", "area_type": "urban", "members": []}), "households[0].id"),
        (request("2020-03", household("", member("a"))), "households[0].id"),
        (request("2020-03", household("h1", size=3)), "households[0].size"),
        (request("2020-03", household("h1", dibao={"enrolled": True})), "households[0].dibao.last_amount"),
        (
            request("2020-03", household("h1", dibao={"enrolled": "yes", "last_amount": 1})),
            "households[0].dibao.enrolled",
        ),
        (
            request("2020-03", household("h1", dibao={"enrolled": True, "last_amount": -5})),
            "households[0].dibao.last_amount",
        ),
        (
            request("2020-03", household("h1", dibao={"enrolled": True, "last_amount": 300.5})),
            "households[0].dibao.last_amount",
        ),
        (request("2020-03", household("h1", assets={"deposits": -1})), "households[0].assets.deposits"),
        (request("2020-03", household("h1", assets={"deposits": 1.234})), "households[0].assets.deposits"),
        (request("2020-03", household("h1", assets={"deposits": "10"})), "households[0].assets.deposits"),
        (request("2020-03", household("h1", assets={"vehicles": 1.5})), "households[0].assets.vehicles"),
        (request("2020-03", household("h1", assets={"houses": -1})), "households[0].assets.houses"),
        (request("2020-03", household("h1", assets={"cars": 1})), "households[0].assets.cars"),
        (_one(income={"wage": -1}), "households[0].members[0].income.wage"),
        (_one(income={"salary": 1}), "households[0].members[0].income.salary"),
        (_one(income={"wage": True}), "households[0].members[0].income.wage"),
        (_one(birth_date="2020-02-30"), "households[0].members[0].birth_date"),
        (_one(birth_date="20200210"), "households[0].members[0].birth_date"),
        (_one(birth_date="2020/02/10"), "households[0].members[0].birth_date"),
        (_one(work="abroad"), "households[0].members[0].work"),
        (_one(categories=["tekun", "veteran"]), "households[0].members[0].categories[1]"),
        (_one(categories="tekun"), "households[0].members[0].categories"),
        (_one(orphan_care="foster"), "households[0].members[0].orphan_care"),
        (_one(categories=["orphan"]), "households[0].members[0].birth_date"),
        (
            _one(covid={"confirmed_on": "2020-02-10", "discharged_on": "2020-02-01"}),
            "households[0].members[0].covid.discharged_on",
        ),
        (
            _one(covid={"confirmed_on": "2020-02-10", "died_on": "2020-02-09"}),
            "households[0].members[0].covid.died_on",
        ),
        (_one(covid={"confirmed_on": "2020-02-31"}), "households[0].members[0].covid.confirmed_on"),
        (
            _one(covid={"confirmed_on": "2020-02-31", "discharged_on": "2020-03-01", "died_on": "x"}),
            "households[0].members[0].covid.died_on",
        ),
        (_one(covid={"tested_on": "2020-02-01"}), "households[0].members[0].covid.tested_on"),
        (_one(name="张三"), "households[0].members[0].name"),
        (request("2020-03", household("h1", member("a")), household("h1", member("b"))), "households[1].id"),
        (request("2020-03", household("h1", member("a"), member("a"))), "households[0].members[1].id"),
        (
            request("2020-03", household("h1", member("a")), household("h2", member("a"))),
            "households[1].members[0].id",
        ),
        (request("2020-03", **{"no.such.parameter": 1}), "parameters.no.such.parameter"),
        (request("2020-03", **{"dibao.standard": 1}), "parameters.dibao.standard"),
        (
            request("2020-03", **{"covid.bereavement_assistance.5001": 1}),
            "parameters.covid.bereavement_assistance.5001",
        ),
        (request("2020-03", **{"dibao.standard.urban.500101": 1}), "parameters.dibao.standard.urban.500101"),
        (request("2020-03", **{"dibao.standard.urban": -1}), "parameters.dibao.standard.urban"),
        (request("2020-03", **{"dibao.standard.urban": "600"}), "parameters.dibao.standard.urban"),
        (request("2020-03", **{"emergency.window.end": "soon"}), "parameters.emergency.window.end"),
        (request("2020-03", **{"emergency.window.start": None}), "parameters.emergency.window.start"),
        (request("2020-03", **{"children.adult_age": 17.5}), "parameters.children.adult_age"),
        (request("2020-03", **{"emergency.window.end": "2019-12-31"}), "parameters"),
        ({"period": "2020-03", "households": [], "parameters": []}, "parameters"),
        (request("2019-06", household("h1", member("a"))), "period"),
    ],
)
def test_bad_input_is_refused_with_its_path(body: Any, path: str) -> None:
    errors = _errors(body)
    assert path in [error["path"] for error in errors], errors
    assert all(error["message"] for error in errors)


def test_every_problem_is_listed() -> None:
    body = {
        "period": "2020-13",
        "parameters": {"nope": 1, "dibao.standard.urban": "x"},
        "households": [
            household("h1", member("a", income={"wage": -1}), member("a", birth_date="2020-02-30"),
                      area_type="city", dibao={"enrolled": True}),
            household("h1", member("b", work="abroad", categories=["veteran"])),
            {"id": "h3", "region": "500101", "area_type": "urban", "members": [], "extra": True},
        ],
    }  # fmt: skip
    assert sorted(_paths(body)) == sorted([
        "period",
        "parameters.nope",
        "parameters.dibao.standard.urban",
        "households[0].area_type",
        "households[0].dibao.last_amount",
        "households[0].members[0].income.wage",
        "households[0].members[1].id",
        "households[0].members[1].birth_date",
        "households[1].id",
        "households[1].members[0].work",
        "households[1].members[0].categories[0]",
        "households[2].extra",
    ])  # fmt: skip


def test_missing_optional_fields_take_neutral_defaults() -> None:
    result = evaluate_request(request("2020-03", household("h1", member("a"))))["households"][0]
    assert result["dibao"]["enrolled"] is False
    assert result["dibao"]["counted_income"] == 0.0 and result["dibao"]["asset_test"] is True
    assert result["members"][0]["child_allowance"] == {"amount": 0, "kind": None, "age_out_deferred": False}


# --- the CLI -------------------------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[int, Any]:
    code = main(argv, **kwargs)
    return code, json.loads(capsys.readouterr().out)


def test_cli_prints_the_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request("2020-03", household("h1", member("a")))), encoding="utf-8")
    code, answer = _run(["evaluate", str(path)], capsys)
    assert code == 0 and answer["households"][0]["total"] == 746
    assert _run([str(path)], capsys) == (0, answer)


def test_cli_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps(request("2020-03", household("h1", member("a")))).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    code, answer = _run(["evaluate", "-"], capsys)
    assert code == 0 and answer["households"][0]["dibao"]["amount"] == 546


def test_cli_bad_input_exits_2_with_the_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(request("2020-03", household("h1", member("a", work="abroad"), area_type="town")))
    )
    code, answer = _run(["evaluate", str(path)], capsys)
    assert code == 2
    assert [e["path"] for e in answer["errors"]] == [
        "households[0].area_type",
        "households[0].members[0].work",
    ]
    path.write_text("{not json")
    assert _run(["evaluate", str(path)], capsys)[0] == 2
    code, answer = _run(["evaluate", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "cannot read" in answer["errors"][0]["message"]


def test_cli_overlays_stored_values_unless_defaults_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request("2020-03", household("h1", member("a")))))
    stored = [StoredValue("dibao.standard.urban", None, date(2020, 1, 1), 600, "bureau decision", True)]

    def loader():
        return load_defaults().overlay(stored)

    assert (
        _run(["evaluate", str(path)], capsys, base_params_loader=loader)[1]["households"][0]["dibao"][
            "standard"
        ]
        == 600
    )
    defaults_only = _run(["evaluate", "--defaults-only", str(path)], capsys, base_params_loader=loader)[1]
    assert defaults_only["households"][0]["dibao"]["standard"] == 546


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["2020-02-30", "2020-03", "500101", "urban", "orphan", "migrant", "1e999"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)  # fmt: skip


def _paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found += _paths_of(child, (*prefix, key))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_mutation_is_evaluated_or_refused_never_crashes(data: st.DataObject) -> None:
    from .test_contract import SECTION_4_REQUEST

    body = json.loads(json.dumps(SECTION_4_REQUEST))
    path = data.draw(st.sampled_from(_paths_of(body)[1:]))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(JSON)
    try:
        evaluate_request(body)
    except InputError as error:
        assert error.errors and all(set(e) == {"path", "message"} for e in error.errors)


@pytest.mark.parametrize("as_text", [True, False])
def test_an_unpaired_surrogate_is_refused_not_echoed(as_text: bool) -> None:
    body = request("2020-03", household("h\ud800", member("p1")))
    payload: Any = json.dumps(body) if as_text else body  # json.dumps escapes it as "\\ud800"
    with pytest.raises(InputError) as caught:
        evaluate_request(payload)
    assert caught.value.errors == [
        {"path": "", "message": "malformed JSON: a string holds an unpaired surrogate"}
    ]
    json.dumps(caught.value.errors, ensure_ascii=False).encode("utf-8")  # the answer itself is encodable
