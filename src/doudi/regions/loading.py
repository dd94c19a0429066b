"""Loading the administrative tree (行政区划): the shipped Chongqing list and further levels from files.

Every load is validated whole before anything is written: a file with one bad row writes nothing
and reports every bad row. A valid load inserts the new nodes in parent-first order with their
materialised paths, skips nodes already present unchanged, and appends one audit entry.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core import excel
from doudi.regions.models import Region, RegionLevel

DATA_DIR = Path(__file__).resolve().parent / "data"
DIVISIONS_FILE = DATA_DIR / "chongqing-divisions.tsv"
DEMO_SUBDIVISIONS_FILE = DATA_DIR / "demo-subdivisions.tsv"

MUNICIPALITY_CODE = "500000"

# 功能区: counted as districts by the notice but without a GB/T 2260 code. Local codes in the
# unused 500190–500199 block; why this block is safe: docs/decisions/0001-functional-zone-codes.md.
FUNCTIONAL_ZONES: tuple[tuple[str, str], ...] = (
    ("500190", "两江新区"),
    ("500191", "重庆高新区"),
    ("500192", "万盛经开区"),
)

# Code length per level: 6 digits for the city and districts, +3 for a township/street, +3 for a village.
CODE_LENGTH = {
    RegionLevel.MUNICIPALITY: 6,
    RegionLevel.DISTRICT: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
}
CODE_RE = re.compile(r"^\d{6}(\d{3}){0,2}$")

HEADER_ALIASES = {
    "code": {"code", "区划代码", "代码"},
    "name": {"name", "名称", "区划名称"},
    "parent_code": {"parent_code", "parent", "上级代码", "上级区划代码"},
}


@dataclass(frozen=True)
class RegionRow:
    """One node to load; `line` is its row number in the source (the header is line 1)."""

    line: int
    code: str
    name: str
    parent_code: str
    is_local_code: bool = False


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = _("第%(line)d行") % {"line": self.line} if self.line else _("文件")
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RegionFileInvalid(ValidationError):
    """The whole load is refused; `row_errors` lists every problem found, row by row."""

    def __init__(self, row_errors: Sequence[RowError]):
        self.row_errors = list(row_errors)
        super().__init__([str(e) for e in self.row_errors])


@dataclass(frozen=True)
class LoadResult:
    created: int
    unchanged: int
    by_level: dict[int, int]


# ---------------------------------------------------------------------------------------------
# Reading files


def _clean_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():  # Excel stores codes typed as numbers as floats
        return str(int(value))
    return str(value).strip()


def _rows_from_table(table: Iterable[Sequence[Any]]) -> list[RegionRow]:
    """Map a header + rows table to RegionRows; blank rows and '#' comment rows are skipped."""
    header: dict[str, int] | None = None
    rows: list[RegionRow] = []
    for line, raw in enumerate(table, start=1):
        cells = [_clean_cell(c) for c in raw]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            names = [c.lower() for c in cells]
            header = {}
            for key, aliases in HEADER_ALIASES.items():
                for i, n in enumerate(names):
                    if n in aliases:
                        header[key] = i
                        break
            missing = [k for k in HEADER_ALIASES if k not in header]
            if missing:
                raise RegionFileInvalid(
                    [
                        RowError(
                            line,
                            "",
                            _("缺少列：%(cols)s（需要 code, name, parent_code）")
                            % {"cols": ", ".join(missing)},
                        )
                    ]
                )
            continue

        code, name, parent_code = [cells[header[k]] if header[k] < len(cells) else "" for k in HEADER_ALIASES]
        rows.append(RegionRow(line=line, code=code, name=name, parent_code=parent_code))
    if header is None:
        raise RegionFileInvalid([RowError(0, "", _("文件为空"))])
    return rows


def read_regions_file(path: str | Path) -> list[RegionRow]:
    """Read a CSV, TSV or XLSX file with the columns code, name, parent_code (Chinese headers accepted)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".xlsx", ".xlsm", ".csv", ".tsv", ".txt"}:
        raise RegionFileInvalid(
            [RowError(0, "", _("不支持的文件类型：%(s)s（请使用 CSV 或 XLSX）") % {"s": suffix})]
        )
    try:
        if suffix in {".xlsx", ".xlsm"}:
            return _rows_from_table(excel.xlsx_rows(path))
        return _rows_from_table(
            excel.csv_rows(path.read_bytes(), delimiters="\t" if suffix == ".tsv" else ",\t")
        )
    except excel.SpreadsheetRefused as exc:
        raise RegionFileInvalid([RowError(0, "", str(exc))]) from exc


# ---------------------------------------------------------------------------------------------
# Validating and writing


@dataclass(frozen=True)
class _Planned:
    row: RegionRow
    level: int
    path: str


def _existing(codes: Iterable[str]) -> dict[str, Region]:
    codes = sorted(set(codes))
    found: dict[str, Region] = {}
    for i in range(0, len(codes), 500):  # stay well under SQLite's bound-parameter limit
        found.update(Region.objects.in_bulk(codes[i : i + 500]))
    return found


def plan_rows(rows: Sequence[RegionRow], *, allow_root: bool = False) -> tuple[list[_Planned], int]:
    """Check every row; return the nodes to insert (parent first) and how many are already present.

    Raises RegionFileInvalid listing every problem: bad code format, empty name, duplicate code,
    unknown parent, a cycle among the rows, a level below village, a code that does not extend its
    parent's, or a code already present with another name or parent.
    """
    errors: list[RowError] = []
    by_code: dict[str, RegionRow] = {}
    bad_rows: dict[str, int] = {}  # code -> line of rows rejected before resolution
    for row in rows:
        if not CODE_RE.match(row.code):
            errors.append(
                RowError(
                    row.line, "code", _("区划代码“%(c)s”格式错误：应为 6、9 或 12 位数字") % {"c": row.code}
                )
            )
            bad_rows.setdefault(row.code, row.line)
            continue
        if not row.name:
            errors.append(RowError(row.line, "name", _("名称不能为空")))
        elif len(row.name) > Region._meta.get_field("name").max_length:
            errors.append(RowError(row.line, "name", _("名称过长")))
        if row.code in by_code:
            errors.append(
                RowError(
                    row.line,
                    "code",
                    _("区划代码 %(c)s 与第%(l)d行重复") % {"c": row.code, "l": by_code[row.code].line},
                )
            )
            continue
        by_code[row.code] = row

    existing = _existing([*by_code, *(r.parent_code for r in by_code.values() if r.parent_code)])
    unchanged: set[str] = set()
    for code, row in by_code.items():
        node = existing.get(code)
        if node is None:
            continue
        if node.name == row.name and (node.parent_id or "") == row.parent_code:
            unchanged.add(code)
        else:
            errors.append(
                RowError(
                    row.line,
                    "code",
                    _("区划代码 %(c)s 已存在（%(n)s，上级 %(p)s），与本行不一致")
                    % {"c": code, "n": node.name, "p": node.parent_id or "-"},
                )
            )

    # Resolve each new row's level and path by walking up through the rows to a stored node.
    resolved: dict[str, tuple[int, str, bool]] = {}  # code -> (level, path, is_local_code)
    failed: set[str] = set()

    def resolve(code: str) -> None:
        chain: list[str] = []
        on_chain: set[str] = set()
        cur = code
        while True:
            if cur in resolved or cur in failed:
                break
            if cur in on_chain:
                cycle = chain[chain.index(cur) :]
                for c in cycle:
                    errors.append(
                        RowError(
                            by_code[c].line,
                            "parent_code",
                            _("上级关系形成循环：%(c)s") % {"c": " → ".join([*cycle, cur])},
                        )
                    )
                failed.update(chain)
                return
            row = by_code[cur]
            if cur in existing and cur not in unchanged:
                failed.update([*chain, cur])  # already reported as a conflicting existing code
                return
            if cur in unchanged:
                n = existing[cur]
                resolved[cur] = (n.level, n.path, n.is_local_code)
                break
            chain.append(cur)
            on_chain.add(cur)
            if not row.parent_code:
                if allow_root and cur == MUNICIPALITY_CODE:
                    resolved[cur] = (RegionLevel.MUNICIPALITY, f"{cur}/", False)
                    chain.pop()
                    break
                errors.append(RowError(row.line, "parent_code", _("缺少上级代码")))
                failed.update(chain)
                return
            if row.parent_code in by_code:
                cur = row.parent_code
                continue
            parent = existing.get(row.parent_code)
            if parent is None and row.parent_code in bad_rows:
                errors.append(
                    RowError(
                        row.line,
                        "parent_code",
                        _("上级代码 %(p)s 所在的第%(l)d行有错误")
                        % {"p": row.parent_code, "l": bad_rows[row.parent_code]},
                    )
                )
                failed.update(chain)
                return
            if parent is None:
                errors.append(
                    RowError(row.line, "parent_code", _("上级代码 %(p)s 不存在") % {"p": row.parent_code})
                )
                failed.update(chain)
                return
            resolved[row.parent_code] = (parent.level, parent.path, parent.is_local_code)
            cur = row.parent_code
            break
        # Walk back down the chain, parent first.
        for c in reversed(chain):
            row = by_code[c]
            if row.parent_code in failed:
                failed.add(c)
                continue
            p_level, p_path, p_local = resolved[row.parent_code]
            if p_level >= RegionLevel.VILLAGE:
                errors.append(
                    RowError(
                        row.line,
                        "parent_code",
                        _("上级 %(p)s 是村社区，不能再设下级") % {"p": row.parent_code},
                    )
                )
                failed.add(c)
                continue
            level = p_level + 1
            if len(c) != CODE_LENGTH[level]:
                errors.append(
                    RowError(
                        row.line,
                        "code",
                        _("%(level)s的区划代码应为 %(n)d 位数字")
                        % {"level": RegionLevel(level).label, "n": CODE_LENGTH[level]},
                    )
                )
                failed.add(c)
                continue
            # A child code extends its parent's, except under a functional zone: its streets keep the
            # GB code of the district they belong to in law (e.g. 两江新区 streets are 渝北区 codes).
            parent_code = row.parent_code
            if level > RegionLevel.DISTRICT and not p_local and not c.startswith(parent_code):
                errors.append(
                    RowError(row.line, "code", _("区划代码应以上级代码 %(p)s 开头") % {"p": parent_code})
                )
                failed.add(c)
                continue
            resolved[c] = (level, f"{p_path}{c}/", False)

    for code in by_code:
        if code not in unchanged and code not in existing:
            resolve(code)

    if errors:
        raise RegionFileInvalid(sorted(errors, key=lambda e: (e.line, e.field)))
    planned = [
        _Planned(row=by_code[c], level=resolved[c][0], path=resolved[c][1])
        for c in by_code
        if c not in unchanged
    ]
    planned.sort(key=lambda p: (p.level, p.path))
    return planned, len(unchanged)


def _lock_tree() -> None:
    """Serialise concurrent loads: both would pass validation, and the loser would fail on a key."""
    list(Region.objects.select_for_update().filter(code=MUNICIPALITY_CODE).values_list("code", flat=True))


def _insert(planned: Sequence[_Planned]) -> None:
    Region.objects.bulk_create(
        [
            Region(
                code=p.row.code,
                name=p.row.name,
                level=p.level,
                path=p.path,
                parent_id=p.row.parent_code or None,
                is_local_code=p.row.is_local_code,
            )
            for p in planned
        ],
        batch_size=2000,
    )


def _load(rows: Sequence[RegionRow], *, by: Any, source: str, allow_root: bool) -> LoadResult:
    _lock_tree()
    planned, unchanged = plan_rows(rows, allow_root=allow_root)
    by_level = dict(sorted(Counter(p.level for p in planned).items()))
    if planned:
        _insert(planned)
        record(
            actor=by,
            action=AuditAction.IMPORT,
            object_type="regions.region",
            object_id=source[:64],
            region_path=f"{MUNICIPALITY_CODE}/",
            after={
                "source": source,
                "created": len(planned),
                "unchanged": unchanged,
                "by_level": {str(k): v for k, v in by_level.items()},
            },
        )
    return LoadResult(created=len(planned), unchanged=unchanged, by_level=by_level)


def _require_admin(by: Any) -> None:
    """None is the system itself (the command line); a person must be a municipal administrator."""
    if by is not None and not by.has_role(Role.MUNICIPAL_ADMIN):
        raise PermissionDenied(_("只有市民政管理员可以导入行政区划"))


def chongqing_rows(*, with_demo_subdivisions: bool = False) -> list[RegionRow]:
    """The municipality, its 38 districts/counties from the shipped list, and the 3 functional zones."""
    rows: list[RegionRow] = []
    with DIVISIONS_FILE.open(encoding="utf-8") as f:
        for line, rec in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            code, name = rec["code"].strip(), rec["name"].strip()
            parent = "" if rec["kind"].strip() == "municipality" else MUNICIPALITY_CODE
            rows.append(RegionRow(line=line, code=code, name=name, parent_code=parent))
    for code, name in FUNCTIONAL_ZONES:
        rows.append(
            RegionRow(line=0, code=code, name=name, parent_code=MUNICIPALITY_CODE, is_local_code=True)
        )
    if with_demo_subdivisions:
        rows.extend(read_regions_file(DEMO_SUBDIVISIONS_FILE))
    return rows


@transaction.atomic
def load_chongqing(*, with_demo_subdivisions: bool = False, by: Any = None) -> int:
    """Load 重庆市 with its 41 districts (38 GB/T 2260 + 3 functional zones); idempotent.

    Returns the number of regions created (0 on a re-run).
    """
    _require_admin(by)
    rows = chongqing_rows(with_demo_subdivisions=with_demo_subdivisions)
    source = "chongqing-divisions" + ("+demo" if with_demo_subdivisions else "")
    return _load(rows, by=by, source=source, allow_root=True).created


@transaction.atomic
def load_regions_file(path: str | Path, *, by: Any) -> LoadResult:
    """Load townships/streets and villages/communities (or any level below the city) from a file.

    The file (CSV/TSV/XLSX with code, name, parent_code) is validated whole first; any problem
    raises RegionFileInvalid with the row-by-row list and nothing is written. Rows already present
    unchanged are skipped, so a file can be loaded again.
    """
    _require_admin(by)
    rows = read_regions_file(path)
    return _load(rows, by=by, source=Path(path).name, allow_root=False)
