"""统计月报 as an Excel sheet laid out like the paper report: a title, the reporting unit, the month and
the time it was generated, then two tables with two header rows each — 保障人数与资金 (per scheme:
户数, 人数, 应发, 实发; the totals by payment status) and 增减变动与建档立卡覆盖 (new and stopped per monthly
scheme, 建档立卡 coverage) — each with its 合计 row, and the notes on what is counted. Amounts in yuan,
two decimals."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from doudi.core.excel import MONEY_FORMAT, _sheet_title, _text
from doudi.reports.selectors import STATUSES, MonthlyReport

NOT_APPLICABLE = "—"
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def status_labels() -> dict[str, str]:
    return {
        "due": _("应发金额"),
        "paid": _("实发金额"),
        "issued": _("已报送待回盘"),
        "pending": _("未报送银行"),
        "held": _("暂缓发放"),
        "failed": _("发放失败"),
    }


def title(report: MonthlyReport) -> str:
    return _("%(region)s社会救助资金发放月报") % {"region": report.region.name}


def header_lines(report: MonthlyReport) -> list[str]:
    """The lines under the title: who reports, which month, when generated, the unit."""
    return [
        _("填报单位：%(unit)s") % {"unit": report.region.seal_name},
        _("统计月份：%(month)s（与上月 %(previous)s 比较）")
        % {"month": report.month, "previous": report.previous_month},
        _("生成时间：%(at)s　金额单位：元")
        % {"at": timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M:%S")},
    ]


def notes() -> list[str]:
    """What each figure counts (统计口径), on the page and under the sheet."""
    return [
        _(
            "应发金额：本月全部发放明细的金额（含待发放、已报送、已到账、发放失败、暂缓发放）；实发金额：银行回盘确认到账的金额。"
        ),
        _(
            "户数、人数：本月有发放明细的对象；低保按家庭城乡类别分列，人数为核定低保金所计的家庭人口；特困、儿童、价格临时补贴、新冠临时救助按人计，不计户数；丧葬救助等按户发放的项目只计户数。"
        ),
        _("新增、停发：与上月比较，仅按月发放的项目；按户发放的项目计户，其余计人。"),
        _("临时救助、一事一议救助、先行救助：按案件发放，人数为本月发放的案件数（人次）。"),
        _("建档立卡覆盖率：本月享受至少一项救助的建档立卡贫困人口 ÷ 本地区建档立卡贫困人口。"),
    ]


def money(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _put(ws: Any, row: int, col: int, value: Any, *, money_cell: bool = False, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        value = NOT_APPLICABLE
    cell.value = _text(value) if isinstance(value, str) else value
    cell.border = BOX
    if money_cell and not isinstance(value, str):
        cell.number_format = MONEY_FORMAT
    if isinstance(value, str) and col > 1:
        cell.alignment = CENTER
    if bold:
        cell.font = Font(bold=True)


def _group_header(ws: Any, top: int, col: int, label: str, subs: list[str]) -> int:
    """A header spanning `subs` over two rows; returns the next free column."""
    ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + len(subs) - 1)
    _put(ws, top, col, label, bold=True)
    for i, sub in enumerate(subs):
        _put(ws, top + 1, col + i, sub, bold=True)
        ws.cell(row=top, column=col + i).border = BOX
    return col + len(subs)


def _region_header(ws: Any, top: int) -> None:
    ws.merge_cells(start_row=top, start_column=1, end_row=top + 1, end_column=1)
    _put(ws, top, 1, _("地区"), bold=True)
    ws.cell(row=top + 1, column=1).border = BOX


def amounts_table(report: MonthlyReport, ws: Any, top: int) -> int:
    """保障人数与资金; returns the first row after it."""
    _region_header(ws, top)
    col = 2
    for c in report.columns:
        col = _group_header(ws, top, col, c.label, [_("户数"), _("人数"), _("应发金额"), _("实发金额")])
    labels = status_labels()
    _group_header(ws, top, col, _("资金合计"), [labels[k] for k in ("due", *STATUSES)])
    r = top + 2
    for row in [*report.rows, report.total]:
        bold = row is report.total
        _put(ws, r, 1, _("合计") if bold else row.name, bold=bold)
        col = 2
        for c in report.columns:
            cell = row.cells[c.key]
            _put(ws, r, col, cell.households, bold=bold)
            _put(ws, r, col + 1, cell.persons, bold=bold)
            _put(ws, r, col + 2, money(cell.due_fen), money_cell=True, bold=bold)
            _put(ws, r, col + 3, money(cell.paid_fen), money_cell=True, bold=bold)
            col += 4
        for key in ("due", *STATUSES):
            _put(ws, r, col, money(row.amounts[key]), money_cell=True, bold=bold)
            col += 1
        r += 1
    return r


def changes_table(report: MonthlyReport, ws: Any, top: int) -> int:
    """增减变动与建档立卡覆盖; returns the first row after it."""
    _region_header(ws, top)
    col = 2
    monthly = [c for c in report.columns if c.monthly]
    for c in monthly:
        col = _group_header(ws, top, col, c.label, [_("新增"), _("停发")])
    col = _group_header(ws, top, col, _("合计"), [_("新增"), _("停发")])
    _group_header(ws, top, col, _("建档立卡贫困人口"), [_("人数"), _("其中享受救助"), _("覆盖率（%）")])
    r = top + 2
    for row in [*report.rows, report.total]:
        bold = row is report.total
        _put(ws, r, 1, _("合计") if bold else row.name, bold=bold)
        col = 2
        for c in monthly:
            _put(ws, r, col, row.cells[c.key].new, bold=bold)
            _put(ws, r, col + 1, row.cells[c.key].stopped, bold=bold)
            col += 2
        _put(ws, r, col, row.new, bold=bold)
        _put(ws, r, col + 1, row.stopped, bold=bold)
        _put(ws, r, col + 2, row.poor, bold=bold)
        _put(ws, r, col + 3, row.covered, bold=bold)
        _put(ws, r, col + 4, row.coverage, bold=bold)
        if row.coverage is not None:
            ws.cell(row=r, column=col + 4).number_format = "0.0"
        r += 1
    return r


def report_xlsx(report: MonthlyReport) -> bytes:
    """The report as an .xlsx file (bytes)."""
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(_("统计月报") + f" {report.month}")
    width = 1 + 4 * len(report.columns) + 1 + len(STATUSES)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(row=1, column=1, value=title(report)).font = Font(bold=True, size=16)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    for i, line in enumerate(header_lines(report), start=2):
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
        ws.cell(row=i, column=1, value=line)
    r = 2 + len(header_lines(report))
    if not report.has_payroll:
        ws.cell(row=r, column=1, value=empty_message(report)).font = Font(bold=True)
        r += 1
    r += 1
    ws.cell(row=r, column=1, value=_("一、保障人数与资金")).font = Font(bold=True)
    ws.freeze_panes = f"B{r + 3}"  # below the first table's two header rows
    r = amounts_table(report, ws, r + 1) + 1
    ws.cell(row=r, column=1, value=_("二、增减变动与建档立卡覆盖")).font = Font(bold=True)
    r = changes_table(report, ws, r + 1) + 1
    for line in [_("统计口径："), *notes()]:
        ws.cell(row=r, column=1, value=line)
        r += 1
    ws.column_dimensions["A"].width = 18
    for c in range(2, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 13
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def empty_message(report: MonthlyReport) -> str:
    return _("%(month)s 尚未生成发放花名册，本月没有发放数据。") % {"month": report.month}
