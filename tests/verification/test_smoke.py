import pytest

from doudi.policy.periods import Period


@pytest.mark.django_db(transaction=True)
def test_smoke(make_household, load, township_a, consent, city_admin):
    from doudi.verification.services import check_household, execute_recheck

    h = make_household([{"name": "张三", "income_wage_fen": 100000}, {"name": "李四"}], last_amount=500)
    p0, p1 = [m.person for m in h.memberships.order_by("pk")]
    consent(h, township_a)
    e = load(
        "social_insurance",
        [{"id_number": p0.id_number, "name": "张三", "employer": "甲", "monthly_wage": "1500.00"}],
    )
    assert e.status == "loaded", e.problems
    load("deaths", [{"id_number": p1.id_number, "name": "李四", "died_on": "2020-02-10"}])
    load(
        "vehicles",
        [
            {
                "id_number": p0.id_number,
                "name": "张叁",
                "plate_no": "渝A12345",
                "vehicle_type": "car",
                "registered_on": "2019-01-01",
            }
        ],
    )
    r = check_household(household=h, officer=township_a, period=Period(2020, 3))
    import json

    print(json.dumps(r.data, ensure_ascii=False, indent=1)[:3000])
    run = execute_recheck(Period(2020, 4))
    print(run.status, run.signal_count, run.outcome_count, run.timings)
    from doudi.verification.models import RecheckOutcome, Signal

    for s in Signal.objects.all():
        print(s.kind, s.person_id, s.declared_value, s.found_value, s.found_date, s.evidence)
    for o in RecheckOutcome.objects.all():
        print(o.__dict__)
