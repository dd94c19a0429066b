"""代发文件 and 回盘: the file each bank takes, from the column template the bureau configured, and the
bank's return file.

A template (`Bank.file_template`, JSON) names the format, the encoding and the columns:

    {"format": "csv" | "xlsx" | "fixed", "encoding": "utf-8" | "gb18030",
     "header": true, "trailer": true,
     "columns": [{"field": "account_number", "title": "账号", "width": 19, "align": "left", "pad": " "}, …]}

`width`, `align` and `pad` matter only for fixed-width text, where the width is counted in bytes of the
encoding (a Chinese character is 2 bytes in GB18030, 3 in UTF-8) and a value that does not fit is an
error, never cut. The trailer is the control line: count and total. Files are deterministic — the same
lines give byte-identical files (XLSX with fixed document and zip timestamps) — so a payroll killed and
run again writes exactly the file an uninterrupted run writes.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

FORMATS = ("csv", "xlsx", "fixed")
ENCODINGS = ("utf-8", "gb18030")
ALIGNS = ("left", "right")
# The fields a column may carry.
FIELDS = {
    "ref": "流水号",
    "account_number": "账号",
    "holder_name": "户名",
    "amount": "金额（元）",
    "amount_fen": "金额（分）",
    "scheme": "发放项目",
    "scheme_code": "项目代码",
    "month": "发放月份",
    "district": "区县代码",
    "beneficiary_id": "保障对象编号",
}
NUMERIC = frozenset({"amount", "amount_fen", "beneficiary_id"})
MAX_COLUMNS = 30
FIXED_TIME = datetime.datetime(2020, 1, 1, 0, 0, 0)
DEFAULT_TEMPLATE: dict[str, Any] = {
    "format": "csv",
    "encoding": "utf-8",
    "header": True,
    "trailer": True,
    "columns": [
        {"field": "ref", "title": "流水号"},
        {"field": "account_number", "title": "账号"},
        {"field": "holder_name", "title": "户名"},
        {"field": "amount", "title": "金额"},
        {"field": "scheme", "title": "摘要"},
    ],
}


class BankFileError(ValueError):
    """A line cannot be written in the bank's template (e.g. a value wider than its fixed column)."""


# --- the template ------------------------------------------------------------------------------------


def template_errors(template: Any) -> list[str]:
    """Every problem of a template, each naming the key or column (an empty list: valid)."""
    if not isinstance(template, dict):
        return [_("模板必须是 JSON 对象")]
    errors: list[str] = []
    known = {"format", "encoding", "header", "trailer", "columns"}
    for key in sorted(set(template) - known):
        errors.append(_("未知的键：%(key)s") % {"key": key})
    fmt = template.get("format")
    if fmt not in FORMATS:
        errors.append(_("format 必须是 csv、xlsx 或 fixed"))
    if template.get("encoding", "utf-8") not in ENCODINGS:
        errors.append(_("encoding 必须是 utf-8 或 gb18030"))
    for key in ("header", "trailer"):
        if not isinstance(template.get(key, False), bool):
            errors.append(_("%(key)s 必须是 true 或 false") % {"key": key})
    columns = template.get("columns")
    if not isinstance(columns, list) or not columns:
        errors.append(_("columns 必须是非空列表"))
        return errors
    if len(columns) > MAX_COLUMNS:
        errors.append(_("列数不能超过 %(n)s") % {"n": MAX_COLUMNS})
    for i, column in enumerate(columns, start=1):
        where = _("第 %(i)s 列") % {"i": i}
        if not isinstance(column, dict):
            errors.append(_("%(where)s：必须是 JSON 对象") % {"where": where})
            continue
        for key in sorted(set(column) - {"field", "title", "width", "align", "pad"}):
            errors.append(_("%(where)s：未知的键 %(key)s") % {"where": where, "key": key})
        if column.get("field") not in FIELDS:
            errors.append(
                _("%(where)s：field 必须是以下之一：%(fields)s")
                % {"where": where, "fields": ", ".join(FIELDS)}
            )
        title = column.get("title", "")
        if not isinstance(title, str) or len(title) > 40 or not title.isprintable():
            errors.append(_("%(where)s：title 必须是不超过 40 个可见字符的文字") % {"where": where})
        width = column.get("width")
        if fmt == "fixed" and not (
            isinstance(width, int) and not isinstance(width, bool) and 1 <= width <= 200
        ):
            errors.append(_("%(where)s：定长格式需要 1–200 的 width（字节）") % {"where": where})
        elif width is not None and not (
            isinstance(width, int) and not isinstance(width, bool) and 1 <= width <= 200
        ):
            errors.append(_("%(where)s：width 必须是 1–200 的整数") % {"where": where})
        if column.get("align", "left") not in ALIGNS:
            errors.append(_("%(where)s：align 必须是 left 或 right") % {"where": where})
        pad = column.get("pad", " ")
        if not (isinstance(pad, str) and len(pad) == 1 and pad.isascii() and pad.isprintable()):
            errors.append(_("%(where)s：pad 必须是一个可见的 ASCII 字符") % {"where": where})
    return errors


# --- rendering -----------------------------------------------------------------------------------------


def line_rows(lines) -> list[dict[str, Any]]:
    """The issued lines of one bank, in the file's order (district, household, scheme, person)."""
    from doudi.payments.models import PayScheme

    names = dict(PayScheme.choices)
    return [
        {
            "ref": row["ref"],
            "account_number": row["account_number"],
            "holder_name": row["holder_name"],
            "amount_fen": row["amount_fen"],
            "amount": yuan_text(row["amount_fen"]),
            "scheme": str(names.get(row["scheme"], row["scheme"])),
            "scheme_code": row["scheme"],
            "month": row["month"],
            "district": row["district"],
            "beneficiary_id": row["beneficiary_id"],
        }
        for row in lines.order_by("district", "household_id", "scheme", "person_id", "ref").values(
            "ref",
            "account_number",
            "holder_name",
            "amount_fen",
            "scheme",
            "month",
            "district",
            "beneficiary_id",
            "household_id",
            "person_id",
        )
    ]


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def render(
    template: dict[str, Any], rows: list[dict[str, Any]], *, run: Any = None, bank: Any = None
) -> bytes:
    """The file's bytes: the same rows always give the same bytes."""
    errors = template_errors(template)
    if errors:
        raise BankFileError("; ".join(errors))
    columns = template["columns"]
    encoding = template.get("encoding", "utf-8")
    header = [c.get("title") or FIELDS[c["field"]] for c in columns]
    body = [[str(row[c["field"]]) for c in columns] for row in rows]
    total = sum(row["amount_fen"] for row in rows)
    trailer = ["合计", str(len(rows)), yuan_text(total)]
    fmt = template["format"]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if template.get("header"):
            writer.writerow(header)
        writer.writerows(body)
        if template.get("trailer"):
            writer.writerow(trailer)
        return out.getvalue().encode(encoding)
    if fmt == "fixed":
        out_lines = []
        if template.get("header"):
            out_lines.append(_fixed_line(columns, header, encoding, where=_("表头")))
        for i, values in enumerate(body, start=1):
            out_lines.append(_fixed_line(columns, values, encoding, where=_("第 %(i)s 笔") % {"i": i}))
        if template.get("trailer"):
            out_lines.append(f"T{len(rows):010d}{total:016d}".encode(encoding))
        return b"".join(line + b"\r\n" for line in out_lines)
    return _xlsx(
        header if template.get("header") else None,
        body,
        trailer if template.get("trailer") else None,
        columns,
    )


def _fixed_line(columns: list[dict[str, Any]], values: list[str], encoding: str, *, where: str) -> bytes:
    parts = []
    for column, value in zip(columns, values, strict=True):
        data = value.encode(encoding)
        width = column["width"]
        if len(data) > width:
            raise BankFileError(
                _("%(where)s：%(field)s 超过 %(width)s 字节的列宽")
                % {"where": where, "field": column["field"], "width": width}
            )
        pad = column.get("pad", " ").encode("ascii") * (width - len(data))
        parts.append(pad + data if column.get("align", "left") == "right" else data + pad)
    return b"".join(parts)


def _xlsx(header, body, trailer, columns) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "代发"
    if header:
        ws.append(header)
    for values, in_row in ((v, True) for v in body):
        del in_row
        ws.append(
            [
                int(v) if c["field"] in ("amount_fen", "beneficiary_id") else v
                for c, v in zip(columns, values, strict=True)
            ]
        )
    if trailer:
        ws.append(trailer)
    wb.properties.creator = "doudi"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """The same entries with fixed timestamps (a zip stores each entry's time)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"<dcterms:modified([^>]*)>[^<]*<",
                    rb"<dcterms:modified\1>2020-01-01T00:00:00Z<",
                    content,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, content)
    return out.getvalue()


def file_name(template: dict[str, Any], *, run: Any, bank: Any) -> str:
    ext = {"csv": "csv", "xlsx": "xlsx", "fixed": "txt"}[template.get("format", "csv")]
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", bank.code)
    return f"{safe}_{run.month}_r{run.round}.{ext}"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write_atomically(path: Path, content: bytes) -> Path:
    """Write under a temporary name, flush to disk, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


# --- the return file -----------------------------------------------------------------------------------

RETURN_COLUMNS = {
    "ref": ("流水号", "ref"),
    "account_number": ("账号", "account_number"),
    "amount": ("金额", "amount"),
    "result": ("结果", "result"),
    "code": ("失败代码", "code"),
    "reason": ("失败原因", "reason"),
}
RESULTS = {"成功": "paid", "paid": "paid", "s": "paid", "失败": "failed", "failed": "failed", "f": "failed"}
_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,2})?")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")
MAX_PROBLEMS = 1000


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BankFileError(_("无法识别文件编码（应为 UTF-8 或 GB18030）"))


def _clean(value: str | None) -> str:
    # Invisible characters (zero-width spaces, BOMs) pasted into a cell are not part of a value.
    return re.sub(r"[\u200b-\u200f\u2060\ufeff\s]", "", value or "")


def parse_return(content: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The return file's rows (ref, account_number, amount_fen, result, code, reason) and every
    problem found ({row, field, message}; row = data row from 1, 0 for the file itself)."""
    problems: list[dict[str, Any]] = []
    if not content.strip():
        return [], [{"row": 0, "field": "file", "message": _("文件为空")}]
    try:
        text = _decode(content)
    except BankFileError as exc:
        return [], [{"row": 0, "field": "file", "message": str(exc)}]
    reader = csv.reader(io.StringIO(text))
    header = [_clean(h).lower() for h in next(reader, [])]
    positions: dict[str, int] = {}
    for name, labels in RETURN_COLUMNS.items():
        for label in labels:
            if label.lower() in header:
                positions[name] = header.index(label.lower())
                break
    missing = [
        RETURN_COLUMNS[n][0] for n in ("ref", "account_number", "amount", "result") if n not in positions
    ]
    if missing:
        return [], [
            {"row": 0, "field": "header", "message": _("缺少列：%(cols)s") % {"cols": "、".join(missing)}}
        ]
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=1):
        if not any(_clean(v) for v in raw):
            continue
        if raw and _clean(raw[0]) == "合计":
            continue  # the control line of a file echoed back

        def cell(name: str, raw=raw) -> str:
            i = positions.get(name)
            return _clean(raw[i]) if i is not None and i < len(raw) else ""

        def problem(field: str, message: str, number=number) -> None:
            problems.append({"row": number, "field": field, "message": message})

        ref = cell("ref")
        if not ref.isdigit() or len(ref) > 20:
            problem("ref", _("流水号必须是数字"))
            continue
        if ref in seen:
            problem("ref", _("流水号与第 %(row)s 行重复") % {"row": seen[ref]})
            continue
        seen[ref] = number
        amount_text = cell("amount").replace(",", "")
        amount_fen = None
        if not _AMOUNT.fullmatch(amount_text):
            problem("amount", _("金额必须是不超过两位小数的非负数"))
        else:
            try:
                amount_fen = int(Decimal(amount_text) * 100)
            except InvalidOperation:
                problem("amount", _("金额必须是不超过两位小数的非负数"))
        result = RESULTS.get(cell("result").lower())
        if result is None:
            problem("result", _("结果必须是“成功”或“失败”"))
        code = cell("code")
        reason = (
            raw[positions["reason"]].strip()
            if "reason" in positions and positions["reason"] < len(raw)
            else ""
        )
        if result == "failed" and not _CODE.fullmatch(code):
            problem("code", _("失败的笔必须有失败代码（字母、数字，最多 16 位）"))
        account = cell("account_number")
        if not account:
            problem("account_number", _("账号不能为空"))
        rows.append(
            {
                "row": number,
                "ref": ref,
                "account_number": account,
                "amount_fen": amount_fen,
                "result": result,
                "code": code if result == "failed" else "",
                "reason": reason,
            }
        )
        if len(problems) >= MAX_PROBLEMS:
            break
    if not rows and not problems:
        problems.append({"row": 0, "field": "file", "message": _("文件中没有数据行")})
    return rows, problems


def return_template(rows: Iterable[dict[str, Any]]) -> bytes:
    """A return file for `rows` ({ref, account_number, amount_fen, result, code, reason}) — what a
    bank sends back; used by tests and the documentation's example."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["流水号", "账号", "金额", "结果", "失败代码", "失败原因"])
    for r in rows:
        writer.writerow(
            [
                r["ref"],
                r["account_number"],
                yuan_text(r["amount_fen"]),
                "成功" if r["result"] == "paid" else "失败",
                r.get("code", ""),
                r.get("reason", ""),
            ]
        )
    return out.getvalue().encode("utf-8")
