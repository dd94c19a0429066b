"""导出Excel: any list to an .xlsx file, for every app.

`export_rows` writes with openpyxl's write-only mode (constant memory, ~100k rows fine). Money is
written as numbers (yuan, two decimals) so officers can sum columns; identity and phone numbers are
written as text so Excel keeps all 18 digits; months (`MONTH`, stored as the 1st of the month) as the
text "2026-12", never as a date. A text cell starting with "=" is stored as text, never as a formula
(names and addresses come from imported files). Every sheet opens ready to read: the header row frozen
and filterable, each column as wide as its header and the first rows' contents (CJK counts double).

`excel_response` wraps it for views and records an EXPORT audit entry with the row count when the
list holds personal data.

Reading: every uploaded spreadsheet (registry import, department extracts, COVID event lists, region
files) goes through `xlsx_rows` or `csv_rows`. An .xlsx is read in a child process with a memory and
CPU limit (`xlsx_child.py`), after checks of its zip parts and of the sheet's declared and actual
extent, so a hostile file — a 1.7 KB sheet with one cell at XFD1048576, a zip bomb — is refused with
a message and cannot take the web worker down. A CSV is refused when a line is absurdly long.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
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
    after = {"rows": count, "filename": filename, "columns": [_column(h).title for h in headers]}
    return xlsx_download(
        data,
        filename,
        actor=actor,
        audit=after if personal_data else None,
        object_type=object_type,
        reason=reason,
    )


def xlsx_download(
    data: bytes,
    filename: str,
    *,
    actor: Any,
    audit: dict[str, Any] | None,
    object_type: str = "export",
    reason: str = "",
    region_path: str | None = None,
) -> HttpResponse:
    """An .xlsx file (however it was laid out) as a download; with `audit` (what was exported) an
    EXPORT entry is appended to the audit log, one per download."""
    if audit is not None:
        from doudi.audit.models import AuditAction
        from doudi.audit.services import record

        region = getattr(actor, "region", None)
        record(
            actor=actor,
            action=AuditAction.EXPORT,
            object_type=object_type,
            object_id=filename[:64],
            region_path=getattr(region, "path", "") if region_path is None else region_path,
            after=audit,
            reason=reason,
        )
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


# --- reading uploads --------------------------------------------------------------------------------

XLSX_CHILD = Path(__file__).resolve().parent / "xlsx_child.py"
# calamine holds the rectangle from A1 to the last cell in memory (≈ 40 bytes a cell with its text):
# 5 million cells is a 100,000-row import of 50 columns, about 200 MB.
MAX_CELLS = 5_000_000
MAX_PART_BYTES = 512 * 1024 * 1024  # one uncompressed part (a sheet's XML, the shared strings)
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_LINE_CHARS = 100_000  # a CSV line; a real row is a few hundred characters


class SpreadsheetRefused(ValueError):
    """An uploaded sheet refused before or while reading it; str() is the message for the user."""


def _child_limits(max_cells: int) -> dict[str, int]:
    return {
        "max_cells": max_cells,
        "max_part_bytes": MAX_PART_BYTES,
        "max_total_bytes": MAX_TOTAL_BYTES,
        "memory_mb": int(getattr(settings, "DOUDI_SPREADSHEET_MEMORY_MB", 2048)),
        "cpu_seconds": int(getattr(settings, "DOUDI_SPREADSHEET_CPU_SECONDS", 300)),
    }


def _refusal(answer: dict[str, Any]) -> SpreadsheetRefused:
    code = answer.get("refused")
    n = {k: f"{v:,}" if isinstance(v, int) else v for k, v in answer.items()}
    if code == "not_xlsx":
        text = _("该文件不是有效的 .xlsx 工作簿，请在 Excel 中另存为 .xlsx 或 CSV 后再上传")
    elif code in ("part_too_large", "too_many_parts"):
        text = _("该 Excel 文件解压后过大（可能是压缩炸弹），已拒收；上限为 %(mb)s MB") % {
            "mb": MAX_PART_BYTES // (1024 * 1024)
        }
    elif code == "declared":
        text = (
            _(
                "工作表声明的范围为 %(ref)s（%(rows)s 行 × %(columns)s 列），超过上限 %(limit)s 个单元格，已拒收；"
                "请删除多余的行和列，或分批上传"
            )
            % n
        )
    elif code == "span":
        text = (
            _(
                "工作表的单元格延伸到第 %(rows)s 行、第 %(columns)s 列，超过上限 %(limit)s 个单元格，已拒收；"
                "请删除多余的行和列，或分批上传"
            )
            % n
        )
    elif code == "cells":
        text = _("工作表的单元格超过 %(limit)s 个，已拒收；请分批上传") % n
    elif code == "damaged":
        text = _("无法读取该 Excel 文件，请确认文件未损坏")
    else:
        text = _("读取该 Excel 文件时超出了内存或时间限制，已拒收；请确认文件未损坏，或分批上传")
    return SpreadsheetRefused(text)


def _decode_cell(obj: dict[str, Any]) -> Any:
    kind, value = obj.get("$"), obj.get("v")
    if kind == "datetime":
        return datetime.datetime.fromisoformat(value)
    if kind == "date":
        return datetime.date.fromisoformat(value)
    if kind == "time":
        return datetime.time.fromisoformat(value)
    if kind == "timedelta":
        return datetime.timedelta(seconds=value)
    return obj


def xlsx_rows(source: bytes | Path, *, max_cells: int = MAX_CELLS) -> Iterator[list[Any]]:
    """The rows of the first sheet from row 1 (empty rows kept, so numbers match what Excel shows):
    dates as date/datetime, numbers as float, empty cells as ''.

    Raises SpreadsheetRefused at once when the file is refused before reading (not a zip, a zip bomb,
    more than `max_cells` cells from A1 to the last one declared or present), and while iterating
    when the reader dies (out of memory or time). Read with calamine (docs/decisions/0002)."""
    path = source if isinstance(source, Path) else None
    child = subprocess.Popen(  # noqa: S603 — our own script, run by this interpreter
        [
            sys.executable,
            "-P",
            str(XLSX_CHILD),
            json.dumps(_child_limits(max_cells)),
            *([str(path)] if path else []),
        ],
        stdin=subprocess.DEVNULL if path else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    try:
        if path is None:
            assert child.stdin is not None
            try:
                child.stdin.write(source)  # type: ignore[arg-type]
                child.stdin.close()
            except BrokenPipeError:
                pass  # the child died early: its answer (or its silence) says why
        answer = _answer(child.stdout)
        if answer.get("ok") is not True:
            raise _refusal(answer)
    except BaseException:
        _stop(child)
        raise
    return _stream(child)


def _answer(stream: IO[bytes]) -> dict[str, Any]:
    line = stream.readline()
    try:
        answer = json.loads(line, object_hook=_decode_cell) if line else {}
    except ValueError:
        answer = {}
    return answer if isinstance(answer, dict) else {}


def _stream(child: subprocess.Popen) -> Iterator[list[Any]]:
    assert child.stdout is not None
    try:
        for line in child.stdout:
            item = json.loads(line, object_hook=_decode_cell)
            if isinstance(item, list):
                yield item
            elif isinstance(item, dict) and "end" in item:
                return
        raise _refusal({"refused": "died"})
    finally:
        _stop(child)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def decode_text(data: bytes) -> str:
    """A CSV's text: UTF-8 (with or without BOM), else GB18030 (Excel on Chinese Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetRefused(_("无法识别文件编码，请保存为 UTF-8 或 GB18030 编码的 CSV"))


def _check_line_lengths(text: str) -> None:
    start, number = 0, 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if end - start > MAX_LINE_CHARS:
            raise SpreadsheetRefused(
                _("第 %(line)s 行超过 %(limit)s 个字符，不是正常的表格行，已拒收")
                % {"line": f"{number:,}", "limit": f"{MAX_LINE_CHARS:,}"}
            )
        start, number = end + 1, number + 1


def csv_rows(data: bytes, *, delimiters: str = ",\t;") -> list[list[str]]:
    """The rows of a CSV (or TSV) file. The delimiter is the one of `delimiters` most frequent in the
    first lines: Excel on Chinese Windows saves "CSV" with commas, some exports use tabs or semicolons."""
    text = decode_text(data)
    _check_line_lengths(text)
    head = "\n".join(text[: 64 * 1024].splitlines()[:10])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=max(delimiters, key=head.count))
    try:
        return list(reader)
    except csv.Error as exc:
        raise SpreadsheetRefused(
            _("第 %(line)s 行格式有误：%(error)s") % {"line": reader.line_num, "error": exc}
        ) from exc


def first_csv_row(file: IO[str]) -> list[str]:
    """The header of an open CSV file, read without reading the rest; refused when absurdly long."""
    line = file.readline(MAX_LINE_CHARS + 1)
    if len(line) > MAX_LINE_CHARS:
        raise SpreadsheetRefused(
            _("第 %(line)s 行超过 %(limit)s 个字符，不是正常的表格行，已拒收")
            % {"line": 1, "limit": f"{MAX_LINE_CHARS:,}"}
        )
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise SpreadsheetRefused(_("第 %(line)s 行格式有误：%(error)s") % {"line": 1, "error": exc}) from exc
