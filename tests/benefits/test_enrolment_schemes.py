"""Enrolment for every scheme an approval produces: children (person level, R3 amount by the policy
engine, from the calendar month of application), 特困 (person level, R2), dibao (household level); one
active enrolment per household in dibao and per person in a person-level scheme (database constraints);
the console roster (在保名册) scoped to the user's region, IDs masked, with its Excel export."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from benefits.support import declare_window, make_household
from doudi.audit.models import AuditEntry
from doudi.benefits import selectors, services
from doudi.benefits.models import PERSON_LEVEL, Enrolment, EnrolmentChange
from doudi.core.errors import Conflict
from doudi.core.masking import mask_id_number
from doudi.intake import services as intake
from doudi.intake.models import Case
from doudi.intake.workflows import children
from doudi.registry.models import Person, PersonCategory

D = datetime.date
pytestmark = pytest.mark.django_db


def make_child(village, name="王小明", *, birth=D(2012, 6, 1), care="scattered", household=None):
    """A child in the registry with a household (a guardian's, or their own)."""
    if household is None:
        household, people = make_household(village, [("王大山", 0), (name, 0)])
        child = people[1]
    else:
        from benefits.support import id_number
        from doudi.registry.models import Membership

        child = Person.objects.create(
            id_number=id_number(birth, village.code[:6]), name=name, birth_date=birth, sex="F", region=village
        )
        Membership.objects.create(
            household=household, person=child, relation="child", joined_on=D(2012, 6, 1)
        )
    Person.objects.filter(pk=child.pk).update(birth_date=birth, orphan_care=care)
    child.refresh_from_db()
    return child


def file_children(officers, child, subtype="orphan", *, by=None):
    details = children.application_details(
        subtype=subtype,
        region=child.region,
        on=timezone.localdate(),
        uploaded=set(children.documents_for(subtype)),
        commitment=False,
    )
    return intake.open_case(
        by=by or officers.a_township,
        case_type="children",
        subtype=subtype,
        channel="walk_in",
        region=child.region,
        summary="申请儿童基本生活保障",
        applicant=child,
        details=details,
    )


def approve_children(officers, case, approver=None):
    case = intake.perform_action(case=case, action="accept", by=officers.a_township)
    return intake.perform_action(
        case=case, action="approve", by=approver or officers.a_approver, reason="同意"
    )


# --- children -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtype", "care", "amount", "kind"),
    [
        ("orphan", "scattered", 1200, "scattered"),
        ("orphan", "institutional", 1500, "institutional"),
        # R3: "institutional" only for an orphan in institutional care.
        ("de_facto_unsupported_child", "institutional", 1200, "scattered"),
    ],
)
def test_children_enrolled_from_the_month_of_application(
    subtype, care, amount, kind, officers, regions, frozen_today
):
    declare_window(officers, D(2020, 1, 24))
    child = make_child(regions.a_v, care=care)
    frozen_today(D(2020, 3, 20))
    case = file_children(officers, child, subtype)
    frozen_today(D(2020, 4, 2))  # decided in April: the allowance still starts in March (一(四))
    case = approve_children(officers, case)
    assert case.state == "approved"
    e = Enrolment.objects.get(decision_case=case)
    assert (e.scheme, e.person_id, e.from_month, e.monthly_amount, e.status) == (
        "children",
        child.pk,
        D(2020, 3, 1),
        amount,
        "active",
    )
    assert e.household_id == case.household_id and e.household.memberships.filter(person=child).exists()
    assert case.details["decision"]["kind"] == kind
    outcome = case.details["enrolment"]
    assert (outcome["status"], outcome["from_month"], outcome["amount"]) == ("enrolled", "2020-03-01", amount)
    grant = PersonCategory.objects.get(person=child, category=subtype)
    assert (grant.valid_from, grant.valid_to) == (D(2020, 3, 1), None)
    change = EnrolmentChange.objects.get(enrolment=e)
    assert change.effective_month == D(2020, 3, 1) and change.after["person"] == child.pk
    assert AuditEntry.objects.filter(object_type="benefits.enrolment", object_id=str(e.pk)).exists()


def test_a_hardship_child_is_recognised_without_an_allowance(officers, regions, frozen_today):
    child = make_child(regions.a_v)
    frozen_today(D(2020, 3, 20))
    case = approve_children(officers, file_children(officers, child, "hardship_child"))
    assert case.details["enrolment"]["status"] == "no_allowance" and not Enrolment.objects.exists()
    assert PersonCategory.objects.get(person=child, category="hardship_child").valid_from == D(2020, 3, 1)


def test_a_child_is_not_enrolled_twice_and_the_approval_is_refused(officers, regions, frozen_today):
    child = make_child(regions.a_v)
    frozen_today(D(2020, 3, 20))
    first = file_children(officers, child)
    second = intake.perform_action(
        case=file_children(officers, child), action="accept", by=officers.a_township
    )
    approve_children(officers, first)
    with pytest.raises(Conflict):
        intake.perform_action(case=second, action="approve", by=officers.a_approver, reason="同意")
    # Nothing half-decided: the case waits, one enrolment, one grant.
    second.refresh_from_db()
    assert second.state == "accepted" and "decision" not in second.details
    assert Enrolment.objects.filter(person=child, scheme="children").count() == 1
    assert PersonCategory.objects.filter(person=child, category="orphan").count() == 1


def test_two_orphans_of_one_household_are_two_enrolments(officers, regions, frozen_today):
    first = make_child(regions.a_v, "王小明")
    second = make_child(
        regions.a_v, "王小红", birth=D(2014, 2, 3), household=first.memberships.get().household
    )
    frozen_today(D(2020, 3, 20))
    approve_children(officers, file_children(officers, first))
    approve_children(officers, file_children(officers, second))
    rows = Enrolment.objects.filter(scheme="children", status="active")
    assert rows.count() == 2 and len({e.household_id for e in rows}) == 1


def test_an_aged_out_child_gets_no_allowance_and_is_not_approved(officers, regions, frozen_today):
    child = make_child(regions.a_v, birth=D(2001, 1, 10))  # 18 in January 2019
    frozen_today(D(2020, 7, 20))  # no window: no age-out deferral
    case = intake.perform_action(case=file_children(officers, child), action="accept", by=officers.a_township)
    with pytest.raises(ValidationError) as error:
        intake.perform_action(case=case, action="approve", by=officers.a_approver)
    assert "child" in error.value.message_dict
    assert not Enrolment.objects.exists() and Case.objects.get(pk=case.pk).state == "accepted"


def test_enrolment_checks_the_decision_against_the_rules(officers, regions, frozen_today):
    """The first month and the amount of a person-level scheme are the rules', not the caller's."""
    child = make_child(regions.a_v)
    frozen_today(D(2020, 3, 20))
    case = file_children(officers, child)
    decision = {"person": child.pk, "category": "orphan", "amount": 1200, "from_month": "2020-04-01"}
    Case.objects.filter(pk=case.pk).update(state="approved", details={"decision": decision})
    with pytest.raises(Conflict) as error:  # children are paid from the month of application
        services.enrol_from_decision(case=case, by=officers.a_approver)
    assert error.value.errors[0]["path"] == "from_month"
    decision |= {"from_month": "2020-03-01", "amount": 999}
    Case.objects.filter(pk=case.pk).update(details={"decision": decision})
    with pytest.raises(Conflict) as error:  # R3 says 1200
        services.enrol_from_decision(case=case, by=officers.a_approver)
    assert error.value.errors[0]["path"] == "amount"
    assert not Enrolment.objects.exists()
    decision["amount"] = 1200
    Case.objects.filter(pk=case.pk).update(details={"decision": decision})
    assert services.enrol_from_decision(case=case, by=officers.a_approver).monthly_amount == 1200


# --- the database constraints ----------------------------------------------------------------------------------


def _row(household, scheme, person=None, status="active"):
    return Enrolment.objects.create(
        household=household,
        person=person,
        scheme=scheme,
        status=status,
        from_month=D(2020, 3, 1),
        monthly_amount=100,
        approved_at=timezone.now(),
    )


def _refused(**kwargs):
    with pytest.raises(IntegrityError), transaction.atomic():
        _row(**kwargs)


def test_one_active_enrolment_per_person_and_scheme_is_a_database_rule(regions):
    household, (adult, child) = make_household(regions.a_v, [("周一", 0), ("周二", 0)])
    _row(household, "children", child)
    _refused(household=household, scheme="children", person=child)  # the same person twice
    _row(household, "tekun", child)  # another scheme is another enrolment
    _row(household, "children", adult)  # another person of the household
    Enrolment.objects.filter(person=child, scheme="children").update(status="ended")
    _row(household, "children", child)  # once ended, enrolled again
    # Dibao is per household; a person-level scheme names its person, dibao names none.
    _row(household, "dibao")
    _refused(household=household, scheme="dibao")
    _refused(household=household, scheme="dibao", person=adult, status="ended")
    _refused(household=household, scheme="tekun", person=None, status="ended")
    assert PERSON_LEVEL == {"tekun", "children"}
    assert {r.scheme for r in services.SCHEMES.values() if r.person_level} == PERSON_LEVEL


def test_ending_a_person_level_enrolment(officers, regions, frozen_today):
    household, (elder,) = make_household(regions.a_v, [("吴老汉", 0)])
    frozen_today(D(2020, 3, 20))
    from doudi.registry.services import grant_category

    tekun = _row(household, "tekun", elder)
    grant_category(officer=officers.a_township, person=elder, category="tekun", valid_from=D(2020, 3, 1))
    child = make_child(regions.a_v)
    case = approve_children(officers, file_children(officers, child))
    allowance = Enrolment.objects.get(decision_case=case)

    services.end_enrolment(enrolment=tekun, by=officers.a_approver, end_month=D(2020, 5, 9), reason="已死亡")
    assert PersonCategory.objects.get(person=elder, category="tekun").valid_to == D(2020, 5, 31)
    services.end_enrolment(
        enrolment=allowance, by=officers.a_approver, end_month=D(2020, 6, 1), reason="被收养"
    )
    assert PersonCategory.objects.get(person=child, category="orphan").valid_to is None  # still an orphan
    assert [e.status for e in Enrolment.objects.order_by("pk")] == ["ended", "ended"]


# --- the console roster (在保名册) -------------------------------------------------------------------------------


@pytest.fixture
def roster(officers, regions, frozen_today):
    """A children's enrolment in district A (through the flow) and a dibao one in district B."""
    frozen_today(D(2020, 3, 20))
    a_child = make_child(regions.a_v, "王小明")
    approve_children(officers, file_children(officers, a_child))
    b_household, (b_head,) = make_household(regions.b_v, [("钱多多", 0)])
    _row(b_household, "dibao")
    return a_child, b_head


def test_the_roster_is_scoped_and_masked(officers, roster, client):
    a_child, b_head = roster
    client.force_login(officers.a_district)
    response = client.get(reverse("benefits:list"))
    html = response.content.decode()
    assert response.status_code == 200 and html.count('data-testid="enrolment-row"') == 1
    assert "王小明" in html and mask_id_number(a_child.id_number) in html
    assert a_child.id_number not in html and "钱多多" not in html and b_head.id_number[:6] + "*" not in html
    assert "共 1 条，月救助金合计 1200 元" in html

    client.force_login(officers.b_district)
    html = client.get(reverse("benefits:list")).content.decode()
    assert "钱多多" in html and "王小明" not in html and b_head.id_number not in html
    assert [e.person_id for e in selectors.enrolments(officers.b_district)] == [None]


def test_the_roster_filters_by_scheme(officers, roster, client):
    client.force_login(officers.supervisor)  # the city sees both districts
    assert client.get(reverse("benefits:list")).content.decode().count('data-testid="enrolment-row"') == 2
    html = client.get(reverse("benefits:list"), {"scheme": "dibao"}).content.decode()
    assert html.count('data-testid="enrolment-row"') == 1 and "钱多多" in html and "王小明" not in html
    html = client.get(reverse("benefits:list"), {"scheme": "tekun"}).content.decode()
    assert 'data-testid="enrolments-empty"' in html
    Enrolment.objects.filter(scheme="dibao").update(status="ended")
    assert "钱多多" not in client.get(reverse("benefits:list")).content.decode()
    assert "钱多多" in client.get(reverse("benefits:list"), {"status": "all"}).content.decode()


def test_the_roster_exports_masked_and_audited(officers, roster, client):
    from openpyxl import load_workbook

    a_child, _b_head = roster
    client.force_login(officers.a_township)
    response = client.get(reverse("benefits:export"), {"scheme": "children"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "王小明" and rows[1][2] == mask_id_number(a_child.id_number)
    assert rows[1][6] == 1200
    assert rows[1][5] == "2020-03"  # the month as the month, not 2020-03-01 00:00
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:K2"
    assert a_child.id_number not in str(rows)
    entry = AuditEntry.objects.filter(action="export", object_type="benefits.enrolment").get()
    assert entry.after["rows"] == 1


def test_the_roster_needs_a_console_user_and_is_on_the_bar(officers, client):
    from doudi.core.nav import links_for

    assert client.get(reverse("benefits:list")).status_code == 302
    assert reverse("benefits:list") in [link.url for link in links_for(officers.a_village)]
