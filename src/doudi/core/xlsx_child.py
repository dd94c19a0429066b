"""The child process that reads an uploaded .xlsx for `doudi.core.excel.xlsx_rows`.

Run as `python -P xlsx_child.py LIMITS [PATH]` (the workbook on stdin when no PATH). It imports only the
standard library and python-calamine, never Django, so it starts in a few tens of milliseconds.

Why a separate process: calamine is Rust; asked for a sheet whose one cell sits at XFD1048576 it
allocates the whole rectangle (17 billion cells, half a terabyte) and the allocation failure aborts the
process. Here that process is a throwaway child with an address-space and CPU limit, and before
calamine sees the file the child checks, from the zip directory and a streaming scan of the sheet XML:
that it is a zip, the uncompressed size of every part (zip bombs), the sheet's declared dimension and
the rectangle its cells actually span.

Output on stdout, one JSON document per line: first {"ok": true} or {"refused": CODE, ...details}, then
one JSON array per row, then {"end": N}. Dates and times are tagged objects ({"$": "date", "v": iso}).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
MAX_PARTS = 10_000
CHUNK = 1 << 20

DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s[^>]*?\bref=\"([A-Za-z]{1,3})(\d{1,7})(?::([A-Za-z]{1,3})(\d{1,7}))?\""
)
# The `r` attribute is a cell's reference (letters and digits) or a row's number (digits only); no
# other element of a sheet has one. A bare search for it is ten times faster than matching the tags.
REFERENCE = re.compile(rb"\sr=\"([A-Za-z]{0,3})([0-9]{1,7})\"")
CELL_TAGS = (b"<c ", b"<c>", b"<c/>", b":c ", b":c>", b":c/>")  # a few false hits only err on the safe side
SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?\s(?:\w+:)?id=\"([^\"]+)\"")
RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")
ATTRIBUTE = re.compile(rb"(\w+)=\"([^\"]*)\"")


class Refused(Exception):
    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _limit_resources(memory_mb: int, cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # not on a POSIX system: the checks below still apply
        return
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def _first_sheet(book: zipfile.ZipFile, names: set[str]) -> str | None:
    """The part name of the workbook's first sheet (the one calamine reads as index 0)."""
    try:
        workbook = book.read("xl/workbook.xml")
        rels = book.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    first = SHEET_TAG.search(workbook)
    if first is None:
        return None
    for tag in RELATIONSHIP.findall(rels):
        attrs = dict(ATTRIBUTE.findall(tag))
        if attrs.get(b"Id") == first.group(1):
            target = attrs.get(b"Target", b"").decode("utf-8", "replace")
            path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            return path if path in names else None
    return None


def inspect(source: BinaryIO, limits: dict[str, int]) -> None:
    """Raise Refused unless the workbook is a zip whose parts and first sheet stay within the limits."""
    try:
        book = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Refused("not_xlsx") from exc
    with book:
        infos = book.infolist()
        if len(infos) > MAX_PARTS:
            raise Refused("too_many_parts", parts=len(infos))
        total = 0
        for info in infos:
            if info.file_size > limits["max_part_bytes"]:
                raise Refused("part_too_large", part=info.filename, bytes=info.file_size)
            total += info.file_size
        if total > limits["max_total_bytes"]:
            raise Refused("part_too_large", part="*", bytes=total)
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise Refused("not_xlsx")
        sheet = _first_sheet(book, names)
        sheets = [sheet] if sheet else sorted(n for n in names if n.startswith("xl/worksheets/"))
        for name in sheets:
            _check_sheet(book, name, limits)


def _check_sheet(book: zipfile.ZipFile, name: str, limits: dict[str, int]) -> None:
    max_row = max_col = cells = 0
    declared = False
    tail = b""
    with book.open(name) as part:
        while chunk := part.read(CHUNK):
            # Keep a tail so a tag cut by the chunk boundary is seen whole; seeing a reference twice
            # changes neither maximum.
            buffer = tail + chunk
            if not declared and (found := DIMENSION.search(buffer)):
                declared = True
                first, last = (
                    found.group(1) + found.group(2),
                    (found.group(3) or b"") + (found.group(4) or b""),
                )
                ref = (first + (b":" + last if last else b"")).decode("ascii").upper()
                rows, columns = (
                    int(found.group(4) or found.group(2)),
                    column_number(found.group(3) or found.group(1)),
                )
                _check_extent("declared", rows, columns, limits, ref=ref)
            if refs := REFERENCE.findall(buffer):
                max_row = max(max_row, *map(int, {digits for _, digits in refs}))
                max_col = max(max_col, *map(column_number, {letters for letters, _ in refs}))
            cells += sum(chunk.count(tag) for tag in CELL_TAGS)
            if cells > limits["max_cells"]:
                raise Refused("cells", cells=cells, limit=limits["max_cells"])
            _check_extent("span", max_row, max_col, limits)
            tail = buffer[-256:]


def _check_extent(kind: str, rows: int, columns: int, limits: dict[str, int], ref: str = "") -> None:
    """calamine builds the rectangle from A1 to the last cell, so that rectangle is what costs memory."""
    if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS or rows * columns > limits["max_cells"]:
        raise Refused(kind, rows=rows, columns=columns, ref=ref, limit=limits["max_cells"])


def _tag(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$": "time", "v": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"$": "timedelta", "v": value.total_seconds()}
    return str(value)


def rows(source: BinaryIO) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_filelike(source).get_sheet_by_index(0)
    for row in sheet.iter_rows():
        yield list(row)


def main(argv: list[str]) -> int:
    limits = json.loads(argv[1])
    _limit_resources(limits["memory_mb"], limits["cpu_seconds"])
    data = open(argv[2], "rb").read() if len(argv) > 2 else sys.stdin.buffer.read()
    out = sys.stdout
    try:
        inspect(io.BytesIO(data), limits)
    except Refused as refusal:
        out.write(json.dumps({"refused": refusal.code, **refusal.details}, default=str) + "\n")
        return 0
    try:
        reader = rows(io.BytesIO(data))
        first = next(reader, None)
    except Exception as exc:  # calamine's own error kinds for a damaged workbook
        out.write(json.dumps({"refused": "damaged", "error": str(exc)[:200]}) + "\n")
        return 0
    out.write('{"ok": true}\n')
    count = 0
    if first is not None:
        out.write(json.dumps(first, default=_tag, ensure_ascii=False) + "\n")
        count = 1
        for row in reader:
            out.write(json.dumps(row, default=_tag, ensure_ascii=False) + "\n")
            count += 1
    out.write(json.dumps({"end": count}) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
