"""The payroll's console pages: review by district and scheme, tiers, files, returns, banks."""

import json

from django.urls import reverse

from doudi.payments import bankfiles, services
from doudi.payments.models import Bank, PaymentLine
from doudi.policy.periods import Period

M = Period.parse("2020-03")


def login(client, user):
    client.force_login(user)
    return client


def test_admin_freezes_and_queues_then_the_run_page_shows_progress(world, client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    login(client, world.users.city_admin)
    response = client.post(reverse("payments:payroll_runs"), {"month": "2020-03"})
    assert response.status_code == 302
    run = services.freeze_run(month=M)
    run.refresh_from_db()
    assert run.status == "computed"
    page = client.get(reverse("payments:payroll_run", args=[run.pk]))
    assert page.status_code == 200
    assert b'data-testid="review"' in page.content and b"payroll-data" in page.content
    progress = client.get(reverse("payments:payroll_progress", args=[run.pk]))
    assert b"hx-get" not in progress.content  # finished: no more polling


def test_a_district_officer_may_not_compute(world, client):
    login(client, world.users.a_officer)
    assert client.post(reverse("payments:payroll_runs"), {"month": "2020-03"}).status_code == 403


def test_review_is_scoped_to_the_district_and_masks_account_numbers(world, client):
    run = services.compute_run(services.freeze_run(month=M))
    login(client, world.users.a_officer)
    page = client.get(reverse("payments:payroll_run", args=[run.pk])).content.decode()
    assert "万州区" in page and "涪陵区" not in page
    review = json.loads(page.split('id="payroll-data" type="application/json">')[1].split("</script>")[0])
    assert review["labels"] == ["万州区"]
    lines = client.get(
        reverse("payments:payroll_lines", args=[run.pk]), {"kind": "deferred"}
    ).content.decode()
    line = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_lower.pk)
    assert line.ref in lines
    assert line.account_number not in lines and line.account_number[-4:] in lines
    # Another district's line is not listed.
    other = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_exit.pk)
    assert other.ref not in client.get(reverse("payments:payroll_lines", args=[run.pk])).content.decode()


def test_signing_through_the_console_and_refusals_are_shown(world, client):
    run = services.compute_run(services.freeze_run(month=M))
    batch = run.batches.get(district=world.regions.a)
    login(client, world.users.a_approver)
    client.post(reverse("payments:batch_sign", args=[batch.pk]), {"action": "approve"})
    batch.refresh_from_db()
    assert batch.status == "computed"  # cannot skip the district officer
    login(client, world.users.a_officer)
    client.post(reverse("payments:batch_sign", args=[batch.pk]), {"action": "submit", "note": "已核"})
    batch.refresh_from_db()
    assert batch.status == "prepared"
    login(client, world.users.b_officer)  # out of scope: 404
    assert (
        client.post(reverse("payments:batch_sign", args=[batch.pk]), {"action": "approve"}).status_code == 404
    )


def test_download_and_return_upload(world, client):
    from doudi.audit.models import AuditEntry

    u = world.users
    run = services.compute_run(services.freeze_run(month=M))
    for batch in run.batches.select_related("district"):
        a = batch.district.code == "500101"
        services.sign_batch(batch=batch, action="submit", officer=u.a_officer if a else u.b_officer)
        services.sign_batch(batch=batch, action="approve", officer=u.a_approver if a else u.b_approver)
        services.sign_batch(batch=batch, action="confirm", officer=u.finance)
    login(client, u.finance)
    client.post(reverse("payments:issue_files", args=[run.pk]))
    f = run.bank_files.get(bank__code="ICBC")
    response = client.get(reverse("payments:bank_file_download", args=[f.pk]))
    assert response.status_code == 200 and bankfiles.sha256(response.content) == f.sha256
    assert AuditEntry.objects.filter(action="export", object_id=str(f.pk)).exists()
    login(client, u.a_officer)
    assert client.get(reverse("payments:bank_file_download", args=[f.pk])).status_code == 403

    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("r.csv", "流水号,账号,金额,结果\n1,2,3,未知\n".encode())
    login(client, u.finance)
    page = client.post(
        reverse("payments:return_upload", args=[f.pk]), {"file": bad}, follow=True
    ).content.decode()
    assert "未导入任何一笔" in page
    assert not PaymentLine.objects.filter(status="paid").exists()


def test_bank_template_is_validated_on_the_console(world, client):
    login(client, world.users.city_admin)
    url = reverse("payments:bank_edit", args=[world.icbc.pk])
    form = {"code": "ICBC", "name": "工商银行", "account_lengths": "19", "uses_luhn": "on", "active": "on"}
    response = client.post(
        url, {**form, "file_template": '{"format": "fixed", "columns": [{"field": "ref"}]}'}
    )
    assert response.status_code == 400 and "width" in response.content.decode()
    response = client.post(url, {**form, "file_template": "{not json"})
    assert response.status_code == 400
    template = {
        "format": "xlsx",
        "encoding": "utf-8",
        "header": True,
        "columns": [{"field": "ref", "title": "流水号"}],
    }
    assert client.post(url, {**form, "file_template": json.dumps(template)}).status_code == 302
    assert Bank.objects.get(pk=world.icbc.pk).file_template == template
    login(client, world.users.a_officer)
    assert client.get(url).status_code == 403
