"""Consent and the check of one household: a report whose every figure equals the rows it cites."""

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from doudi.policy.contract import evaluate_request
from doudi.policy.periods import Period
from doudi.verification import selectors
from doudi.verification.models import CheckReport, Consent
from doudi.verification.services import check_household, load_extract, record_consent, revoke_consent

MARCH = Period(2020, 3)


@pytest.fixture
def household(make_household):
    return make_household(
        [{"name": "张三", "income_wage_fen": 100_000}, {"name": "李四", "income_business_fen": 20_000}],
        last_amount=500,
        deposits_fen=1_000_000,
        vehicles=0,
        houses=1,
    )


@pytest.mark.django_db
def test_a_check_without_consent_is_refused_and_reads_nothing(household, township_a):
    with pytest.raises(ValidationError) as exc:
        check_household(household=household, officer=township_a, period=MARCH)
    assert "consent" in exc.value.message_dict
    assert not CheckReport.objects.exists()


@pytest.mark.django_db
def test_a_revoked_or_expired_consent_does_not_allow_a_check(household, township_a):
    today = timezone.localdate()
    expired = record_consent(household=household, officer=township_a, signed_on=today - dt.timedelta(days=400),
                             signatories="张三", valid_until=today - dt.timedelta(days=1))  # fmt: skip
    with pytest.raises(ValidationError):
        check_household(household=household, officer=township_a, period=MARCH)
    consent = record_consent(
        household=household, officer=township_a, signed_on=today, signatories="张三、李四"
    )
    assert check_household(household=household, officer=township_a, period=MARCH).consent == consent
    revoke_consent(consent=consent, officer=township_a, revoked_on=today, reason="本人撤回")
    with pytest.raises(ValidationError):
        check_household(household=household, officer=township_a, period=MARCH)
    assert expired.revoked_on is None and Consent.objects.get(pk=consent.pk).revoked_on == today


@pytest.mark.django_db
def test_consent_is_recorded_only_within_the_officers_region_and_validated(household, township_b, township_a):
    with pytest.raises(PermissionDenied):
        record_consent(
            household=household, officer=township_b, signed_on=timezone.localdate(), signatories="张三"
        )
    with pytest.raises(ValidationError) as exc:
        record_consent(household=household, officer=township_a, signed_on=timezone.localdate() + dt.timedelta(days=1),
                       signatories=" ")  # fmt: skip
    assert set(exc.value.message_dict) == {"signed_on", "signatories"}


def _csv_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))  # data row n is element n - 1


@pytest.mark.django_db
def test_report_figures_equal_the_extract_rows_they_cite(household, township_a, write_extract):
    a, b = (m.person for m in household.memberships.order_by("pk"))
    day = timezone.localdate() - dt.timedelta(days=1)
    files = {
        "social_insurance": write_extract("social_insurance", [
            {"id_number": a.id_number, "name": "张三", "employer": "甲公司", "monthly_wage": "1200.50"},
            {"id_number": "110101199001011237", "name": "路人", "employer": "乙", "monthly_wage": "9999"},
            {"id_number": a.id_number, "name": "张三", "employer": "丙公司", "monthly_wage": "300"},
        ]),
        "tax": write_extract("tax", [
            {"id_number": b.id_number, "name": "李肆", "income_kind": "经营所得", "payer": "", "monthly_income": "800.25"},
        ]),
        "bank_deposits": write_extract("bank_deposits", [
            {"id_number": a.id_number, "name": "张三", "bank": "重庆银行", "account_no": "1", "balance": "12000", "as_of": "2020-03-31"},
            {"id_number": b.id_number, "name": "李四", "bank": "农商行", "account_no": "2", "balance": "3000.10", "as_of": "2020-03-31"},
        ]),
        "vehicles": write_extract("vehicles", [
            {"id_number": b.id_number, "name": "李四", "plate_no": "渝B1", "vehicle_type": "残疾人专用车", "registered_on": "2018-01-01"},
        ]),
        "real_estate": write_extract("real_estate", [
            {"id_number": a.id_number, "name": "张三", "certificate_no": "渝1", "use": "住宅", "registered_on": "2010-01-01"},
            {"id_number": b.id_number, "name": "李四", "certificate_no": "渝1", "use": "住宅", "registered_on": "2010-01-01"},
        ]),
    }  # fmt: skip
    for source, path in files.items():
        assert (
            load_extract(source=source, extract_date=day, path=path, file_name=path.name).status == "loaded"
        )
    record_consent(household=household, officer=township_a, signed_on=day, signatories="张三")
    report = check_household(
        household=household, officer=township_a, period=MARCH, case_number="DB-2020-0001"
    )

    def cited_sum(rows, column):
        total = Decimal(0)
        for cite in rows:
            source_rows = _csv_rows(files[cite["source"]])
            assert cite["extract_date"] == day.isoformat()
            total += Decimal(source_rows[cite["row"] - 1][column].replace(",", ""))
        return int(total * 100)

    labels = {"social_insurance": "月工资", "tax": "月均所得", "bank_deposits": "余额"}
    members = {m["person_id"]: m for m in report.data["members"]}
    wage = members[a.pk]["income"]["wage"]
    assert [c["row"] for c in wage["rows"]] == [1, 3]
    assert wage["found_fen"] == cited_sum(wage["rows"], labels["social_insurance"]) == 150_050
    business = members[b.pk]["income"]["business"]
    assert business["found_fen"] == cited_sum(business["rows"], labels["tax"]) == 80_025
    deposits = report.data["assets"]["deposits_fen"]
    assert deposits["found"] == cited_sum(deposits["rows"], labels["bank_deposits"]) == 1_500_010
    assert report.data["assets"]["vehicles"] == {"declared": 0, "found": 0, "verified": 0, "rows": []}
    houses = report.data["assets"]["houses"]
    assert (houses["found"], [c["row"] for c in houses["rows"]]) == (1, [1, 2])
    for record in report.data["records"]:  # every cited row is reproduced as stored
        assert record["extract_date"] == day.isoformat() and record["row"] >= 1

    # Differences: wage 1000 → 1500.50, business 200 → 800.25, deposits, 李四's name at the tax office.
    items = sorted((d["item"], d.get("member")) for d in report.data["differences"])
    assert items == sorted([("income.wage", a.pk), ("income.business", b.pk), ("assets.deposits_fen", None),
                            ("name", b.pk)])  # fmt: skip
    # R1 with verified figures: 1500.50 + 800.25 = 2300.75 ≥ 546 × 2 → not eligible; March 2020 is in the
    # window, so the enrolled household is held at its last amount (exit deferred).
    assert report.data["evaluation"]["declared"]["decision"] == "exit_deferred"  # 1000 + 200 ≥ 1092 already
    assert (report.decision, report.amount) == ("exit_deferred", 500)
    assert report.data["evaluation"]["verified"]["counted_income"] == 2300.75
    assert (report.declared_income_fen, report.verified_income_fen) == (120_000, 230_075)
    assert report.case_number == "DB-2020-0001"

    # The dibao workflow evaluates the verified household through the §4 contract and gets the same answer.
    payload = selectors.verified_payload(report)
    answer = evaluate_request({"period": "2020-03", "households": [payload]})["households"][0]["dibao"]
    assert (answer["decision"], answer["amount"]) == ("exit_deferred", 500)


@pytest.mark.django_db
def test_a_dead_member_is_reported_and_left_out_of_the_evaluation(make_household, township_a, write_extract):
    h = make_household([{"name": "甲"}, {"name": "乙"}], last_amount=1092)
    dead = h.memberships.order_by("pk")[1].person
    path = write_extract("deaths", [{"id_number": dead.id_number, "name": "乙", "died_on": "2020-01-15"}])
    day = timezone.localdate() - dt.timedelta(days=1)
    load_extract(source="deaths", extract_date=day, path=path, file_name=path.name)
    record_consent(household=h, officer=township_a, signed_on=day, signatories="甲")
    report = check_household(household=h, officer=township_a, period=MARCH)
    assert [(d["item"], d["member"], d["died_on"]) for d in report.data["differences"]] == [
        ("death", dead.pk, "2020-01-15")
    ]
    verified = report.data["evaluation"]["verified"]
    assert (verified["size"], verified["computed_amount"], verified["decision"], verified["amount"]) == (
        1,
        546,
        "hold",
        1092,
    )


@pytest.mark.django_db
def test_only_officers_of_the_households_region_may_check_it(
    household, township_a, township_b, make_user, regions
):
    record_consent(
        household=household, officer=township_a, signed_on=timezone.localdate(), signatories="张三"
    )
    with pytest.raises(PermissionDenied):
        check_household(household=household, officer=township_b, period=MARCH)
    village_worker = make_user("ver_village", regions.a_v, "village_worker")
    with pytest.raises(PermissionDenied):
        check_household(household=household, officer=village_worker, period=MARCH)
    assert check_household(household=household, officer=township_a, period=MARCH).pk


@pytest.mark.django_db
def test_the_report_tests_the_asset_items_one_by_one(client, household, township_a):
    """条例第13条: the declared securities, claims and boats enter the report's evaluation beside the
    verified deposits, vehicles and houses; a disability vehicle is listed and excepted."""
    from django.urls import reverse

    from doudi.registry.models import Household

    Household.objects.filter(pk=household.pk).update(
        securities_fen=2_000_000, claims_fen=5_000, boats=1, disability_vehicles=1
    )
    household.refresh_from_db()
    record_consent(household=household, officer=township_a, signed_on=dt.date(2020, 1, 1), signatories="张三")
    report = check_household(household=household, officer=township_a, period=MARCH)
    verified = report.data["evaluation"]["verified"]
    limits = {t["test"]: (t["value"], t["limit"], t["passes"]) for t in verified["asset_limits"]}
    # 10000 + 20000 + 50 against 24 × 546 × 2 = 26208; one boat against none
    assert limits == {
        "financial_assets": (30050.0, 26208.0, False),
        "vehicles": (0, 0, True),
        "boats": (1, 0, False),
        "houses": (1, 1, True),
    }
    assert {"item": "disability_vehicles", "value": 1, "excepted": True} in verified["asset_items"]
    assert verified["asset_test"] is False
    client.force_login(township_a)
    page = client.get(reverse("verification:report", args=[report.pk])).content.decode()
    assert 'data-testid="asset-limits"' in page and 'data-test="boats"' in page and "30050.0" in page
