"""The console screens of verification: upload with the row report, consent, check and report, runs
with progress, work-lists scoped to the officer's region."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from doudi.audit.models import AuditEntry
from doudi.verification.models import CheckReport, RecheckRun, RunStatus, Signal

from .conftest import id_number


@pytest.fixture
def district_a(regions, make_user):
    return make_user("ver_district_a", regions.a, "district_officer")


@pytest.mark.django_db
def test_an_uploaded_bad_extract_shows_its_row_report(client, district_a):
    client.force_login(district_a)
    body = f"身份证号,姓名,死亡日期\n{id_number()},甲,2020-02-01\n500101198001010010,乙,2020-02-30\n".encode()
    response = client.post(
        reverse("verification:extracts"),
        {"source": "deaths", "extract_date": "2020-03-31", "file": SimpleUploadedFile("deaths.csv", body)},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "已拒收" in page and "第 2 行" in page and "身份证号“500101198001010010”无效" in page
    assert "“死亡日期”的日期“2020-02-30”无法识别" in page


@pytest.mark.django_db
def test_a_township_officer_may_not_upload_extracts(client, township_a):
    client.force_login(township_a)
    response = client.post(
        reverse("verification:extracts"), {"source": "deaths", "extract_date": "2020-03-31"}
    )
    assert response.status_code == 403
    assert "upload" not in client.get(reverse("verification:extracts")).content.decode()


@pytest.mark.django_db
def test_consent_then_check_then_the_printable_report(client, make_household, township_a, load):
    h = make_household([{"name": "张三丰", "income_wage_fen": 50_000}], last_amount=300)
    person = h.memberships.get().person
    day = timezone.localdate() - dt.timedelta(days=1)
    load("social_insurance", [{"id_number": person.id_number, "name": "张三丰", "employer": "甲", "monthly_wage": "700"}],
         extract_date=day)  # fmt: skip
    client.force_login(township_a)
    url = reverse("verification:household", args=[h.pk])
    assert "consent-missing" in client.get(url).content.decode()
    client.post(reverse("verification:check", args=[h.pk]), {"period": "2020-03"})
    assert not CheckReport.objects.exists()  # refused without consent

    client.post(reverse("verification:consent_record", args=[h.pk]),
                {"signed_on": day.isoformat(), "signatories": "张三丰", "document_number": "SQ-1"})  # fmt: skip
    assert "consent-valid" in client.get(url).content.decode()
    response = client.post(
        reverse("verification:check", args=[h.pk]), {"period": "2020-03", "case_number": "C-9"}
    )
    report = CheckReport.objects.get()
    assert response.url == reverse("verification:report", args=[report.pk])
    page = client.get(response.url).content.decode()
    assert f"社会保险与工资（人社） {day.isoformat()} #1" in page  # provenance of the wage
    assert "7,00.00" not in page and "700.00" in page and "500.00" in page
    assert person.id_number not in page  # masked
    assert "data-print" in page and "verification/print.js" in page
    assert AuditEntry.objects.filter(
        action="read", object_type="registry.household", object_id=str(h.pk)
    ).exists()


@pytest.mark.django_db
def test_another_regions_household_and_report_are_not_found(
    client, make_household, township_a, township_b, consent
):
    h = make_household([{"name": "甲"}])
    consent(h, township_a)
    client.force_login(township_b)
    assert client.get(reverse("verification:household", args=[h.pk])).status_code == 404
    assert client.post(reverse("verification:consent_record", args=[h.pk]), {}).status_code == 404


@pytest.mark.django_db
def test_index_finds_a_household_by_a_members_id_number(client, make_household, township_a):
    h = make_household([{"name": "甲"}])
    client.force_login(township_a)
    page = client.get(
        reverse("verification:index"), {"q": h.memberships.get().person.id_number}
    ).content.decode()
    assert reverse("verification:household", args=[h.pk]) in page


@pytest.mark.django_db(transaction=True)
def test_a_run_requested_in_the_console_shows_progress_and_fills_the_worklists(
    client, make_household, township_a, township_b, city_admin, consent, load, settings, regions
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    h = make_household([{"name": "甲"}], last_amount=546)
    consent(h, township_a)
    load(
        "deaths", [{"id_number": h.memberships.get().person.id_number, "name": "甲", "died_on": "2020-03-01"}]
    )

    client.force_login(city_admin)
    response = client.post(reverse("verification:runs"), {"month": "2020-04"})
    run = RecheckRun.objects.get(month="2020-04")
    assert response.url == reverse("verification:run", args=[run.pk]) and run.status == RunStatus.FINISHED
    page = client.get(response.url).content.decode()
    assert "hx-get" not in page  # finished: no more polling
    RecheckRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, stage="matching", percent=30)
    partial = client.get(reverse("verification:run_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in partial and 'value="30"' in partial
    RecheckRun.objects.filter(pk=run.pk).update(status=RunStatus.FINISHED, percent=100)

    client.force_login(township_b)
    assert f"H{h.pk}" not in client.get(reverse("verification:signals")).content.decode()
    client.force_login(township_a)
    page = client.get(reverse("verification:signals")).content.decode()
    assert "死亡" in page and f"H{h.pk}" in page
    deferred = client.get(reverse("verification:deferred")).content.decode()
    assert f"H{h.pk}" in deferred and "退出" in deferred

    signal = Signal.objects.get(kind="death")
    response = client.post(
        reverse("verification:signal_handle", args=[signal.pk]), {"status": "dismissed"}, follow=True
    )
    assert "请说明原因" in response.content.decode()
    client.post(
        reverse("verification:signal_handle", args=[signal.pk]), {"status": "confirmed", "note": "已核实"}
    )
    signal.refresh_from_db()
    assert (signal.status, signal.handled_by) == ("confirmed", township_a)


@pytest.mark.django_db
def test_only_the_bureau_starts_the_monthly_run(client, township_a):
    client.force_login(township_a)
    assert client.post(reverse("verification:runs"), {"month": "2020-04"}).status_code == 403
    assert "run-form" not in client.get(reverse("verification:runs")).content.decode()


@pytest.mark.django_db
def test_hostile_extracts_are_refused_with_the_reason(client, district_a):
    from doudi.core.excel import MAX_LINE_CHARS
    from doudi.verification.models import Extract
    from hostile_files import far_cell_workbook

    client.force_login(district_a)
    uploads = {
        "deaths.xlsx": (far_cell_workbook(), "A1:XFD1048576"),
        "deaths.csv": (b"x" * (MAX_LINE_CHARS + 1) + b"\n", "第 1 行超过 100,000 个字符"),
    }
    for name, (body, reason) in uploads.items():
        response = client.post(
            reverse("verification:extracts"),
            {"source": "deaths", "extract_date": "2020-03-31", "file": SimpleUploadedFile(name, body)},
            follow=True,
        )
        page = response.content.decode()
        assert response.status_code == 200 and "已拒收" in page and reason in page, name
    assert not Extract.objects.filter(status="loaded").exists()
