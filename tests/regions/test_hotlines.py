"""Hotlines (notice 四): the public directory, scoped management, the portal's selector."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from doudi.audit.models import AuditEntry
from doudi.regions import selectors
from doudi.regions.demo import load_demo_hotlines
from doudi.regions.loading import load_chongqing
from doudi.regions.models import Hotline
from doudi.regions.services import create_hotline, update_hotline

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines(regions, admin):
    return {
        "city": create_hotline(
            by=admin, district=regions.city, name="政务服务便民热线", phone="12345", service_hours="24小时"
        ),
        "a": create_hotline(by=admin, district=regions.a, name="社会救助热线", phone="023-58123456"),
        "b": create_hotline(by=admin, district=regions.b, name="儿童关爱热线", phone="023-72123456"),
        "b_off": create_hotline(
            by=admin, district=regions.b, name="心理援助热线", phone="023-72999999", active=False
        ),
    }


def test_public_page_shows_active_numbers_without_login(client, lines):
    response = client.get("/hotlines/")
    assert response.status_code == 200
    body = response.content.decode()
    for key in ("city", "a", "b"):
        assert lines[key].phone in body
    assert "023-72999999" not in body and "心理援助热线" not in body
    assert 'href="tel:02358123456"' in body
    # Grouped by district, the city-wide lines first.
    headings = re.findall(r'<h2 class="h6[^"]*">([^<]+)</h2>', body)
    assert headings == ["全市", "万州区", "涪陵区"]


def test_public_page_filters_by_district_and_search(client, lines):
    body = client.get(reverse("hotlines:directory"), {"district": "500101"}).content.decode()
    assert "023-58123456" in body and "12345" in body and "023-72123456" not in body
    body = client.get(reverse("hotlines:directory"), {"q": "儿童"}).content.decode()
    assert "023-72123456" in body and "023-58123456" not in body
    body = client.get(reverse("hotlines:directory"), {"q": "不存在的热线"}).content.decode()
    assert 'data-testid="no-hotlines"' in body
    assert client.post(reverse("hotlines:directory")).status_code == 405


def test_hotlines_for_selector(lines):
    assert set(selectors.hotlines_for("500102")) == {lines["city"], lines["b"]}
    assert set(selectors.hotlines_for()) == {lines["city"], lines["a"], lines["b"]}


def test_district_officer_manages_only_own_district(regions, lines, officer_a):
    update_hotline(hotline=lines["a"], by=officer_a, service_hours="工作日 9:00-17:00")
    with pytest.raises(PermissionDenied):
        update_hotline(hotline=lines["b"], by=officer_a, active=False)
    with pytest.raises(PermissionDenied):
        create_hotline(by=officer_a, district=regions.b, name="x", phone="12349")
    with pytest.raises(PermissionDenied):
        create_hotline(by=officer_a, district=regions.city, name="x", phone="12349")
    with pytest.raises(PermissionDenied):  # moving one's own line to another district
        update_hotline(hotline=lines["a"], by=officer_a, district=regions.b)


def test_other_roles_cannot_manage(regions, make_user):
    approver = make_user("approver_a", regions.a, "district_approver")
    with pytest.raises(PermissionDenied):
        create_hotline(by=approver, district=regions.a, name="社会救助热线", phone="12349")


def test_validation_and_audit(regions, officer_a):
    with pytest.raises(ValidationError) as exc:
        create_hotline(by=officer_a, district=regions.a, name="", phone="电话")
    assert set(exc.value.message_dict) == {"name", "phone"}
    with pytest.raises(ValidationError):
        create_hotline(by=officer_a, district=regions.a_t, name="社会救助热线", phone="12349")
    h = create_hotline(by=officer_a, district=regions.a, name="社会救助热线", phone="023-58123456转8")
    with pytest.raises(ValidationError):
        create_hotline(by=officer_a, district=regions.a, name="社会救助热线", phone="023-58123456转8")
    update_hotline(hotline=h, by=officer_a, active=False)
    audits = AuditEntry.objects.filter(object_type="regions.hotline", object_id=str(h.pk))
    assert [a.action for a in audits] == ["create", "update"]
    assert audits[1].before["active"] is True and audits[1].after["active"] is False
    assert audits[1].region_path == regions.a.path


def test_demo_hotlines_one_per_district_marked_illustrative(db):
    load_chongqing()
    created = load_demo_hotlines()
    assert created == 42  # 12345 for the city and one line per district
    assert load_demo_hotlines() == 0
    district_lines = Hotline.objects.filter(district__level=2)
    assert district_lines.values("district").distinct().count() == 41
    assert all("演示" in h.note for h in district_lines)
