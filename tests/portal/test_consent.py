"""The consent ticked on the portal is the household's verification consent (核对授权): recorded with the
applicant as signer and the portal as channel as soon as the case knows the household — so the monthly
re-check does not count that household under 无有效授权未核对."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from doudi.intake import services as intake
from doudi.intake.models import Case
from doudi.verification.dataio import consent_sql
from doudi.verification.models import Consent
from doudi.verification.selectors import valid_consent
from portal.helpers import id_number

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def household(regions):
    from doudi.registry.models import Household, Membership, Person

    home = Household.objects.create(region=regions.a_v, area_type="urban", address="高笋塘路8号")
    person = Person.objects.create(
        id_number=id_number(), name="张伟", birth_date=D(1985, 4, 2), sex="M", region=regions.a_v
    )
    Membership.objects.create(household=home, person=person, relation="head", joined_on=D(2010, 1, 1))
    return home, person


def _consented_households(day):
    with connection.cursor() as cursor:
        cursor.execute(consent_sql(day))
        return {row[0] for row in cursor.fetchall()}


def test_a_linked_applicant_s_consent_is_the_household_s(client, regions, application, household):
    home, person = household
    person.phone = "13800138000"
    person.save(update_fields=["phone"])
    client.post(reverse("portal:apply", args=["dibao"]), application())
    case = Case.objects.get()
    consent = Consent.objects.get(household=home)
    today = timezone.localdate()
    assert (consent.channel, consent.signatories, consent.document_number) == (
        "portal",
        "张伟",
        case.tracking_number,
    )
    assert consent.signed_on == today and consent.recorded_by is None and consent.valid_until is None
    assert valid_consent(home, today) == consent
    assert home.pk in _consented_households(today)  # what the monthly re-check reads
    page_consents = [c.pk for c in home.consents.all()]
    assert page_consents == [consent.pk]


def test_an_unlinked_application_s_consent_is_recorded_when_staff_identify_the_applicant(
    client, regions, application, household, make_user
):
    home, person = household  # no phone on file: the portal does not link the applicant
    client.post(reverse("portal:apply", args=["dibao"]), application())
    case = Case.objects.get()
    assert case.applicant is None and not Consent.objects.exists()
    officer = make_user("officer_t", regions.a_t, "township_officer")
    intake.identify_applicant(case=case, by=officer, person=person)
    consent = Consent.objects.get()
    assert (consent.household, consent.channel, consent.signatories) == (home, "portal", "张伟")
    assert consent.signed_on == D.fromisoformat(case.details["consent"]["given_on"])
    intake.identify_applicant(case=Case.objects.get(), by=officer, person=person)  # again: still one
    assert Consent.objects.count() == 1


def test_a_counter_case_records_no_consent(regions, household, make_user):
    home, person = household
    officer = make_user("officer_t", regions.a_t, "township_officer")
    intake.open_case(
        by=officer,
        case_type="dibao",
        channel="walk_in",
        region=regions.a_v,
        summary="窗口申请",
        applicant=person,
    )
    assert not Consent.objects.exists()
