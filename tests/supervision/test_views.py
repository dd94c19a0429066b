"""The console pages: the queue (scoped, masked, filtered, exported), a finding's page and its actions,
the staff-relatives register, the command line and the checks queued after a payroll."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from doudi.audit.models import AuditEntry
from doudi.registry.models import Person
from doudi.supervision import services
from doudi.supervision.models import CheckRun, Finding, StaffRelative

from .test_findings import file_finding


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def two(regions):
    a = file_finding(regions, key="paid_twice:2020-03:dibao:1", region=regions.a_v)
    b = file_finding(regions, key="paid_twice:2020-03:dibao:2", region=regions.b_v)
    return a, b


def test_the_queue_is_scoped_filtered_and_exported(client, people, two):
    a, b = two
    page = login(client, people.sup).get(reverse("supervision:findings"))
    assert page.status_code == 200 and page.content.decode().count('data-testid="finding-row"') == 2
    page = client.get(reverse("supervision:findings"), {"district": "500102", "state": "bogus", "month": "x"})
    assert page.content.decode().count('data-testid="finding-row"') == 1
    # District B's supervisor sees B only; A's finding answers 404.
    login(client, people.sup_b)
    assert (
        client.get(reverse("supervision:findings")).content.decode().count('data-testid="finding-row"') == 1
    )
    assert client.get(reverse("supervision:finding", args=[a.pk])).status_code == 404
    # An officer sees only what is assigned to them.
    login(client, people.a_officer)
    assert (
        client.get(reverse("supervision:findings")).content.decode().count('data-testid="finding-row"') == 0
    )
    assert client.get(reverse("supervision:finding", args=[a.pk])).status_code == 403
    services.assign(finding=a, to=people.a_officer, by=people.sup)
    assert (
        client.get(reverse("supervision:findings")).content.decode().count('data-testid="finding-row"') == 1
    )
    # Excel: every row of the scope, audited as an export.
    response = login(client, people.sup).get(reverse("supervision:findings"), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[0][0] == "线索编号" and {r[0] for r in rows[1:]} == {a.key, b.key}
    assert rows[1][7] == 338.0
    assert AuditEntry.objects.filter(action="export", object_type="supervision.finding").exists()


def test_acting_on_a_finding_from_its_page(client, people, two):
    a, _ = two
    url = reverse("supervision:act", args=[a.pk])
    login(client, people.sup)
    page = client.get(reverse("supervision:finding", args=[a.pk])).content.decode()
    assert 'data-testid="evidence"' in page and "确认问题" in page and "a_officer" in page
    client.post(url, {"action": "confirm", "reason": "\u200b", "recover": "5", "version": a.version})
    a.refresh_from_db()
    assert a.state == "open"  # refused: the reason is blank
    client.post(url, {"action": "confirm", "reason": "重复领取", "recover": "5.20", "version": a.version})
    a.refresh_from_db()
    assert (a.state, a.recover_fen) == ("confirmed", 520)
    client.post(url, {"action": "repay", "amount": "5.20", "paid_on": "2020-04-01", "reference": "R1"})
    a.refresh_from_db()
    assert a.state == "recovered"
    page = client.get(reverse("supervision:finding", args=[a.pk])).content.decode()
    assert "已追回" in page and "R1" in page
    assert client.post(url, {"action": "nonsense"}).status_code == 302
    # An auditor reads the page but has no buttons.
    page = login(client, people.auditor).get(reverse("supervision:finding", args=[a.pk])).content.decode()
    assert "登记退回" not in page and "确认问题" not in page


def test_run_from_the_console_is_queued_for_supervisors_only(client, people):
    from django_tasks_db.models import DBTaskResult

    login(client, people.a_officer).post(reverse("supervision:run"), {"month": "2020-03"})
    assert not DBTaskResult.objects.exists()
    login(client, people.sup).post(reverse("supervision:run"), {"month": "2020-13"})
    assert not DBTaskResult.objects.exists()
    client.post(reverse("supervision:run"), {"month": "2020-03"})
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"][:2] == ["2020-03", "console"]


def test_relatives_declared_on_the_console_and_seen_by_the_supervisor(client, people, regions):
    Person.objects.create(
        id_number="500101198005010011",
        name="王大明",
        birth_date=dt.date(1980, 5, 1),
        sex="M",
        region=regions.a_v,
    )
    url = reverse("supervision:relatives")
    login(client, people.a_officer)
    client.post(url, {"id_number": "500101198005010099", "relation": "sibling"})  # not in the registry
    client.post(url, {"id_number": " 500101198005010011\u200b", "relation": "sibling"})
    client.post(url, {"id_number": "500101198005010011", "relation": "sibling"})  # twice: a conflict
    assert StaffRelative.objects.count() == 1
    page = client.get(url).content.decode()
    assert "王*明" in page and "王大明" not in page and 'data-testid="register"' not in page
    page = login(client, people.sup).get(url).content.decode()
    assert page.count('data-testid="register-row"') == 1
    assert login(client, people.sup_b).get(url).content.decode().count('data-testid="register-row"') == 0
    d = StaffRelative.objects.get()
    login(client, people.a_officer2).post(url, {"action": "withdraw", "id": d.pk, "reason": "x"})
    d.refresh_from_db()
    assert d.withdrawn_at is None  # not theirs
    login(client, people.a_officer).post(url, {"action": "withdraw", "id": d.pk, "reason": "录错"})
    d.refresh_from_db()
    assert d.withdrawn_reason == "录错"


def test_menu_links(client, people):
    page = login(client, people.sup).get(reverse("supervision:findings")).content.decode()
    assert reverse("supervision:relatives") in page


def test_the_command(db):
    with pytest.raises(CommandError):
        call_command("supervise", "2020-13", stdout=io.StringIO())
    out = io.StringIO()
    call_command("supervise", "2020-03", stdout=out)
    assert "total" in out.getvalue() and "after_death" in out.getvalue()
    assert CheckRun.objects.get().finished_at is not None
    out = io.StringIO()
    call_command("supervise", "2020-03", "--check", "duplicates", stdout=out)
    assert list(CheckRun.objects.first().results) == ["duplicates"]
    assert not Finding.objects.exists()


def test_a_computed_payroll_queues_its_checks(db):
    from django_tasks_db.models import DBTaskResult

    from doudi.payments.models import PayrollRun
    from doudi.payments.signals import payroll_computed

    payroll_computed.send(sender=PayrollRun, run=PayrollRun(month="2020-03"))
    assert DBTaskResult.objects.get(task_path__endswith="supervise_task").args_kwargs["args"] == ["2020-03"]
    # …and the month's supervision figures (the dashboards') are refreshed too.
    assert DBTaskResult.objects.get(task_path__endswith="refresh_figures_task").args_kwargs["args"] == [
        "2020-03"
    ]
