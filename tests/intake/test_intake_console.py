"""The staff console pages of 一门受理: queue, case page, actions, bulk, export, notices, handoffs."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from doudi.intake import flows, services
from doudi.intake.models import Case, CaseTransition, Transfer

D = datetime.date


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_queue_highlights_overdue_cases(officers, open_case, client_for, frozen_today):
    frozen_today(D(2020, 3, 2))
    late = open_case("temporary")
    frozen_today(D(2020, 3, 20))
    fresh = open_case("temporary")
    page = client_for(officers.a_township).get(reverse("intake:list"))
    assert page.status_code == 200
    html = page.content.decode()
    rows = html.split('data-testid="case-row"')
    late_row = next(r for r in rows if late.tracking_number in r)
    fresh_row = next(r for r in rows if fresh.tracking_number in r)
    assert 'class="overdue"' in rows[rows.index(late_row) - 1][-40:]  # the <tr> carrying the late case
    assert 'class="overdue"' not in rows[rows.index(fresh_row) - 1][-40:]
    # Overdue first.
    assert html.index(late.tracking_number) < html.index(fresh.tracking_number)
    only_late = client_for(officers.a_township).get(reverse("intake:list") + "?overdue=1")
    assert late.tracking_number in only_late.content.decode()
    assert fresh.tracking_number not in only_late.content.decode()


def test_queue_is_per_role(officers, open_case, client_for):
    case = open_case("temporary")
    assert (
        case.tracking_number in client_for(officers.a_township).get(reverse("intake:list")).content.decode()
    )
    # Nothing for the approver until it is accepted; the "all" view still lists it.
    assert (
        case.tracking_number
        not in client_for(officers.a_approver).get(reverse("intake:list")).content.decode()
    )
    assert (
        case.tracking_number
        in client_for(officers.a_approver).get(reverse("intake:list") + "?all=1").content.decode()
    )


def test_other_district_case_is_404(officers, regions, open_case, client_for):
    b_case = open_case("temporary", by=officers.b_township, region=regions.b_v)
    c = client_for(officers.a_district)
    assert c.get(reverse("intake:case", args=[b_case.pk])).status_code == 404
    assert c.post(reverse("intake:act", args=[b_case.pk, "accept"])).status_code == 404
    assert c.get(reverse("intake:notice", args=[b_case.pk, 1])).status_code == 404
    assert b_case.tracking_number not in c.get(reverse("intake:list") + "?all=1").content.decode()


def test_case_page_actions_and_conflict(officers, open_case, client_for):
    case = open_case("temporary")
    c = client_for(officers.a_township)
    page = c.get(reverse("intake:case", args=[case.pk]))
    html = page.content.decode()
    assert 'data-testid="action-accept"' in html and 'data-testid="action-approve"' not in html
    r = c.post(reverse("intake:act", args=[case.pk, "accept"]), {"version": case.version}, follow=True)
    assert Case.objects.get(pk=case.pk).state == flows.ACCEPTED
    assert 'data-testid="notice-acceptance"' in r.content.decode()
    # The same form submitted again (stale version): refused, nothing changes.
    r = c.post(
        reverse("intake:act", args=[case.pk, "withdraw"]),
        {"version": case.version, "reason": "x"},
        follow=True,
    )
    assert any("已被他人更新" in m for m in _messages(r))
    assert Case.objects.get(pk=case.pk).state == flows.ACCEPTED
    # A wrong role is refused with a message.
    r = client_for(officers.a_village).post(reverse("intake:act", args=[case.pk, "approve"]), follow=True)
    assert any("角色" in m for m in _messages(r))


def test_acceptance_notice_is_printable(officers, open_case, client_for, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = services.perform_action(case=open_case("temporary"), action="accept", by=officers.a_township)
    seq = CaseTransition.objects.get(case=case, action="accept").seq
    page = client_for(officers.a_district).get(reverse("intake:notice", args=[case.pk, seq]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "受理通知书" in html and case.tracking_number in html and "2020年3月16日" in html
    assert "data-print" in html and 'class="no-print' in html
    assert "高笋塘街道" in html  # the unit that accepted
    # The opening of the case issues no notice.
    assert client_for(officers.a_district).get(reverse("intake:notice", args=[case.pk, 1])).status_code == 404


def test_missing_items_notice_lists_everything(officers, open_case, client_for):
    case = open_case("temporary")
    c = client_for(officers.a_township)
    c.post(
        reverse("intake:act", args=[case.pk, "request_missing"]),
        {"version": case.version, "data_items": "户口簿\n收入证明"},
    )
    seq = CaseTransition.objects.get(case=case, action="request_missing").seq
    html = c.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "一次性告知" in html and "<li>户口簿</li>" in html and "<li>收入证明</li>" in html


def test_bulk_accept_and_assign(officers, open_case, client_for):
    cases = [open_case("temporary") for _ in range(3)]
    c = client_for(officers.a_township)
    r = c.post(
        reverse("intake:bulk"),
        {"op": "act:accept", "cases": [f"{x.pk}:{x.version}" for x in cases[:2]] + [f"{cases[2].pk}:9"]},
        follow=True,
    )
    states = [Case.objects.get(pk=x.pk).state for x in cases]
    assert states == [flows.ACCEPTED, flows.ACCEPTED, flows.SUBMITTED]  # the stale one is skipped
    assert any(cases[2].tracking_number in m for m in _messages(r))
    c.post(
        reverse("intake:bulk"),
        {"op": "assign", "assignee": officers.a_township.pk, "cases": [f"{x.pk}:" for x in cases]},
    )
    assert {Case.objects.get(pk=x.pk).assigned_to_id for x in cases} == {officers.a_township.pk}


def test_excel_export_is_masked(officers, open_case, make_person, regions, client_for):
    person = make_person(regions.a_v, "王五")
    case = open_case("temporary", applicant=person)
    r = client_for(officers.a_township).get(reverse("intake:export"))
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "受理编号"
    (row,) = [x for x in rows[1:] if x[0] == case.tracking_number]
    assert person.id_number not in [str(v) for v in row]
    assert row[7] == person.id_number[:6] + "********" + person.id_number[-4:]


def test_open_case_form(officers, regions, client_for):
    c = client_for(officers.a_township)
    assert c.get(reverse("intake:new")).status_code == 200
    r = c.post(
        reverse("intake:new"),
        {
            "case_type": "temporary",
            "subtype": "",
            "channel": "hotline",
            "region": regions.a_v.pk,
            "summary": "来电求助",
            "applicant_name": "李四",
        },
    )
    assert r.status_code == 400 and "subtype" in r.context["form"].errors
    r = c.post(
        reverse("intake:new"),
        {
            "case_type": "temporary",
            "subtype": "urgent",
            "channel": "hotline",
            "region": regions.a_v.pk,
            "summary": "来电求助",
            "applicant_name": "李四",
        },
    )
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("intake:case", args=[case.pk])
    assert case.channel == "hotline"
    # The supervisor reads but never files.
    assert client_for(officers.supervisor).get(reverse("intake:new")).status_code == 403


def test_transfer_and_handoffs_pages(officers, regions, open_case, client_for):
    case = open_case("temporary")
    a = client_for(officers.a_district)
    r = a.post(
        reverse("intake:transfer", args=[case.pk]),
        {"to_region": regions.b.pk, "reason": "户籍在涪陵区", "version": case.version},
    )
    assert r.status_code == 302
    t = Transfer.objects.get()
    b = client_for(officers.b_district)
    html = b.get(reverse("intake:transfers")).content.decode()
    assert case.tracking_number in html and 'data-testid="incoming"' in html
    assert b.get(reverse("intake:case", args=[case.pk])).status_code == 200  # may read before accepting
    b.post(reverse("intake:transfer_accept", args=[t.pk]))
    assert Case.objects.get(pk=case.pk).region == regions.b
    a = client_for(officers.a_district)
    assert a.get(reverse("intake:case", args=[case.pk])).status_code == 404
    html = a.get(reverse("intake:transfers")).content.decode()
    assert case.tracking_number in html and "已接收" in html  # the sender's trail


def test_referral_pages(officers, open_case, client_for):
    case = open_case("complaint")
    c = client_for(officers.a_township)
    c.post(reverse("intake:refer", args=[case.pk]), {"department": "education", "reason": "协助复学"})
    r = case.referrals.get()
    c.post(reverse("intake:referral_answer", args=[r.pk]), {"answer": "已安排", "contact": "教委 王老师"})
    r.refresh_from_db()
    assert r.answer == "已安排" and r.acknowledged_at is not None


def test_attachment_upload_and_download(officers, open_case, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = open_case("temporary")
    c = client_for(officers.a_township)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 10
    c.post(
        reverse("intake:attach", args=[case.pk]),
        {"label": "照片", "file": SimpleUploadedFile("p.png", png, content_type="image/png")},
    )
    a = case.attachments.get()
    r = c.get(reverse("intake:attachment", args=[a.pk]))
    assert r.status_code == 200 and b"".join(r.streaming_content) == png
    assert client_for(officers.b_district).get(reverse("intake:attachment", args=[a.pk])).status_code == 404
    c = client_for(officers.a_township)  # one test client: log back in
    r = c.post(
        reverse("intake:attach", args=[case.pk]),
        {"file": SimpleUploadedFile("x.pdf", b"not a pdf", content_type="application/pdf")},
        follow=True,
    )
    assert any("只接受" in m for m in _messages(r)) and case.attachments.count() == 1


def test_covid_pages(officers, regions, make_person, client_for):
    person = make_person(regions.a_v, "甲")
    c = client_for(officers.a_district)
    assert c.get(reverse("intake:covid")).status_code == 200
    r = c.post(
        reverse("intake:covid"), {"id_number": person.id_number, "kind": "confirmed", "date": "2020-02-01"}
    )
    assert r.status_code == 302
    person.refresh_from_db()
    assert person.covid_confirmed_on == D(2020, 2, 1)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = f"身份证号,姓名,事件,日期\n{person.id_number},甲,出院,2020-01-01\n".encode()
    r = c.post(reverse("intake:covid_import"), {"file": SimpleUploadedFile("l.csv", bad)})
    assert r.status_code == 400 and "整份名单未导入" in r.content.decode() and "第2行" in r.content.decode()


def test_coverage_report_and_export(officers, regions, make_person, client_for):
    from doudi.registry.models import PersonCategory

    p = make_person(regions.a_v, "甲")
    PersonCategory.objects.create(person=p, category="registered_poor", valid_from=D(2019, 1, 1))
    c = client_for(officers.a_district)
    assert "甲" in c.get(reverse("intake:coverage")).content.decode()
    r = c.get(reverse("intake:coverage_export"))
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[1][3] == "甲" and p.id_number not in rows[1]


def test_read_only_roles_see_all_cases_without_actions(officers, open_case, client_for):
    case = open_case("temporary")
    html = client_for(officers.supervisor).get(reverse("intake:list")).content.decode()
    assert case.tracking_number in html and 'name="cases"' not in html
    page = client_for(officers.auditor).get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="actions"' not in page and case.tracking_number in page
    assert (
        client_for(officers.auditor).post(reverse("intake:act", args=[case.pk, "accept"])).status_code == 302
    )
    assert Case.objects.get(pk=case.pk).state == flows.SUBMITTED
