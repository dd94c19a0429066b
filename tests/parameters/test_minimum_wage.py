"""条例第9条: the minimum wage per district tier is a dated parameter, and a dibao standard that is not
below it is flagged on the console's parameter pages and by `doudi check-parameters`."""

from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from doudi.parameters.selectors import current_parameters, minimum_wage_warnings
from doudi.parameters.services import add_parameter_value
from doudi.policy.checks import standard_not_below_minimum_wage
from doudi.policy.parameters import load_defaults


def test_the_shipped_standards_are_below_the_minimum_wage_of_every_tier() -> None:
    params = load_defaults()
    assert standard_not_below_minimum_wage(params) == []
    assert params.value_at("minimum_wage.district_tier", date(2020, 3, 1), "500103").value == 1  # 渝中
    assert params.value_at("minimum_wage.district_tier", date(2020, 3, 1), "500230").value == 2
    assert params.value_at("minimum_wage.tier_2", date(2022, 4, 1)).value == 2000


def test_a_standard_equal_to_a_tier_is_flagged_from_its_date_once() -> None:
    params = load_defaults().overlay(
        [
            ("dibao.standard.rural", None, date(2020, 1, 1), 1700, "test", False),  # = tier 2: not below
            ("dibao.standard.rural", None, date(2020, 6, 1), 1701, "test", False),
            ("dibao.standard.rural", None, date(2021, 1, 1), 500, "test", False),
        ]
    )
    problems = standard_not_below_minimum_wage(params)
    assert [(p.since, p.standard, p.tier, p.wage) for p in problems] == [
        (date(2020, 1, 1), 1700, 2, 1700),
        (date(2020, 6, 1), 1701, 2, 1700),
    ]
    assert problems[0].districts == (None,)  # the tier of every district without one of its own
    assert problems[0].as_json()["minimum_wage"] == {"name": "minimum_wage.tier_2", "tier": 2, "value": 1700}


def test_a_district_moved_to_a_lower_tier_is_checked_against_it() -> None:
    params = load_defaults().overlay(
        [
            ("minimum_wage.tier_1", None, date(2020, 1, 1), 600, "test", False),
            ("dibao.standard.urban", None, date(2020, 1, 1), 600, "test", False),
        ]
    )
    problem, later = standard_not_below_minimum_wage(params)
    assert (later.since, later.standard) == (date(2021, 9, 1), 636)  # the default's next value, still ≥ 600
    assert (
        problem.since == date(2020, 1, 1)
        and problem.tier == 1
        and "500103" in problem.districts
        and problem.standard_name == "dibao.standard.urban"
    )


@pytest.fixture
def too_high(admin):
    return add_parameter_value(
        user=admin,
        name="dibao.standard.urban",
        effective_from=date(2021, 1, 1),
        value=1800,
        reference="测试",
        reason="测试",
    )


def test_the_console_pages_warn(client, officer, too_high) -> None:
    client.force_login(officer)
    html = client.get(reverse("parameters:list")).content.decode()
    assert 'data-testid="minimum-wage-warning"' in html
    assert "2021-01-01" in html and "1800" in html and "第9条" in html
    detail = client.get(reverse("parameters:detail", args=["minimum_wage.tier_1"])).content.decode()
    assert 'data-testid="minimum-wage-warning"' in detail
    unrelated = client.get(reverse("parameters:detail", args=["covid.assistance_multiple"])).content.decode()
    assert 'data-testid="minimum-wage-warning"' not in unrelated


def test_no_warning_with_the_defaults(client, officer) -> None:
    client.force_login(officer)
    assert 'data-testid="minimum-wage-warning"' not in client.get(reverse("parameters:list")).content.decode()
    assert minimum_wage_warnings() == []


def test_the_parameter_check_command(db, too_high, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("check-parameters")
    assert exited.value.code == 1
    out = capsys.readouterr().out
    # both tiers (1800 and 1700) are not above 1800 from 2021-01-01
    assert out.count("WARNING 2021-01-01") == 2 and "dibao.standard.urban = 1800" in out
    assert len(minimum_wage_warnings(current_parameters())) == 2


def test_the_parameter_check_command_passes_with_the_defaults(db, capsys) -> None:
    call_command("check-parameters")
    assert "OK" in capsys.readouterr().out
