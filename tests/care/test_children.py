"""Children left without guardianship (三(二)): the report, the escalation clock in hours, the
guardianship arrangement and follow-up until a guardian is back."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from doudi.audit.models import AuditAction, AuditEntry
from doudi.care import selectors, services
from doudi.care.models import ChildReport, ChildReportEvent, GuardianshipArrangement
from doudi.care.rules import EscalationClock, late_levels
from doudi.core.errors import Conflict

H = datetime.timedelta(hours=1)


def _report(by, region, **kw):
    data = dict(
        child_name="小丽",
        child_age="9",
        location="家中",
        absence="isolated",
        situation="父母均被集中隔离，独自在家",
        guardian_name="王某",
    )
    data.update(kw)
    return services.report_child(by=by, region=region, **data)


def _later(hours):
    moment = timezone.now() + datetime.timedelta(hours=hours)
    return mock.patch("doudi.care.services._now", return_value=moment), moment


def test_report_starts_the_clocks_in_hours(staff, regions):
    r = _report(staff.a_village, regions.a_v)
    assert r.state == "reported"
    assert r.township_due_at - r.reported_at == 2 * H and r.district_due_at - r.reported_at == 6 * H
    assert ChildReportEvent.objects.filter(report=r, kind="reported").count() == 1
    assert selectors.late_acknowledgements(timezone.now(), user=staff.a_district) == []
    late = selectors.late_acknowledgements(timezone.now() + 3 * H, user=staff.a_district)
    assert late == [(r, ("township",))]
    late = selectors.late_acknowledgements(timezone.now() + 7 * H, user=staff.a_district)
    assert late == [(r, ("township", "district"))]
    assert selectors.late_acknowledgements(timezone.now() + 7 * H, user=staff.b_district) == []


def test_acknowledged_in_time_is_not_late_and_late_acknowledgement_stays_recorded(staff, regions):
    r = _report(staff.a_village, regions.a_v)
    services.acknowledge_child_report(by=staff.a_township, report=r)
    patch, _moment = _later(8)
    with patch:
        r = services.acknowledge_child_report(by=staff.a_district, report=r, note="已派员")
    assert r.state == "district_ack"
    clock = selectors.clock_of(r)
    assert late_levels(clock, timezone.now() + 10 * H) == ("district",)
    assert selectors.late_acknowledgements(timezone.now() + 10 * H, user=staff.a_district) == []
    with pytest.raises(Conflict):
        services.acknowledge_child_report(by=staff.a_township, report=r)


def test_the_bureau_sets_the_hours(staff, regions):
    from doudi.parameters.services import add_parameter_value

    add_parameter_value(
        user=staff.city_admin,
        name="care.child_escalation_hours.township",
        effective_from=timezone.localdate(),
        value=1,
        reference="市民政局",
        reason="缩短",
    )
    r = _report(staff.a_village, regions.a_v)
    assert r.township_due_at - r.reported_at == H


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"child_name": "\u200b"}, "child_name"),
        ({"child_age": "18"}, "child_age"),
        ({"child_age": "-1"}, "child_age"),
        ({"child_age": ""}, "child_age"),
        ({"child_id_number": "12345"}, "child_id_number"),
        ({"absence": "travel"}, "absence"),
        ({"situation": " "}, "situation"),
        ({"location": ""}, "location"),
    ],
)
def test_report_field_errors(staff, regions, kw, field):
    with pytest.raises(ValidationError) as exc:
        _report(staff.a_village, regions.a_v, **kw)
    assert field in exc.value.message_dict
    assert not ChildReport.objects.exists()


def test_report_region_and_roles(staff, regions):
    with pytest.raises(ValidationError) as exc:
        _report(staff.a_village, regions.a_v2)  # another village
    assert "region" in exc.value.message_dict
    with pytest.raises(ValidationError):
        _report(staff.a_township, regions.a_t)  # a township is not where a child lives
    with pytest.raises(PermissionDenied):
        _report(staff.a_inst, regions.a_v)
    assert _report(staff.a_township, regions.a_v2, child_age="0").child_age == 0


def test_arrangement_follow_up_until_the_guardian_is_back(staff, regions):
    r = _report(staff.a_village, regions.a_v)
    with pytest.raises(ValidationError):  # no follow-up before an arrangement
        services.follow_up_child(by=staff.a_village, report=r, note="回访")
    with pytest.raises(ValidationError) as exc:
        services.arrange_guardianship(
            by=staff.a_township, report=r, kind="relative", carer_name="", carer_phone="x", place="家中"
        )
    assert {"carer_name", "carer_phone"} <= set(exc.value.message_dict)
    with pytest.raises(PermissionDenied):
        services.arrange_guardianship(
            by=staff.a_village,
            report=r,
            kind="relative",
            carer_name="李姨",
            carer_phone="13900001111",
            place="家中",
        )
    a = services.arrange_guardianship(
        by=staff.a_township,
        report=r,
        kind="relative",
        carer_name="李姨",
        carer_phone="13900001111",
        place="李姨家",
    )
    r.refresh_from_db()
    assert r.state == "arranged" and a.report == r
    with pytest.raises(Conflict):  # a stale version loses
        services.follow_up_child(by=staff.a_village, report=r, note="回访", expected_version=r.version - 1)
    services.follow_up_child(by=staff.a_village, report=r, note="孩子状态良好")
    r.refresh_from_db()
    assert r.state == "arranged"
    r = services.follow_up_child(by=staff.a_township, report=r, note="母亲解除隔离返家", guardian_back=True)
    assert r.state == "closed" and r.closed_at is not None
    with pytest.raises(Conflict):
        services.follow_up_child(by=staff.a_township, report=r, note="again")
    kinds = list(ChildReportEvent.objects.filter(report=r).values_list("kind", flat=True))
    assert kinds == ["reported", "arranged", "follow_up", "guardian_back"]
    assert GuardianshipArrangement.objects.count() == 1


@given(
    township=st.integers(0, 48),
    district=st.integers(0, 48),
    t_done=st.none() | st.integers(0, 60),
    d_done=st.none() | st.integers(0, 60),
    now=st.integers(0, 72),
)
def test_late_levels_over_all_times(township, district, t_done, d_done, now):
    base = datetime.datetime(2020, 2, 1, 8, tzinfo=datetime.UTC)
    at = lambda h: None if h is None else base + h * H  # noqa: E731
    levels = late_levels(EscalationClock(at(township), at(district), at(t_done), at(d_done)), at(now))
    assert ("township" in levels) == (t_done > township if t_done is not None else now > township)
    assert ("district" in levels) == (d_done > district if d_done is not None else now > district)


# --- pages and the job -------------------------------------------------------------------------------------


def test_pages_scope_audit_and_steps(client, staff, regions):
    client.force_login(staff.a_village)
    new = reverse("care:child_report_new")
    bad = client.post(
        new,
        {
            "region": regions.a_v.code,
            "child_name": "小丽",
            "child_age": "20",
            "location": "家",
            "absence": "isolated",
            "situation": "独自在家",
        },
    )
    assert bad.status_code == 400 and 'data-testid="error-child_age"' in bad.content.decode()
    response = client.post(
        new,
        {
            "region": regions.a_v.code,
            "child_name": "小丽",
            "child_age": "9",
            "child_id_number": "",
            "location": "家",
            "absence": "hospitalised",
            "guardian_name": "",
            "situation": "独自在家",
        },
    )
    assert response.status_code == 302
    r = ChildReport.objects.get()
    client.force_login(staff.b_district)
    assert client.get(reverse("care:child_report", args=[r.pk])).status_code == 404
    assert client.post(reverse("care:child_report_step", args=[r.pk, "acknowledge"])).status_code == 404
    client.force_login(staff.a_township)
    page = client.get(reverse("care:child_report", args=[r.pk]))
    assert page.status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.READ, object_type="care.childreport").exists()
    step = reverse("care:child_report_step", args=[r.pk, "acknowledge"])
    assert (
        client.post(step, {"acknowledge-note": "", "acknowledge-expected_version": r.version}).status_code
        == 302
    )
    again = client.post(step, {"acknowledge-note": "", "acknowledge-expected_version": r.version + 1})
    assert again.status_code == 409
    arrange = reverse("care:child_report_step", args=[r.pk, "arrange"])
    r.refresh_from_db()
    data = {
        "arrange-kind": "village",
        "arrange-carer_name": "\u200b",
        "arrange-carer_phone": "13900001111",
        "arrange-place": "村委会",
        "arrange-starts_on": timezone.localdate().isoformat(),
        "arrange-expected_version": r.version,
    }
    bad = client.post(arrange, data)
    assert bad.status_code == 400 and 'data-testid="error-arrange-carer_name"' in bad.content.decode()
    data["arrange-carer_name"] = "赵主任"
    assert client.post(arrange, data).status_code == 302
    assert (
        'data-testid="arrangement"' in client.get(reverse("care:child_report", args=[r.pk])).content.decode()
    )
    assert client.post(reverse("care:child_report_step", args=[r.pk, "bogus"])).status_code == 404
    assert "小丽" in client.get(reverse("care:child_reports")).content.decode()


def test_escalation_job_lists_late_reports(staff, regions, capsys):
    _report(staff.a_village, regions.a_v)
    _report(staff.b_village, regions.b_v, child_name="小刚")
    call_command("care", "child-escalations")
    assert "接报超时的无人监护儿童报告：0 件" in capsys.readouterr().out
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + 3 * H):
        call_command("care", "child-escalations", "--region", regions.a.code)
    out = capsys.readouterr().out
    assert "1 件" in out and "小丽" in out and "小刚" not in out and "乡镇街道未按时接报" in out
