"""The rescue pages: region scope (404), field errors (400), the phone-sized field report, audited reads."""

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.audit.models import AuditAction, AuditEntry
from doudi.rescue import services
from doudi.rescue.models import FieldReport, SaturationAlert


@pytest.fixture
def report(staff, regions, stations):
    return services.file_field_report(
        by=staff.a_patrol,
        unit_kind="cdc",
        unit_name="万州区疾控中心",
        reporter_name="李医生",
        region=regions.a_t,
        place="码头",
        found_at=timezone.now().replace(microsecond=0),
        description="女性，约70岁",
        dry_cough=True,
        quarantine_site="万州区集中隔离观察点",
    )


def test_out_of_scope_pages_are_404(client, staff, stations, report):
    services.record_occupancy(by=staff.a_station, station=stations.a, day=timezone.localdate(), occupants=95)
    alert = SaturationAlert.objects.get()
    client.force_login(staff.b_district)
    for url in [
        reverse("rescue:station_detail", args=[stations.a.pk]),
        reverse("rescue:occupancy_new", args=[stations.a.pk]),
        reverse("rescue:check_new", args=[stations.a.pk]),
        reverse("rescue:alert_shelter", args=[alert.pk]),
        reverse("rescue:report_detail", args=[report.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for name in ["rescue:station_list", "rescue:alerts", "rescue:missing_checks", "rescue:report_list"]:
        page = client.get(reverse(name)).content.decode()
        assert "万州区救助管理站" not in page and "码头" not in page, name


def test_lists_in_scope(client, staff, stations, report):
    services.record_occupancy(by=staff.a_station, station=stations.a, day=timezone.localdate(), occupants=95)
    client.force_login(staff.a_district)
    page = client.get(reverse("rescue:station_list")).content.decode()
    assert "万州区救助管理站" in page and "95" in page and 'data-testid="open-alert"' in page
    assert "涪陵区救助管理站" not in page
    assert "万州区救助管理站" in client.get(reverse("rescue:missing_checks")).content.decode()
    assert "码头" in client.get(reverse("rescue:report_list")).content.decode()


def test_field_report_form_on_a_phone_refers_dry_cough_to_quarantine(client, staff, regions, stations):
    client.force_login(staff.a_patrol)
    url = reverse("rescue:report_new")
    assert client.get(url, HTTP_USER_AGENT="Mobile").status_code == 200
    data = {
        "unit_kind": "community",
        "unit_name": "高笋塘社区",
        "reporter_name": "王网格员",
        "region": regions.a_t.pk,
        "place": "菜市场",
        "found_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "description": "男性，约40岁",
        "dry_cough": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "接收的集中隔离观察点" in response.content.decode()
    assert not FieldReport.objects.exists()
    response = client.post(url, data | {"quarantine_site": "万州区集中隔离观察点"})
    report = FieldReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "rescue:report_detail", args=[report.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "转送集中隔离观察点" in page and "万州区集中隔离观察点" in page
    assert AuditEntry.objects.filter(action=AuditAction.READ, object_id=str(report.pk)).exists()
    again = client.post(url, data | {"quarantine_site": "万州区集中隔离观察点"})
    assert again.status_code == 409 and FieldReport.objects.count() == 1


def test_occupancy_above_capacity_is_a_field_error_and_alert_opens_shelter(client, staff, regions, stations):
    client.force_login(staff.a_station)
    url = reverse("rescue:occupancy_new", args=[stations.a.pk])
    day = timezone.localdate().isoformat()
    response = client.post(url, {"day": day, "occupants": "101"})
    assert response.status_code == 400 and "不能超过床位数" in response.content.decode()
    assert client.post(url, {"day": day, "occupants": "92"}).status_code == 302
    alert = SaturationAlert.objects.get()
    # station staff may not open a shelter; the district officer may
    assert client.get(reverse("rescue:alert_shelter", args=[alert.pk])).status_code == 403
    client.force_login(staff.a_district)
    response = client.post(
        reverse("rescue:alert_shelter", args=[alert.pk]),
        {"name": "临时庇护点", "region": regions.a.pk, "capacity": "80", "threshold_percent": "90"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.shelter.capacity == 80
    assert "临时庇护点" in client.get(reverse("rescue:station_list")).content.decode()
