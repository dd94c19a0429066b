"""导出Excel: any list to an .xlsx file, for every app.

`export_rows` writes with openpyxl's write-only mode (constant memory, ~100k rows fine). Money is
written as numbers (yuan, two decimals) so officers can sum columns; identity and phone numbers are
written as text so Excel keeps all 18 digits; months (`MONTH`, stored as the 1st of the month) as the
text "2026-12", never as a date. A text cell starting with "=" is stored as text, never as a formula
(names and addresses come from imported files). Every sheet opens ready to read: the header row frozen
and filterable, each column as wide as its header and the first rows' contents (CJK counts double).

`excel_response` wraps it for views and records an EXPORT audit entry with the row count when the
list holds personal data.
"""

from __future__ import annotations

import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXT = "text"
MONEY_FEN = "money_fen"  # integer fen, written as yuan
MONEY = "money"  # Decimal yuan
INTEGER = "int"
DATE = "date"
MONTH = "month"  # a date standing for its month (the 1st), written as "YYYY-MM" text

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    """A header with how its values are written. Plain strings in `headers` are TEXT columns whose
    values are written by their Python type."""

    title: str
    kind: str = TEXT
    width: float | None = None


def _column(h: str | Column) -> Column:
    return h if isinstance(h, Column) else Column(str(h))


# Column widths are fitted to the header and the first rows (the writer streams the rest): enough to
# see a sheet's columns whole without holding a 100k-row export in memory.
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60


def _span(text: str) -> int:
    """How many Latin character widths `text` takes: CJK and full-width characters count two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _shown(value: Any) -> str:
    """The text a cell shows, for measuring its width."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return "0000-00-00 00:00"
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    return str(value)


def _widths(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> list[float]:
    widths = []
    for i, col in enumerate(columns):
        if col.width:
            widths.append(col.width)
            continue
        longest = max(
            [_span(col.title)] + [_span(_shown(_plain(col.kind, row[i]))) for row in sample if i < len(row)]
        )
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, longest + 2)))
    return widths


def _plain(kind: str, value: Any) -> Any:
    """The value as written, before styling (a month becomes its text, fen become yuan)."""
    if kind == MONTH and isinstance(value, datetime.date):
        return f"{value:%Y-%m}"
    if kind == MONEY_FEN and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) / 100
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return value


def export_rows(
    headers: Sequence[str | Column], rows: Iterable[Sequence[Any]], sheet_title: str = "Sheet1"
) -> bytes:
    """The rows as an .xlsx file (bytes). Rows are consumed once, so a generator or an iterator over
    a queryset keeps memory flat."""
    data, _count = _export(headers, rows, sheet_title)
    return data


def _export(
    headers: Sequence[str | Column], rows: Iterable[Sequence[Any]], sheet_title: str
) -> tuple[bytes, int]:
    columns = [_column(h) for h in headers]
    rows = iter(rows)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(sheet_title))
    # The streaming writer sends widths and panes before the first row, so they are set now.
    for i, width in enumerate(_widths(columns, sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=_text(col.title))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    count = 0
    kinds = [c.kind for c in columns]
    for row in itertools.chain(sample, rows):
        ws.append([_cell(ws, kinds[i] if i < len(kinds) else TEXT, v) for i, v in enumerate(row)])
        count += 1
    # The filter is written after the rows, so it can span exactly the data.
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{count + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), count


def _sheet_title(title: str) -> str:
    # Excel forbids []:*?/\ in sheet names and limits them to 31 characters.
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in (title or "Sheet1"))
    return cleaned[:31] or "Sheet1"


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _cell(ws: Any, kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == MONTH and isinstance(value, datetime.date):
        return _plain(kind, value)
    if kind == MONEY_FEN and isinstance(value, int) and not isinstance(value, bool):
        cell = WriteOnlyCell(ws, value=_plain(kind, value))
        cell.number_format = MONEY_FORMAT
        return cell
    if (
        kind in (MONEY, MONEY_FEN)
        and isinstance(value, Decimal | int | float)
        and not isinstance(value, bool)
    ):
        cell = WriteOnlyCell(ws, value=Decimal(str(value)))
        cell.number_format = MONEY_FORMAT
        return cell
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: show the local wall time.
        from django.utils import timezone

        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, int | float | Decimal):
        return value
    text = _text(str(value))
    if text.startswith("="):
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # stored as text: never evaluated as a formula
        return cell
    return text


def excel_response(
    filename: str,
    headers: Sequence[str | Column],
    rows: Iterable[Sequence[Any]],
    *,
    actor: Any,
    sheet_title: str | None = None,
    personal_data: bool = True,
    object_type: str = "export",
    reason: str = "",
) -> HttpResponse:
    """An .xlsx download of the rows. When the rows hold personal data (the default) an EXPORT entry
    with the row count is appended to the audit log — one per download."""
    if not filename.lower().endswith(".xlsx"):
        filename += ".xlsx"
    data, count = _export(headers, rows, sheet_title or filename.rsplit(".", 1)[0])
    if personal_data:
        from doudi.audit.models import AuditAction
        from doudi.audit.services import record

        region = getattr(actor, "region", None)
        record(
            actor=actor,
            action=AuditAction.EXPORT,
            object_type=object_type,
            object_id=filename[:64],
            region_path=getattr(region, "path", ""),
            after={"rows": count, "filename": filename, "columns": [_column(h).title for h in headers]},
            reason=reason,
        )
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response
