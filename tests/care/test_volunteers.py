"""志愿者、社会组织 (五): the registry (bad input, one registration per phone, scope), assignment to a care
arrangement and to a contact schedule (capacity, double booking, availability, skill), the suggestions
(nearest region first), ending by hand and with the arrangement, and the pages (404/403 to another
district, masked lists, Excel, keyset pages)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from doudi.care import services as care
from doudi.care.models import CareLedger
from doudi.core.errors import Conflict
from doudi.registry.models import Category
from doudi.volunteers import selectors, services
from doudi.volunteers.models import Assignment, AssignmentEvent, Volunteer

ZWSP = "\u200b"
DAY = datetime.timedelta(days=1)
PHONES = iter(f"1390000{n:04d}" for n in range(10000))


def _volunteer(by, region, name, **changes):
    data = {
        "name": name,
        "region": region,
        "phone": next(PHONES),
        "skills": ["eldercare", "delivery"],
        "capacity": 1,
        "available_from": timezone.localdate() - 10 * DAY,
    } | changes
    return services.save_volunteer(by=by, **data)


@pytest.fixture
def world(staff, regions, scheduled_person, arrange):
    person = scheduled_person(regions.a_v, "孙奶奶", Category.TEKUN)
    other = scheduled_person(regions.a_v, "钱爷爷", Category.ELDERLY_ALONE)
    arrangement = arrange(staff.a_village, person, provider_kind="volunteer", provider_name="志愿者服务队")
    return type("World", (), {"person": person, "other": other, "arrangement": arrangement})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": f"{ZWSP} "}, "name"),
        ({"name": "名" * 65}, "name"),
        ({"phone": "123"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"skills": []}, "skills"),
        ({"skills": ["flying"]}, "skills"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 21}, "capacity"),
        ({"capacity": "两"}, "capacity"),
        ({"available_from": "2020-13-01"}, "available_from"),
        ({"available_to": timezone.localdate() - 30 * DAY}, "available_to"),  # before the start
        ({"region": None}, "region"),
    ],
)
def test_bad_volunteer_is_a_field_error(staff, regions, changes, field):
    with pytest.raises(ValidationError) as exc:
        data = {"name": "王志愿", "region": regions.a_v} | changes
        _volunteer(staff.a_township, data.pop("region"), **data)
    assert field in exc.value.message_dict
    assert not Volunteer.objects.exists()


def test_registry_scope_one_phone_and_visibility_down_the_tree(staff, regions):
    township = _volunteer(staff.a_township, regions.a_t, "街道志愿者", phone="13900001234")
    with pytest.raises(ValidationError) as exc:
        _volunteer(staff.a_district, regions.a_v2, "重名", phone="139 0000 1234")
    assert "phone" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _volunteer(staff.a_village, regions.b_v, "别区")  # another district's node
    assert "region" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        _volunteer(staff.auditor, regions.a_v, "审计")
    with pytest.raises(PermissionDenied):
        services.save_volunteer(
            by=staff.b_district,
            volunteer=township,
            name="改",
            region=regions.b,
            phone="13900009999",
            skills=["legal"],
        )
    # The township's volunteer serves its villages: a village sees it; another district does not.
    assert list(selectors.volunteers_for(staff.a_village)) == [township]
    assert list(selectors.volunteers_for(staff.b_district)) == []
    assert list(selectors.volunteers_for(staff.a_district, skill="legal")) == []


def test_capacity_double_booking_availability_and_skill(staff, regions, world):
    today = timezone.localdate()
    v = _volunteer(staff.a_township, regions.a_v, "王志愿", capacity=1)
    a = services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=v, skill="eldercare"
    )
    assert (a.starts_on, a.ends_on, a.last_day, a.state) == (
        today,
        today + 14 * DAY,
        today + 14 * DAY,
        "active",
    )
    assert [e.action for e in a.events.all()] == ["assign"]
    # The same volunteer for the same person and days again: a conflict.
    with pytest.raises(Conflict):
        services.assign_to_arrangement(
            by=staff.a_village, arrangement=world.arrangement, provider=v, skill="delivery"
        )
    # Full (capacity 1) on any overlapping day: refused, naming the provider.
    with pytest.raises(ValidationError) as exc:
        services.assign_to_contacts(
            by=staff.a_village,
            person=world.other,
            provider=v,
            skill="eldercare",
            starts_on=today + 14 * DAY,
            ends_on=today + 20 * DAY,
        )
    assert "provider" in exc.value.message_dict and "上限 1 项" in exc.value.message_dict["provider"][0]
    # From the day after the last one it is free again.
    services.assign_to_contacts(
        by=staff.a_village,
        person=world.other,
        provider=v,
        skill="eldercare",
        starts_on=today + 15 * DAY,
        ends_on=today + 20 * DAY,
    )
    # Capacity 2: two people on the same days.
    v2 = _volunteer(staff.a_township, regions.a_v, "李志愿", capacity=2, skills=["visit", "eldercare"])
    services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=v2, skill="eldercare"
    )
    services.assign_to_contacts(
        by=staff.a_village, person=world.other, provider=v2, skill="visit", ends_on=today + 3 * DAY
    )
    assert Assignment.objects.filter(volunteer=v2).count() == 2
    for changes, field in [
        ({"skill": "legal"}, "skill"),  # not one of the volunteer's skills
        ({"skill": "robot"}, "skill"),
        ({"provider": None}, "provider"),
        ({"ends_on": today + 15 * DAY}, "ends_on"),  # past the arrangement's end
        ({"starts_on": today - 5 * DAY}, "starts_on"),  # before the arrangement
        ({"starts_on": today + 5 * DAY, "ends_on": today + 2 * DAY}, "ends_on"),
        ({"starts_on": "x"}, "starts_on"),
    ]:
        late = _volunteer(staff.a_township, regions.a_v, f"赵{field}", skills=["eldercare"])
        data = {"provider": late, "skill": "eldercare"} | changes
        with pytest.raises(ValidationError) as exc:
            services.assign_to_arrangement(by=staff.a_village, arrangement=world.arrangement, **data)
        assert field in exc.value.message_dict, changes
    busy_later = _volunteer(staff.a_township, regions.a_v, "周志愿", available_to=today + 5 * DAY)
    with pytest.raises(ValidationError) as exc:  # not available until the arrangement's end
        services.assign_to_arrangement(
            by=staff.a_village, arrangement=world.arrangement, provider=busy_later, skill="eldercare"
        )
    assert "provider" in exc.value.message_dict
    other_district = _volunteer(staff.b_district, regions.b_v, "涪陵志愿者")
    with pytest.raises(ValidationError) as exc:
        services.assign_to_arrangement(
            by=staff.a_village, arrangement=world.arrangement, provider=other_district, skill="eldercare"
        )
    assert "provider" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.assign_to_arrangement(
            by=staff.b_district, arrangement=world.arrangement, provider=other_district, skill="eldercare"
        )


def test_contact_assignment_needs_a_person_on_the_schedule(staff, regions, scheduled_person):
    v = _volunteer(staff.a_township, regions.a_v, "王志愿", skills=["visit"])
    not_scheduled = scheduled_person(
        regions.a_v, "无类别", Category.TEKUN
    )  # 特困 alone is not on the schedule
    with pytest.raises(ValidationError):
        services.assign_to_contacts(
            by=staff.a_village,
            person=not_scheduled,
            provider=v,
            skill="visit",
            ends_on=timezone.localdate() + DAY,
        )


def test_suggestions_nearest_region_first_and_full_ones_left_out(staff, regions, world):
    far = _volunteer(staff.a_district, regions.a, "区级志愿者")
    next_village = _volunteer(staff.a_district, regions.a_v2, "邻村志愿者")
    township = _volunteer(staff.a_district, regions.a_t, "街道志愿者")
    own = _volunteer(staff.a_district, regions.a_v, "本村志愿者")
    _volunteer(staff.a_district, regions.a_v, "只会法律", skills=["legal"])
    _volunteer(staff.b_district, regions.b_v, "涪陵志愿者")
    today = timezone.localdate()
    got = selectors.suggestions(staff.a_district, world.person, "eldercare", today, today + 14 * DAY)
    assert [s.provider.name for s in got] == ["本村志愿者", "街道志愿者", "区级志愿者", "邻村志愿者"]
    assert [s.distance for s in got] == [0, 1, 2, 2]
    # A village officer sees its own and the nodes above it, not the next village.
    got = selectors.suggestions(staff.a_village, world.person, "eldercare", today, today + 14 * DAY)
    assert [s.provider.name for s in got] == ["本村志愿者", "街道志愿者", "区级志愿者"]
    services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=own, skill="eldercare"
    )
    got = selectors.suggestions(staff.a_district, world.person, "eldercare", today, today + 14 * DAY)
    assert own not in [s.provider for s in got] and got[0].provider == township
    assert next_village and far


def test_ending_by_hand_and_with_the_arrangement(staff, regions, world):
    today = timezone.localdate()
    v1 = _volunteer(staff.a_township, regions.a_v, "王志愿")
    v2 = _volunteer(staff.a_township, regions.a_v, "李志愿")
    a1 = services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=v1, skill="eldercare"
    )
    a2 = services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=v2, skill="delivery"
    )
    with pytest.raises(ValidationError) as exc:
        services.end_assignment(by=staff.a_village, assignment=a2, reason=ZWSP)
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # after the planned end
        services.end_assignment(by=staff.a_village, assignment=a2, reason="x", last_day=today + 15 * DAY)
    assert "last_day" in exc.value.message_dict
    services.end_assignment(by=staff.a_village, assignment=a2, reason="志愿者本人生病")
    a2.refresh_from_db()
    assert (a2.state, a2.last_day) == ("ended", today)
    with pytest.raises(Conflict):
        services.end_assignment(by=staff.a_village, assignment=a2, reason="再次")
    # The guardian is back: the arrangement closes early, its running assignment ends the same day.
    with pytest.raises(ValidationError) as exc:
        care.close_arrangement(
            by=staff.a_village, arrangement=world.arrangement, reason_kind="carer_back", reason=" "
        )
    assert "reason" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        care.close_arrangement(
            by=staff.b_district, arrangement=world.arrangement, reason_kind="carer_back", reason="x"
        )
    care.close_arrangement(
        by=staff.a_village, arrangement=world.arrangement, reason_kind="carer_back", reason="儿子解除隔离返家"
    )
    a1.refresh_from_db()
    assert (a1.state, a1.last_day) == ("ended", today)
    assert [e.action for e in AssignmentEvent.objects.filter(assignment=a1)] == ["assign", "care_end"]
    assert AssignmentEvent.objects.filter(assignment=a1).last().reason == "儿子解除隔离返家"
    assert AssignmentEvent.objects.filter(assignment=a2).count() == 2  # already ended by hand: untouched
    ledger = CareLedger.objects.get()
    assert (ledger.action, ledger.from_state, ledger.to_state, ledger.closed_on) == (
        "close",
        "in_force",
        "closed",
        today,
    )
    with pytest.raises(Conflict):
        care.close_arrangement(
            by=staff.a_village, arrangement=world.arrangement, reason_kind="other", reason="再次"
        )
    with pytest.raises(Conflict):  # a closed arrangement takes no one
        services.assign_to_arrangement(
            by=staff.a_village,
            arrangement=world.arrangement,
            provider=_volunteer(staff.a_township, regions.a_v, "新"),
            skill="eldercare",
        )
    # The volunteer is free again from tomorrow.
    assert rules_fits(v1, today + DAY)


def rules_fits(v, day):
    from doudi.volunteers import rules

    return rules.fits(v.capacity, services.busy_periods(v, day, day + 3 * DAY), day, day + 3 * DAY)


def test_a_new_arrangement_ends_the_assignments_of_the_one_it_replaces(staff, regions, world, arrange):
    today = timezone.localdate()
    v = _volunteer(staff.a_township, regions.a_v, "王志愿")
    a = services.assign_to_arrangement(
        by=staff.a_village, arrangement=world.arrangement, provider=v, skill="eldercare"
    )
    arrange(
        staff.a_village,
        world.person,
        provider_kind="relative",
        provider_name="女儿",
        starts_on=today + 3 * DAY,
        ends_on=today + 20 * DAY,
    )
    a.refresh_from_db()
    assert (a.state, a.last_day) == ("ended", today + 2 * DAY)


def test_pages_scope_masking_export_and_bad_input(staff, regions, world, client):
    v = _volunteer(staff.a_township, regions.a_v, "王志愿", phone="13912345678")
    client.force_login(staff.a_village)
    page = client.get(reverse("volunteers:list")).content.decode()
    assert "王志愿" in page and "139****5678" in page and "13912345678" not in page
    export = client.get(reverse("volunteers:list") + "?format=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    detail = client.get(reverse("volunteers:detail", args=[v.pk])).content.decode()
    assert "13912345678" in detail  # in full on the page of one (an audited read)
    url = reverse("volunteers:assign_arrangement", args=[world.arrangement.pk])
    assert 'data-testid="suggestion"' in client.get(url).content.decode()
    form = {
        "skill": "eldercare",
        "provider": f"v-{v.pk}",
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": world.arrangement.ends_on.isoformat(),
    }
    bad = client.post(url, form | {"ends_on": ""})
    assert bad.status_code == 400 and "error-ends_on" in bad.content.decode()
    assert client.post(url, form | {"provider": "v-999999"}).status_code == 400
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 409
    assignment = Assignment.objects.get()
    new = client.post(
        reverse("volunteers:new"),
        {
            "name": ZWSP,
            "region": regions.a_v.pk,
            "phone": "1",
            "capacity": "1",
            "available_from": "2020-01-01",
            "skills": ["visit"],
        },
    )
    assert (
        new.status_code == 400
        and "error-name" in new.content.decode()
        and "error-phone" in new.content.decode()
    )
    # Another district: 404 on every page of A's; nothing in its lists.
    client.force_login(staff.b_district)
    assert "王志愿" not in client.get(reverse("volunteers:list")).content.decode()
    for name, pk in [
        ("volunteers:detail", v.pk),
        ("volunteers:assign_arrangement", world.arrangement.pk),
        ("volunteers:assign_contacts", world.other.pk),
        ("care:arrangement_detail", world.arrangement.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    assert (
        client.post(reverse("volunteers:assignment_end", args=[assignment.pk]), {"reason": "x"}).status_code
        == 404
    )
    client.force_login(staff.auditor)
    assert client.get(url).status_code == 200
    assert client.post(url, form).status_code == 403


def test_list_is_keyset_paged(staff, regions, client):
    for n in range(55):
        _volunteer(staff.a_township, regions.a_v, f"志愿者{n:02d}")
    client.force_login(staff.a_township)
    first = client.get(reverse("volunteers:list"))
    page = first.context["page"]
    assert len(page.object_list) == 50 and page.has_next
    second = client.get(reverse("volunteers:list"), {"after": page.next_cursor}).context["page"]
    assert [v.name for v in second.object_list] == [f"志愿者{n}" for n in range(50, 55)]


def test_contact_assignment_through_the_page(staff, regions, world, client):
    v = _volunteer(staff.a_township, regions.a_v, "王志愿", skills=["visit"])
    client.force_login(staff.a_village)
    contacts = client.get(reverse("care:person_contacts", args=[world.other.pk])).content.decode()
    url = reverse("volunteers:assign_contacts", args=[world.other.pk])
    assert url in contacts
    assert "王志愿" in client.get(url, {"skill": "visit"}).content.decode()
    today = timezone.localdate()
    form = {"skill": "visit", "provider": f"v-{v.pk}", "starts_on": today.isoformat()}
    bad = client.post(url, form | {"ends_on": (today - DAY).isoformat()})
    assert bad.status_code == 400 and 'data-testid="error-ends_on"' in bad.content.decode()
    assert client.post(url, form | {"ends_on": (today + 7 * DAY).isoformat()}).status_code == 302
    a = Assignment.objects.get(purpose="contact")
    assert (a.person, a.volunteer, a.arrangement) == (world.other, v, None)
    assert (
        client.post(reverse("volunteers:assignment_end", args=[a.pk]), {"reason": "本人返乡"}).status_code
        == 302
    )
    a.refresh_from_db()
    assert a.state == "ended" and a.events.last().reason == "本人返乡"
