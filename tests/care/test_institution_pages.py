"""The institution pages: scope (404), field errors (400), conflicts (409), masked lists, Excel."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from doudi.audit.models import AuditAction, AuditEntry
from doudi.care import services
from doudi.care.models import DailyReport, Screening

ID = "110101199003070038"


@pytest.fixture
def screening(staff, homes):
    return services.record_screening(
        by=staff.a_inst,
        institution=homes.a,
        person_kind="staff",
        admission_kind="returning",
        name="赵护工",
        id_number=ID,
        phone="13812345678",
        origin="重庆市",
        temperature="36.4",
        health_code="green",
    )


@pytest.fixture
def outing(staff, homes):
    return services.record_outing(
        by=staff.a_inst,
        institution=homes.a,
        resident_name="王大爷",
        resident_id_number=ID,
        destination="医院",
        purpose="就诊",
        green_channel=True,
    )


def test_every_page_answers_404_out_of_scope(client, staff, homes, screening, outing):
    client.force_login(staff.b_district)
    for name, pk in [
        ("care:institution_detail", homes.a.pk),
        ("care:institution_edit", homes.a.pk),
        ("care:screening_new", homes.a.pk),
        ("care:outing_new", homes.a.pk),
        ("care:report_new", homes.a.pk),
        ("care:screening_detail", screening.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    assert client.post(reverse("care:outing_return", args=[outing.pk])).status_code == 404
    page = client.get(reverse("care:institution_list")).content.decode()
    assert "敦仁敬老院" in page and "高笋塘敬老院" not in page
    assert "高笋塘敬老院" not in client.get(reverse("care:missing_reports")).content.decode()


def test_lists_mask_and_the_detail_is_audited(client, staff, homes, screening):
    client.force_login(staff.a_district)
    page = client.get(reverse("care:institution_detail", args=[homes.a.pk])).content.decode()
    assert "110101********0038" in page and ID not in page
    assert "139****1111" in client.get(reverse("care:institution_list")).content.decode()
    detail = client.get(reverse("care:screening_detail", args=[screening.pk])).content.decode()
    assert ID in detail and "准予接收" in detail
    assert AuditEntry.objects.filter(action=AuditAction.READ, object_id=str(screening.pk)).count() == 1


def test_screening_form_records_and_shows_the_reason(client, staff, homes):
    services.list_risk_area(by=staff.city_admin, name="湖北省", listed_on=timezone.localdate(), reason="x")
    client.force_login(staff.a_inst)
    url = reverse("care:screening_new", args=[homes.a.pk])
    assert "湖北省" in client.get(url).content.decode()
    data = dict(
        person_kind="resident",
        admission_kind="new",
        name="钱奶奶",
        id_number=ID,
        origin="湖北省孝感市",
        trajectory="",
        temperature="36.8",
        health_code="green",
    )
    response = client.post(url, data, follow=True)
    s = Screening.objects.get()
    assert s.outcome == "refuse"
    assert "来自高风险地区（湖北省）" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"), [("temperature", "45"), ("name", "\u200b"), ("id_number", "123")]
)
def test_screening_form_field_errors_are_400(client, staff, homes, field, value):
    client.force_login(staff.a_inst)
    data = dict(
        person_kind="resident",
        admission_kind="new",
        name="钱奶奶",
        id_number=ID,
        origin="重庆市",
        trajectory="",
        temperature="36.8",
        health_code="green",
    )
    data[field] = value
    response = client.post(reverse("care:screening_new", args=[homes.a.pk]), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not Screening.objects.exists()


def test_daily_report_twice_is_409_with_one_report(client, staff, homes):
    client.force_login(staff.a_inst)
    url = reverse("care:report_new", args=[homes.a.pk])
    data = dict(
        day=timezone.localdate().isoformat(), residents="90", staff_on_site="12", symptomatic="0", note=""
    )
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.status_code == 409 and "每天只报一次" in again.content.decode()
    assert DailyReport.objects.count() == 1


def test_read_only_roles_cannot_write(client, staff, homes):
    client.force_login(staff.auditor)
    assert client.get(reverse("care:institution_detail", args=[homes.a.pk])).status_code == 200
    assert client.get(reverse("care:report_new", args=[homes.a.pk])).status_code == 403
    assert client.get(reverse("care:institution_new")).status_code == 403


def test_institution_form_errors_and_save(client, staff, regions):
    client.force_login(staff.a_district)
    url = reverse("care:institution_new")
    data = dict(
        name="新院",
        kind="elderly_home",
        region=regions.a_t.code,
        capacity="0",
        contact_name="甲",
        contact_phone="13900001111",
        address="",
        active="on",
    )
    bad = client.post(url, data)
    assert bad.status_code == 400 and 'data-testid="error-capacity"' in bad.content.decode()
    data["region"] = regions.b_t.code  # not offered to district A
    assert client.post(url, data).status_code == 400
    data.update(region=regions.a_t.code, capacity="50")
    assert client.post(url, data).status_code == 302


def test_missing_reports_page_and_excel(client, staff, homes):
    services.submit_daily_report(
        by=staff.a_inst, institution=homes.a, residents=1, staff_on_site=1, symptomatic=0
    )
    client.force_login(staff.a_district)
    page = client.get(reverse("care:missing_reports")).content.decode()
    assert "太白养老院" in page and "高笋塘敬老院" not in page
    response = client.get(reverse("care:missing_reports"), {"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("区县", "所在区划", "机构名称")
    assert [r[2] for r in rows[1:]] == ["太白养老院"]
    assert rows[1][5] == "139****1111"
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="care.missing_reports").exists()


def test_risk_area_page_add_and_lift(client, staff):
    client.force_login(staff.a_district)
    url = reverse("care:risk_areas")
    bad = client.post(url, {"name": "\u200b", "listed_on": timezone.localdate().isoformat(), "reason": "x"})
    assert bad.status_code == 400
    assert (
        client.post(
            url, {"name": "武汉市", "listed_on": timezone.localdate().isoformat(), "reason": "指挥部"}
        ).status_code
        == 302
    )
    from doudi.care.models import RiskArea

    area = RiskArea.objects.get()
    client.force_login(staff.b_district)
    assert (
        client.post(reverse("care:risk_area_lift", args=[area.pk]), {"lifted_on": "2099-01-01"}).status_code
        == 404
    )
    client.force_login(staff.a_inst)
    assert client.post(url, {"name": "温州市", "listed_on": "2020-02-01", "reason": "x"}).status_code == 403
    assert "武汉市" in client.get(url).content.decode()


def test_outing_return_from_the_page(client, staff, homes, outing):
    client.force_login(staff.a_inst)
    response = client.post(reverse("care:outing_return", args=[outing.pk]), {"return_note": "已返回"})
    assert response.status_code == 302
    outing.refresh_from_db()
    assert outing.returned_at is not None and outing.return_note == "已返回"
    client.post(reverse("care:outing_return", args=[outing.pk]), {"return_note": "again"})
    outing.refresh_from_db()
    assert outing.return_note == "已返回"
