"""Parameters: the shipped defaults (POLICY.md §2), dated lookup, overlays, overrides, and the YAML loader."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from doudi.policy.parameters import (
    Kind,
    OverrideError,
    ParameterError,
    ParameterSet,
    StoredValue,
    load_directory,
)

# A copy of the product owner's reference price-index-2019-2020.tsv: the repository carries what its tests read.
PRICE_INDEX_TSV = Path(__file__).resolve().parent / "data" / "price-index-2019-2020.tsv"


def _value(params: ParameterSet, name: str, on: date, region: str | None = None):
    found = params.value_at(name, on, region)
    return None if found is None else found.value


CARE_EMERGENCY_DAYS = {
    "elderly_alone": 7,
    "scattered_orphan": 7,
    "left_behind_child": 14,
    "left_behind_elderly": 14,
    "severe_illness": 7,
    "severe_disability": 7,
}
CARE_CATEGORIES = tuple(CARE_EMERGENCY_DAYS)


def test_every_default_of_policy_section_2_is_shipped(defaults: ParameterSet) -> None:
    on = date(2020, 3, 1)
    expected = {
        "emergency.window.start": date(2020, 1, 24),
        "emergency.window.end": None,
        "dibao.standard.urban": 546,
        "dibao.standard.rural": 420,
        "dibao.work_cost_deduction.rate": Decimal("0.20"),
        "dibao.work_cost_deduction.cap_ratio": Decimal("1.0"),
        "dibao.assets.deposit_limit_months": 24,
        "dibao.assets.max_vehicles": 0,
        "dibao.assets.max_houses": 1,
        "tekun.basic_living_ratio": Decimal("1.3"),
        "children.allowance.institutional": 1500,
        "children.allowance.scattered": 1200,
        "children.adult_age": 18,
        "price_subsidy.trigger.cpi": Decimal("3.5"),
        "price_subsidy.trigger.food": Decimal("6.0"),
        "price_subsidy.food_weight": Decimal("1.0"),
        "price_subsidy.multiplier": 2,
        "price_subsidy.district_supplement": 0,
        "price_index.cpi_yoy": Decimal("4.3"),
        "price_index.food_yoy": Decimal("18.3"),
        "covid.assistance_multiple": 2,
        "covid.bereavement_assistance": None,
        "temporary.first_aid_cap": 1000,
        # Not in POLICY.md §2: temporary-assistance thresholds (docs/intake.md, "Temporary assistance").
        "temporary.first_aid_formalise_days": 5,
        "temporary.township_approval_limit": 2000,
        "temporary.cap.urgent": 3000,
        "temporary.cap.expenditure": 6000,
        # Not in POLICY.md §2: contact intervals of 三(四) (docs/care.md), unverified platform values.
        **{f"care.contact_days.normal.{c}": 30 for c in CARE_CATEGORIES},
        **{f"care.contact_days.emergency.{c}": d for c, d in CARE_EMERGENCY_DAYS.items()},
        "care.child_escalation_hours.township": 2,
        "care.child_escalation_hours.district": 6,
        # Not in POLICY.md §2: the psychological-aid offer of 五 (docs/care.md), unverified platform values.
        "care.psych_aid.hospital_days": 14,
        "care.psych_aid.follow_up_days": 7,
        # Not in POLICY.md §2: 条例第9条 (the minimum wage per tier, each district's tier) and 第13条 (boats).
        "minimum_wage.tier_1": 1800,
        "minimum_wage.tier_2": 1700,
        "minimum_wage.district_tier": 2,
        "dibao.assets.max_boats": 0,
        # Not in POLICY.md §2: the rescue station's saturation line of 二(三) (docs/rescue.md), unverified.
        "rescue.station_threshold_percent": 90,
    }
    assert set(defaults) == set(expected)
    for name, value in expected.items():
        assert _value(defaults, name, on) == value, name
        assert not isinstance(_value(defaults, name, on), float), name  # money and ratios stay exact


def test_standards_change_on_their_dates_and_say_whether_verified(defaults: ParameterSet) -> None:
    before, after = (
        defaults.value_at("dibao.standard.urban", date(2021, 8, 1)),
        defaults.value_at("dibao.standard.urban", date(2021, 9, 1)),
    )
    assert (before.value, before.since, before.verified) == (546, date(2019, 7, 1), False)
    assert (after.value, after.since, after.verified) == (636, date(2021, 9, 1), True)
    assert _value(defaults, "dibao.standard.rural", date(2021, 9, 1)) == 515
    assert defaults.value_at("dibao.standard.urban", date(2019, 6, 30)) is None


def test_the_multiplier_doubles_from_march_to_june_2020(defaults: ParameterSet) -> None:
    months = {
        date(2020, m, 1): _value(defaults, "price_subsidy.multiplier", date(2020, m, 1)) for m in range(1, 9)
    }
    assert [months[date(2020, m, 1)] for m in range(1, 9)] == [1, 1, 2, 2, 2, 2, 1, 1]


def test_price_index_series_follow_the_reference_file_and_never_carry_forward(defaults: ParameterSet) -> None:
    rows = list(csv.DictReader(PRICE_INDEX_TSV.open(encoding="utf-8"), delimiter="\t"))
    assert defaults["price_index.cpi_yoy"].kind is Kind.MONTHLY_SERIES
    for row in rows:
        month = date.fromisoformat(row["month"] + "-01")
        for column in ("cpi_yoy", "food_yoy"):
            entry = defaults[f"price_index.{column}"].entry_at(month)
            assert entry is not None and entry.value == Decimal(row[column])
            assert entry.status == row["status"]
            assert entry.verified is (row["status"] == "verified-NBS-release")
    assert defaults.value_at("price_index.cpi_yoy", date(2021, 1, 1)) is None
    assert defaults.value_at("price_index.food_yoy", date(2018, 12, 1)) is None


def test_region_indexed_parameters(defaults: ParameterSet) -> None:
    assert defaults.value_at("covid.bereavement_assistance", date(2020, 3, 1), "500101") is None
    supplement = defaults.value_at("price_subsidy.district_supplement", date(2020, 3, 1), "500101")
    assert supplement.value == 0 and supplement.name == "price_subsidy.district_supplement.500101"
    with pytest.raises(ParameterError, match="not region-indexed"):
        defaults.value_at("dibao.standard.urban", date(2020, 3, 1), "500101")


def test_overlay_adds_and_replaces_dated_values_and_leaves_the_defaults_alone(defaults: ParameterSet) -> None:
    stored = defaults.overlay([
        StoredValue("dibao.standard.urban", None, date(2019, 7, 1), 550, "bureau: corrected", True),
        StoredValue("dibao.standard.urban", None, date(2020, 7, 1), 580, "bureau: 2020 raise", True),
        ("covid.bereavement_assistance", "500101", date(2020, 1, 24), 5000, "万州区 decision", True),
        ("price_index.cpi_yoy", None, date(2021, 1, 1), Decimal("-0.3"), "NBS 2021-01", True),
        ("emergency.window.end", None, date(2020, 7, 15), date(2020, 6, 30), "declared end", True),
    ])  # fmt: skip
    assert _value(stored, "dibao.standard.urban", date(2020, 3, 1)) == 550
    assert stored.value_at("dibao.standard.urban", date(2020, 8, 1)).reference == "bureau: 2020 raise"
    assert _value(stored, "dibao.standard.urban", date(2021, 9, 1)) == 636
    assert _value(stored, "covid.bereavement_assistance", date(2020, 3, 1), "500101") == 5000
    assert _value(stored, "covid.bereavement_assistance", date(2020, 3, 1), "500102") is None
    assert _value(stored, "price_index.cpi_yoy", date(2021, 1, 1)) == Decimal("-0.3")
    # a declaration applies to every period, whenever it was declared
    assert _value(stored, "emergency.window.end", date(2020, 3, 1)) == date(2020, 6, 30)
    assert _value(defaults, "dibao.standard.urban", date(2020, 3, 1)) == 546
    assert _value(defaults, "emergency.window.end", date(2020, 3, 1)) is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (("no.such", None, date(2020, 1, 1), 1, "r", True), "unknown parameter"),
        (("dibao.standard.urban", "500101", date(2020, 1, 1), 1, "r", True), "region"),
        (("covid.bereavement_assistance", "5001", date(2020, 1, 1), 1, "r", True), "6-digit"),
        (("dibao.standard.urban", None, date(2020, 1, 1), -1, "r", True), "yuan"),
        (("dibao.standard.urban", None, date(2020, 1, 1), 1.5, "r", True), None),
        (("dibao.standard.urban", None, date(2020, 1, 1), "546", "r", True), "number"),
        (("dibao.standard.urban", None, "2020-01-01", 546, "r", True), "date"),
        (("price_index.cpi_yoy", None, date(2021, 1, 15), 1, "r", True), "1st"),
        (("children.adult_age", None, date(2020, 1, 1), Decimal("18.5"), "r", True), "whole"),
    ],
)
def test_overlay_refuses_bad_records(defaults: ParameterSet, record: tuple, message: str | None) -> None:
    if message is None:  # a float with a decimal representation is accepted exactly
        assert _value(defaults.overlay([record]), "dibao.standard.urban", date(2020, 3, 1)) == Decimal("1.5")
        return
    with pytest.raises(ParameterError, match=message):
        defaults.overlay([record])


def test_overrides_apply_whatever_the_date(defaults: ParameterSet) -> None:
    overridden = defaults.with_overrides({
        "dibao.standard.urban": 700,
        "price_index.food_yoy": Decimal("9.9"),
        "covid.bereavement_assistance.500102": 4000,
        "price_subsidy.district_supplement": 30,
        "price_subsidy.district_supplement.500103": 10,
    })  # fmt: skip
    for on in (date(2019, 1, 1), date(2020, 3, 1), date(2030, 1, 1)):
        value = overridden.value_at("dibao.standard.urban", on)
        assert (value.value, value.since, value.verified) == (700, None, False)
        assert _value(overridden, "price_index.food_yoy", on) == Decimal("9.9")
        assert _value(overridden, "covid.bereavement_assistance", on, "500102") == 4000
        assert _value(overridden, "price_subsidy.district_supplement", on, "500101") == 30
        assert _value(overridden, "price_subsidy.district_supplement", on, "500103") == 10
    assert _value(overridden, "covid.bereavement_assistance", date(2020, 3, 1), "500101") is None


def test_overrides_list_every_problem(defaults: ParameterSet) -> None:
    with pytest.raises(OverrideError) as raised:
        defaults.with_overrides({"a.b": 1, "dibao.standard.urban": "x", "emergency.window.end": None, "c": 2})
    assert [key for key, _ in raised.value.problems] == ["a.b", "dibao.standard.urban", "c"]


_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_parameter_has_a_chinese_name_description_and_unit_and_english_ones(
    defaults: ParameterSet,
) -> None:
    assert len(defaults) >= 27
    for name, parameter in defaults.items():
        assert _CJK.search(parameter.label), name
        assert _CJK.search(parameter.description), name
        assert _CJK.search(parameter.unit) or parameter.unit == "%", name
        chinese = (parameter.label + parameter.description + parameter.unit).replace("CPI", "")  # 通用缩写
        assert not re.search(r"[A-Za-z]{3,}", chinese), name
        assert set(parameter.en) == {"label", "description", "unit"} and all(parameter.en.values()), name
        assert not _CJK.search(parameter.en["label"] + parameter.en["unit"]), name
    assert defaults["dibao.standard.urban"].unit == "元/人/月"


# --- the loader refuses malformed files ------------------------------------------------------------

GOOD = """\
label: 城市最低生活保障标准
description: 城市居民家庭的低保标准
metadata: {unit: 元/人/月}
type: money
en: {label: Urban standard, description: The urban dibao standard, unit: CNY per person per month}
values:
  2019-07-01:
    value: 546
    metadata: {reference: "source", verified: false}
  2021-09-01:
    value: 636
    metadata: {reference: "source", verified: true}
"""


def _load(tmp_path: Path, text: str, name: str = "dibao/standard/urban.yaml") -> ParameterSet:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_directory(tmp_path)


def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    params = _load(tmp_path, GOOD)
    assert list(params) == ["dibao.standard.urban"]
    assert _value(params, "dibao.standard.urban", date(2022, 1, 1)) == 636


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (GOOD + "unit: yuan\n", "unit", "unknown key"),
        (GOOD.replace("metadata: {unit:", "metadata: {source: x, unit:"), "metadata.source", "unknown key"),
        (
            GOOD.replace("verified: true}", "verified: true, checked: yes}"),
            "values.2021-09-01.metadata.checked",
            "unknown key",
        ),
        (
            GOOD.replace("    value: 636\n", "    value: 636\n    note: x\n"),
            "values.2021-09-01.note",
            "unknown key",
        ),
        (GOOD.replace("2021-09-01", "2019-01-01"), "values.2019-01-01", "increasing order"),
        (GOOD.replace("2021-09-01", "2019-07-01"), "2019-07-01", "duplicate key"),
        (GOOD.replace("value: 546", "value: abc"), "values.2019-07-01.value", "number"),
        (GOOD.replace("value: 546", "value: -546"), "values.2019-07-01.value", "yuan"),
        (GOOD.replace("value: 546", "value: 546.123"), "values.2019-07-01.value", "2 decimals"),
        (GOOD.replace("value: 546", "value: null"), "values.2019-07-01.value", "null"),
        (GOOD.replace("value: 546", "value: true"), "values.2019-07-01.value", "number"),
        (
            GOOD.replace("verified: false", "verified: maybe"),
            "values.2019-07-01.metadata.verified",
            "true or false",
        ),
        (GOOD.replace("type: money", "type: currency"), "type", "currency"),
        (GOOD.replace("2019-07-01:", "July 2019:"), "values.July 2019", "date"),
        (
            GOOD.replace('reference: "source", verified: false', "verified: false"),
            "metadata.reference",
            "missing",
        ),
        (GOOD.replace("description: 城市居民家庭的低保标准\n", ""), "description", "missing"),
        (GOOD.replace("label: 城市最低生活保障标准\n", ""), "label", "missing"),
        (GOOD.replace(", unit: CNY per person per month}", "}"), "en.unit", "missing"),
        (GOOD.replace("label: Urban standard", "label: ' '"), "en.label", "non-empty"),
        (GOOD.split("values:")[0], "values", "at least one"),
        (GOOD + "  : [\n", "", ""),
    ],
)
def test_the_loader_refuses_malformed_files_naming_file_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    with pytest.raises(ParameterError) as raised:
        _load(tmp_path, text)
    assert "urban.yaml" in str(raised.value) and key in str(raised.value) and message in str(raised.value)


def test_the_loader_checks_types_series_and_regions(tmp_path: Path) -> None:
    count = GOOD.replace("type: money", "type: count").replace("value: 546", "value: 1.5")
    with pytest.raises(ParameterError, match="whole number"):
        _load(tmp_path, count)
    series = GOOD.replace("type: money", "type: percent\nkind: monthly_series").replace(
        "2019-07-01", "2019-07-15"
    )
    with pytest.raises(ParameterError, match="1st of its month"):
        _load(tmp_path, series)
    regional = (
        GOOD + "by_region:\n  500101:\n    2020-01-01: {value: 1, metadata: {reference: r, verified: true}}\n"
    )
    with pytest.raises(ParameterError, match="quoted 6-digit"):
        _load(tmp_path, regional)
    dated = GOOD.replace("type: money", "type: date").replace("value: 546", "value: 2020-13-01")
    with pytest.raises(ParameterError, match="date"):
        _load(tmp_path, dated)


def test_file_names_must_be_parameter_names(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="lower_snake_case"):
        _load(tmp_path, GOOD, "Dibao/standard-urban.yaml")
