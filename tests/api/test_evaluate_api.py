"""POST /api/v1/evaluate is the POLICY.md §4 contract: the same JSON as `doudi evaluate`."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from doudi.policy.cli import main as cli_main

DOUDI = str(Path(sys.executable).with_name("doudi"))


def post(client, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/evaluate", data=data, content_type="application/json", **headers)


def test_contract_example_equals_the_cli_byte_for_byte(client, db, contract_example, write_json):
    path = write_json(contract_example)
    cli = subprocess.run([DOUDI, "evaluate", "--defaults-only", str(path)], capture_output=True, check=True)
    response = post(client, contract_example)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == cli.stdout
    result = json.loads(response.content)
    household = result["households"][0]
    # POLICY.md §4's figures
    assert household["total"] == 2192
    assert household["dibao"]["decision"] == "exit_deferred" and household["dibao"]["amount"] == 900
    assert household["members"][0]["covid_assistance"] == {
        "amount": 1092,
        "episode_months": 2,
        "episode_total": 2184,
    }


def test_worked_example_one(client, db, household_of_three):
    household = post(client, household_of_three).json()["households"][0]
    assert household["dibao"]["decision"] == "include" and household["dibao"]["amount"] == 338
    assert household["total"] == 938


BAD_INPUTS = [
    ("malformed JSON", '{"period": "2020-03", "households": [', ""),
    (
        "unknown enum value",
        {
            "period": "2020-03",
            "households": [{"id": "h", "region": "500101", "area_type": "suburban", "members": []}],
        },
        "households[0].area_type",
    ),
    (
        "bad date",
        {
            "period": "2020-03",
            "households": [
                {
                    "id": "h",
                    "region": "500101",
                    "area_type": "urban",
                    "members": [{"id": "p", "birth_date": "1975-02-30"}],
                }
            ],
        },
        "households[0].members[0].birth_date",
    ),
    ("bad period", {"period": "2020-3", "households": []}, "period"),
    (
        "negative money",
        {
            "period": "2020-03",
            "households": [
                {
                    "id": "h",
                    "region": "500101",
                    "area_type": "urban",
                    "members": [{"id": "p", "income": {"wage": -5}}],
                }
            ],
        },
        "households[0].members[0].income.wage",
    ),
    (
        "duplicate ids",
        {
            "period": "2020-03",
            "households": [
                {"id": "h", "region": "500101", "area_type": "urban", "members": [{"id": "p"}]},
                {"id": "h", "region": "500101", "area_type": "urban", "members": [{"id": "q"}]},
            ],
        },
        "households[1].id",
    ),
    (
        "enrolled without last_amount",
        {
            "period": "2020-03",
            "households": [
                {
                    "id": "h",
                    "region": "500101",
                    "area_type": "urban",
                    "dibao": {"enrolled": True},
                    "members": [{"id": "p"}],
                }
            ],
        },
        "households[0].dibao.last_amount",
    ),
    (
        "unknown parameter name",
        {"period": "2020-03", "parameters": {"dibao.standard.suburban": 1}, "households": []},
        "parameters.dibao.standard.suburban",
    ),
    # 条例第11–13条: the additive inputs are checked like the rest
    *(
        (
            label,
            {
                "period": "2020-03",
                "households": [
                    {
                        "id": "h",
                        "region": "500101",
                        "area_type": "urban",
                        "members": [{"id": "a", **member}],
                        **fields,
                    }
                ],
            },
            path,
        )
        for label, member, fields, path in [
            (
                "conscript without married",
                {"membership": {"status": "serving_conscript"}},
                {},
                "households[0].members[0].membership.married",
            ),
            (
                "clergy without a date",
                {"membership": {"status": "clergy"}},
                {},
                "households[0].members[0].membership.living_apart_since",
            ),
            (
                "a minor assessed separately",
                {"birth_date": "2010-01-01", "membership": {"separate_household": "severe_disability"}},
                {},
                "households[0].members[0].membership.separate_household",
            ),
            ("negative securities", {}, {"assets": {"securities": -5}}, "households[0].assets.securities"),
            ("a boat and a half", {}, {"assets": {"boats": 1.5}}, "households[0].assets.boats"),
            (
                "farming costs as text",
                {},
                {"farming": {"direct_costs": "100"}},
                "households[0].farming.direct_costs",
            ),
            (
                "application after the period",
                {},
                {"application_date": "2020-04-01"},
                "households[0].application_date",
            ),
        ]
    ),
]


@pytest.mark.parametrize(("label", "body", "path"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_422_with_the_path_and_cli_exit_2(client, db, write_json, capsys, label, body, path):
    response = post(client, body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert path in [e["path"] for e in errors]
    assert all(e["message"] for e in errors)

    capsys.readouterr()
    code = cli_main([str(write_json(body)), "--defaults-only"])
    out = capsys.readouterr().out
    assert code == 2
    assert out.encode() == response.content  # the same errors, in the same words


def test_every_problem_is_listed_at_once(client, db):
    body = {
        "period": "2020-3",
        "households": [
            {
                "id": "h",
                "region": "500101",
                "area_type": "suburban",
                "members": [{"id": "p", "income": {"wage": -1}}],
            }
        ],
    }
    paths = {e["path"] for e in post(client, body).json()["errors"]}
    assert {"period", "households[0].area_type", "households[0].members[0].income.wage"} <= paths


def test_non_utf8_and_non_object_bodies_are_422(client, db):
    assert post(client, b"\xff\xfe{}").status_code == 422
    assert post(client, "[1, 2]").status_code == 422
    assert post(client, "").status_code == 422


def test_an_unpaired_surrogate_is_422_not_500(client, db):
    body = (
        '{"period": "2020-03", "households": [{"id": "h\\ud800", "region": "500101", "area_type": "urban"}]}'
    )
    response = post(client, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].endswith("unpaired surrogate")


def test_stored_value_overlays_defaults_but_not_with_defaults_only(
    client, admin, household_of_three, write_json, capsys
):
    from doudi.parameters.services import add_parameter_value

    assert post(client, household_of_three).json()["households"][0]["dibao"]["standard"] == 546
    add_parameter_value(
        user=admin,
        name="dibao.standard.urban",
        effective_from=date(2020, 3, 1),
        value=700,
        reference="测试文件",
        reason="测试",
    )
    api_result = post(client, household_of_three).json()["households"][0]["dibao"]
    assert api_result["standard"] == 700 and api_result["amount"] == 700 * 3 - 1300
    step = next(
        s
        for s in post(client, household_of_three).json()["households"][0]["explanation"]
        if any(p["name"] == "dibao.standard.urban" for p in s["parameters"])
    )
    used = next(p for p in step["parameters"] if p["name"] == "dibao.standard.urban")
    assert used == {
        "name": "dibao.standard.urban",
        "value": 700,
        "since": "2020-03-01",
        "reference": "测试文件",
        "verified": False,
    }

    path = str(write_json(household_of_three))
    capsys.readouterr()
    call_command("evaluate", path)  # the Django-aware command overlays the stored value
    assert json.loads(capsys.readouterr().out)["households"][0]["dibao"]["standard"] == 700
    call_command("evaluate", path, "--defaults-only")
    assert json.loads(capsys.readouterr().out)["households"][0]["dibao"]["standard"] == 546
    # the February period still reads the default in force then
    february = {**household_of_three, "period": "2020-02"}
    assert post(client, february).json()["households"][0]["dibao"]["standard"] == 546


def test_parameter_set_is_cached_until_a_value_is_stored(client, admin, household_of_three, monkeypatch):
    from doudi.parameters import selectors

    calls = []
    real = selectors.stored_overlay_records
    monkeypatch.setattr(selectors, "stored_overlay_records", lambda: calls.append(1) or real())
    for _ in range(3):
        assert post(client, household_of_three).status_code == 200
    assert len(calls) == 1
    from doudi.parameters.services import add_parameter_value

    add_parameter_value(
        user=admin,
        name="dibao.standard.urban",
        effective_from=date(2020, 3, 1),
        value=700,
        reference="测试文件",
        reason="测试",
    )
    assert post(client, household_of_three).json()["households"][0]["dibao"]["standard"] == 700


def test_anonymous_callers_are_rate_limited_but_token_holders_are_not(
    client, officer, token_for, settings, household_of_three
):
    settings.DOUDI_API_ANON_RATE = "2/m"
    assert post(client, household_of_three).status_code == 200
    assert post(client, household_of_three).status_code == 200
    limited = post(client, household_of_three)
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["message"]
    assert int(limited["Retry-After"]) >= 1
    token = token_for(officer)
    for _ in range(3):
        assert post(client, household_of_three, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_bad_token_is_refused_even_on_the_public_endpoint(client, db, household_of_three):
    response = post(client, household_of_three, HTTP_AUTHORIZATION="Bearer dd_not-a-token")
    assert response.status_code == 401
    assert response.json()["errors"][0]["path"] == ""


def test_the_declared_city_wide_window_decides_the_months_in_the_window(client, admin):
    """A window declared (and ended) in the console is what evaluations use, not the shipped default."""
    from doudi.regions.services import declare_window, end_window

    orphan = {
        "period": "2020-06",
        "households": [
            {
                "id": "h",
                "region": "500101",
                "area_type": "urban",
                "members": [{"id": "o", "birth_date": "2002-02-15", "categories": ["orphan"]}],
            },
        ],
    }
    # The shipped default window is open: the orphan's allowance is deferred through June.
    assert post(client, orphan).json()["households"][0]["members"][0]["child_allowance"]["amount"] == 1200
    window = declare_window(by=admin, name="新冠肺炎疫情", start=date(2020, 1, 24), reason="一级响应")
    end_window(window, date(2020, 5, 31), by=admin, reason="疫情防控转入常态化")
    answer = post(client, orphan).json()
    assert answer["in_emergency_window"] is False
    assert answer["households"][0]["members"][0]["child_allowance"]["amount"] == 0
    orphan["period"] = "2020-05"
    assert post(client, orphan).json()["households"][0]["members"][0]["child_allowance"]["amount"] == 1200
