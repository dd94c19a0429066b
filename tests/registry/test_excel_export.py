"""core.excel: any list to .xlsx with Chinese headers, money as numbers, IDs as text, audited exports."""

import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from doudi.audit.models import AuditAction, AuditEntry
from doudi.core.excel import DATE, MONEY, MONEY_FEN, MONTH, Column, excel_response, export_rows


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


def test_every_sheet_opens_readable_months_widths_frozen_header_and_filter():
    address = "重庆市渝中区解放碑街道民族路188号3单元12-4"  # 23 CJK characters + digits
    data = export_rows(
        ["地址", Column("起始月份", MONTH), "编号", Column("终止月份", MONTH)],
        [
            [address, datetime.date(2026, 12, 1), "H1", None],
            ["短", datetime.date(2027, 1, 1), "H22", datetime.date(2027, 3, 1)],
        ],
    )
    ws, values = _read(data)
    assert values[1][1] == "2026-12" and values[2][3] == "2027-03" and values[1][3] is None
    assert ws["B2"].data_type == "s"
    # Fitted to the content, CJK counting double: the address shows whole, a short column stays narrow.
    assert ws.column_dimensions["A"].width >= sum(2 if ord(c) > 0x2E80 else 1 for c in address)
    assert ws.column_dimensions["B"].width >= 8 and ws.column_dimensions["C"].width < 12
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D3"


def test_an_empty_export_keeps_its_header_filter_and_widths():
    ws, values = _read(export_rows(["很长的列标题很长的列标题"], []))
    assert values == [("很长的列标题很长的列标题",)]
    assert ws.auto_filter.ref == "A1:A1" and ws.column_dimensions["A"].width >= 24


def test_a_long_value_is_capped_and_rows_beyond_the_sample_still_written():
    rows = ([f"{i}", "长" * (500 if i == 0 else 1)] for i in range(1000))
    ws, values = _read(export_rows(["序号", "说明"], rows))
    assert len(values) == 1001 and values[-1][0] == "999"
    assert ws.column_dimensions["B"].width == 60


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
