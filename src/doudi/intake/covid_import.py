"""Reading a health department's list of COVID events (确诊/出院/死亡名单) from .xlsx or .csv.

Only parsing lives here: every row becomes a `ParsedRow` or a `RowError`; the service then checks
the rows against the registry and writes all of them or none.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _

from doudi.core import excel
from doudi.intake.files import XLSX, sniff
from doudi.intake.models import CovidEventKind

MAX_ROWS = 20_000

HEADERS = {
    "id_number": ("身份证号", "身份证号码", "id_number"),
    "name": ("姓名", "name"),
    "kind": ("事件", "类型", "kind"),
    "date": ("日期", "date"),
    "note": ("备注", "note"),
}
REQUIRED = ("id_number", "name", "kind", "date")

KIND_WORDS = {
    "确诊": CovidEventKind.CONFIRMED,
    "confirmed": CovidEventKind.CONFIRMED,
    "出院": CovidEventKind.DISCHARGED,
    "治愈出院": CovidEventKind.DISCHARGED,
    "治愈": CovidEventKind.DISCHARGED,
    "discharged": CovidEventKind.DISCHARGED,
    "死亡": CovidEventKind.DIED,
    "died": CovidEventKind.DIED,
}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line in the file (the header is line 1)
    column: str
    message: str

    def __str__(self) -> str:
        return _("第%(row)s行 %(column)s：%(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass(frozen=True)
class ParsedRow:
    row: int
    id_number: str
    name: str
    kind: str
    date: datetime.date
    note: str


def _cells(content: bytes, filename: str) -> list[list[object]]:
    """Read by the shared readers, which refuse hostile files with a message (a ValueError)."""
    if sniff(content) is XLSX:
        return list(excel.xlsx_rows(content))
    if filename.lower().endswith(".csv"):
        return list(excel.csv_rows(content))
    raise ValueError(_("只接受 .xlsx 或 .csv 文件。"))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse(content: bytes, filename: str) -> tuple[list[ParsedRow], list[RowError]]:
    """The file's rows, or the problems found in it (file-level problems are row 0)."""
    try:
        cells = _cells(content, filename)
    except ValueError as exc:
        return [], [RowError(0, _("文件"), str(exc))]
    except Exception:  # a corrupt workbook: say so rather than fail
        return [], [RowError(0, _("文件"), _("文件无法读取，请确认是有效的 .xlsx 或 .csv 文件。"))]
    cells = [r for r in cells if any(_text(c) for c in r)]
    if not cells:
        return [], [RowError(0, _("文件"), _("文件中没有数据。"))]
    header = [_text(c).lower() for c in cells[0]]
    columns: dict[str, int] = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in {n.lower() for n in names}:
                columns[key] = i
                break
    missing = [HEADERS[k][0] for k in REQUIRED if k not in columns]
    if missing:
        return [], [RowError(1, _("表头"), _("缺少列：%(cols)s") % {"cols": "、".join(missing)})]
    if len(cells) - 1 > MAX_ROWS:
        return [], [RowError(0, _("文件"), _("一次最多导入 %(n)s 行。") % {"n": MAX_ROWS})]

    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for line, raw in enumerate(cells[1:], start=2):

        def cell(key: str, raw=raw) -> object:
            i = columns.get(key)
            return raw[i] if i is not None and i < len(raw) else None

        id_number = _text(cell("id_number"))
        name = _text(cell("name"))
        kind_text = _text(cell("kind"))
        date = _date(cell("date"))
        row_errors = []
        if not id_number:
            row_errors.append(RowError(line, HEADERS["id_number"][0], _("不能为空")))
        if not name:
            row_errors.append(RowError(line, HEADERS["name"][0], _("不能为空")))
        kind = KIND_WORDS.get(kind_text.lower()) or KIND_WORDS.get(kind_text)
        if kind is None:
            row_errors.append(
                RowError(
                    line, HEADERS["kind"][0], _("“%(v)s”无效，应为 确诊、出院 或 死亡") % {"v": kind_text}
                )
            )
        if date is None:
            row_errors.append(
                RowError(
                    line,
                    HEADERS["date"][0],
                    _("“%(v)s”不是有效日期（YYYY-MM-DD）") % {"v": _text(cell("date"))},
                )
            )
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(ParsedRow(line, id_number, name, str(kind), date, _text(cell("note"))[:200]))
    return rows, errors
