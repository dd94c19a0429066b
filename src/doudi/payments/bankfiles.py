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
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


# The issued lines of a run as the bank files read them (Arrow; ADBC on PostgreSQL).
LINE_COLUMNS = pa.schema(
    [
        ("ref", pa.string()),
        ("bank_code", pa.string()),
        ("account_number", pa.string()),
        ("holder_name", pa.string()),
        ("amount_fen", pa.int64()),
        ("scheme", pa.string()),
        ("month", pa.string()),
        ("district", pa.string()),
        ("beneficiary_id", pa.int64()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
    ]
)
# The files' order: district, household, scheme, person (then the reference).
FILE_ORDER = [(name, "ascending") for name in ("district", "household_id", "scheme", "person_id", "ref")]


# Fields a template writes from another column.
SOURCES = {"amount": "amount_fen", "scheme_code": "scheme"}


def needed_columns(templates: Iterable[dict[str, Any]]) -> list[str]:
    """The LINE_COLUMNS the files of `templates` read: the fields they write, the bank, the amount
    (control total) and the files' order — a million lines are not read for columns no file writes."""
    wanted = {"bank_code", "amount_fen"} | {name for name, _order in FILE_ORDER}
    for template in templates:
        columns = template.get("columns") if isinstance(template, dict) else None
        for column in columns if isinstance(columns, list) else []:
            field = column.get("field") if isinstance(column, dict) else None
            wanted.add(SOURCES.get(field, field) if isinstance(field, str) else "")
    return [name for name in LINE_COLUMNS.names if name in wanted]


def issued_lines(run_id: int, statuses: Iterable[str], columns: Iterable[str] | None = None) -> pa.Table:
    """The lines a run's bank files carry (issued by the run, in `statuses`), as Arrow: a million
    lines never become Python objects. Unordered: `file_order` gives the files' order. `columns`:
    those of LINE_COLUMNS to read (default: all)."""
    from doudi.verification.dataio import read_tables

    wanted = ", ".join(f"'{s}'" for s in statuses if re.fullmatch(r"[a-z]+", s))
    names = set(LINE_COLUMNS.names if columns is None else columns)
    schema = pa.schema([f for f in LINE_COLUMNS if f.name in names])
    sql = (
        f"SELECT {', '.join(schema.names)} FROM payments_paymentline "
        f"WHERE issue_run_id = {int(run_id)} AND status IN ({wanted})"
    )
    return read_tables({"lines": (sql, schema)})["lines"]


def file_order(table: pa.Table) -> pa.Array:
    """The row numbers of `table` in the files' order (FILE_ORDER): an index, not a sorted copy."""
    return pc.sort_indices(table, sort_keys=FILE_ORDER)


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _yuan_texts(fen: np.ndarray) -> pa.Array:
    """`yuan_text` of every amount at once."""
    whole = pc.cast(pa.array(fen // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(fen % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, cents, ".")


def _field_values(table: pa.Table, field: str) -> pa.Array:
    """A column's text as written in the file."""
    from doudi.payments.models import PayScheme

    n = table.num_rows
    if field == "amount":
        return _yuan_texts(np.asarray(table.column("amount_fen").to_numpy(), dtype=np.int64))
    source = "scheme" if field == "scheme_code" else field
    column = table.column(source).combine_chunks() if n else pa.array([], pa.string())
    if field == "scheme":
        names = dict(PayScheme.choices)
        codes = pc.unique(column)
        labels = pa.array([str(names.get(c, c)) for c in codes.to_pylist()], pa.string())
        return pc.take(labels, pc.index_in(column, value_set=codes))
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, "")


def _csv_values(values: pa.Array, alone: bool) -> pa.Array:
    """As `csv.writer` (QUOTE_MINIMAL) writes a field: quoted when it holds a comma, a quote or a line
    break (a quote doubled); an empty field alone on its row is written as ``""``."""
    needs = pc.match_substring_regex(values, r'[,"\r\n]')
    if alone:
        needs = pc.or_(needs, pc.equal(values, ""))
    if not pc.any(needs).as_py():
        return values
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def _joined(parts: list[pa.Array], separator: str) -> bytes:
    """Each row's parts joined by `separator` and ended by CRLF, as one UTF-8 buffer (no per-row
    Python objects)."""
    if not parts or not len(parts[0]):
        return b""
    rows = pc.binary_join_element_wise(*parts, separator) if len(parts) > 1 else parts[0]
    rows = pc.binary_join_element_wise(rows, "\r\n", "")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return rows.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()


def _fixed_values(column: dict[str, Any], values: pa.Array, encoding: str, start: int = 0) -> pa.Array:
    """A fixed-width column: each value padded to `width` bytes of the encoding, never cut."""
    width, pad = column["width"], column.get("pad", " ")
    right = column.get("align", "left") == "right"
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:  # one byte a character
        too_long = pc.greater(pc.utf8_length(values), width)
        padded = pc.utf8_lpad(values, width, pad) if right else pc.utf8_rpad(values, width, pad)
    else:
        texts = values.to_pylist()
        sizes = np.array([len(v.encode(encoding)) for v in texts], dtype=np.int64)
        too_long = pa.array(sizes > width)
        fill = [pad * max(width - n, 0) for n in sizes.tolist()]
        padded = pa.array([f + v if right else v + f for v, f in zip(texts, fill, strict=True)], pa.string())
    if pc.any(too_long).as_py():
        first = int(np.flatnonzero(np.asarray(too_long.to_numpy(zero_copy_only=False)))[0])
        raise BankFileError(
            _("%(where)s：%(field)s 超过 %(width)s 字节的列宽")
            % {"where": _("第 %(i)s 笔") % {"i": start + first + 1}, "field": column["field"], "width": width}
        )
    return padded


# Lines rendered at a time: a file of millions of lines is written piece by piece, never whole in memory.
CHUNK = 250_000


def render(
    template: dict[str, Any], rows: list[dict[str, Any]] | pa.Table, *, run: Any = None, bank: Any = None
) -> bytes:
    """The file's bytes: the same rows always give the same bytes. `rows`: the lines (an Arrow table
    of LINE_COLUMNS, or dicts with the fields the template names), in the file's order."""
    return b"".join(render_parts(template, rows))


def render_parts(
    template: dict[str, Any], rows: list[dict[str, Any]] | pa.Table, order: pa.Array | None = None
) -> Iterator[bytes]:
    """The file's bytes in pieces: the header, the lines CHUNK at a time, the trailer. `order`: the
    rows of `rows` the file carries, in the file's order (default: all, as they are)."""
    errors = template_errors(template)
    if errors:
        raise BankFileError("; ".join(errors))
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
    if order is None:
        order = pa.array(np.arange(table.num_rows, dtype=np.int64))
    columns = template["columns"]
    encoding = template.get("encoding", "utf-8")
    header = [c.get("title") or FIELDS[c["field"]] for c in columns]
    count = len(order)
    total = int(pc.sum(pc.take(table.column("amount_fen"), order)).as_py() or 0) if count else 0
    trailer = ["合计", str(count), yuan_text(total)]
    fmt = template["format"]
    needed = {SOURCES.get(c["field"], c["field"]) for c in columns} | {"amount_fen"}
    table = table.select([name for name in table.column_names if name in needed])

    def chunks() -> Iterator[tuple[int, list[pa.Array]]]:
        for start in range(0, count, CHUNK):
            part = table.take(order[start : start + CHUNK])
            yield start, [_field_values(part, c["field"]) for c in columns]

    if fmt == "xlsx":
        body_rows = [list(r) for _start, v in chunks() for r in zip(*(a.to_pylist() for a in v), strict=True)]
        yield _xlsx(
            header if template.get("header") else None,
            body_rows,
            trailer if template.get("trailer") else None,
            columns,
        )
        return
    if fmt == "csv":
        out = io.StringIO()
        if template.get("header"):
            csv.writer(out, lineterminator="\r\n").writerow(header)
        yield out.getvalue().encode(encoding)
        for _start, values in chunks():
            yield _encoded(_joined([_csv_values(v, len(columns) == 1) for v in values], ","), encoding)
        out = io.StringIO()
        if template.get("trailer"):
            csv.writer(out, lineterminator="\r\n").writerow(trailer)
        yield out.getvalue().encode(encoding)
        return
    if template.get("header"):
        yield _fixed_line(columns, header, encoding, where=_("表头")) + b"\r\n"
    for start, values in chunks():
        padded = [_fixed_values(c, v, encoding, start) for c, v in zip(columns, values, strict=True)]
        yield _encoded(_joined(padded, ""), encoding)
    if template.get("trailer"):
        yield f"T{count:010d}{total:016d}\r\n".encode(encoding)


def _encoded(utf8: bytes, encoding: str) -> bytes:
    return utf8 if encoding == "utf-8" else utf8.decode("utf-8").encode(encoding)


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


def write_atomically(path: Path, content: bytes | Iterable[bytes]) -> tuple[Path, str]:
    """Write under a temporary name, flush to disk, then rename: a reader never sees half a file.
    `content` may come in pieces (a file of millions of lines); returns the path and its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    digest = hashlib.sha256()
    with open(tmp, "wb") as f:
        for part in [content] if isinstance(content, bytes) else content:
            f.write(part)
            digest.update(part)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path, digest.hexdigest()


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
