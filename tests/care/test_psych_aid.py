"""心理援助 (notice 五): a COVID death opens, for the family, a psychological-aid case naming the lines to
call — once per deceased person, by hand or by import — seen only in the person's region, printable."""

import datetime

import pytest
from django.urls import reverse

from doudi.care import services
from doudi.intake.models import Case, CaseType, Department

D = datetime.date


@pytest.fixture
def family(regions):
    from doudi.registry.models import Household, Membership, Person

    def person(name, seq, region=None, relation="head", household=None):
        from stdnum.cn import ric

        body = f"500101195001010{seq:02d}"
        p = Person.objects.create(
            id_number=body + ric.calc_check_digit(body + "0"),
            name=name,
            birth_date=D(1950, 1, 1),
            sex="M",
            region=region or regions.a_v,
            phone="13812345678",
        )
        if household is not None:
            Membership.objects.create(
                household=household, person=p, relation=relation, joined_on=D(2010, 1, 1)
            )
        return p

    household = Household.objects.create(region=regions.a_v, area_type="urban")
    deceased = person("陈大文", 1, household=household)
    widow = person("林小红", 2, relation="spouse", household=household)
    alone = person("周独居", 3)
    return type("Family", (), {"deceased": deceased, "widow": widow, "alone": alone})


@pytest.fixture
def lines(regions, staff):
    from doudi.regions.services import create_hotline

    create_hotline(by=staff.city_admin, district=regions.city, name="全市社会救助热线", phone="12345")
    create_hotline(
        by=staff.city_admin,
        district=regions.a,
        name="万州区心理援助热线",
        phone="023-58123456",
        service_hours="24小时",
    )
    create_hotline(by=staff.city_admin, district=regions.b, name="涪陵区心理援助热线", phone="023-72000000")


def _die(person, by, day=D(2020, 3, 2)):
    from doudi.intake.services import record_covid_event

    record_covid_event(person=person, kind="confirmed", date=day - datetime.timedelta(days=20), by=by)
    return record_covid_event(person=person, kind="died", date=day, by=by)


def test_a_covid_death_opens_the_family_s_psychological_aid_case(family, lines, staff):
    _die(family.deceased, staff.a_village)
    case = Case.objects.get(case_type=CaseType.CARE, details__psych_aid__person=family.deceased.pk)
    aid = case.details["psych_aid"]
    assert case.applicant == family.widow and case.department == Department.PSYCHOLOGICAL
    assert case.region == family.deceased.region and case.due_on is not None
    assert aid["trigger"] == "bereaved" and aid["event_on"] == "2020-03-02"
    # The district's psychological line first, then the city's; never another district's.
    assert [h["phone"] for h in aid["hotlines"]] == ["023-58123456", "12345"]
    assert "万州区心理援助热线 023-58123456" in case.summary and "陈大文" in case.summary


def test_a_confirmation_or_a_discharge_after_a_short_stay_opens_nothing(family, lines, staff):
    from doudi.intake.services import record_covid_event

    record_covid_event(person=family.deceased, kind="confirmed", date=D(2020, 2, 1), by=staff.a_village)
    # 13 days: under the 14-day line of care.psych_aid.hospital_days.
    record_covid_event(person=family.deceased, kind="discharged", date=D(2020, 2, 14), by=staff.a_village)
    assert not Case.objects.filter(details__psych_aid__isnull=False).exists()


def test_one_offer_per_deceased_person_even_when_the_list_is_imported_again(family, lines, staff):
    from doudi.intake.services import import_covid_events

    rows = [
        "身份证号,姓名,事件,日期",
        f"{family.deceased.id_number},陈大文,确诊,2020-02-10",
        f"{family.deceased.id_number},陈大文,死亡,2020-03-02",
    ]
    content = "\n".join(rows).encode("utf-8")
    assert import_covid_events(by=staff.a_district, filename="a.csv", content=content).ok
    assert import_covid_events(by=staff.a_district, filename="a.csv", content=content).ok
    assert Case.objects.filter(details__psych_aid__person=family.deceased.pk).count() == 1
    # Called again directly (a second recorder at the same moment): nothing more.
    assert (
        services.offer_psych_aid(person=family.deceased, event_on=D(2020, 3, 2), by=staff.a_district) is None
    )


def test_a_person_without_family_or_hotlines_still_gets_an_offer(family, staff):
    _die(family.alone, staff.a_village)
    case = Case.objects.get(details__psych_aid__person=family.alone.pk)
    assert case.applicant is None and case.applicant_name == "周独居的家属"
    assert case.details["psych_aid"]["hotlines"] == [] and "尚未公布热线" in case.summary


def test_the_death_is_recorded_even_when_the_offer_cannot_be_opened(family, staff, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError({"summary": "x"})

    monkeypatch.setattr("doudi.intake.services.open_case", refuse)
    event = _die(family.deceased, staff.a_village)
    family.deceased.refresh_from_db()
    assert event.pk and family.deceased.covid_died_on == D(2020, 3, 2)
    assert not Case.objects.filter(details__psych_aid__isnull=False).exists()


def test_pages_are_region_scoped_menu_linked_and_printable(family, lines, staff, client):
    from doudi.audit.models import AuditEntry

    _die(family.deceased, staff.a_village)
    case = Case.objects.get(details__psych_aid__person=family.deceased.pk)
    client.force_login(staff.a_village)
    page = client.get(reverse("care:psych_aid")).content.decode()
    assert case.tracking_number in page and "陈大文" in page and "138****5678" in page
    assert reverse("care:psych_aid") in client.get(reverse("care:overdue_contacts")).content.decode()
    notice = client.get(reverse("care:psych_aid_print", args=[case.pk]))
    text = notice.content.decode()
    assert notice.status_code == 200 and "023-58123456" in text and "data-print" in text
    assert AuditEntry.objects.filter(object_id=str(case.pk), action="read").exists()
    # Another district: not listed, not printable.
    client.force_login(staff.b_district)
    assert case.tracking_number not in client.get(reverse("care:psych_aid")).content.decode()
    assert client.get(reverse("care:psych_aid_print", args=[case.pk])).status_code == 404
    # Another care case (not an offer) is not printable as one.
    other = Case.objects.exclude(pk=case.pk).first()
    client.force_login(staff.a_district)
    if other is not None:
        assert client.get(reverse("care:psych_aid_print", args=[other.pk])).status_code == 404
    assert client.get(reverse("care:psych_aid_print", args=[10**9])).status_code == 404


def test_the_offer_is_followed_up_through_the_case_until_closed(family, lines, staff, client):
    from doudi.intake.services import perform_action

    _die(family.deceased, staff.a_village)
    case = Case.objects.get(details__psych_aid__person=family.deceased.pk)
    case = perform_action(case=case, action="accept", by=staff.a_village)
    case = perform_action(
        case=case, action="close", by=staff.a_village, reason="已电话联系家属，同意接受心理疏导"
    )
    assert case.closed_at is not None
    client.force_login(staff.a_village)
    assert case.tracking_number not in client.get(reverse("care:psych_aid")).content.decode()
    assert case.tracking_number in client.get(reverse("care:psych_aid") + "?all=1").content.decode()
