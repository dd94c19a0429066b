"""条例第11–13条 from the registry into the evaluation: a member's standing and the separate-household
option recorded with its reason, the farming household's 12 months, the other asset items; the stored
evaluation lists who was counted and who was not, and why, and keeps the income period."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.benefits.evaluation import evaluate_household, explanation_rows
from doudi.registry.models import Household, Membership, Person
from doudi.registry.services import set_membership_facts

ON = dt.date(2020, 3, 15)


@pytest.fixture
def township(regions, make_user):
    return make_user("art11_township", regions.a_t, "township_officer")


@pytest.fixture
def family(regions):
    household = Household.objects.create(region=regions.a_v, area_type="rural")
    people = []
    for i, (name, born) in enumerate(
        [("户主", "1970-01-01"), ("儿子", "1998-05-05"), ("女儿", "2012-06-06")]
    ):
        person = Person.objects.create(
            id_number=f"50010119{born.replace('-', '')}{i:03d}1"[:18], name=name,
            birth_date=dt.date.fromisoformat(born), sex="M", region=regions.a_v,
            income_wage_fen=30000 if i == 1 else 0,
        )  # fmt: skip
        Membership.objects.create(household=household, person=person, relation="head" if i == 0 else "child",
                                  joined_on=dt.date(2010, 1, 1))  # fmt: skip
        people.append(person)
    household.head = people[0]
    household.save(update_fields=["head"])
    return household, people


def _membership(person):
    return Membership.objects.get(person=person, left_on__isnull=True)


def test_a_conscript_and_a_separately_assessed_adult_are_listed_with_their_reasons(family, township):
    household, (head, son, daughter) = family
    set_membership_facts(
        officer=township, membership=_membership(son), standing="serving_conscript", married=False
    )
    set_membership_facts(officer=township, membership=_membership(head), separate_reason="bedridden_illness")
    evaluation = evaluate_household(household, daughter, on=ON)
    assert evaluation["membership"] == {
        str(head.pk): {"counted": False, "reason": "separate_household", "separate_household": "bedridden_illness"},
        str(son.pk): {"counted": False, "reason": "serving_conscript_unmarried", "separate_household": None},
        str(daughter.pk): {"counted": True, "reason": "member", "separate_household": None},
    }  # fmt: skip
    assert (
        evaluation["dibao"]["size"] == 1 and evaluation["dibao"]["counted_income"] == 0.0
    )  # son's wage left out
    rows = {r["rule"]: r for r in explanation_rows(evaluation["explanation"])}
    assert rows[f"dibao.membership#{son.pk}"]["label"].endswith("：儿子")
    assert rows[f"dibao.membership#{son.pk}"]["value"] == "不计入：服义务兵役的未婚人员"
    # the head assessed as a household alone
    alone = evaluate_household(household, head, on=ON)
    assert alone["membership"] == {
        str(head.pk): {"counted": True, "reason": "assessed_alone", "separate_household": "bedridden_illness"}
    }


def test_the_facts_are_checked_and_scoped(family, township, regions, make_user):
    household, (head, son, daughter) = family
    for kwargs, field in [
        ({"standing": "serving_conscript"}, "married"),
        ({"standing": "clergy"}, "living_apart_since"),
        ({"living_apart_since": dt.date(2019, 1, 1)}, "living_apart_since"),
        (
            {"standing": "clergy", "living_apart_since": dt.date.today() + dt.timedelta(days=1)},
            "living_apart_since",
        ),
        ({"standing": "astronaut"}, "standing"),
        ({"separate_reason": "old_age"}, "separate_reason"),
    ]:
        with pytest.raises(ValidationError) as refused:
            set_membership_facts(officer=township, membership=_membership(son), **kwargs)
        assert field in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:  # a minor cannot be assessed separately
        set_membership_facts(
            officer=township, membership=_membership(daughter), separate_reason="severe_disability"
        )
    assert "separate_reason" in refused.value.message_dict
    outsider = make_user("art11_other", regions.b_t, "township_officer")
    with pytest.raises(PermissionDenied):
        set_membership_facts(officer=outsider, membership=_membership(son), standing="prisoner")
    set_membership_facts(officer=township, membership=_membership(son), standing="prisoner")
    set_membership_facts(officer=township, membership=_membership(son), standing="prisoner")  # twice: same
    membership = _membership(son)
    assert (membership.standing, membership.separate_assessment) == ("prisoner", False)


def test_a_farming_household_is_assessed_on_its_twelve_months_and_the_period_is_kept(family):
    household, (head, son, daughter) = family
    Household.objects.filter(pk=household.pk).update(
        farming=True, farming_cash_income_fen=600000, farming_in_kind_income_fen=120000,
        farming_direct_costs_fen=240000, securities_fen=150000, boats=1, disability_vehicles=1,
    )  # fmt: skip
    evaluation = evaluate_household(household, head, on=ON)
    assert evaluation["income_period"] == {
        "kind": "farming_12_months", "from": "2019-03-01", "to": "2020-02-29", "months": 12,
    }  # fmt: skip
    assert evaluation["dibao"]["farming_income"] == 400.0  # (6000 + 1200 − 2400) ÷ 12
    assert evaluation["dibao"]["counted_income"] == 700.0  # with the son's wage of 300
    assert evaluation["request"]["farming"] == {
        "cash_income": 6000,
        "in_kind_income": 1200,
        "direct_costs": 2400,
    }
    limits = {t["test"]: t["passes"] for t in evaluation["dibao"]["asset_limits"]}
    assert limits == {"financial_assets": True, "vehicles": True, "boats": False, "houses": True}
    assert evaluation["dibao"]["asset_test"] is False
