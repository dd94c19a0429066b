"""照料安排 (三(四)) and 养老机构安置 (三(三)): who cares for a dependent of an isolated carer and until
when (特困 first, overdue and ending flagged); an elderly person placed with the family's consent after
isolation observation. Bad input, duplicates, region scope, the page."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from doudi.care import selectors, services
from doudi.care.models import CareArrangement, Placement
from doudi.core.errors import Conflict
from doudi.registry.models import Category

ZWSP = "\u200b"
DAY = datetime.timedelta(days=1)


def test_arrangements_list_tekun_first_with_overdue_and_ending_flagged(
    staff, scheduled_person, regions, arrange
):
    today = timezone.localdate()
    plain = scheduled_person(regions.a_v, "周普通", Category.SEVERE_DISABILITY)
    tekun = scheduled_person(regions.a_v, "吴特困", Category.TEKUN)
    late = scheduled_person(regions.a_v2, "郑逾期", Category.ELDERLY_ALONE)
    arrange(staff.a_village, plain, dependent_kind="disabled", ends_on=today + 2 * DAY)
    arrange(staff.a_village, tekun, ends_on=today + 30 * DAY)
    arrange(staff.a_township, late, starts_on=today - 20 * DAY, ends_on=today - DAY)
    rows = selectors.arrangements_in_force(staff.a_township, today)
    assert [r.arrangement.person.name for r in rows] == ["吴特困", "郑逾期", "周普通"]
    assert [(r.tekun, r.overdue, r.ending) for r in rows] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    # An extension is a new row; the latest is the one in force.
    arrange(staff.a_township, late, starts_on=today, ends_on=today + 7 * DAY)
    rows = {r.arrangement.person.name: r for r in selectors.arrangements_in_force(staff.a_township, today)}
    assert rows["郑逾期"].days_left == 7 and CareArrangement.objects.filter(person=late).count() == 2
    # A village sees its own people; another district nobody.
    assert [r.arrangement.person.name for r in selectors.arrangements_in_force(staff.a_village2, today)] == [
        "郑逾期"
    ]
    assert selectors.arrangements_in_force(staff.b_district, today) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"carer_name": f"{ZWSP} "}, "carer_name"),
        ({"provider_name": ""}, "provider_name"),
        ({"provider_name": "名" * 101}, "provider_name"),
        ({"provider_phone": "123"}, "provider_phone"),
        ({"dependent_kind": "pet"}, "dependent_kind"),
        ({"carer_absence": ""}, "carer_absence"),
        ({"provider_kind": "robot"}, "provider_kind"),
        ({"ends_on": ""}, "ends_on"),
        ({"ends_on": "2099-01-01"}, "ends_on"),  # more than a year ahead
        ({"ends_on": timezone.localdate() - datetime.timedelta(days=1)}, "ends_on"),  # before the start
    ],
)
def test_bad_arrangement_is_a_field_error(staff, scheduled_person, regions, changes, field, arrange):
    person = scheduled_person(regions.a_v, "某", Category.SEVERE_ILLNESS)
    with pytest.raises(ValidationError) as exc:
        arrange(staff.a_village, person, **changes)
    assert field in exc.value.message_dict
    assert not CareArrangement.objects.exists()


def test_same_arrangement_twice_conflicts_and_scope_is_enforced(staff, scheduled_person, regions, arrange):
    person = scheduled_person(regions.a_v, "某", Category.TEKUN)
    arrange(staff.a_village, person)
    with pytest.raises(Conflict):
        arrange(staff.a_village, person, provider_name=f"社区网格员{ZWSP}刘芳")
    with pytest.raises(PermissionDenied):
        arrange(staff.b_district, person)
    with pytest.raises(PermissionDenied):
        arrange(staff.auditor, person)
    with pytest.raises(PermissionDenied):
        arrange(staff.a_village2, person)  # another village


def _place(by, person, home, **changes):
    today = timezone.localdate()
    data = {
        "institution": home,
        "reason": "family_isolated",
        "family_name": "陈女儿",
        "family_phone": "13700003333",
        "consent_on": today - DAY,
        "observation_from": today,
        "observation_to": today + 14 * DAY,
    } | changes
    return services.place_elderly(by=by, person=person, **data)


def test_an_elderly_person_is_placed_with_consent_after_observation(staff, scheduled_person, regions, homes):
    person = scheduled_person(regions.a_v, "孙奶奶", Category.ELDERLY_ALONE)
    p = _place(staff.a_village, person, homes.a)
    assert (p.institution, p.consent_on, (p.observation_to - p.observation_from).days) == (
        homes.a,
        timezone.localdate() - DAY,
        14,
    )
    with pytest.raises(Conflict):
        _place(staff.a_village, person, homes.a)
    today = timezone.localdate()
    for changes, field in [
        ({"institution": homes.b}, "institution"),  # another district's home
        ({"institution": None}, "institution"),
        ({"consent_on": today + DAY}, "consent_on"),  # consent in the future
        ({"consent_on": today + DAY, "observation_from": today + 2 * DAY}, "consent_on"),
        ({"observation_from": today - 2 * DAY}, "observation_from"),  # observation before the consent
        ({"observation_to": today - DAY}, "observation_to"),
        ({"family_name": ZWSP}, "family_name"),
        ({"family_phone": ""}, "family_phone"),
        ({"reason": "bored"}, "reason"),
    ]:
        with pytest.raises(ValidationError) as exc:
            _place(staff.a_village, person, homes.a2, **changes)
        assert field in exc.value.message_dict, changes
    assert Placement.objects.count() == 1


def test_the_page_is_menu_linked_printable_and_region_scoped(staff, scheduled_person, regions, homes, client):
    person = scheduled_person(regions.a_v, "吴特困", Category.TEKUN)
    client.force_login(staff.a_village)
    page = client.get(reverse("care:arrangements")).content.decode()
    assert "data-print" in page and reverse("care:arrangements") in page
    today = timezone.localdate()
    form = {
        "arr-id_number": person.id_number,
        "arr-dependent_kind": "elderly",
        "arr-carer_name": "吴儿子",
        "arr-carer_absence": "close_contact",
        "arr-provider_kind": "volunteer",
        "arr-provider_name": "社工站志愿者",
        "arr-provider_phone": "13600004444",
        "arr-starts_on": today.isoformat(),
        "arr-ends_on": (today + 3 * DAY).isoformat(),
    }
    url = reverse("care:arrangement_new")
    assert client.post(url, form | {"arr-id_number": "500101194001010000"}).status_code == 400  # not ours
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 409
    page = client.get(reverse("care:arrangements")).content.decode()
    assert "吴特困" in page and 'data-testid="ending"' in page and person.id_number not in page
    placement = {
        "pl-id_number": person.id_number,
        "pl-institution": homes.a.pk,
        "pl-reason": "front_line",
        "pl-family_name": "吴女儿",
        "pl-family_phone": "13500005555",
        "pl-consent_on": today.isoformat(),
        "pl-observation_from": today.isoformat(),
        "pl-observation_to": (today + 14 * DAY).isoformat(),
    }
    assert (
        client.post(reverse("care:placement_new"), placement | {"pl-institution": homes.b.pk}).status_code
        == 400
    )
    response = client.post(reverse("care:placement_new"), placement)
    assert response.status_code == 302, response.context["placement_form"].errors
    client.force_login(staff.b_district)
    other = client.get(reverse("care:arrangements")).content.decode()
    assert "吴特困" not in other
    # Another district cannot file for A's person (its ID is not found in B's region).
    assert client.post(url, form | {"arr-provider_name": "乙"}).status_code == 400
    client.force_login(staff.auditor)
    assert client.post(url, form).status_code == 403
