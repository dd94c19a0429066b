"""Console screens: login, role checks, region scope (404), Chinese field errors."""

from datetime import date

import pytest
from django.urls import reverse

from doudi.regions.models import EmergencyWindow, Hotline
from doudi.regions.services import create_hotline, declare_window

pytestmark = pytest.mark.django_db


@pytest.fixture
def window(admin):
    return declare_window(by=admin, name="疫情防控期间", start=date(2020, 1, 24), reason="一级响应")


@pytest.fixture
def line_b(regions, admin):
    return create_hotline(by=admin, district=regions.b, name="社会救助热线", phone="023-72123456")


def test_console_requires_login(client):
    for name in ("regions:window_list", "regions:hotline_list", "regions:window_declare"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_window_screens_read_only_for_others(client, officer_a, window):
    client.force_login(officer_a)
    body = client.get(reverse("regions:window_list")).content.decode()
    assert "疫情防控期间" in body and 'data-testid="read-only"' in body
    assert reverse("regions:window_declare") not in body
    assert client.get(reverse("regions:window_detail", args=[window.pk])).status_code == 200
    assert client.get(reverse("regions:window_declare")).status_code == 403
    response = client.post(
        reverse("regions:window_end", args=[window.pk]), {"end": "2020-06-30", "reason": "x"}
    )
    assert response.status_code == 403
    window.refresh_from_db()
    assert window.end is None


def test_admin_declares_with_errors_in_chinese_then_ends(client, admin, regions):
    client.force_login(admin)
    response = client.post(
        reverse("regions:window_declare"),
        {
            "name": "疫情防控期间",
            "start": "2020-03-01",
            "end": "2020-02-01",
            "scope": "city",
            "reason": "",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "这个字段是必填项" in body  # reason: Django's own message, in Chinese
    response = client.post(
        reverse("regions:window_declare"),
        {
            "name": "疫情防控期间",
            "start": "2020-03-01",
            "end": "2020-02-01",
            "scope": "city",
            "reason": "一级响应",
        },
    )
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    response = client.post(
        reverse("regions:window_declare"),
        {
            "name": "万州区期间",
            "start": "2020-01-24",
            "scope": "districts",
            "districts": [regions.a.code],
            "reason": "一级响应",
        },
    )
    assert response.status_code == 302
    window = EmergencyWindow.objects.get()
    assert list(window.districts.values_list("code", flat=True)) == ["500101"]
    response = client.post(
        reverse("regions:window_end", args=[window.pk]), {"end": "2020-06-30", "reason": "解除"}
    )
    assert response.status_code == 302
    body = client.get(reverse("regions:window_detail", args=[window.pk])).content.decode()
    assert body.count('data-testid="event"') == 2 and "2020-06-30" in body


def test_district_officer_cannot_edit_other_districts_hotline(client, officer_a, line_b):
    client.force_login(officer_a)
    url = reverse("regions:hotline_edit", args=[line_b.pk])
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"district": "500102", "name": "x", "phone": "12345", "sort_order": 1}).status_code
        == 404
    )
    line_b.refresh_from_db()
    assert line_b.name == "社会救助热线"
    assert "023-72123456" not in client.get(reverse("regions:hotline_list")).content.decode()


def test_district_officer_creates_and_edits_own(client, officer_a, regions):
    client.force_login(officer_a)
    response = client.get(reverse("regions:hotline_create"))
    assert response.status_code == 200
    assert 'value="500102"' not in response.content.decode()  # only their own district is offered
    response = client.post(
        reverse("regions:hotline_create"),
        {
            "district": "500101",
            "name": "社会救助热线",
            "phone": "不是号码",
            "sort_order": 1,
            "active": "on",
        },
    )
    assert response.status_code == 400 and "电话号码格式不正确" in response.content.decode()
    response = client.post(
        reverse("regions:hotline_create"),
        {
            "district": "500101",
            "name": "社会救助热线",
            "phone": "023-58123456",
            "sort_order": 1,
            "active": "on",
        },
    )
    assert response.status_code == 302
    line = Hotline.objects.get()
    response = client.post(
        reverse("regions:hotline_edit", args=[line.pk]),
        {
            "district": "500101",
            "name": "社会救助热线",
            "phone": "023-58123456",
            "sort_order": 1,
        },
    )  # unticked: deactivated
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.active is False
    assert "023-58123456" not in client.get("/hotlines/").content.decode()


def test_municipal_admin_edits_any(client, admin, line_b):
    client.force_login(admin)
    assert client.get(reverse("regions:hotline_edit", args=[line_b.pk])).status_code == 200
    body = client.get(reverse("regions:hotline_list")).content.decode()
    assert "023-72123456" in body


def test_read_only_role_sees_no_edit(client, regions, make_user, line_b):
    worker = make_user("worker_b", regions.b_v, "village_worker")
    client.force_login(worker)
    assert client.get(reverse("regions:hotline_create")).status_code == 403
    # A village worker's subtree holds no district-level line.
    assert "023-72123456" not in client.get(reverse("regions:hotline_list")).content.decode()
