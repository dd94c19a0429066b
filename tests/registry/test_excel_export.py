"""core.excel: any list to .xlsx with Chinese headers, money as numbers, IDs as text, audited exports."""

import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from doudi.audit.models import AuditAction, AuditEntry
from doudi.core.excel import DATE, MONEY, MONEY_FEN, Column, excel_response, export_rows


def _read(data):
    ws = load_workbook(io.BytesIO(data)).active
    return ws, list(ws.iter_rows(values_only=True))


def test_export_rows_types_and_headers():
    rows = (
        [name, idn, fen, Decimal("12.30"), day]
        for name, idn, fen, day in [
            ("张三", "50010119800101123X", 123_456, datetime.date(2020, 3, 1)),
            ('=HYPERLINK("http://x")', "500101198001011236", 5, None),
        ]
    )
    data = export_rows(
        [
            "姓名",
            "身份证号",
            Column("低保金（元）", MONEY_FEN),
            Column("补贴（元）", MONEY),
            Column("日期", DATE),
        ],
        rows,
        sheet_title="名单/2020",
    )
    ws, values = _read(data)
    assert ws.title == "名单_2020"
    assert values[0] == ("姓名", "身份证号", "低保金（元）", "补贴（元）", "日期")
    assert values[1][:4] == ("张三", "50010119800101123X", 1234.56, 12.3)
    assert ws["C2"].data_type == "n" and ws["C2"].number_format == "#,##0.00"
    assert ws["B3"].data_type == "s" and values[2][1] == "500101198001011236"  # all 18 digits kept
    assert values[1][4].date() == datetime.date(2020, 3, 1)
    # A cell that looks like a formula is stored as text, never evaluated.
    assert ws["A3"].data_type == "s" and values[2][0].startswith("=HYPERLINK")
    assert values[2][2] == 0.05 and values[2][4] is None


def test_excel_response_audits_personal_exports_with_count(regions, make_user):
    officer = make_user("exporter", regions.a, "district_officer")
    response = excel_response("低保名单", ["姓名"], iter([["张三"], ["李四"], ["王五"]]), actor=officer)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    _ws, values = _read(response.content)
    assert len(values) == 4
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == officer
    assert entry.after["rows"] == 3 and entry.after["filename"] == "低保名单.xlsx"
    assert entry.region_path == regions.a.path

    excel_response("标准.xlsx", ["标准"], [[1]], actor=officer, personal_data=False)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 1
