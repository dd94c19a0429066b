"""心理援助转介 (notice 五) beyond the COVID death: the offer on a long hospital stay (not a short one) and
to the family of an isolated carer's dependent, once each; the offer's states with an insert-only ledger,
follow-up contacts, the case following it, and the township's overdue list — region-scoped."""

import datetime
import importlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from doudi.care import selectors, services
from doudi.care.models import PsychAidFollowUp, PsychAidOffer, PsychAidTransition
from doudi.core.errors import Conflict
from doudi.intake.models import Case

D = datetime.date


@pytest.fixture
def patient(regions):
    from stdnum.cn import ric

    from doudi.registry.models import Household, Membership, Person

    household = Household.objects.create(region=regions.a_v, area_type="urban")
    people = []
    for seq, (name, relation) in enumerate((("赵住院", "head"), ("钱家属", "spouse")), start=1):
        body = f"500101195505050{seq:02d}"
        p = Person.objects.create(
            id_number=body + ric.calc_check_digit(body + "0"),
            name=name,
            birth_date=D(1955, 5, 5),
            sex="F",
            region=regions.a_v,
            phone=f"1381234000{seq}",
        )
        Membership.objects.create(household=household, person=p, relation=relation, joined_on=D(2010, 1, 1))
        people.append(p)
    return people[0]


def _stay(person, by, days, confirmed=D(2020, 2, 1)):
    from doudi.intake.services import record_covid_event

    record_covid_event(person=person, kind="confirmed", date=confirmed, by=by)
    return record_covid_event(
        person=person, kind="discharged", date=confirmed + datetime.timedelta(days=days), by=by
    )


def test_a_discharge_after_a_long_stay_offers_aid_to_the_patient_once(patient, staff):
    from doudi.intake.services import record_covid_event, void_covid_event

    event = _stay(patient, staff.a_village, 14)
    offer = PsychAidOffer.objects.get(person=patient)
    assert offer.trigger == "hospitalised" and offer.state == "offered"
    case = offer.case
    assert case.applicant == patient and case.department == "psychological"
    assert case.details["psych_aid"]["days"] == 14 and "住院治疗 14 天" in case.summary
    assert list(offer.transitions.values_list("seq", "action", "to_state")) == [(1, "offer", "offered")]
    # The same discharge recorded again (voided and re-entered): still one offer.
    void_covid_event(event=event, by=staff.a_village, reason="录入有误")
    record_covid_event(person=patient, kind="discharged", date=event.date, by=staff.a_village)
    assert PsychAidOffer.objects.filter(person=patient).count() == 1
    assert Case.objects.filter(details__psych_aid__person=patient.pk).count() == 1


def test_a_short_stay_offers_nothing_and_the_line_is_the_dated_parameter(patient, staff):
    _stay(patient, staff.a_village, 13)
    assert not PsychAidOffer.objects.exists()
    assert services.hospital_days(D(2020, 3, 1)) == 14


def test_an_imported_list_twice_gives_one_offer(patient, staff):
    from doudi.intake.services import import_covid_events

    content = "\n".join(
        [
            "身份证号,姓名,事件,日期",
            f"{patient.id_number},赵住院,确诊,2020-02-01",
            f"{patient.id_number},赵住院,出院,2020-03-01",
        ]
    ).encode("utf-8")
    for _ in range(2):
        assert import_covid_events(by=staff.a_district, filename="h.csv", content=content).ok
    assert PsychAidOffer.objects.filter(person=patient, trigger="hospitalised").count() == 1


def test_the_family_of_an_isolated_carer_is_offered_aid_once(patient, staff):
    for provider in ("邻居孙某", "村委会李某"):
        services.arrange_care(
            by=staff.a_village,
            person=patient,
            dependent_kind="elderly",
            carer_name="赵女儿",
            carer_absence="close_contact",
            provider_kind="village",
            provider_name=provider,
            provider_phone="13900002222",
            ends_on=timezone.localdate() + datetime.timedelta(days=14),
        )
    offer = PsychAidOffer.objects.get(person=patient)
    assert offer.trigger == "isolated_family" and "赵女儿" in offer.case.summary
    assert "密切接触" in offer.case.summary and offer.case.applicant.name == "钱家属"


def _offer(patient, staff):
    _stay(patient, staff.a_village, 20)
    return PsychAidOffer.objects.get(person=patient)


def test_the_offer_is_accepted_followed_up_and_closed_with_its_case(patient, staff):
    offer = _offer(patient, staff)
    today = timezone.localdate()
    offer = services.step_psych_aid(by=staff.a_village, offer=offer, step="accept", note="本人同意接受疏导")
    assert offer.state == "accepted" and offer.case.state == "accepted"
    offer = services.step_psych_aid(
        by=staff.a_village,
        offer=offer,
        step="follow_up",
        note="电话回访，睡眠好转",
        contacted_on=today,
        method="phone",
        next_on=today + datetime.timedelta(days=3),
    )
    assert offer.state == "follow_up" and offer.next_on == today + datetime.timedelta(days=3)
    assert PsychAidFollowUp.objects.get(offer=offer).findings == "电话回访，睡眠好转"
    offer = services.step_psych_aid(
        by=staff.a_township, offer=offer, step="close", note="情绪稳定，结束跟进", expected_version=3
    )
    offer.case.refresh_from_db()
    assert offer.state == "closed" and offer.case.state == "closed" and offer.case.closed_at is not None
    ledger = list(PsychAidTransition.objects.filter(offer=offer).values_list("seq", "action", "to_state"))
    assert ledger == [
        (1, "offer", "offered"),
        (2, "accept", "accepted"),
        (3, "follow_up", "follow_up"),
        (4, "close", "closed"),
    ]
    row = PsychAidTransition.objects.filter(offer=offer).first()
    row.reason = "改写"
    with pytest.raises(Exception):  # noqa: B017 - insert-only: any update is refused
        row.save()


def test_a_declined_offer_is_closed_never_followed_up(patient, staff):
    offer = _offer(patient, staff)
    offer = services.step_psych_aid(by=staff.a_village, offer=offer, step="decline", note="家属婉拒")
    with pytest.raises(ValidationError) as exc:
        services.step_psych_aid(by=staff.a_village, offer=offer, step="follow_up", note="x", method="phone")
    assert "step" in exc.value.message_dict
    offer = services.step_psych_aid(by=staff.a_village, offer=offer, step="close", note="已告知热线")
    assert offer.state == "closed" and selectors.due_of(offer, timezone.localdate()) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"step": "follow_up", "note": "x", "method": "phone"}, "step"),  # not accepted yet
        ({"step": "accept", "note": " \u200b "}, "note"),
        ({"step": "fly", "note": "x"}, "step"),
    ],
)
def test_bad_steps_are_field_errors(patient, staff, data, field):
    offer = _offer(patient, staff)
    with pytest.raises(ValidationError) as exc:
        services.step_psych_aid(by=staff.a_village, offer=offer, **data)
    assert field in exc.value.message_dict
    assert PsychAidOffer.objects.get(pk=offer.pk).state == "offered"


def test_follow_up_input_and_stale_versions_and_scope(patient, staff):
    offer = _offer(patient, staff)
    offer = services.step_psych_aid(by=staff.a_village, offer=offer, step="accept", note="同意")
    today = timezone.localdate()
    for bad, field in (
        ({"method": "fax"}, "method"),
        ({"method": "phone", "contacted_on": today + datetime.timedelta(days=1)}, "contacted_on"),
        ({"method": "phone", "next_on": today}, "next_on"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.step_psych_aid(by=staff.a_village, offer=offer, step="follow_up", note="回访", **bad)
        assert field in exc.value.message_dict
    with pytest.raises(Conflict):
        services.step_psych_aid(
            by=staff.a_village, offer=offer, step="follow_up", note="x", expected_version=1
        )
    with pytest.raises(PermissionDenied):
        services.step_psych_aid(by=staff.b_district, offer=offer, step="follow_up", note="x", method="phone")
    with pytest.raises(PermissionDenied):
        services.step_psych_aid(by=staff.auditor, offer=offer, step="follow_up", note="x", method="phone")


def test_the_overdue_list_follows_the_interval_and_the_agreed_day(patient, staff, client):
    offer = _offer(patient, staff)
    today = timezone.localdate()
    assert selectors.overdue_psych_aid(today, user=staff.a_township) == []
    late = selectors.overdue_psych_aid(today + datetime.timedelta(days=8), user=staff.a_township)
    assert [r.offer.pk for r in late] == [offer.pk] and late[0].overdue_days == 1
    assert late[0].township == patient.region.parent
    assert selectors.overdue_psych_aid(today + datetime.timedelta(days=8), user=staff.b_district) == []
    offer = services.step_psych_aid(by=staff.a_village, offer=offer, step="accept", note="同意")
    services.step_psych_aid(
        by=staff.a_village,
        offer=offer,
        step="follow_up",
        note="视频回访",
        method="video",
        next_on=today + datetime.timedelta(days=2),
    )
    assert selectors.overdue_psych_aid(today + datetime.timedelta(days=2), user=staff.a_township) == []
    assert len(selectors.overdue_psych_aid(today + datetime.timedelta(days=3), user=staff.a_township)) == 1
    out = __import__("io").StringIO()
    call_command("care", "psych-aid-overdue", "--date", str(today + datetime.timedelta(days=3)), stdout=out)
    assert offer.case.tracking_number in out.getvalue() and "逾期 1 天" in out.getvalue()


def test_pages_are_region_scoped_and_bad_input_is_a_form_error(patient, staff, client):
    from doudi.audit.models import AuditEntry

    offer = _offer(patient, staff)
    url = reverse("care:psych_aid_detail", args=[offer.pk])
    client.force_login(staff.a_village)
    page = client.get(url)
    assert page.status_code == 200 and "13812340001" in page.content.decode()
    assert AuditEntry.objects.filter(action="read", object_id=str(offer.case_id)).exists()
    assert (
        reverse("care:psych_aid_detail", args=[offer.pk])
        in client.get(reverse("care:psych_aid")).content.decode()
    )
    bad = client.post(url, {"version": offer.version, "step": "accept", "note": ""})
    assert bad.status_code == 400 and 'data-testid="error-note"' in bad.content.decode()
    bad = client.post(url, {"version": offer.version, "step": "accept", "note": "x", "next_on": "bad"})
    assert bad.status_code == 400
    stale = client.post(url, {"version": 99, "step": "accept", "note": "同意"})
    assert stale.status_code == 409
    assert client.post(url, {"version": offer.version, "step": "accept", "note": "同意"}).status_code == 302
    assert client.get(reverse("care:psych_aid_overdue")).status_code == 200
    assert client.get(reverse("care:psych_aid_overdue") + "?format=xlsx").status_code == 200
    client.force_login(staff.b_district)
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"version": 2, "step": "follow_up", "note": "x", "method": "phone"}).status_code
        == 404
    )
    assert offer.case.tracking_number not in client.get(reverse("care:psych_aid_overdue")).content.decode()


def test_the_migration_gives_earlier_offers_their_state(patient, staff):
    from django.apps import apps

    _stay(patient, staff.a_village, 20)
    offer = PsychAidOffer.objects.get(person=patient)
    case = offer.case
    PsychAidTransition.objects.filter(offer=offer)._raw_delete(PsychAidTransition.objects.db)
    PsychAidOffer.objects.filter(pk=offer.pk).delete()
    migration = importlib.import_module("doudi.care.migrations.0006_hotline_psych_aid")
    migration.offers_for_existing_cases(apps, None)
    migration.offers_for_existing_cases(apps, None)  # twice: nothing more
    offer = PsychAidOffer.objects.get(case=case)
    assert offer.state == "offered" and offer.trigger == "hospitalised" and offer.transitions.count() == 1


def test_the_daily_job_offers_aid_to_patients_still_in_hospital_past_the_line(patient, staff):
    from doudi.intake.services import record_covid_event
    from doudi.registry.models import Person

    today = timezone.localdate()
    confirmed = today - datetime.timedelta(days=20)
    record_covid_event(person=patient, kind="confirmed", date=confirmed, by=staff.a_village)
    spouse = Person.objects.get(name="钱家属")
    _stay(spouse, staff.a_village, 5, confirmed=confirmed)  # discharged after 5 days: nothing owed
    assert services.offer_long_stays(today - datetime.timedelta(days=7)) == []  # 13 days then
    opened = services.offer_long_stays(today)
    assert [c.applicant for c in opened] == [patient]
    aid = opened[0].details["psych_aid"]
    assert aid["in_hospital"] and aid["days"] == 20 and "尚未出院" in opened[0].summary
    assert opened[0].filed_by == staff.a_village  # in the name of the confirmation's recorder
    out = __import__("io").StringIO()
    call_command("care", "psych-aid-long-stays", stdout=out)
    assert "新开立 0 件" in out.getvalue()
    record_covid_event(person=patient, kind="discharged", date=today, by=staff.a_village)
    assert PsychAidOffer.objects.filter(person=patient).count() == 1
    assert not PsychAidOffer.objects.filter(person=spouse).exists()
