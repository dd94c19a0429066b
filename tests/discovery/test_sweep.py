"""The sweep finds each kind of lead on a planted household and not on its near miss, with the reasons in
plain words and the extract rows behind them."""

import datetime as dt
import json

import pytest

from doudi.discovery.models import Lead, LeadState, SweepRun

from .conftest import DAY, PREVIOUS, member

pytestmark = pytest.mark.django_db(transaction=True)  # ADBC reads committed rows on PostgreSQL

OLD = dt.date(1950, 5, 5)


def kinds_of(leads, h):
    return {k for (k, hid, _pid) in leads if hid == h.pk}


def reasons(lead):
    return [r["code"] for r in json.loads(lead.reasons)]


def test_registered_poor_not_enrolled_is_found_and_the_enrolled_one_is_not(household, sweep):
    planted = household([{"categories": ["registered_poor"], "wage": 2000}])
    near = household([{"categories": ["registered_poor"]}], enrolled=True)
    leads = sweep()
    assert "registered_poor" in kinds_of(leads, planted)
    assert "registered_poor" not in kinds_of(leads, near)
    lead = leads[("registered_poor", planted.pk, None)]
    assert reasons(lead) == ["registered_poor", "receives_nothing"]
    assert lead.state == LeadState.FOUND and lead.due_on == DAY + dt.timedelta(days=15)
    assert (lead.region_id, lead.township_id, lead.district) == ("500101001001", "500101001", "500101")


def test_income_drop_found_when_the_estimate_falls_below_the_standard(household, load, sweep):
    planted = household([{"wage": 3000}, {}])  # 3000 declared ≥ 546 × 2: not eligible as declared
    near = household([{"wage": 3000}, {"wage": 2000}])  # the spouse's wage keeps it above 1092
    biz = household([{"business": 2500}])
    jobless = household([{"wage": 1800}], area_type="rural")
    heads = [member(h) for h in (planted, near, biz, jobless)]
    si = [
        {"id_number": p.id_number, "name": p.name, "employer": "甲公司", "monthly_wage": "3000"}
        for p in heads[:2]
    ]
    si.append({"id_number": member(near, 1).id_number, "name": member(near, 1).name, "employer": "乙公司",
               "monthly_wage": "2000"})  # fmt: skip
    assert load("social_insurance", si, extract_date=PREVIOUS).status == "loaded"
    assert load("social_insurance", si[2:], extract_date=DAY).status == "loaded"
    b = {"id_number": heads[2].id_number, "name": heads[2].name, "credit_code": "92500000MA00000001",
         "business_name": "万州小吃店", "registered_on": "2015-05-01", "status": "存续"}  # fmt: skip
    assert load("business", [b], extract_date=PREVIOUS).status == "loaded"
    assert load("business", [b | {"status": "注销"}], extract_date=DAY).status == "loaded"
    u = {
        "id_number": heads[3].id_number,
        "name": heads[3].name,
        "registered_on": "2020-02-15",
        "benefit": "300",
    }
    assert load("unemployment", [u], extract_date=DAY).status == "loaded"

    leads = sweep()
    assert "income_drop" in kinds_of(leads, planted)
    assert "income_drop" not in kinds_of(leads, near)
    lead = leads[("income_drop", planted.pk, None)]
    assert reasons(lead) == ["contributions_stopped", "income_estimate"]
    estimate = json.loads(lead.reasons)[1]["data"]
    assert (estimate["estimate_fen"], estimate["threshold_fen"], estimate["declared_fen"]) == (
        0,
        109_200,
        300_000,
    )
    stopped = json.loads(lead.reasons)[0]
    assert stopped["rows"] == [{"source": "social_insurance", "extract_date": "2020-01-31", "row": 1}]
    assert reasons(leads[("income_drop", biz.pk, None)]) == ["business_deregistered", "income_estimate"]
    unemployed = leads[("income_drop", jobless.pk, None)]
    assert reasons(unemployed) == ["unemployment_registered", "income_estimate"]
    assert unemployed.estimate_fen == 30_000 and unemployed.threshold_fen == 42_000  # benefit counted, rural


def test_confirmed_patient_in_a_target_group_without_r5(household, sweep):
    planted = household(
        [{"confirmed": dt.date(2020, 2, 10), "categories": ["hardship_child"], "birth": dt.date(2010, 1, 1)}]
    )
    near = household([{"confirmed": dt.date(2020, 2, 10)}])  # in no target group
    leads = sweep()
    assert ("covid_patient", planted.pk, member(planted).pk) in leads
    assert "covid_patient" not in kinds_of(leads, near)


def test_family_of_a_covid_death_without_r6(household, deaths_only_household, sweep):
    planted = household(
        [
            {
                "confirmed": dt.date(2020, 2, 1),
                "died": dt.date(2020, 2, 20),
                "categories": ["registered_poor"],
            },
            {},
        ]
    )
    near = deaths_only_household
    leads = sweep()
    assert "covid_bereaved" in kinds_of(leads, planted)
    assert "covid_bereaved" not in kinds_of(leads, near)
    assert reasons(leads[("covid_bereaved", planted.pk, None)]) == ["covid_died", "no_bereavement"]


@pytest.fixture
def deaths_only_household(household, load):
    """A death known to 户籍 that was not COVID, in a registered-poor family: no R6 lead."""
    h = household([{"categories": ["registered_poor"]}, {}])
    p = member(h)
    row = {"id_number": p.id_number, "name": p.name, "change": "死亡注销", "changed_on": "2020-02-20"}
    assert load("household_registration", [row], extract_date=DAY).status == "loaded"
    return h


def test_child_whose_parents_are_dead_or_severely_disabled_without_the_allowance(household, load, sweep):
    planted = household(
        [{}, {"categories": ["severe_disability"]}, {"relation": "child", "birth": dt.date(2012, 1, 1)}]
    )
    near = household(
        [{}, {}, {"relation": "child", "birth": dt.date(2012, 1, 1)}]
    )  # the other parent is able
    registered = household([{"relation": "head", "birth": dt.date(2010, 6, 1), "categories": ["orphan"]}])
    rows = [
        {"id_number": member(h).id_number, "name": member(h).name, "died_on": "2019-12-01"}
        for h in (planted, near)
    ]
    assert load("deaths", rows, extract_date=DAY).status == "loaded"
    leads = sweep()
    child = member(planted, 2)
    assert ("child", planted.pk, child.pk) in leads
    assert "child" not in kinds_of(leads, near)
    assert reasons(leads[("child", planted.pk, child.pk)]) == [
        "parent_status",
        "parent_status",
        "no_child_allowance",
    ]
    assert reasons(leads[("child", registered.pk, member(registered).pk)]) == [
        "child_category",
        "no_child_allowance",
    ]


def test_old_person_alone_without_income_is_a_tekun_candidate(household, load, sweep):
    planted = household([{"birth": OLD}])
    pension = household([{"birth": OLD, "transfer": 1200}])
    worker = household([{"birth": OLD}])
    couple = household([{"birth": OLD}, {"birth": OLD}])
    p = member(worker)
    load(
        "social_insurance",
        [{"id_number": p.id_number, "name": p.name, "employer": "门卫", "monthly_wage": "1500"}],
    )
    leads = sweep()
    assert ("tekun", planted.pk, member(planted).pk) in leads
    for near in (pension, worker, couple):
        assert "tekun" not in kinds_of(leads, near)


def test_large_hospital_costs_against_a_low_income(household, load, sweep):
    planted = household([{"wage": 1500}, {}], area_type="rural")
    near = household([{"wage": 1500}, {}], area_type="rural")
    rows = [
        {"id_number": member(planted).id_number, "name": member(planted).name, "hospital": "万州医院",
         "admitted_on": "2020-01-05", "discharged_on": "2020-01-30", "out_of_pocket": "12000"},
        {"id_number": member(near).id_number, "name": member(near).name, "hospital": "万州医院",
         "admitted_on": "2020-01-05", "discharged_on": "2020-01-30", "out_of_pocket": "3000"},
    ]  # fmt: skip
    assert load("hospitalisation", rows, extract_date=DAY).status == "loaded"
    leads = sweep()
    lead = leads[("expenditure", planted.pk, None)]
    assert "expenditure" not in kinds_of(leads, near)
    assert reasons(lead) == ["hospital_costs", "costs_against_income"]
    assert (lead.estimate_fen, lead.threshold_fen) == (18_000_00 - 12_000_00, 12 * 420_00 * 2)
    assert json.loads(lead.reasons)[0]["rows"][0]["source"] == "hospitalisation"


def test_an_empty_registry_sweeps_to_nothing_and_the_run_is_recorded(regions):
    from doudi.discovery.services import execute_sweep

    run = execute_sweep(DAY)
    assert (run.status, run.found, run.new) == ("finished", 0, 0)
    assert SweepRun.objects.count() == 1 and not Lead.objects.exists()


def test_the_command_runs_a_sweep(household, capsys):
    from django.core.management import call_command

    household([{"birth": OLD}])
    call_command("discover", "--day", DAY.isoformat())
    assert "1 leads found, 1 new" in capsys.readouterr().out
