"""Bulk import: a good file writes everything; one bad row writes nothing and is reported by row and
column; scope; encodings; the error report and the template."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from idnumbers import make_id
from openpyxl import Workbook, load_workbook

from doudi.audit.models import AuditAction, AuditEntry
from doudi.registry import importing
from doudi.registry import services as reg
from doudi.registry.models import Household, Membership, Person, PersonCategory, PossibleDuplicate, Relation

HEADERS = ["户编号", "村社区代码", "城乡类别", "地址", "存款（元）", "车辆（辆）", "姓名", "身份证号", "与户主关系",
           "手机号", "工资性收入（元/月）", "类别", "出生日期"]  # fmt: skip
TODAY = datetime.date(2026, 11, 28)


def good_rows():
    return [
        ["H1", "500101001001", "城市", "高笋塘路1号", "12345.67", "1", "张三", make_id("500101", "19800101", 11),
         "户主", "13812345678", "1500", "低保对象、建档立卡贫困人口", ""],
        ["H1", "", "", "", "", "", "李四", make_id("510104", "19820202", 22), "配偶", "", "800.5", "", "1982-02-02"],
        ["H1", "500101001001", "城市", "", "", "", "张小", make_id("500101", "20100303", 31).lower(), "子女", "",
         "", "", ""],
        ["H2", "500101001002", "农村", "太白村3组", "0", "0", "赵六", make_id("440305", "19600505", 41), "户主",
         "", "", "特困人员", ""],
    ]  # fmt: skip


def to_xlsx(headers, rows, *, title_row=None):
    wb = Workbook()
    ws = wb.active
    if title_row:
        ws.append([title_row])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_csv(headers, rows, encoding="utf-8-sig"):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def counts():
    return tuple(
        m.objects.count() for m in (Household, Person, Membership, PersonCategory, PossibleDuplicate)
    )


def run(officer, data, filename="persons.xlsx"):
    return importing.import_file(officer=officer, data=data, filename=filename, today=TODAY)


def assert_good_file_written(result, officer):
    assert result.ok, result.errors
    assert (result.households, result.persons, result.memberships, result.categories) == (2, 4, 4, 3)
    h1 = Household.objects.get(address="高笋塘路1号")
    assert (h1.region_id, h1.area_type, h1.deposits_fen, h1.vehicles) == (
        "500101001001",
        "urban",
        1_234_567,
        1,
    )
    assert h1.head.name == "张三"
    members = dict(Membership.objects.filter(household=h1).values_list("person__name", "relation"))
    assert members == {"张三": Relation.HEAD, "李四": Relation.SPOUSE, "张小": Relation.CHILD}
    li = Person.objects.get(name="李四")
    assert (li.income_wage_fen, li.birth_date, li.sex, li.region_id) == (80_050, datetime.date(1982, 2, 2), "F",
                                                                         "500101001001")  # fmt: skip
    assert (
        Person.objects.get(name="张小").id_number.isupper()
        or Person.objects.get(name="张小").id_number.isdigit()
    )
    assert set(PersonCategory.objects.filter(person__name="张三").values_list("category", flat=True)) == {
        "dibao", "registered_poor"}  # fmt: skip
    assert Membership.objects.filter(joined_on=TODAY).count() == 4
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.actor == officer and entry.object_id == result.sha256
    assert (
        entry.after["persons"] == 4
        and entry.after["households"] == 2
        and entry.after["sha256"] == result.sha256
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv-utf8-bom", "csv-utf8", "csv-gb18030"])
def test_good_file_writes_everything(fmt, district_a):
    if fmt == "xlsx":
        data, name = to_xlsx(HEADERS, good_rows()), "p.xlsx"
    else:
        encoding = {"csv-utf8-bom": "utf-8-sig", "csv-utf8": "utf-8", "csv-gb18030": "gb18030"}[fmt]
        data, name = to_csv(HEADERS, good_rows(), encoding), "p.csv"
    assert_good_file_written(run(district_a, data, name), district_a)


def test_english_headers_title_row_and_excel_typed_cells(district_a):
    headers = ["household_key", "village_code", "area_type", "name", "id_number", "relation", "deposits",
               "birth_date", "income_wage"]  # fmt: skip
    rows = [
        [1, 500101001001, "urban", "张三", make_id("500101", "19800101", 11), "head", 1234.56,
         datetime.datetime(1980, 1, 1), 2000],
        [1, 500101001001, "urban", "李四", make_id("500101", "19820202", 22), "spouse", 1234.56, None, 0.1],
    ]  # fmt: skip
    result = run(district_a, to_xlsx(headers, rows, title_row="万州区高笋塘社区花名册"))
    assert result.ok, result.errors
    assert Household.objects.get().deposits_fen == 123_456
    assert Person.objects.get(name="李四").income_wage_fen == 10


def test_one_bad_row_writes_nothing_and_reports_row_and_column(district_a):
    rows = good_rows()
    rows[1][10] = "12.345"  # three decimals in 工资性收入, sheet row 3
    before = counts()
    audit_before = AuditEntry.objects.count()
    result = run(district_a, to_xlsx(HEADERS, rows))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(3, "工资性收入（元/月）")]
    assert "两位小数" in result.errors[0].message
    assert counts() == before
    assert AuditEntry.objects.count() == audit_before


def test_every_kind_of_error_is_reported_at_once(district_a, regions):
    existing = reg.register_household(officer=district_a, region=regions.a_v, area_type="urban")
    taken = make_id("500101", "19700707", 71)
    reg.register_person(officer=district_a, id_number=taken, name="老王", household=existing, relation="head")
    rows = good_rows()
    good_id = rows[0][7]
    bad_check = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    rows += [
        ["H3", "500101001001", "城市", "", "-5", "", "甲", bad_check, "户主", "", "", "", ""],  # 6
        ["H4", "500101001001", "城里", "", "", "", "乙", good_id, "户主", "", "", "", ""],  # 7: dup of row 2
        ["H5", "500102001001", "城市", "", "", "", "丙", taken, "户主", "", "", "", ""],  # 8: other district
        ["H6", "500101001", "城市", "", "", "", "丁", make_id("500101", "19900101", 81), "子女", "", "", "", ""],  # 9
        ["H1", "500101001002", "", "", "", "", "戊", make_id("500101", "19910101", 91), "户主", "", "", "", ""],  # 10
        ["H2", "", "", "", "", "", "", make_id("500101", "19920101", 93), "孙子女", "", "", "博士", "1992-01-02"],  # 11
    ]  # fmt: skip
    result = run(district_a, to_csv(HEADERS, rows), "persons.csv")
    assert not result.ok
    found = {(e.row, e.column) for e in result.errors}
    assert {
        (6, "身份证号"),  # checksum
        (6, "存款（元）"),  # negative
        (7, "城乡类别"),  # unknown value
        (7, "身份证号"),  # repeated in the file
        (8, "身份证号"),  # already registered
        (8, "村社区代码"),  # outside the officer's district
        (9, "村社区代码"),  # a township, not a village
        (9, "与户主关系"),  # household H6 has no head
        (10, "村社区代码"),  # H1 says another village
        (10, "与户主关系"),  # H1 gets a second head
        (11, "姓名"),  # required
        (11, "类别"),
        (11, "出生日期"),  # contradicts the ID
    } <= found, sorted(found)
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "第 2 行" in messages[(7, "身份证号")]
    assert "已登记" in messages[(8, "身份证号")]
    assert "管辖范围" in messages[(8, "村社区代码")]
    assert "校验位" in messages[(6, "身份证号")]
    assert Person.objects.count() == 1


def test_out_of_scope_village_is_refused(district_b):
    before = counts()
    result = run(district_b, to_xlsx(HEADERS, good_rows()))
    assert not result.ok
    assert {(e.row, e.column) for e in result.errors} == {
        (2, "村社区代码"),
        (4, "村社区代码"),
        (5, "村社区代码"),
    }
    assert all("管辖范围" in e.message for e in result.errors)
    assert counts() == before


def test_missing_required_column_and_unknown_columns(district_a):
    headers = [h for h in HEADERS if h != "身份证号"] + ["备注"]
    rows = [[c for i, c in enumerate(r) if HEADERS[i] != "身份证号"] + ["x"] for r in good_rows()]
    result = run(district_a, to_xlsx(headers, rows))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(1, "身份证号")]
    assert result.ignored_columns == ["备注"]


def test_unreadable_files(district_a):
    result = run(district_a, b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old.xls")
    assert not result.ok and ".xlsx" in result.errors[0].message
    result = run(district_a, b"a,b\n1,2\n", "x.csv")
    assert not result.ok and "表头" in result.errors[0].message


def test_numeric_id_cell_is_refused(district_a):
    rows = good_rows()
    rows[0][7] = int(rows[0][7][:15])  # what Excel leaves of an ID typed into a number cell
    result = run(district_a, to_xlsx(HEADERS, rows))
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "文本格式" in result.errors[0].message


def test_possible_duplicates_against_database_and_within_file(district_a, regions):
    h = reg.register_household(officer=district_a, region=regions.a_v, area_type="urban")
    old = reg.register_person(officer=district_a, id_number=make_id("500101", "19800101", 13), name="张三",
                              household=h, relation="head")  # fmt: skip
    rows = good_rows()
    rows.append(
        ["H2", "", "", "", "", "", "赵六", make_id("500101", "19600505", 43), "兄弟姐妹", "", "", "", ""]
    )
    result = run(district_a, to_xlsx(HEADERS, rows))
    assert result.ok, result.errors
    assert result.possible_duplicates == 2
    pairs = {(d.person.name, d.other_id) for d in PossibleDuplicate.objects.select_related("person")}
    zhao_first = Person.objects.get(id_number=make_id("440305", "19600505", 41))
    assert pairs == {("张三", old.pk), ("赵六", zhao_first.pk)}


def test_read_only_officer_cannot_import(supervisor):
    with pytest.raises(PermissionDenied):
        run(supervisor, to_xlsx(HEADERS, good_rows()))


def test_error_report_has_original_rows_and_error_column(district_a):
    rows = good_rows()
    rows[2][8] = "表哥"
    result = run(district_a, to_xlsx(HEADERS, rows))
    ws = load_workbook(io.BytesIO(importing.error_report(result))).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == (*HEADERS, "错误")
    assert len(values) == 1 + len(rows)
    assert values[1][7] == rows[0][7]  # identity numbers kept as text, all 18 digits
    assert values[1][-1] is None
    assert values[3][-1].startswith("与户主关系：") and "表哥" in values[3][-1]


def test_template_headers_are_accepted(district_a):
    wb = load_workbook(io.BytesIO(importing.template_workbook()))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["户编号", "村社区代码", "城乡类别"] and "身份证号" in headers
    assert ws.cell(row=2, column=headers.index("身份证号") + 1).number_format == "@"
    assert "填表说明" in wb.sheetnames
    # The template filled in is a valid import.
    row = {h: "" for h in headers}
    row.update({"户编号": "A", "村社区代码": "500101001001", "城乡类别": "农村", "姓名": "钱七",
                "身份证号": make_id("500101", "19750101", 51), "与户主关系": "户主", "在保": "是",
                "上月低保金（元）": "580", "类别起始日期": "2020-03-01", "类别": "低保对象"})  # fmt: skip
    result = run(district_a, to_xlsx(headers, [[row[h] for h in headers]]))
    assert result.ok, result.errors
    h = Household.objects.get()
    assert (h.dibao_enrolled, h.dibao_last_amount) == (True, 580)
    assert PersonCategory.objects.get().valid_from == datetime.date(2020, 3, 1)


def test_money_parsing_is_exact():
    assert importing._parse_money("1,234.50") == 123_450
    assert importing._parse_money(0.1) == 10
    assert importing._parse_money(1234.56) == 123_456
    assert importing._parse_money(Decimal("7")) == 700
    for bad in ("1.001", "-1", "abc", "NaN", "1e400"):
        with pytest.raises(importing._CellError):
            importing._parse_money(bad)


def test_a_failure_while_writing_leaves_nothing_behind(district_a, monkeypatch):
    """Someone registers one of the file's numbers between validation and writing: the unique index
    refuses it half-way through, and the transaction takes back every row already inserted."""
    real_insert = importing._insert

    def insert_then_collide(model, rows):
        real_insert(model, rows)
        if model is Membership:  # persons, households and memberships are in by now
            taken = Person.objects.first()
            clash = {"id_number": taken.id_number, "name": "x", "birth_date": taken.birth_date, "sex": taken.sex,
                     "region_id": taken.region_id}  # fmt: skip
            real_insert(Person, [clash])

    monkeypatch.setattr(importing, "_insert", insert_then_collide)
    before = counts()
    result = run(district_a, to_xlsx(HEADERS, good_rows()))
    assert not result.ok and "未导入任何数据" in result.errors[0].message
    assert counts() == before
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()


def test_queries_do_not_grow_with_the_number_of_rows(district_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def rows_for(n, offset):
        return [
            [f"K{offset + i}", "500101001001", "城市", "", "", "", f"人{offset + i}",
             make_id("500101", "19900101", offset + i), "户主", "", "100", "低保对象", ""]
            for i in range(n)
        ]  # fmt: skip

    assert district_a.roles  # cached before counting
    with CaptureQueriesContext(connection) as small:
        assert run(district_a, to_csv(HEADERS, rows_for(20, 0)), "a.csv").ok
    with CaptureQueriesContext(connection) as large:
        assert run(district_a, to_csv(HEADERS, rows_for(200, 500)), "b.csv").ok
    assert len(large.captured_queries) == len(small.captured_queries)


def test_names_and_addresses_are_imported_without_invisible_characters(district_a):
    rows = good_rows()
    rows[0][6] = "\u200b张三"
    rows[0][3] = "\ufeff高笋塘路1号\u202c"
    rows[1][6] = "李\u200d四"
    run(district_a, to_csv(HEADERS, rows), "roster.csv")
    assert set(Person.objects.values_list("name", flat=True)) == {"张三", "李四", "张小", "赵六"}
    assert Household.objects.get(address__startswith="高笋塘").address == "高笋塘路1号"
