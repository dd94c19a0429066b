"""The shared spreadsheet readers (core/excel.py) refuse hostile files with a message and survive a
reader that dies: the web worker never reads an upload in its own process."""

import datetime
import io
import os

import pytest
from openpyxl import Workbook

from doudi.core import excel
from hostile_files import far_cell_workbook, rows_workbook, zip_bomb_workbook


def test_an_honest_workbook_reads_with_its_types():
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "日期", "金额"])
    ws.append(["张三", datetime.date(2020, 3, 1), 12.5])
    ws.append([])
    ws.append(["李四", datetime.datetime(2020, 3, 2, 8, 30), 7])
    buf = io.BytesIO()
    wb.save(buf)
    rows = list(excel.xlsx_rows(buf.getvalue()))
    assert rows[0] == ["姓名", "日期", "金额"]
    assert rows[1] == ["张三", datetime.date(2020, 3, 1), 12.5]
    assert rows[2] == ["", "", ""]
    assert rows[3] == ["李四", datetime.datetime(2020, 3, 2, 8, 30), 7.0]
    assert list(excel.xlsx_rows(rows_workbook([["a", "b"], ["1", "2"]]))) == [["a", "b"], ["1", "2"]]


def test_a_far_away_cell_is_refused_by_its_declared_dimension():
    data = far_cell_workbook()
    assert len(data) < 2000
    with pytest.raises(excel.SpreadsheetRefused) as refused:
        excel.xlsx_rows(data)
    message = str(refused.value)
    assert "A1:XFD1048576" in message and "1,048,576 行 × 16,384 列" in message and "5,000,000" in message


def test_a_far_away_cell_is_refused_when_no_dimension_is_declared():
    for data in (far_cell_workbook(None), far_cell_workbook("A1", with_a1=True)):
        with pytest.raises(excel.SpreadsheetRefused, match="第 1,048,576 行、第 16,384 列"):
            excel.xlsx_rows(data)


def test_a_zip_bomb_is_refused_before_it_is_inflated(monkeypatch):
    monkeypatch.setattr(excel, "MAX_PART_BYTES", 2 * 1024 * 1024)
    bomb = zip_bomb_workbook(uncompressed_mb=3)
    assert len(bomb) < 20_000
    with pytest.raises(excel.SpreadsheetRefused, match="压缩炸弹"):
        excel.xlsx_rows(bomb)


@pytest.mark.parametrize(
    "data", [b"PK\x03\x04" + b"\0" * 200, b"hello, this is not a workbook", b"", rows_workbook([["a"]])[:300]]
)
def test_a_file_that_is_not_a_workbook_is_refused(data):
    with pytest.raises(excel.SpreadsheetRefused, match=r"不是有效的 \.xlsx"):
        excel.xlsx_rows(data)


def test_a_reader_that_dies_is_a_refusal_and_this_process_lives_on():
    """With the guard lifted, calamine asks for half a terabyte and aborts — in the child only."""
    with pytest.raises(excel.SpreadsheetRefused, match="超出了内存或时间限制"):
        list(excel.xlsx_rows(far_cell_workbook(with_a1=True), max_cells=10**12))
    assert list(excel.xlsx_rows(rows_workbook([["still", "here"]]))) == [["still", "here"]]
    assert os.getpid()


def test_the_cell_limit_counts_cells_from_a1(monkeypatch):
    data = rows_workbook([["a"] * 10] * 10)
    assert len(list(excel.xlsx_rows(data, max_cells=100))) == 10
    with pytest.raises(excel.SpreadsheetRefused, match="超过 99 个"):
        excel.xlsx_rows(data, max_cells=99)


def test_csv_with_an_absurd_line_is_refused_naming_the_line():
    data = b"a,b\n1,2\n" + b"," * (excel.MAX_LINE_CHARS + 1) + b"\n"
    with pytest.raises(excel.SpreadsheetRefused, match="第 3 行超过 100,000 个字符"):
        excel.csv_rows(data)
    with pytest.raises(excel.SpreadsheetRefused, match="第 1 行超过"):
        excel.first_csv_row(io.StringIO("x" * (excel.MAX_LINE_CHARS + 1)))
    assert excel.csv_rows(b"a,b\n" + b"x" * (excel.MAX_LINE_CHARS - 2) + b",1\n")[1][1] == "1"


def test_csv_encodings_and_delimiters():
    assert excel.csv_rows("姓名;号\n张三;1\n".encode("gb18030")) == [["姓名", "号"], ["张三", "1"]]
    assert excel.csv_rows("\ufeff姓名\t号\n".encode()) == [["姓名", "号"]]
    with pytest.raises(excel.SpreadsheetRefused, match="编码"):
        excel.csv_rows(b"\xff\xfe\x00\x81\x30")
