"""The dibao regulation's art. 11 (who counts), 12 (the income period) and 13 (the asset items) in the
evaluation: worked cases, bad input, and the engine against a plain reference over random households."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.policy.contract import InputError, evaluate_request

from .builders import household, member, request

ADULT = "1980-05-05"


def _one(body: dict[str, Any]) -> dict[str, Any]:
    return evaluate_request(body)["households"][0]


def _errors(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        evaluate_request(body)
    return {e["path"]: e["message"] for e in caught.value.errors}


# --- art. 11: who counts ------------------------------------------------------------------------------


def test_conscripts_clergy_and_prisoners_are_counted_by_rule_with_their_reasons() -> None:
    answer = _one(
        request(
            "2020-03",
            household(
                "h",
                member("a", income={"wage": 600}),
                member("single-soldier", income={"wage": 900}, membership={"status": "serving_conscript", "married": False}),
                member("married-soldier", membership={"status": "serving_conscript", "married": True}),
                member("monk-long", income={"transfer": 300}, membership={"status": "clergy", "living_apart_since": "2019-02-28"}),
                member("monk-year", membership={"status": "clergy", "living_apart_since": "2019-03-01"}),
                member("prisoner", income={"property": 5000}, membership={"status": "prisoner"}),
                member("tekun", categories=["tekun"]),
            ),
        )
    )  # fmt: skip
    shown = {m["id"]: (m["membership"]["counted"], m["membership"]["reason"]) for m in answer["members"]}
    assert shown == {
        "a": (True, "member"),
        "single-soldier": (False, "serving_conscript_unmarried"),
        "married-soldier": (True, "member"),
        "monk-long": (False, "clergy_living_apart"),  # apart more than a year on 2020-03-01
        "monk-year": (True, "member"),  # exactly a year: not more than a year
        "prisoner": (False, "prisoner"),
        "tekun": (False, "tekun"),
    }
    # only the counted members' income and number: 600 over 3 people (a, married soldier, monk of a year)
    assert answer["dibao"]["size"] == 3 and answer["dibao"]["counted_income"] == 600.0
    assert answer["dibao"]["decision"] == "include" and answer["dibao"]["amount"] == 546 * 3 - 600
    steps = [s for s in answer["explanation"] if s["rule"] == "dibao.membership"]
    assert [(s["member"], s["value"]) for s in steps] == [(k, v[1]) for k, v in shown.items()]
    assert all(
        s["articles"] == [{"instrument": "重庆市城乡居民最低生活保障条例", "article": 11}] for s in steps
    )


def test_a_separately_assessed_adult_counts_alone_and_not_with_the_others() -> None:
    disabled = member(
        "d",
        birth_date=ADULT,
        income={"transfer": 200},
        membership={"separate_household": "severe_disability"},
    )
    family = _one(request("2020-03", household("h", member("a", income={"wage": 1000}), disabled)))
    assert family["dibao"]["size"] == 1 and family["dibao"]["counted_income"] == 1000.0
    assert family["members"][1]["membership"] == {
        "counted": False,
        "reason": "separate_household",
        "separate_household": "severe_disability",
    }
    alone = _one(request("2020-03", household("h-d", disabled)))
    assert alone["members"][0]["membership"] == {
        "counted": True,
        "reason": "assessed_alone",
        "separate_household": "severe_disability",
    }
    assert alone["dibao"]["size"] == 1 and alone["dibao"]["amount"] == 546 - 200


def test_a_tekun_member_stays_tekun_whatever_else_is_reported() -> None:
    answer = _one(
        request(
            "2020-03", household("h", member("t", categories=["tekun"], membership={"status": "prisoner"}))
        )
    )
    assert answer["members"][0]["membership"]["reason"] == "tekun"
    assert answer["dibao"]["decision"] == "not_applicable"


@pytest.mark.parametrize(
    ("membership", "birth_date", "path", "words"),
    [
        ({"status": "serving_conscript"}, None, "membership.married", "required for a serving conscript"),
        ({"status": "clergy"}, None, "membership.living_apart_since", "required for clergy"),
        ({"living_apart_since": "2018-01-01"}, None, "membership.living_apart_since", "only for clergy"),
        ({"status": "soldier"}, None, "membership.status", "unknown value"),
        ({"status": "clergy", "living_apart_since": "2019-02-30"}, None, "membership.living_apart_since", ""),
        ({"married": "yes"}, None, "membership.married", "true or false"),
        ({"separate_household": "old_age"}, ADULT, "membership.separate_household", "unknown value"),
        ({"separate_household": "severe_disability"}, None, "birth_date", "required"),
        ({"separate_household": "bedridden_illness"}, "2002-03-02", "membership.separate_household", "adult"),
        ({"colour": "red"}, None, "membership.colour", "unknown field"),
    ],
)
def test_bad_membership_facts_are_refused_with_their_path(membership, birth_date, path, words) -> None:
    fields: dict[str, Any] = {"membership": membership}
    if birth_date:
        fields["birth_date"] = birth_date
    errors = _errors(request("2020-03", household("h", member("a"), member("b", **fields))))
    assert words in errors[f"households[0].members[1].{path}"]


def test_an_adult_on_the_first_day_may_be_assessed_separately() -> None:
    eighteen = member("b", birth_date="2002-03-01", membership={"separate_household": "bedridden_illness"})
    assert _one(request("2020-03", household("h", eighteen)))["members"][0]["membership"]["counted"] is True


# --- art. 12: the income period -------------------------------------------------------------------------


def test_the_income_period_is_the_month_before_the_application() -> None:
    default = _one(request("2020-03", household("h", member("a"))))["dibao"]["income_period"]
    assert default == {
        "kind": "month_before_application",
        "from": "2020-02-01",
        "to": "2020-02-29",
        "months": 1,
    }
    applied = _one(request("2020-03", household("h", member("a"), application_date="2020-01-15")))
    assert applied["dibao"]["income_period"]["from"] == "2019-12-01"
    step = next(s for s in applied["explanation"] if s["rule"] == "dibao.income_period")
    assert step["value"]["to"] == "2019-12-31"
    assert step["articles"] == [{"instrument": "重庆市城乡居民最低生活保障条例", "article": 12}]


def test_a_farming_household_counts_twelve_months_less_costs_divided_by_twelve() -> None:
    body = request(
        "2020-03",
        household(
            "h",
            member("a", income={"wage": 100}),
            member("b"),
            area_type="rural",
            farming={"cash_income": 6000, "in_kind_income": 1000.5, "direct_costs": 2000},
        ),
    )
    answer = _one(body)
    dibao = answer["dibao"]
    assert dibao["income_period"] == {
        "kind": "farming_12_months", "from": "2019-03-01", "to": "2020-02-29", "months": 12,
    }  # fmt: skip
    # (6000 + 1000.5 − 2000) ÷ 12 = 416.7083… → 416.71 a month, half up to the fen
    assert dibao["farming_income"] == 416.71
    assert dibao["counted_income"] == 516.71
    assert dibao["amount"] == 323  # 420 × 2 − 516.71 = 323.29 → 323
    step = next(s for s in answer["explanation"] if s["rule"] == "dibao.farming_income")
    assert step["arithmetic"][0]["text"] == "5000.5 ÷ 12 = 416.71"


def test_a_farming_loss_counts_as_nothing_and_a_late_application_is_refused() -> None:
    loss = household(
        "h", member("a", income={"wage": 100}), farming={"cash_income": 100, "direct_costs": 900}
    )
    assert _one(request("2020-03", loss))["dibao"]["counted_income"] == 100.0
    errors = _errors(request("2020-03", household("h", member("a"), application_date="2020-04-01")))
    assert "after the period" in errors["households[0].application_date"]
    errors = _errors(request("2020-03", household("h", member("a"), farming={"cash_income": -1, "seed": 2})))
    assert "negative" in errors["households[0].farming.cash_income"]
    assert "unknown field" in errors["households[0].farming.seed"]


# --- art. 13: the asset items ------------------------------------------------------------------------------


def test_each_asset_item_is_listed_and_tested_with_its_limit() -> None:
    assets = {"deposits": 10000, "securities": 2000, "claims": 1104.01, "disability_vehicles": 1}
    answer = _one(request("2020-03", household("h", member("a"), assets=assets)))
    dibao = answer["dibao"]
    limits = {t["test"]: t for t in dibao["asset_limits"]}
    # 24 months × 546 × 1 = 13104: 10000 + 2000 + 1104.01 is one fen over
    assert limits["financial_assets"] == {
        "test": "financial_assets", "items": ["deposits", "securities", "claims"],
        "value": 13104.01, "limit": 13104.0, "passes": False,
    }  # fmt: skip
    assert limits["vehicles"]["passes"] is True  # the disability vehicle is excepted
    assert dibao["asset_test"] is False and dibao["decision"] == "not_eligible"
    items = {i["item"]: i for i in dibao["asset_items"]}
    assert items["disability_vehicles"] == {"item": "disability_vehicles", "value": 1, "excepted": True}
    boat = _one(request("2020-03", household("h", member("a"), assets={"boats": 1})))["dibao"]
    assert boat["asset_test"] is False and [t["passes"] for t in boat["asset_limits"]] == [
        True,
        True,
        False,
        True,
    ]


def test_bad_asset_items_are_refused() -> None:
    assets = {"securities": -1, "claims": 0.001, "boats": 1.5, "disability_vehicles": -2}
    errors = _errors(request("2020-03", household("h", member("a"), assets=assets)))
    assert set(errors) == {f"households[0].assets.{name}" for name in assets}


# --- the engine against a plain reference --------------------------------------------------------------

STATUSES = st.sampled_from(["present", "serving_conscript", "clergy", "prisoner"])


@st.composite
def _members(draw: Any) -> list[dict[str, Any]]:
    members = []
    for i in range(draw(st.integers(1, 5))):
        status = draw(STATUSES)
        membership: dict[str, Any] = {"status": status}
        if status == "serving_conscript":
            membership["married"] = draw(st.booleans())
        if status == "clergy":
            membership["living_apart_since"] = draw(st.dates(date(2017, 1, 1), date(2020, 3, 31))).isoformat()
        if draw(st.booleans()) and draw(st.booleans()):
            membership["separate_household"] = draw(
                st.sampled_from(["severe_disability", "bedridden_illness"])
            )
        wage = draw(st.integers(0, 300_000)) / 100
        categories = ["tekun"] if draw(st.integers(0, 9)) == 0 else []
        members.append(
            {"id": f"m{i}", "birth_date": ADULT, "income": {"wage": wage}, "membership": membership,
             "categories": categories}
        )  # fmt: skip
    return members


def _reference_counted(members: list[dict[str, Any]], on: date) -> list[bool]:
    """条例第11条 read plainly."""
    counted = []
    for m in members:
        ms = m["membership"]
        if "tekun" in m["categories"] or ms["status"] == "prisoner":
            counted.append(False)
        elif ms["status"] == "serving_conscript" and not ms["married"]:
            counted.append(False)
        elif ms["status"] == "clergy" and date.fromisoformat(ms["living_apart_since"]) < on.replace(
            year=on.year - 1
        ):
            counted.append(False)
        elif ms.get("separate_household"):
            counted.append(len(members) == 1)
        else:
            counted.append(True)
    return counted


def _half_up_fen(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=150, deadline=None)
@given(
    members=_members(),
    farming=st.none() | st.tuples(*(st.integers(0, 5_000_000) for _ in range(3))),
    money=st.tuples(*(st.integers(0, 2_000_000) for _ in range(3))),
    counts=st.tuples(*(st.integers(0, 2) for _ in range(4))),
    area=st.sampled_from(["urban", "rural"]),
)
def test_the_engine_counts_members_income_and_assets_as_the_plain_reference(
    members, farming, money, counts, area
) -> None:
    deposits, securities, claims = (Decimal(v) / 100 for v in money)
    vehicles, disability_vehicles, boats, houses = counts
    body = household("h", *members, area_type=area, assets={
        "deposits": float(deposits), "securities": float(securities), "claims": float(claims),
        "vehicles": vehicles, "disability_vehicles": disability_vehicles, "boats": boats, "houses": houses})  # fmt: skip
    if farming is not None:
        body["farming"] = dict(
            zip(("cash_income", "in_kind_income", "direct_costs"), (v / 100 for v in farming), strict=True)
        )
    answer = _one(request("2020-03", body))
    counted = _reference_counted(members, date(2020, 3, 1))
    assert [m["membership"]["counted"] for m in answer["members"]] == counted
    standard = Decimal(546 if area == "urban" else 420)
    size = sum(counted)
    farming_income = Decimal(0)
    if farming is not None:
        cash, in_kind, costs = farming
        farming_income = _half_up_fen(Decimal(max(0, cash + in_kind - costs)) / 100 / 12)
    income = sum(
        (Decimal(str(m["income"]["wage"])) for m, c in zip(members, counted, strict=True) if c), Decimal(0)
    )
    if size:
        income += farming_income
        assert answer["dibao"]["counted_income"] == float(income)
    assert answer["dibao"]["size"] == size
    assert answer["dibao"]["income_period"]["months"] == (12 if farming is not None else 1)
    asset_test = (
        deposits + securities + claims <= 24 * standard * size
        and vehicles <= 0
        and boats <= 0
        and houses <= 1
    )
    assert answer["dibao"]["asset_test"] is asset_test
    assert answer["dibao"]["asset_test"] is all(t["passes"] for t in answer["dibao"]["asset_limits"])
