"""Enrolment (在保) from an approved dibao case, its ledger and scope; the household figures the
investigation settles (entered by hand or adopted from a consented verification report)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from benefits.support import act, declare_window, figures, file_dibao, make_household, to_evaluated
from doudi.benefits import selectors, services
from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.core.errors import Conflict
from doudi.intake.models import Case
from doudi.registry.models import Household, Person, PersonCategory

D = datetime.date


@pytest.fixture
def family(regions):
    return make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])


@pytest.fixture
def approved(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 4, 1))  # approved in April: paid from April
    case = act(case, "end_publicity", officers.a_township)
    case = act(case, "approve", officers.a_approver, "同意")
    return case


def test_enrolment_from_the_month_of_approval(approved, family):
    household, people = family
    e = Enrolment.objects.get(decision_case=approved)
    assert (e.from_month, e.monthly_amount, e.status) == (D(2020, 4, 1), 338, "active")
    assert approved.details["decision"]["from_month"] == "2020-04-01"
    assert approved.details["decision"]["period"] == "2020-04"  # re-evaluated for the approval month
    grants = PersonCategory.objects.filter(person__in=people, category="dibao")
    assert {(g.person_id, g.valid_from, g.valid_to) for g in grants} == {
        (p.pk, D(2020, 4, 1), None) for p in people
    }
    change = EnrolmentChange.objects.get(enrolment=e)
    assert (
        change.kind == "enrolled"
        and change.case_id == approved.pk
        and change.effective_month == D(2020, 4, 1)
    )


def test_enrol_from_decision_refuses_what_it_must(approved, officers, family):
    with pytest.raises(Conflict):  # already enrolled from this case
        services.enrol_from_decision(case=approved, by=officers.a_approver)
    with pytest.raises(PermissionDenied):
        services.enrol_from_decision(case=approved, by=officers.a_township)
    with pytest.raises(PermissionDenied):
        services.enrol_from_decision(case=approved, by=officers.b_approver)
    household, people = family
    pending = file_dibao(officers, people[1])
    with pytest.raises(Conflict):  # not approved
        services.enrol_from_decision(case=pending, by=officers.a_approver)
    assert Enrolment.objects.count() == 1


def test_selectors_are_scoped(approved, officers):
    assert list(selectors.enrolments(officers.a_township)) == [Enrolment.objects.get()]
    assert list(selectors.enrolments(officers.b_approver)) == []
    assert selectors.enrolment_for_case(officers.b_district, approved) is None
    assert selectors.enrolment_for_case(officers.a_district, approved) is not None
    assert selectors.active_dibao(officers.a_village, approved.household).monthly_amount == 338


def test_the_ledger_is_insert_only(approved):
    change = EnrolmentChange.objects.get()
    with pytest.raises(PermissionError):
        change.save()
    with pytest.raises(PermissionError):
        EnrolmentChange.objects.all().update(reason="x")
    with pytest.raises(PermissionError):
        EnrolmentChange.objects.all().delete()


def test_end_enrolment(approved, officers, family, frozen_today):
    household, people = family
    e = Enrolment.objects.get(decision_case=approved)
    with pytest.raises(ValidationError):
        services.end_enrolment(enrolment=e, by=officers.a_approver, end_month=D(2020, 6, 1), reason="")
    e = services.end_enrolment(
        enrolment=e, by=officers.a_approver, end_month=D(2020, 6, 15), reason="收入超过标准"
    )
    assert (e.status, e.end_month) == ("ended", D(2020, 6, 1))
    household.refresh_from_db()
    assert not household.dibao_enrolled and household.dibao_last_amount is None
    assert set(PersonCategory.objects.filter(category="dibao").values_list("valid_to", flat=True)) == {
        D(2020, 6, 30)
    }
    assert list(e.changes.values_list("kind", flat=True)) == ["enrolled", "ended"]
    with pytest.raises(Conflict):
        services.end_enrolment(enrolment=e, by=officers.a_approver, end_month=D(2020, 7, 1), reason="再次")


def test_figures_are_validated_whole_and_nothing_is_written(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    case = act(file_dibao(officers, people[0]), "accept", officers.a_township)
    data = figures(people, ["-5", "1.234", "abc"]) | {f"work_{people[0].pk}": "astronaut", "vehicles": "x"}
    with pytest.raises(ValidationError) as error:
        act(case, "economic_data", officers.a_township, **data)
    keys = set(error.value.message_dict)
    assert {f"income_{p.pk}_wage" for p in people} | {f"work_{people[0].pk}", "vehicles"} <= keys
    assert Case.objects.get(pk=case.pk).state == "accepted"
    assert not Person.objects.filter(pk__in=[p.pk for p in people]).exclude(income_wage_fen=0).exists()


def test_absent_keys_keep_the_recorded_figures(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    Person.objects.filter(pk=people[1].pk).update(income_business_fen=12_345)
    case = act(file_dibao(officers, people[0]), "accept", officers.a_township)
    case = act(
        case,
        "economic_data",
        officers.a_township,
        method="phone",
        **{f"income_{people[0].pk}_wage": "800.50"},
    )
    people[0].refresh_from_db()
    people[1].refresh_from_db()
    assert people[0].income_wage_fen == 80_050 and people[1].income_business_fen == 12_345
    assert case.details["economic"]["members"][str(people[0].pk)]["income"]["wage"] == 80_050


def _report(household, people, officer, verified_wages_fen, deposits_fen=0):
    from django.utils import timezone

    from doudi.verification.models import CheckReport, Consent

    consent = Consent.objects.create(
        household=household, signed_on=D(2020, 3, 1), signatories="张小明", recorded_by=officer,
        recorded_at=timezone.now(),
    )  # fmt: skip
    members = [
        {
            "person_id": p.pk,
            "name": p.name,
            "income": {"wage": {"declared_fen": 0, "found_fen": w, "verified_fen": w}},
        }
        for p, w in zip(people, verified_wages_fen, strict=True)
    ]
    return CheckReport.objects.create(
        household=household,
        consent=consent,
        requested_by=officer,
        created_at=timezone.now(),
        as_of=D(2020, 3, 2),
        period="2020-03",
        data={"members": members, "assets": {"deposits_fen": {"verified": deposits_fen}}},
        declared_income_fen=0,
        verified_income_fen=sum(verified_wages_fen),
    )


def test_verified_figures_can_be_adopted(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    report = _report(household, people, officers.a_township, [150_000, 0, 0], deposits_fen=500_000)
    case = act(file_dibao(officers, people[0]), "accept", officers.a_township)
    case = act(
        case, "economic_data", officers.a_township, "采用核对数据", source="verified", report=str(report.pk)
    )
    assert (
        case.details["economic"]["source"] == "verified" and case.details["economic"]["report"] == report.pk
    )
    people[0].refresh_from_db()
    household.refresh_from_db()
    assert people[0].income_wage_fen == 150_000 and household.deposits_fen == 500_000
    case = act(case, "evaluate", officers.a_township)
    assert case.details["evaluation"]["dibao"]["amount"] == 138  # 1638 − 1500


def test_a_report_of_another_household_is_refused(officers, family, regions, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    other, other_people = make_household(regions.a_v, [("钱七", 0)])
    _report(other, other_people, officers.a_township, [1])
    case = act(file_dibao(officers, people[0]), "accept", officers.a_township)
    with pytest.raises(ValidationError):
        act(case, "economic_data", officers.a_township, source="verified", report="999999")
    assert Case.objects.get(pk=case.pk).state == "accepted"


def test_separately_assessed_member_is_left_out(officers, family, frozen_today):
    """条例第11条: an adult assessed as a separate household is not part of the others' application."""
    from doudi.registry.models import Membership

    household, people = family
    Membership.objects.filter(person=people[2]).update(separate_assessment=True)
    frozen_today(D(2020, 3, 2))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    ev = case.details["evaluation"]
    assert ev["dibao"]["size"] == 2 and [m["person"] for m in ev["members"]] == [people[0].pk, people[1].pk]
    # 546 × 2 − 1300 = −208: not eligible.
    assert ev["dibao"]["decision"] == "not_eligible"


def test_registry_writes_are_audited(officers, family, frozen_today):
    from doudi.audit.models import AuditEntry

    household, people = family
    frozen_today(D(2020, 3, 2))
    to_evaluated(file_dibao(officers, people[0]), officers, people)
    entry = AuditEntry.objects.filter(object_type="registry.person", object_id=str(people[0].pk)).last()
    assert entry.before == {"income_wage_fen": 0} and entry.after == {"income_wage_fen": 100_000}
    assert "低保调查核实" in entry.reason
    assert Household.objects.get(pk=household.pk).houses == 1
