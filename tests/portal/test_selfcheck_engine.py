"""The self-check's answer is the policy engine's: for generated households, typed as a phone types
them (full-width digits, commas, 元, invisible characters), the amounts and the verdict shown equal
what `doudi.policy.contract.evaluate_request` answers for the same household written here, directly,
as a POLICY.md §4 request."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.policy import load_defaults
from doudi.policy.contract import evaluate_request

pytestmark = pytest.mark.django_db

A = "500101"
TODAYS = [
    datetime.date(2020, 2, 20),
    datetime.date(2020, 3, 15),  # price subsidy doubled (food +18.3 %)
    datetime.date(2020, 6, 30),
    datetime.date(2021, 10, 8),  # new standards; no price index
]
RELATIONS = ["spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]
SITUATIONS = ["orphan", "de_facto_unsupported_child", "hardship_child", "tekun"]
CHILD = {"orphan", "de_facto_unsupported_child"}
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def typed(amount: Decimal, style: int) -> str:
    """An amount as a citizen might type it."""
    text = format(amount, "f")
    if style == 1:
        return text.translate(FULL_WIDTH)
    if style == 2:
        whole, _, cents = text.partition(".")
        return f"{int(whole):,}" + (f".{cents}" if cents else "")
    if style == 3:
        return f"{text}元"
    if style == 4:
        return f"\u200b{text}\u2060"
    if style == 5 and amount == 0:
        return ""
    return text


money = st.decimals(min_value=0, max_value=4000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def households(draw):
    today = draw(st.sampled_from(TODAYS))
    people = []
    for i in range(draw(st.integers(1, 4))):
        situations = draw(st.sets(st.sampled_from(SITUATIONS), max_size=2))
        birth = None
        if situations & CHILD or draw(st.booleans()):
            born = draw(st.dates(datetime.date(1990, 1, 1), today))
            birth = born.replace(day=1)
        covid = None
        if draw(st.integers(0, 3)) == 0:
            confirmed = draw(st.dates(datetime.date(2019, 12, 1), today))
            discharged = draw(st.one_of(st.none(), st.dates(confirmed, today)))
            died = draw(st.one_of(st.none(), st.dates(confirmed, today)))
            covid = (confirmed, discharged, died)
        people.append(
            {
                "relation": "self" if i == 0 else draw(st.sampled_from(RELATIONS)),
                "income": draw(st.one_of(st.just(Decimal(0)), money)),
                "style": draw(st.integers(0, 5)),
                "birth": birth,
                "situations": situations,
                "covid": covid,
            }
        )
    return {
        "today": today,
        "area_type": draw(st.sampled_from(["urban", "rural"])),
        "people": people,
        "deposits": draw(st.one_of(st.just(Decimal(0)), st.decimals(0, 40000, places=2))),
        "vehicles": draw(st.integers(0, 2)),
        "boats": draw(st.integers(0, 1)),
        "houses": draw(st.integers(0, 2)),
        "registered_poor": draw(st.booleans()),
        "sudden_hardship": draw(st.booleans()),
    }


def post_data(case):
    data = {
        "area_type": case["area_type"],
        "deposits": typed(case["deposits"], 2),
        "vehicles": str(case["vehicles"]),
        "boats": str(case["boats"]),
        "houses": str(case["houses"]).translate(FULL_WIDTH),
        "people-TOTAL_FORMS": str(len(case["people"])),
        "people-INITIAL_FORMS": "0",
    }
    if case["registered_poor"]:
        data["registered_poor"] = "on"
    if case["sudden_hardship"]:
        data["sudden_hardship"] = "on"
    for i, p in enumerate(case["people"]):
        row = f"people-{i}-"
        if i:
            data[row + "relation"] = p["relation"]
        data[row + "income"] = typed(p["income"], p["style"])
        if p["birth"]:
            data[row + "birth_month"] = p["birth"].strftime("%Y-%m")
        data[row + "situations"] = sorted(p["situations"])
        if p["covid"]:
            for name, day in zip(("confirmed_on", "discharged_on", "died_on"), p["covid"], strict=True):
                if day:
                    data[row + name] = day.isoformat()
    return data


def policy_request(case):
    """The same household as a §4 request, written here from the spec, not by the code under test."""
    members = []
    for i, p in enumerate(case["people"]):
        categories = set(p["situations"]) | ({"registered_poor"} if case["registered_poor"] else set())
        member = {"id": f"m{i}", "income": {"wage": p["income"]}, "categories": sorted(categories)}
        if p["birth"]:
            member["birth_date"] = p["birth"].isoformat()
        if p["covid"]:
            confirmed, discharged, died = p["covid"]
            member["covid"] = {
                "confirmed_on": confirmed.isoformat(),
                "discharged_on": discharged.isoformat() if discharged else None,
                "died_on": died.isoformat() if died else None,
            }
        members.append(member)
    period = case["today"].strftime("%Y-%m")
    household = {
        "id": "h",
        "region": A,
        "area_type": case["area_type"],
        "assets": {
            "deposits": case["deposits"],
            "vehicles": case["vehicles"],
            "boats": case["boats"],
            "houses": case["houses"],
        },
        "members": members,
    }
    return {"period": period, "households": [household]}


def shown(page, testid):
    match = re.search(rf'data-testid="{re.escape(testid)}">([^<]*)<', page)
    return int(match[1]) if match else None


@pytest.fixture
def unlimited(settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"selfcheck": {"ip": (10**9, 3600)}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=households())
def test_the_self_check_answers_what_the_engine_answers(client, regions, freeze, unlimited, case):
    freeze(case["today"])
    response = client.post(reverse("portal:self_check", args=[A]), post_data(case))
    page = response.content.decode()
    assert response.status_code == 200, re.findall(r'data-testid="error-[^"]*">([^<]*)<', page)

    engine = evaluate_request(policy_request(case), base_params=load_defaults())["households"][0]
    dibao = engine["dibao"]
    included = dibao["decision"] == "include"
    assert ('data-testid="finding-dibao"' in page) == included
    assert shown(page, "amount-dibao") == (dibao["amount"] if included else None)
    assert shown(page, "total") == (engine["total"] or None)

    to_apply = {"dibao"} if included else set()
    uncovered_patient = False
    for i, (p, m) in enumerate(zip(case["people"], engine["members"], strict=True)):
        if "tekun" in p["situations"]:
            assert shown(page, f"amount-tekun-{i}") == m["tekun"]["amount"]
            to_apply.add("tekun")
        allowance = m["child_allowance"]["amount"]
        if p["situations"] & CHILD:
            assert shown(page, f"amount-children-{i}") == (allowance or None)
            if allowance:
                to_apply.add("children")
        elif "hardship_child" in p["situations"]:
            to_apply.add("children")
        covid = m["covid_assistance"]
        if p["covid"]:
            expected = covid["amount"] if covid["episode_months"] and covid["amount"] else None
            assert shown(page, f"extra-amount-covid_p{i + 1}") == expected
            uncovered_patient |= not covid["episode_months"]
    covered = [
        m["price_subsidy"]["amount"] for m in engine["members"] if m["price_subsidy"]["basis"] is not None
    ]
    paid = sum(covered) if covered and None not in covered else 0
    assert shown(page, "extra-amount-price_subsidy") == (paid or None)
    if case["sudden_hardship"] or uncovered_patient or (case["registered_poor"] and not to_apply):
        to_apply.add("temporary")

    offered = set(re.findall(r'data-testid="start-([a-z]+)"', page))
    assert offered == to_apply
    assert ('data-verdict="apply"' in page) == bool(to_apply)
