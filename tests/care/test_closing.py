"""Closing care early (the guardian is back, the family takes the elderly person home): a written reason
on the ledger, once; the arrangement leaves the list in force; bad input is a field error; the pages are
region-scoped."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from doudi.audit.models import AuditEntry
from doudi.care import selectors, services
from doudi.care.models import CareLedger
from doudi.core.errors import Conflict
from doudi.registry.models import Category

ZWSP = "\u200b"
DAY = datetime.timedelta(days=1)


def _place(by, person, home):
    today = timezone.localdate()
    return services.place_elderly(
        by=by,
        person=person,
        institution=home,
        reason="family_isolated",
        family_name="陈女儿",
        family_phone="13700003333",
        consent_on=today - 3 * DAY,
        observation_from=today - 3 * DAY,
        observation_to=today + 11 * DAY,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": f"{ZWSP}\u2060 "}, "reason"),
        ({"reason": "字" * 501}, "reason"),
        ({"reason_kind": "bored"}, "reason_kind"),
        ({"closed_on": "2020-02-30"}, "closed_on"),
        ({"closed_on": timezone.localdate() + DAY}, "closed_on"),  # the future
        ({"closed_on": timezone.localdate() - 6 * DAY}, "closed_on"),  # before the arrangement began
    ],
)
def test_bad_closure_is_a_field_error(staff, scheduled_person, regions, changes, field, arrange):
    person = scheduled_person(regions.a_v, "孙奶奶", Category.TEKUN)
    a = arrange(staff.a_village, person, starts_on=timezone.localdate() - 5 * DAY)
    data = {"reason_kind": "carer_back", "reason": "儿子返家"} | changes
    with pytest.raises(ValidationError) as exc:
        services.close_arrangement(by=staff.a_village, arrangement=a, **data)
    assert field in exc.value.message_dict
    assert not CareLedger.objects.exists()


def test_an_arrangement_closed_early_leaves_the_list_once(staff, scheduled_person, regions, arrange):
    today = timezone.localdate()
    person = scheduled_person(regions.a_v, "孙奶奶", Category.TEKUN)
    first = arrange(staff.a_village, person, starts_on=timezone.localdate() - 5 * DAY)
    second = arrange(staff.a_village, person, provider_name="女儿", starts_on=today, ends_on=today + 7 * DAY)
    with pytest.raises(Conflict):  # replaced: only the one in force can be closed
        services.close_arrangement(
            by=staff.a_village, arrangement=first, reason_kind="carer_back", reason="x"
        )
    with pytest.raises(PermissionDenied):
        services.close_arrangement(
            by=staff.b_district, arrangement=second, reason_kind="carer_back", reason="x"
        )
    with pytest.raises(PermissionDenied):
        services.close_arrangement(by=staff.auditor, arrangement=second, reason_kind="carer_back", reason="x")
    row = services.close_arrangement(
        by=staff.a_township, arrangement=second, reason_kind="carer_back", reason="儿子解除隔离返家"
    )
    assert (row.person, row.closed_on, row.reason, row.by_label) == (
        person,
        today,
        "儿子解除隔离返家",
        staff.a_township.byline,
    )
    assert AuditEntry.objects.filter(object_id=str(second.pk), reason="儿子解除隔离返家").exists()
    assert selectors.arrangements_in_force(staff.a_township, today) == []
    with pytest.raises(Conflict):
        services.close_arrangement(
            by=staff.a_township, arrangement=second, reason_kind="other", reason="再次"
        )
    # A new arrangement after the closure is in force again.
    arrange(staff.a_village, person, provider_name="邻居", starts_on=today + DAY, ends_on=today + 9 * DAY)
    assert [r.arrangement.provider_name for r in selectors.arrangements_in_force(staff.a_village, today)] == [
        "邻居"
    ]


def test_family_takes_the_elderly_person_home(staff, scheduled_person, regions, homes, client):
    person = scheduled_person(regions.a_v, "孙奶奶", Category.ELDERLY_ALONE)
    placement = _place(staff.a_village, person, homes.a)
    url = reverse("care:placement_detail", args=[placement.pk])
    client.force_login(staff.b_district)
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason_kind": "family_home", "reason": "x"}).status_code == 404
    client.force_login(staff.a_village)
    page = client.get(url).content.decode()
    assert person.id_number in page and 'data-testid="close"' in page
    form = {
        "reason_kind": "family_home",
        "reason": "女儿解除隔离，接回家中",
        "closed_on": timezone.localdate().isoformat(),
    }
    bad = client.post(url, form | {"reason": ZWSP})
    assert bad.status_code == 400 and 'data-testid="error-reason"' in bad.content.decode()
    early = client.post(url, form | {"closed_on": (timezone.localdate() - 10 * DAY).isoformat()})
    assert early.status_code == 400 and 'data-testid="error-closed_on"' in early.content.decode()
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 403  # ended: no form, no second closure
    with pytest.raises(Conflict):
        services.close_placement(by=staff.a_village, placement=placement, reason_kind="other", reason="再次")
    listing = client.get(reverse("care:arrangements")).content.decode()
    assert 'data-testid="placement-closed"' in listing
    assert "女儿解除隔离，接回家中" in client.get(url).content.decode()


def test_arrangement_page_scope_and_close_through_the_form(staff, scheduled_person, regions, client, arrange):
    person = scheduled_person(regions.a_v, "孙奶奶", Category.TEKUN)
    a = arrange(staff.a_village, person, starts_on=timezone.localdate() - 5 * DAY)
    url = reverse("care:arrangement_detail", args=[a.pk])
    client.force_login(staff.a_village2)  # another village
    assert client.get(url).status_code == 404
    client.force_login(staff.a_village)
    assert client.post(url, {"reason_kind": "carer_back", "reason": "", "closed_on": ""}).status_code == 400
    response = client.post(
        url,
        {"reason_kind": "carer_back", "reason": "儿子返家", "closed_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert CareLedger.objects.get().arrangement == a
