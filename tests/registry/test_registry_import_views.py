"""The import console screens: upload, result, error report download, template, access."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from test_registry_importing import HEADERS, good_rows, to_csv, to_xlsx

from doudi.audit.models import AuditAction, AuditEntry
from doudi.registry.models import Household, Person


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client_a(client, district_a):
    client.force_login(district_a)
    return client


def _upload(client, data, name):
    return client.post(reverse("registry:import"), {"file": io_file(data, name)})


def io_file(data, name):
    f = io.BytesIO(data)
    f.name = name
    return f


def test_login_required(client):
    for name in ("registry:import", "registry:import_template"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"]


def test_read_only_roles_are_refused(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("registry:import")).status_code == 403
    assert client.get(reverse("registry:import_template")).status_code == 403


def test_upload_page_and_template_download(client_a):
    page = client_a.get(reverse("registry:import"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "批量导入人员和家庭" in body and reverse("registry:import_template") in body
    assert 'enctype="multipart/form-data"' in body
    template = client_a.get(reverse("registry:import_template"))
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in template["Content-Disposition"]
    headers = [c.value for c in load_workbook(io.BytesIO(template.content)).worksheets[0][1]]
    assert "身份证号" in headers


def test_good_file_is_imported_and_counts_shown(client_a):
    response = _upload(client_a, to_xlsx(HEADERS, good_rows()), "花名册.xlsx")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="import-success"' in body
    assert "家庭 2 户" in body and "人员 4 人" in body
    assert Person.objects.count() == 4 and Household.objects.count() == 2


def test_bad_file_shows_errors_and_the_report_downloads(client_a, district_a, client, district_b):
    rows = good_rows()
    rows[3][1] = "500102001001"  # row 5: a village of district B
    response = _upload(client_a, to_csv(HEADERS, rows), "花名册.csv")
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="import-failed"' in body and "未导入任何数据" in body
    assert "<td>5</td><td>村社区代码</td>" in body
    assert Person.objects.count() == 0
    token = response.context["report_token"]
    url = reverse("registry:import_report", args=[token])
    assert url in body

    report = client_a.get(url)
    assert report.status_code == 200
    ws = load_workbook(io.BytesIO(report.content)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][-1] == "错误"
    assert values[4][1] == "500102001001" and "管辖范围" in values[4][-1]
    assert values[1][-1] is None
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == district_a and entry.after == {"rows": 4}

    # Another officer cannot fetch it, even with the link.
    client.force_login(district_b)
    assert client.get(url).status_code == 404


def test_unsupported_file_is_refused_by_the_form(client_a):
    response = _upload(client_a, b"x", "photo.jpg")
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in response.content.decode()


def test_nav_link_for_writers(client_a):
    body = client_a.get(reverse("registry:import")).content.decode()
    assert f'href="{reverse("registry:import")}"' in body


def test_hostile_files_are_refused_and_the_server_keeps_answering(client_a):
    from doudi.core.excel import MAX_LINE_CHARS
    from hostile_files import far_cell_workbook

    response = _upload(client_a, far_cell_workbook(), "roster.xlsx")
    assert response.status_code == 400
    assert "A1:XFD1048576" in response.content.decode()
    response = _upload(client_a, far_cell_workbook(None, with_a1=True), "roster.xlsx")
    assert response.status_code == 400 and "第 1,048,576 行、第 16,384 列" in response.content.decode()
    endless = ",".join(HEADERS).encode() + b"\n" + b"1," * MAX_LINE_CHARS + b"\n"
    response = _upload(client_a, endless, "roster.csv")
    assert response.status_code == 400 and "第 2 行超过" in response.content.decode()
    response = _upload(client_a, b"PK\x03\x04 not really a zip", "roster.xlsx")
    assert response.status_code == 400 and "不是有效的 .xlsx" in response.content.decode()
    assert Household.objects.count() == 0
    assert _upload(client_a, to_xlsx(HEADERS, good_rows()), "roster.xlsx").status_code == 200
