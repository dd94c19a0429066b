"""The admission-screening rule (三(一)): each rule on its own, then properties over all inputs."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from doudi.care.rules import (
    FEVER_LINE,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    HealthCode,
    Outcome,
    ScreeningFacts,
    match_areas,
    match_trajectory,
    screen,
)

OK = Decimal("36.5")


def facts(origin=(), trajectory=(), t=OK, code=HealthCode.GREEN):
    return ScreeningFacts(tuple(origin), tuple(trajectory), t, code)


def test_green_normal_and_no_high_risk_place_passes_with_the_reason():
    d = screen(facts())
    assert d.outcome == Outcome.PASS
    assert d.reasons == ("绿码，体温 36.5 ℃ 正常，14天内未到过高风险地区",)


def test_red_code_refuses():
    d = screen(facts(code=HealthCode.RED))
    assert d.outcome == Outcome.REFUSE and d.reasons == ("渝康码为红码",)


def test_yellow_code_holds_for_observation():
    d = screen(facts(code=HealthCode.YELLOW))
    assert d.outcome == Outcome.HOLD and "黄码" in d.reasons[0]


def test_origin_in_a_high_risk_area_refuses_naming_the_area():
    d = screen(facts(origin=["湖北省"]))
    assert d.outcome == Outcome.REFUSE and "湖北省" in d.reasons[0] and "三(一)" in d.reasons[0]


def test_trajectory_through_a_high_risk_area_holds():
    d = screen(facts(trajectory=["武汉市"]))
    assert d.outcome == Outcome.HOLD and "武汉市" in d.reasons[0]


def test_fever_line_is_inclusive():
    assert screen(facts(t=FEVER_LINE)).outcome == Outcome.REFUSE
    assert "发热门诊" in screen(facts(t=FEVER_LINE)).reasons[0]
    assert screen(facts(t=FEVER_LINE - Decimal("0.1"))).outcome == Outcome.PASS


def test_every_problem_is_named_not_only_the_first():
    d = screen(
        facts(origin=["湖北省"], trajectory=["湖北省", "温州市"], t=Decimal("38.0"), code=HealthCode.YELLOW)
    )
    assert d.outcome == Outcome.REFUSE
    text = "|".join(d.reasons)
    assert "湖北省" in text and "38.0" in text and "黄码" in text and "温州市" in text
    # the origin area is not named a second time as a trajectory area
    assert sum("湖北省" in r for r in d.reasons) == 1


def test_unknown_code_is_a_programming_error():
    import pytest

    with pytest.raises(ValueError):
        screen(facts(code="blue"))


def test_area_matching_by_name_within_the_place():
    areas = ["湖北省", "温州市", "市", ""]
    assert match_areas("湖北省武汉市江汉区", areas) == ("湖北省",)
    assert match_areas("浙江省 温州市", areas) == ("温州市",)  # spacing ignored
    assert match_areas("湖\u200b北省孝感市", areas) == ("湖北省",)  # invisible character ignored
    assert match_areas("重庆市渝中区", areas) == ()  # a one-character name never matches
    assert match_areas("", areas) == ()
    assert match_trajectory(["湖北省黄冈市", "温州市", "湖北省"], areas) == ("湖北省", "温州市")


temperatures = st.decimals(min_value=TEMPERATURE_MIN, max_value=TEMPERATURE_MAX, places=1)
names = st.lists(st.sampled_from(["湖北省", "武汉市", "温州市"]), max_size=3, unique=True)
codes = st.sampled_from(list(HealthCode.values))


@given(origin=names, trajectory=names, t=temperatures, code=codes)
def test_outcome_follows_the_rule_for_every_input(origin, trajectory, t, code):
    d = screen(facts(origin, trajectory, t, code))
    refuse = code == HealthCode.RED or bool(origin) or t >= FEVER_LINE
    hold = code == HealthCode.YELLOW or bool(set(trajectory) - set(origin))
    expected = Outcome.REFUSE if refuse else Outcome.HOLD if hold else Outcome.PASS
    assert d.outcome == expected
    assert d.reasons and all(isinstance(r, str) and r for r in d.reasons)
    for area in set(origin) | set(trajectory):
        assert any(area in r for r in d.reasons)
    if d.outcome == Outcome.PASS:
        assert code == HealthCode.GREEN and t < FEVER_LINE and not origin and not trajectory
