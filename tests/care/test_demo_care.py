"""The care part of `doudi demo`: made by the services, idempotent, one institution left missing."""

import datetime

from django.utils import timezone

from doudi.care import selectors
from doudi.care.demo import load_demo_care
from doudi.care.models import ChildReport, Contact, HotlineCall, Institution, Outing, Screening


def test_demo_care_is_lived_in_and_idempotent(staff, regions, scheduled_person):
    scheduled_person(regions.a_v, "孙婆婆", "elderly_alone")
    scheduled_person(regions.a_v, "周爷爷", "left_behind_elderly", since_days_ago=200)
    counts = load_demo_care(home=regions.a_v)
    assert counts == {"institutions": 3, "screenings": 3, "contacts": 2, "children": 2, "calls": 2}
    assert HotlineCall.objects.filter(case__channel="hotline").count() == 1
    assert set(ChildReport.objects.values_list("state", flat=True)) == {"arranged", "reported"}
    assert Contact.objects.filter(follow_up_case__isnull=False).count() == 1
    assert set(Screening.objects.values_list("outcome", flat=True)) == {"pass", "refuse", "hold"}
    assert Outing.objects.filter(returned_at__isnull=True, green_channel=True).count() == 1
    assert len(selectors.missing_reports(timezone.localdate(), user=staff.a_district)) == 1
    assert load_demo_care(home=regions.a_v) is None
    assert Institution.objects.count() == 3


def test_demo_volunteers_nearest_first_and_idempotent(staff, regions, scheduled_person, arrange):
    from doudi.volunteers.demo import load_demo_volunteers
    from doudi.volunteers.models import Volunteer

    assert load_demo_volunteers(home=regions.a_v) == {"organisations": 1, "volunteers": 4}
    assert load_demo_volunteers(home=regions.a_v) is None
    person = scheduled_person(regions.a_v, "孙婆婆", "elderly_alone")
    arrange(staff.a_village, person)
    today = timezone.localdate()
    from doudi.volunteers.selectors import suggestions

    got = suggestions(staff.a_village, person, "eldercare", today, today + datetime.timedelta(days=7))
    assert [s.provider.name for s in got] == ["杨晓红", "邓医生"]
    assert Volunteer.objects.get(name="邓医生").organisation.name == "万州区社会工作服务中心"
