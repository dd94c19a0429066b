"""Contact schedules (三(四)): intervals from the bureau's parameters, contacts, the overdue job, and the
follow-up case opened from a contact that finds a need."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from doudi.audit.models import AuditAction, AuditEntry
from doudi.care import selectors, services
from doudi.care.models import Contact
from doudi.core.errors import Conflict
from doudi.intake.models import Case

TODAY = timezone.localdate


@pytest.fixture
def people(regions, staff, scheduled_person):
    person = scheduled_person
    return type(
        "People",
        (),
        {
            "alone": person(regions.a_v, "孙婆婆", "elderly_alone"),
            "orphan": person(regions.a_v2, "小明", "orphan", birth=datetime.date(2012, 3, 3)),
            "institutional": person(regions.a_v2, "小红", "orphan", orphan_care="institutional"),
            "left": person(regions.a_v, "周爷爷", "left_behind_elderly", since_days_ago=10),
            "dibao_only": person(regions.a_v, "吴某", "dibao"),
            "b_alone": person(regions.b_v, "钱婆婆", "elderly_alone"),
        },
    )


def _contact(by, p, days_ago=0, **kw):
    data = dict(contacted_on=TODAY() - datetime.timedelta(days=days_ago), method="phone", findings="身体尚可")
    data.update(kw)
    return services.record_contact(by=by, person=p, **data)


def test_schedule_by_category_and_scope(staff, people):
    rows = {r.person.name: r for r in selectors.contact_schedule(TODAY(), user=staff.a_township)}
    # institutionally raised orphans and dibao-only people are not on the schedule; B is out of scope
    assert set(rows) == {"孙婆婆", "小明", "周爷爷"}
    assert rows["孙婆婆"].interval == 30 and not rows["孙婆婆"].emergency
    assert rows["孙婆婆"].categories == ["elderly_alone"] and rows["小明"].categories == ["scattered_orphan"]
    # never contacted: counted from the day the category began
    assert rows["孙婆婆"].due == TODAY() - datetime.timedelta(days=70) and rows["孙婆婆"].overdue_days == 70
    assert rows["周爷爷"].overdue_days == 0  # began 10 days ago, due in 20
    village = {r.person.name for r in selectors.contact_schedule(TODAY(), user=staff.a_village)}
    assert village == {"孙婆婆", "周爷爷"}


def test_the_emergency_window_shortens_the_interval(staff, people, regions):
    from doudi.regions.services import declare_window

    declare_window(
        by=staff.city_admin, name="防控期间", start=TODAY() - datetime.timedelta(days=30), reason="x"
    )
    rows = {r.person.name: r for r in selectors.contact_schedule(TODAY(), user=staff.a_district)}
    assert rows["孙婆婆"].emergency and rows["孙婆婆"].interval == 7
    assert rows["周爷爷"].interval == 14 and rows["周爷爷"].overdue_days == 0
    _contact(staff.a_village, people.alone, days_ago=8)
    row = selectors.contact_schedule(TODAY(), user=staff.a_district, person=people.alone)[0]
    assert row.last_contact == TODAY() - datetime.timedelta(days=8) and row.overdue_days == 1


def test_the_bureau_sets_the_interval_as_a_dated_parameter(staff, people):
    from doudi.parameters.services import add_parameter_value

    add_parameter_value(
        user=staff.city_admin,
        name="care.contact_days.normal.elderly_alone",
        effective_from=TODAY() - datetime.timedelta(days=1),
        value=90,
        reference="市民政局通知",
        reason="调整探访频次",
    )
    row = selectors.contact_schedule(TODAY(), user=staff.a_district, person=people.alone)[0]
    assert row.interval == 90 and row.overdue_days == 10
    # a day before the new value, the old one holds
    earlier = TODAY() - datetime.timedelta(days=2)
    assert selectors.contact_schedule(earlier, user=staff.a_district, person=people.alone)[0].interval == 30


def test_a_contact_resets_the_clock_and_the_overdue_job_lists_by_township_and_village(
    staff, people, regions, capsys
):
    _contact(staff.a_village, people.alone, days_ago=3, method="visit", findings="上门看望，生活正常")
    overdue = {
        r.person.name for r in selectors.contact_schedule(TODAY(), user=staff.a_district, overdue_only=True)
    }
    assert overdue == {"小明"}
    call_command("care", "overdue-contacts")
    out = capsys.readouterr().out
    assert "逾期未联系的探访对象：2 人" in out  # 小明 in A, 钱婆婆 in B
    assert "高笋塘街道（1）" in out and "太白社区（1）" in out and "敦仁街道（1）" in out
    assert people.orphan.id_number not in out and "500101********" in out
    call_command("care", "overdue-contacts", "--region", regions.b.code)
    out = capsys.readouterr().out
    assert "钱婆婆" in out and "小明" not in out


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"findings": ""}, "findings"),
        ({"findings": "\u200b\u2060"}, "findings"),
        ({"method": "letter"}, "method"),
        ({"contacted_on": "2999-01-01"}, "contacted_on"),
        ({"need": "", "open_case": True}, "need"),
        ({"findings": "很" * 2001}, "findings"),
    ],
)
def test_contact_field_errors(staff, people, kw, field):
    with pytest.raises(ValidationError) as exc:
        _contact(staff.a_village, people.alone, **kw)
    assert field in exc.value.message_dict
    assert not Contact.objects.exists() and not Case.objects.exists()


def test_contact_scope_roles_and_eligibility(staff, people):
    with pytest.raises(PermissionDenied):
        _contact(staff.b_village, people.alone)
    with pytest.raises(PermissionDenied):
        _contact(staff.a_village2, people.alone)  # another village of the same township
    with pytest.raises(PermissionDenied):
        _contact(staff.auditor, people.alone)
    with pytest.raises(ValidationError) as exc:
        _contact(staff.a_village, people.dibao_only)
    assert "person" in exc.value.message_dict


def test_the_same_contact_twice_is_a_conflict(staff, people):
    _contact(staff.a_village, people.alone)
    with pytest.raises(Conflict):
        _contact(staff.a_village, people.alone, findings="again")
    assert Contact.objects.count() == 1
    _contact(staff.a_village, people.alone, method="video")  # another way the same day is another contact
    assert Contact.objects.count() == 2


def test_a_need_opens_a_follow_up_case_linked_to_the_contact(staff, people):
    contact = _contact(staff.a_village, people.alone, need="需要送药上门")
    assert contact.follow_up_case is None
    case = services.open_follow_up_case(by=staff.a_township, contact=contact)
    contact.refresh_from_db()
    assert contact.follow_up_case == case
    assert case.case_type == "care" and case.channel == "care_contact" and case.applicant == people.alone
    assert case.region == people.alone.region and case.details["care_contact"] == contact.pk
    assert "孤寡老人" in case.summary and "需要送药上门" in case.summary
    assert case.due_on is not None  # the one-door SLA clock runs
    with pytest.raises(Conflict):
        services.open_follow_up_case(by=staff.a_township, contact=contact)
    assert Case.objects.count() == 1


def test_open_case_at_once_and_no_case_without_a_need(staff, people):
    contact = _contact(staff.a_village, people.alone, need="独居，家中断粮", open_case=True)
    assert contact.follow_up_case.tracking_number
    plain = _contact(staff.a_village, people.left)
    with pytest.raises(ValidationError):
        services.open_follow_up_case(by=staff.a_village, contact=plain)
    with pytest.raises(PermissionDenied):
        services.open_follow_up_case(by=staff.b_district, contact=plain)


# --- pages -------------------------------------------------------------------------------------------------


def test_overdue_page_masks_scopes_and_exports(client, staff, people):
    client.force_login(staff.a_township)
    page = client.get(reverse("care:overdue_contacts")).content.decode()
    assert "孙婆婆" in page and "钱婆婆" not in page and "周爷爷" not in page
    assert people.alone.id_number not in page and "137****5678" in page
    assert "周爷爷" in client.get(reverse("care:overdue_contacts"), {"all": "1"}).content.decode()
    response = client.get(reverse("care:overdue_contacts"), {"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "乡镇街道" and {r[2] for r in rows[1:]} == {"孙婆婆", "小明"}
    assert all("*" in r[3] for r in rows[1:])
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="care.contacts").exists()


def test_person_page_is_audited_and_404_out_of_scope(client, staff, people):
    client.force_login(staff.b_district)
    assert client.get(reverse("care:person_contacts", args=[people.alone.pk])).status_code == 404
    client.force_login(staff.a_village)
    page = client.get(reverse("care:person_contacts", args=[people.alone.pk])).content.decode()
    assert people.alone.id_number in page
    assert AuditEntry.objects.filter(
        action=AuditAction.READ, object_type="registry.person", object_id=str(people.alone.pk)
    ).exists()


def test_person_page_logs_a_contact_and_opens_the_case(client, staff, people):
    client.force_login(staff.a_village)
    url = reverse("care:person_contacts", args=[people.alone.pk])
    data = {
        "contacted_on": TODAY().isoformat(),
        "method": "video",
        "findings": "视频通话，情绪低落",
        "need": "需要心理疏导",
        "open_case": "on",
    }
    response = client.post(url, data, follow=True)
    contact = Contact.objects.get()
    assert contact.follow_up_case is not None
    assert contact.follow_up_case.tracking_number in response.content.decode()
    again = client.post(url, data)
    assert again.status_code == 409 and Contact.objects.count() == 1
    bad = client.post(url, {**data, "findings": "\u200b", "method": "visit"})
    assert bad.status_code == 400 and 'data-testid="error-findings"' in bad.content.decode()
    # the button on an older contact
    plain = _contact(staff.a_village, people.alone, days_ago=1, need="冬衣不足")
    response = client.post(reverse("care:contact_open_case", args=[plain.pk]))
    assert response.status_code == 302
    plain.refresh_from_db()
    assert plain.follow_up_case is not None
    client.force_login(staff.b_district)
    assert client.post(reverse("care:contact_open_case", args=[plain.pk])).status_code == 404


def test_contact_for_is_scoped(staff, people):
    c = _contact(staff.a_village, people.alone)
    assert selectors.contact_for(staff.a_district, c.pk) == c
    with pytest.raises(Http404):
        selectors.contact_for(staff.b_district, c.pk)
