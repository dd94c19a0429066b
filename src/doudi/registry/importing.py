"""批量导入: households and people from one flat sheet (Excel .xlsx or CSV), one row per person.

Bureau files are typed in Excel on Chinese Windows, so CSV is read as UTF-8 (with or without BOM) and
falls back to GB18030; headers are the Chinese column names of the template (English names accepted);
household columns may be filled on one row of the household only — the non-blank values of a
household's rows must agree.

The whole file is validated before anything is written: headers, every cell, identity numbers
(validity, repeats in the file, already registered), villages (exist, are villages, lie inside the
importing officer's subtree), household consistency and exactly one head per household. Any error →
nothing is written and the result lists every error by row and column; `error_report` gives the
original rows back with an 错误 column. A valid file is written in one transaction with bulk inserts and
one audit entry (counts and the file's SHA-256).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core import excel
from doudi.core.excel import export_rows
from doudi.core.text import clean_text
from doudi.regions.models import Region, RegionLevel
from doudi.registry import identity
from doudi.registry.models import (
    AreaType,
    Category,
    DuplicateStatus,
    Household,
    Membership,
    MemberStanding,
    OrphanCare,
    Person,
    PersonCategory,
    PossibleDuplicate,
    Relation,
    SeparateReason,
    Sex,
    WorkStatus,
)
from doudi.registry.services import (
    clean_phone,
    household_economics_errors,
    membership_facts_errors,
    require_writer,
)

MAX_ROWS = 100_000
MAX_FILE_BYTES = 50 * 1024 * 1024
HOUSEHOLD, PERSON = "household", "person"
# Kinds of cell
TEXT, CODE, ID, MONEY, YUAN, INT, DATE, CHOICE, BOOL, CATEGORIES, PHONE = (
    "text", "code", "id", "money", "yuan", "int", "date", "choice", "bool", "categories", "phone",
)  # fmt: skip
MAX_MONEY = Decimal("1000000000")  # 10亿元: anything larger is a typo


@dataclass(frozen=True)
class Field:
    """One column of the import sheet."""

    key: str  # also the accepted English header
    title: str  # the Chinese header written in the template
    level: str
    kind: str
    required: bool = False
    choices: type[models.TextChoices] | None = None
    aliases: tuple[str, ...] = ()
    help: Any = ""
    max_length: int | None = None


FIELDS: tuple[Field, ...] = (
    Field("household_key", "户编号", HOUSEHOLD, TEXT, True, aliases=("户号", "家庭编号"), max_length=64,
          help=gettext_lazy("本文件内区分家庭的编号，同一家庭的成员填写相同编号")),
    Field("village_code", "村社区代码", HOUSEHOLD, CODE, True,
          aliases=("村（社区）代码", "村代码", "社区代码", "区划代码", "region_code"),
          help=gettext_lazy("家庭所在村（社区）的区划代码，须在您的管辖范围内")),
    Field("area_type", "城乡类别", HOUSEHOLD, CHOICE, True, AreaType, aliases=("城乡",),
          help=gettext_lazy("城市 或 农村")),
    Field("address", "地址", HOUSEHOLD, TEXT, aliases=("家庭住址", "住址"), max_length=200),
    Field("deposits", "存款（元）", HOUSEHOLD, MONEY, aliases=("存款", "deposits_yuan"),
          help=gettext_lazy("家庭存款合计，最多两位小数")),
    Field("vehicles", "车辆（辆）", HOUSEHOLD, INT, aliases=("车辆", "车辆数")),
    Field("houses", "住房（套）", HOUSEHOLD, INT, aliases=("住房", "住房套数")),
    Field("securities", "有价证券（元）", HOUSEHOLD, MONEY, aliases=("有价证券", "securities_yuan"),
          help=gettext_lazy("股票、债券、基金等的市值合计（条例第13条）")),
    Field("claims", "债权（元）", HOUSEHOLD, MONEY, aliases=("债权", "claims_yuan"),
          help=gettext_lazy("借给他人的款项等债权合计（条例第13条）")),
    Field("disability_vehicles", "残疾人代步车（辆）", HOUSEHOLD, INT,
          aliases=("残疾人代步车", "残疾人功能性补偿代步车"),
          help=gettext_lazy("残疾人功能性补偿代步机动车，不计入“车辆”，不作为资产核算（条例第13条）")),
    Field("boats", "船舶（艘）", HOUSEHOLD, INT, aliases=("船舶", "船舶数")),
    Field("farming", "农业家庭", HOUSEHOLD, BOOL, aliases=("是否农业家庭",),
          help=gettext_lazy("是 或 否；是：家庭收入按前12个月的现金和实物收入减去直接生产成本计算（条例第12条）")),
    Field("farming_cash_income", "12个月现金收入（元）", HOUSEHOLD, MONEY, aliases=("12个月现金收入",),
          help=gettext_lazy("农业家庭填写：申请前12个月的现金收入合计")),
    Field("farming_in_kind_income", "12个月实物收入（元）", HOUSEHOLD, MONEY, aliases=("12个月实物收入",),
          help=gettext_lazy("农业家庭填写：申请前12个月的实物收入折价合计")),
    Field("farming_direct_costs", "12个月直接生产成本（元）", HOUSEHOLD, MONEY,
          aliases=("12个月直接生产成本", "12个月生产成本"),
          help=gettext_lazy("农业家庭填写：同期种子、化肥、农药等直接生产成本合计")),
    Field("dibao_enrolled", "在保", HOUSEHOLD, BOOL, aliases=("是否在保",), help=gettext_lazy("是 或 否")),
    Field("dibao_last_amount", "上月低保金（元）", HOUSEHOLD, YUAN, aliases=("上月低保金",),
          help=gettext_lazy("整数元")),
    Field("name", "姓名", PERSON, TEXT, True, max_length=64),
    Field("id_number", "身份证号", PERSON, ID, True, aliases=("身份证号码", "公民身份号码", "身份证"),
          help=gettext_lazy("18位居民身份证号码，请将此列设为文本格式")),
    Field("relation", "与户主关系", PERSON, CHOICE, True, Relation, aliases=("关系",),
          help=gettext_lazy("每户恰好一名“户主”")),
    Field("phone", "手机号", PERSON, PHONE, aliases=("手机", "联系电话", "电话")),
    Field("birth_date", "出生日期", PERSON, DATE, help=gettext_lazy("可不填；填写时须与身份证号一致")),
    Field("sex", "性别", PERSON, CHOICE, choices=Sex, help=gettext_lazy("可不填；填写时须与身份证号一致")),
    Field("income_wage", "工资性收入（元/月）", PERSON, MONEY, aliases=("工资性收入",)),
    Field("income_business", "经营性收入（元/月）", PERSON, MONEY, aliases=("经营性收入", "经营净收入")),
    Field("income_agricultural", "农业收入（元/月）", PERSON, MONEY, aliases=("农业收入",)),
    Field("income_property", "财产性收入（元/月）", PERSON, MONEY, aliases=("财产性收入", "财产净收入")),
    Field("income_transfer", "转移性收入（元/月）", PERSON, MONEY, aliases=("转移性收入", "转移净收入")),
    Field("income_exempt", "豁免收入（元/月）", PERSON, MONEY, aliases=("豁免收入",)),
    Field("work", "就业状态", PERSON, CHOICE, choices=WorkStatus),
    Field("orphan_care", "孤儿养育方式", PERSON, CHOICE, choices=OrphanCare),
    Field("separate_assessment", "单独施保", PERSON, BOOL,
          help=gettext_lazy("是 或 否；是：须填写单独施保原因")),
    Field("separate_reason", "单独施保原因", PERSON, CHOICE, choices=SeparateReason,
          help=gettext_lazy("成年的重度残疾人或重病卧床人员可单独施保（条例第11条）")),
    Field("standing", "成员状况", PERSON, CHOICE, choices=MemberStanding,
          help=gettext_lazy("不填为共同生活；未婚的义务兵、离家一年以上的宗教教职人员、服刑人员不计入家庭（条例第11条）")),
    Field("married", "是否已婚", PERSON, BOOL, aliases=("已婚",),
          help=gettext_lazy("是 或 否；服义务兵役的成员须填写")),
    Field("living_apart_since", "离家居住起始日期", PERSON, DATE, aliases=("离家日期",),
          help=gettext_lazy("宗教教职人员须填写，其他成员不填")),
    Field("joined_on", "加入日期", PERSON, DATE, aliases=("入户日期",), help=gettext_lazy("不填则为导入当天")),
    Field("categories", "类别", PERSON, CATEGORIES, aliases=("人员类别",),
          help=gettext_lazy("可填多个，用顿号或逗号分隔，如：低保对象、建档立卡贫困人口")),
    Field("categories_from", "类别起始日期", PERSON, DATE, help=gettext_lazy("不填则为导入当天")),
    Field("covid_confirmed_on", "确诊日期", PERSON, DATE),
    Field("covid_discharged_on", "出院日期", PERSON, DATE),
    Field("covid_died_on", "死亡日期", PERSON, DATE),
)  # fmt: skip
FIELD_BY_KEY = {f.key: f for f in FIELDS}
HOUSEHOLD_FIELDS = tuple(f for f in FIELDS if f.level == HOUSEHOLD and f.key != "household_key")
# Household columns by the registry field they fill (条例第12、13条 checked by household_economics_errors).
ECONOMIC_COLUMNS = {"deposits": "deposits_fen", "vehicles": "vehicles", "houses": "houses",
                    "securities": "securities_fen", "claims": "claims_fen", "boats": "boats",
                    "disability_vehicles": "disability_vehicles", "farming": "farming",
                    "farming_cash_income": "farming_cash_income_fen",
                    "farming_in_kind_income": "farming_in_kind_income_fen",
                    "farming_direct_costs": "farming_direct_costs_fen"}  # fmt: skip
MEMBER_FACTS = ("standing", "married", "living_apart_since", "separate_reason")
INCOME_KEYS = ("income_wage", "income_business", "income_agricultural", "income_property", "income_transfer",
               "income_exempt")  # fmt: skip

# Words officers write for a relation to the head besides the labels.
RELATION_SYNONYMS = {
    "本人": Relation.HEAD, "户主本人": Relation.HEAD,
    "妻": Relation.SPOUSE, "妻子": Relation.SPOUSE, "夫": Relation.SPOUSE, "丈夫": Relation.SPOUSE,
    "子": Relation.CHILD, "女": Relation.CHILD, "儿子": Relation.CHILD, "女儿": Relation.CHILD,
    "长子": Relation.CHILD, "次子": Relation.CHILD, "长女": Relation.CHILD, "次女": Relation.CHILD,
    "父亲": Relation.PARENT, "母亲": Relation.PARENT, "父": Relation.PARENT, "母": Relation.PARENT,
    "孙子": Relation.GRANDCHILD, "孙女": Relation.GRANDCHILD, "外孙": Relation.GRANDCHILD,
    "外孙女": Relation.GRANDCHILD,
    "祖父": Relation.GRANDPARENT, "祖母": Relation.GRANDPARENT, "外祖父": Relation.GRANDPARENT,
    "外祖母": Relation.GRANDPARENT,
    "兄": Relation.SIBLING, "弟": Relation.SIBLING, "姐": Relation.SIBLING, "妹": Relation.SIBLING,
    "哥哥": Relation.SIBLING, "弟弟": Relation.SIBLING, "姐姐": Relation.SIBLING, "妹妹": Relation.SIBLING,
}  # fmt: skip
CHOICE_SYNONYMS: dict[str, dict[str, str]] = {
    "relation": RELATION_SYNONYMS,
    "area_type": {"城镇": AreaType.URBAN, "乡村": AreaType.RURAL},
    "sex": {"male": Sex.MALE, "female": Sex.FEMALE},
    "work": {"无业": WorkStatus.NONE, "失业": WorkStatus.NONE},
    "standing": {
        "义务兵": MemberStanding.SERVING_CONSCRIPT,
        "宗教教职": MemberStanding.CLERGY,
        "服刑人员": MemberStanding.PRISONER,
        "在押": MemberStanding.PRISONER,
    },
}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×"}


def _norm(text: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def _norm_header(text: Any) -> str:
    """'工资性收入（元/月）' and ' 工资性收入 ' and '*工资性收入' all name the same column."""
    t = _norm(text).strip("*")
    return re.sub(r"\([^)]*\)", "", t)


def _header_map() -> dict[str, Field]:
    out: dict[str, Field] = {}
    for f in FIELDS:
        for name in (f.key, f.title, *f.aliases):
            out[_norm_header(name)] = f
    return out


HEADER_MAP = _header_map()


def _choice_map(f: Field) -> dict[str, str]:
    assert f.choices is not None
    out: dict[str, str] = {}
    for value, label in f.choices.choices:
        out[_norm(value)] = value
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                out[_norm(str(label))] = value
    for word, value in CHOICE_SYNONYMS.get(f.key, {}).items():
        out[_norm(word)] = value
    return out


# --- reading ----------------------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read (not xlsx/csv, empty, too large)."""


@dataclass
class Table:
    """A sheet as read: the header row as written and the data rows with their sheet row numbers."""

    headers: list[str]
    header_row: int
    rows: list[tuple[int, list[Any]]]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_table(data: bytes, filename: str = "") -> Table:
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(_("文件过大（超过 %(mb)d MB）") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise ImportFileError(_("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入"))
    if filename.lower().endswith((".xlsx", ".xlsm")) and data[:4] != b"PK\x03\x04":
        raise ImportFileError(_("无法读取该 Excel 文件，请确认文件未损坏"))
    try:
        # The shared readers refuse hostile files (a far-away cell, a zip bomb, an endless CSV line)
        # and read .xlsx in a child process with a memory limit (core/excel.py).
        raw_rows = excel.xlsx_rows(data) if data[:4] == b"PK\x03\x04" else excel.csv_rows(data)
        return _locate_header(raw_rows)
    except excel.SpreadsheetRefused as exc:
        raise ImportFileError(str(exc)) from exc


def _locate_header(raw_rows: Iterable[list[Any]]) -> Table:
    """The header is the first row (within the first ten) naming at least three known columns, so a
    title row such as "××村低保家庭花名册" above it is tolerated."""
    it = iter(raw_rows)
    header: list[str] | None = None
    header_row = 0
    for number, row in enumerate(it, start=1):
        cells = ["" if v is None else str(v).strip() for v in row]
        if sum(1 for c in cells if c and _norm_header(c) in HEADER_MAP) >= 3:
            header, header_row = cells, number
            break
        if number >= 10:
            break
    if header is None:
        raise ImportFileError(_("未找到表头行：第一行应为列名（如 户编号、村社区代码、姓名、身份证号）"))
    while header and not header[-1]:
        header.pop()
    rows: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(it, start=header_row + 1):
        values = list(row[: len(header)])
        if all(_blank(v) for v in values):
            continue
        values += [None] * (len(header) - len(values))
        rows.append((number, values))
        if len(rows) > MAX_ROWS:
            raise ImportFileError(_("一次最多导入 %(n)d 行，请分批导入") % {"n": MAX_ROWS})
    return Table(headers=header, header_row=header_row, rows=rows)


# --- validation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int | None  # the sheet row; None for the file as a whole
    column: str  # the header as written in the file, "" when not about one column
    message: str


@dataclass
class ImportResult:
    ok: bool
    rows: int
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    households: int = 0
    persons: int = 0
    memberships: int = 0
    categories: int = 0
    possible_duplicates: int = 0
    sha256: str = ""
    table: Table | None = None


class _CellError(Exception):
    pass


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return clean_text(unicodedata.normalize("NFKC", str(value)))


def _parse_money(value: Any) -> int:
    """Yuan with at most two decimals → integer fen."""
    if isinstance(value, bool):
        raise _CellError(_("应为金额"))
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as the same double: 1234.56, not …5599
    text = _text(value).replace(",", "").replace("¥", "").removesuffix("元")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise _CellError(_("应为金额（元），如 1234.50")) from exc
    if not amount.is_finite():
        raise _CellError(_("应为金额（元），如 1234.50"))
    if amount < 0:
        raise _CellError(_("金额不能为负数"))
    if amount > MAX_MONEY:
        raise _CellError(_("金额过大"))
    if amount != amount.quantize(Decimal("0.01")):
        raise _CellError(_("金额最多两位小数"))
    return int(amount * 100)


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError(_("应为不小于0的整数"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _text(value)
    if not re.fullmatch(r"\d{1,4}", text):
        raise _CellError(_("应为不小于0的整数"))
    return int(text)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _parse_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    text = re.sub(r"[ T]00:00(:00)?$", "", text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return datetime.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise _CellError(_("日期无效，请按 2020-03-01 的格式填写"))


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = _norm(_text(value))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _CellError(_("应填“是”或“否”"))


class _Parsers:
    def __init__(self, today: datetime.date) -> None:
        self.today = today
        self.choices = {f.key: _choice_map(f) for f in FIELDS if f.choices is not None}
        self.categories = _choice_map(Field("categories", "", PERSON, CHOICE, choices=Category))
        self._memo: dict[tuple, tuple[bool, Any]] = {}

    def parse(self, f: Field, value: Any) -> Any:
        """The parsed value, or _CellError. Columns with few distinct values (villages, relations,
        categories, amounts) are parsed once per distinct value."""
        if f.kind in (ID, TEXT, PHONE):
            return self._parse(f, value)
        key = (f.key, type(value), value)
        hit = self._memo.get(key)
        if hit is None:
            try:
                hit = (True, self._parse(f, value))
            except _CellError as exc:
                hit = (False, exc)
            self._memo[key] = hit
        if hit[0]:
            return hit[1]
        raise hit[1]

    def _parse(self, f: Field, value: Any) -> Any:
        kind = f.kind
        if kind in (TEXT, CODE):
            text = _text(value)
            if f.max_length and len(text) > f.max_length:
                raise _CellError(_("内容过长（最多 %(n)d 个字）") % {"n": f.max_length})
            return text
        if kind == ID:
            if isinstance(value, int | float) and not isinstance(value, bool):
                raise _CellError(
                    _("身份证号必须以文本格式填写：数值格式会丢失后几位，请将该列设为文本后重新录入")
                )
            try:
                return identity.parse(value, today=self.today)
            except ValidationError as exc:
                raise _CellError("；".join(exc.messages)) from exc
        if kind == MONEY:
            return _parse_money(value)
        if kind == YUAN:
            fen = _parse_money(value)
            if fen % 100:
                raise _CellError(_("应为整数元"))
            return fen // 100
        if kind == INT:
            return _parse_int(value)
        if kind == DATE:
            return _parse_date(value)
        if kind == BOOL:
            return _parse_bool(value)
        if kind == PHONE:
            try:
                return clean_phone(_text(value))
            except ValidationError as exc:
                raise _CellError("；".join(exc.messages)) from exc
        if kind == CHOICE:
            found = self.choices[f.key].get(_norm(_text(value)))
            if found is None:
                labels = "、".join(str(label) for _v, label in f.choices.choices)  # type: ignore[union-attr]
                raise _CellError(
                    _("“%(value)s”无效，可填：%(labels)s") % {"value": _text(value), "labels": labels}
                )
            return found
        if kind == CATEGORIES:
            out: list[str] = []
            for word in re.split(r"[、,;/|\s]+", _text(value)):
                if not word:
                    continue
                found = self.categories.get(_norm(word))
                if found is None:
                    labels = "、".join(str(label) for _v, label in Category.choices)
                    raise _CellError(
                        _("类别“%(value)s”无效，可填：%(labels)s") % {"value": word, "labels": labels}
                    )
                if found not in out:
                    out.append(found)
            return out
        raise AssertionError(kind)


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # parsed, keyed by field key; blank cells and cells in error absent


@dataclass
class _Plan:
    """What a valid file writes."""

    households: dict[str, dict[str, Any]]  # key → household values
    rows: list[_Row]
    regions: dict[str, Region]


def _validate(
    table: Table, officer: Any, today: datetime.date
) -> tuple[_Plan | None, list[RowError], list[str]]:
    errors: list[RowError] = []

    def err(row: int | None, key: str, message: str) -> None:
        errors.append(RowError(row, columns.get(key, FIELD_BY_KEY[key].title) if key else "", message))

    # Headers
    columns: dict[str, str] = {}  # field key → header as written
    positions: list[tuple[int, Field]] = []
    ignored: list[str] = []
    for i, header in enumerate(table.headers):
        if not header:
            continue
        f = HEADER_MAP.get(_norm_header(header))
        if f is None:
            ignored.append(header)
            continue
        if f.key in columns:
            errors.append(
                RowError(
                    table.header_row,
                    header,
                    _("列“%(a)s”与列“%(b)s”重复") % {"a": header, "b": columns[f.key]},
                )
            )
            continue
        columns[f.key] = header
        positions.append((i, f))
    for f in FIELDS:
        if f.required and f.key not in columns:
            errors.append(
                RowError(table.header_row, f.title, _("缺少必填列“%(title)s”") % {"title": f.title})
            )
    if errors:
        return None, errors, ignored
    if not table.rows:
        return None, [RowError(None, "", _("文件中没有数据行"))], ignored

    # Cells
    parsers = _Parsers(today)
    required_per_row = [f for f in FIELDS if f.required and (f.level == PERSON or f.key == "household_key")]
    rows: list[_Row] = []
    for number, cells in table.rows:
        row = _Row(number, {})
        failed: set[str] = set()
        for i, f in positions:
            value = cells[i]
            if _blank(value):
                continue
            try:
                row.values[f.key] = parsers.parse(f, value)
            except _CellError as exc:
                err(number, f.key, str(exc))
                failed.add(f.key)
        for f in required_per_row:
            if f.key not in row.values and f.key not in failed:
                err(number, f.key, _("必填项不能为空"))
        rid = row.values.get("id_number")
        if rid is not None:
            if "birth_date" in row.values and row.values["birth_date"] != rid.birth_date:
                err(number, "birth_date",
                    _("出生日期 %(given)s 与身份证号中的 %(derived)s 不一致")
                    % {"given": row.values["birth_date"].isoformat(), "derived": rid.birth_date.isoformat()})  # fmt: skip
            if "sex" in row.values and row.values["sex"] != rid.sex:
                err(number, "sex", _("性别与身份证号（第17位）不一致"))
        for key in ("joined_on",):
            if key in row.values and row.values[key] > today:
                err(number, key, _("日期不能晚于今天"))
        if rid is not None and not failed.intersection((*MEMBER_FACTS, "separate_assessment")):
            _check_member_facts(row, rid.birth_date, today, columns, err)
        rows.append(row)

    # Identity numbers: repeated in the file, already registered
    first_seen: dict[str, int] = {}
    for row in rows:
        rid = row.values.get("id_number")
        if rid is None:
            continue
        if rid.number in first_seen:
            err(row.number, "id_number", _("与第 %(row)d 行的身份证号重复") % {"row": first_seen[rid.number]})
        else:
            first_seen[rid.number] = row.number
    numbers = list(first_seen)
    registered: set[str] = set()
    for start in range(0, len(numbers), 2000):
        registered.update(
            Person.objects.filter(id_number__in=numbers[start : start + 2000]).values_list(
                "id_number", flat=True
            )
        )
    for row in rows:
        rid = row.values.get("id_number")
        if rid is not None and rid.number in registered and first_seen.get(rid.number) == row.number:
            err(row.number, "id_number", _("该身份证号已登记，不能重复登记"))

    # Households: non-blank household cells agree; the values; exactly one head
    by_household: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if "household_key" in row.values:
            by_household[row.values["household_key"]].append(row)
    households: dict[str, dict[str, Any]] = {}
    for key, members in by_household.items():
        values: dict[str, Any] = {}
        source: dict[str, int] = {}
        for row in members:
            for f in HOUSEHOLD_FIELDS:
                if f.key not in row.values:
                    continue
                if f.key not in values:
                    values[f.key], source[f.key] = row.values[f.key], row.number
                elif row.values[f.key] != values[f.key]:
                    err(row.number, f.key,
                        _("与同户（户编号 %(key)s）第 %(row)d 行填写的不一致") % {"key": key, "row": source[f.key]})  # fmt: skip
        for f in HOUSEHOLD_FIELDS:
            if f.required and f.key not in values and not _has_error(errors, members, columns.get(f.key)):
                err(members[0].number, f.key, _("户编号 %(key)s 的家庭未填写此项") % {"key": key})
        problems = household_economics_errors(
            {target: values[column] for column, target in ECONOMIC_COLUMNS.items() if column in values}
        )
        for column, target in ECONOMIC_COLUMNS.items():
            message = problems.get(target)
            if message and not _has_error(errors, members, columns.get(column)):
                err(source.get(column, members[0].number), column, message)
        heads = [r for r in members if r.values.get("relation") == Relation.HEAD]
        if not heads and all("relation" in r.values for r in members):
            err(
                members[0].number,
                "relation",
                _("户编号 %(key)s 的家庭没有户主（每户须恰好一名户主）") % {"key": key},
            )
        for extra in heads[1:]:
            err(extra.number, "relation",
                _("户编号 %(key)s 的家庭已有户主（第 %(row)d 行），每户只能有一名户主")
                % {"key": key, "row": heads[0].number})  # fmt: skip
        households[key] = values

    # Villages: exist, are villages, inside the officer's subtree
    codes = {v["village_code"] for v in households.values() if "village_code" in v}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes).only("code", "level", "path", "name")}
    own_path = officer.region.path
    for key, values in households.items():
        code = values.get("village_code")
        if code is None:
            continue
        region = regions.get(code)
        problem = None
        if region is None:
            problem = _("区划代码 %(code)s 不存在") % {"code": code}
        elif region.level != RegionLevel.VILLAGE:
            problem = _("%(region)s不是村（社区），家庭须登记在村（社区）") % {"region": region}
        elif not region.path.startswith(own_path):
            problem = _("%(region)s不在您的管辖范围内") % {"region": region}
        if problem:
            for row in by_household[key]:
                if row.values.get("village_code") == code:
                    err(row.number, "village_code", problem)

    order = {header: i for i, header in enumerate(table.headers)}
    errors.sort(key=lambda e: (e.row or 0, order.get(e.column, len(order))))
    if errors:
        return None, errors, ignored
    return _Plan(households=households, rows=rows, regions=regions), [], ignored


def _check_member_facts(row: _Row, birth_date: datetime.date, today: datetime.date, columns: dict[str, str],
                        err: Any) -> None:  # fmt: skip
    """条例第11条 facts of one row, checked as the console checks them (membership_facts_errors); 单独施保
    and its reason agree (是 needs a reason, a reason means 是)."""
    v = row.values
    reason = v.get("separate_reason", "")
    flagged = v.get("separate_assessment")
    if flagged and not reason:
        err(row.number, "separate_reason" if "separate_reason" in columns else "separate_assessment",
            _("单独施保须填写单独施保原因（重度残疾 或 重病卧床）"))  # fmt: skip
    elif flagged is False and reason:
        err(row.number, "separate_assessment", _("填写了单独施保原因，单独施保应为“是”"))
    problems = membership_facts_errors(
        standing=v.get("standing", MemberStanding.PRESENT),
        married=v.get("married"),
        living_apart_since=v.get("living_apart_since"),
        separate_reason=reason,
        birth_date=birth_date,
        today=today,
    )
    for key in MEMBER_FACTS:
        if key in problems:
            err(row.number, key, problems[key])


def _has_error(errors: list[RowError], members: list[_Row], column: str | None) -> bool:
    numbers = {r.number for r in members}
    return any(e.row in numbers and e.column == column for e in errors)


# --- writing ----------------------------------------------------------------------------------------


def import_file(
    *, officer: Any, data: bytes, filename: str = "", today: datetime.date | None = None
) -> ImportResult:
    """Validate the whole file; when it has no error, write it in one transaction. Raises
    PermissionDenied for an officer who may not write the registry."""
    require_writer(officer)
    today = today or timezone.localdate()
    digest = hashlib.sha256(data).hexdigest()
    try:
        table = read_table(data, filename)
    except ImportFileError as exc:
        return ImportResult(ok=False, rows=0, errors=[RowError(None, "", str(exc))], sha256=digest)
    plan, errors, ignored = _validate(table, officer, today)
    result = ImportResult(ok=False, rows=len(table.rows), errors=errors, ignored_columns=ignored, sha256=digest,
                          table=table)  # fmt: skip
    if plan is None:
        return result
    try:
        counts = _write(plan, officer=officer, today=today, filename=filename, digest=digest)
    except IntegrityError:
        # Someone registered one of these numbers between validation and writing: nothing was written.
        result.errors = [
            RowError(None, "", _("写入时发现身份证号已被他人同时登记，未导入任何数据，请重新导入"))
        ]
        return result
    result.ok = True
    for k, v in counts.items():
        setattr(result, k, v)
    return result


# Rows per executemany call: large enough to amortise, small enough to keep parameter lists modest.
INSERT_CHUNK = 5000


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert plain rows (keyed by attname): COPY on PostgreSQL, one prepared INSERT and executemany on
    SQLite.

    This is `bulk_create` without its per-object costs: on 50,000 people, building model instances
    and compiling one INSERT per 47-row batch (SQLite's parameter limit) took most of the import's
    time. Every concrete column is written; a column the row does not give takes the model field's
    default (auto_now/auto_now_add: now), so a field added later with a default keeps working."""
    if not rows:
        return
    ops = connection.ops
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    getters = []
    for f in fields:
        if isinstance(f, models.DateTimeField):
            adapt = ops.adapt_datetimefield_value
        elif isinstance(f, models.DateField):
            adapt = ops.adapt_datefield_value
        else:
            adapt = None
        if f.attname in rows[0]:
            default = None
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        else:
            default = f.get_default()  # the declared default, '' for text fields, else None
            if default is None and not f.null:
                raise ValueError(f"{model.__name__}.{f.name} has no value and no default")
        if default is not None and adapt is not None and connection.vendor != "postgresql":
            default = adapt(default)  # once, not per row
        getters.append((f.attname, default, adapt))
    qn = ops.quote_name
    table, columns = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: several times faster than executemany for tens of thousands of rows; psycopg
            # adapts dates, booleans and None itself.
            # The raw psycopg cursor bypasses Django's error translation: restore it, so a unique
            # violation is django.db.IntegrityError here as on SQLite.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([row.get(attname, default) for attname, default, _adapt in getters])
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(rows), INSERT_CHUNK):
            params = []
            for row in rows[start : start + INSERT_CHUNK]:
                values = []
                for attname, default, adapt in getters:
                    if attname in row:
                        value = row[attname]
                        values.append(adapt(value) if adapt is not None and value is not None else value)
                    else:
                        values.append(default)
                params.append(values)
            cursor.executemany(sql, params)


def _ids_by(model: type[models.Model], key: str, values: list[Any]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for start in range(0, len(values), 2000):
        out.update(
            model.objects.filter(**{f"{key}__in": values[start : start + 2000]}).values_list(key, "pk")
        )
    return out


@transaction.atomic
def _write(plan: _Plan, *, officer: Any, today: datetime.date, filename: str, digest: str) -> dict[str, int]:
    persons: list[dict[str, Any]] = []
    for row in plan.rows:
        v = row.values
        rid = v["id_number"]
        person = {
            "id_number": rid.number,
            "name": v["name"],
            "birth_date": rid.birth_date,
            "sex": str(rid.sex),
            "phone": v.get("phone", ""),
            "region_id": plan.households[v["household_key"]]["village_code"],
            "work": v.get("work", WorkStatus.NONE),
            "orphan_care": v.get("orphan_care", OrphanCare.SCATTERED),
            "covid_confirmed_on": v.get("covid_confirmed_on"),
            "covid_discharged_on": v.get("covid_discharged_on"),
            "covid_died_on": v.get("covid_died_on"),
            "merged_into_id": None,
        }
        for k in INCOME_KEYS:
            person[f"{k}_fen"] = v.get(k, 0)
        persons.append(person)
    # Possible duplicates against people already registered are found before the insert.
    dup_pairs = _possible_duplicates_in_db(persons)
    _insert(Person, persons)
    person_ids = _ids_by(Person, "id_number", [p["id_number"] for p in persons])
    for p in persons:
        p["id"] = person_ids[p["id_number"]]

    # Each new household's head is a new person, so the head identifies the household once inserted.
    heads = {row.values["household_key"]: p["id"] for row, p in zip(plan.rows, persons, strict=True)
             if row.values["relation"] == Relation.HEAD}  # fmt: skip
    households = [
        {
            "region_id": values["village_code"],
            "area_type": values["area_type"],
            "address": values.get("address", ""),
            "head_id": heads[key],
            **{
                field: values.get(column, False if field == "farming" else 0)
                for column, field in ECONOMIC_COLUMNS.items()
            },  # fmt: skip
            "dibao_enrolled": values.get("dibao_enrolled", False),
            "dibao_last_amount": values.get("dibao_last_amount"),
        }
        for key, values in plan.households.items()
    ]
    _insert(Household, households)
    household_ids = _ids_by(Household, "head_id", list(heads.values()))

    memberships, grants = [], []
    note = _("批量导入")
    for row, person in zip(plan.rows, persons, strict=True):
        v = row.values
        memberships.append(
            {
                "household_id": household_ids[heads[v["household_key"]]],
                "person_id": person["id"],
                "relation": v["relation"],
                "joined_on": v.get("joined_on", today),
                "left_on": None,
                "separate_assessment": bool(v.get("separate_reason")),
                "separate_reason": v.get("separate_reason", ""),
                "standing": v.get("standing", MemberStanding.PRESENT),
                "married": v.get("married"),
                "living_apart_since": v.get("living_apart_since"),
            }
        )
        for category in v.get("categories", ()):
            grants.append(
                {
                    "person_id": person["id"],
                    "category": category,
                    "valid_from": v.get("categories_from", today),
                    "valid_to": None,
                    "note": note,
                }
            )
    _insert(Membership, memberships)
    _insert(PersonCategory, grants)

    # Same name and birth date in the same village: earlier rows of the file too.
    seen: dict[tuple, list[int]] = defaultdict(list)
    for p in persons:
        key = (p["region_id"], p["name"], p["birth_date"])
        for other in seen[key]:
            dup_pairs.append((p, other))
        seen[key].append(p["id"])
    duplicates = [
        {"region_id": p["region_id"], "person_id": p["id"], "other_id": other, "status": DuplicateStatus.OPEN,
         "resolved_by_id": None, "resolved_at": None}
        for p, other in dup_pairs
    ]  # fmt: skip
    _insert(PossibleDuplicate, duplicates)

    counts = {
        "households": len(households),
        "persons": len(persons),
        "memberships": len(memberships),
        "categories": len(grants),
        "possible_duplicates": len(duplicates),
    }
    record(
        actor=officer,
        action=AuditAction.IMPORT,
        object_type="registry.import",
        object_id=digest,
        region_path=officer.region.path,
        after={**counts, "rows": len(plan.rows), "file": filename, "sha256": digest},
    )
    return counts


def _possible_duplicates_in_db(persons: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    wanted: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for p in persons:
        wanted[(p["region_id"], p["name"], p["birth_date"])].append(p)
    by_region: dict[str, set[str]] = defaultdict(set)
    for region_id, name, _birth in wanted:
        by_region[region_id].add(name)
    pairs: list[tuple[dict[str, Any], int]] = []
    for region_id, names in by_region.items():
        names_list = sorted(names)
        for start in range(0, len(names_list), 2000):
            existing = Person.objects.filter(
                region_id=region_id, name__in=names_list[start : start + 2000], merged_into__isnull=True
            ).values_list("pk", "name", "birth_date")
            for pk, name, birth in existing:
                for p in wanted.get((region_id, name, birth), ()):
                    pairs.append((p, pk))
    return pairs


# --- the template and the error report -----------------------------------------------------------------


def template_workbook() -> bytes:
    """The blank import sheet (identity, phone and code columns formatted as text so Excel keeps every
    digit) and a 填表说明 sheet describing each column."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("人员导入")
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for i, f in enumerate(FIELDS, start=1):
        cell = ws.cell(row=1, column=i, value=f.title)
        cell.font = bold
        if f.required:
            cell.fill = required_fill
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(10, 2 * len(f.title) + 2)
        if f.kind in (ID, CODE, PHONE, TEXT):
            for row in range(2, 1002):
                ws.cell(row=row, column=i).number_format = "@"
    ws.freeze_panes = "A2"
    notes = wb.create_sheet(_("填表说明"))
    notes.append([_("列名"), _("英文列名"), _("必填"), _("级别"), _("说明"), _("可填的值")])
    for c in notes[1]:
        c.font = bold
    for f in FIELDS:
        allowed = "、".join(str(label) for _v, label in (f.choices.choices if f.choices else []))
        if f.kind == CATEGORIES:
            allowed = "、".join(str(label) for _v, label in Category.choices)
        notes.append([f.title, f.key, _("是") if f.required else "", _("家庭") if f.level == HOUSEHOLD else _("人员"),
                      str(f.help), allowed])  # fmt: skip
    notes.append([])
    notes.append([_("每行一人；同一家庭的成员填写相同的户编号。家庭信息（村社区代码至上月低保金）可只在户主一行填写，")
                  + _("多行都填写时必须一致。金额单位为元，最多两位小数。整个文件无误才会导入，有任何错误则全部不导入。")])  # fmt: skip
    for letter, width in zip("ABCDEF", (20, 22, 6, 6, 48, 60), strict=True):
        notes.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def error_report(result: ImportResult) -> bytes:
    """The file's rows as read, with an 错误 column listing each row's problems by column."""
    table = result.table
    by_row: dict[int | None, list[str]] = defaultdict(list)
    for e in result.errors:
        by_row[e.row].append(f"{e.column}：{e.message}" if e.column else e.message)
    headers = [h or "" for h in (table.headers if table else [])] + [_("错误")]
    rows: list[list[Any]] = []
    if by_row.get(None):
        rows.append([""] * (len(headers) - 1) + ["；".join(by_row[None])])
    if table is not None:
        if by_row.get(table.header_row):
            rows.append(list(table.headers) + ["；".join(by_row[table.header_row])])
        for number, values in table.rows:
            rows.append(list(values) + ["；".join(by_row.get(number, []))])
    return export_rows(headers, rows, sheet_title=_("错误报告"))


# Error reports hold personal data: kept outside the web root, readable only by the officer who
# imported, and purged after a day.
REPORT_TTL = datetime.timedelta(days=1)


def _report_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "registry_import_reports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def save_error_report(user: Any, result: ImportResult) -> str:
    """Build and keep the error report of `result`; the token names it for `open_error_report`."""
    data = error_report(result)
    directory = _report_dir()
    cutoff = timezone.now().timestamp() - REPORT_TTL.total_seconds()
    for old in directory.glob("*.xlsx"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass
    token = secrets.token_urlsafe(16)
    # The row count rides in the name so the download can be audited without re-reading the file.
    path = directory / f"{user.pk}-{token}.{result.rows}.xlsx"
    path.write_bytes(data)
    path.chmod(0o600)
    return token


def open_error_report(user: Any, token: str) -> tuple[bytes, int] | None:
    """The report's bytes and its number of data rows, only for the officer who imported."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,40}", token or ""):
        return None
    for path in _report_dir().glob(f"{user.pk}-{token}.*.xlsx"):
        try:
            return path.read_bytes(), int(path.name.rsplit(".", 2)[1])
        except (FileNotFoundError, ValueError):
            return None
    return None
