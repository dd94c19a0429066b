"""统计月报: the monthly statistics of social-assistance payments (社会救助资金发放月报) for one region and
month, in the shape a district sends upward — one row per child region (the city's districts, a district's
townships, a township's villages), one column group per scheme, a totals row.

Everything is read from the month's payment lines (`PaymentLine`, whatever run wrote or re-issued
them) by a handful of GROUP BY queries; Python only arranges the few hundred aggregate rows.

What is counted (docs/reports.md):

- **应发** (due): every line of the month, whatever its status (pending, issued, paid, failed, held) —
  the amount the payroll decided. **实发** (paid): lines the bank's return confirmed (`paid`). The
  totals also split what is not paid yet: issued and waiting for the return, not yet in a bank file
  (pending), held (暂缓发放) and failed.
- **户数/人数**: a recipient is a beneficiary with a line in the month. 低保 is split 城市/农村 by the
  household's area type; its households are its lines, its persons the household size the payroll
  computed the amount on (`PaymentLine.size`). A person-level scheme counts
  persons (its lines) and no households; other household schemes (丧葬救助) count households only.
- **新增/停发** (new, stopped; households for a household scheme, persons otherwise) against the previous
  month, for monthly schemes only: new = the line the payroll marked `new` (no line for the beneficiary
  and scheme last month); stopped = a line last month and none this month, counted where it was paid.
- **建档立卡覆盖**: persons holding the category 建档立卡贫困人口 in the month (by their village), and those
  of them who receive at least one scheme in the month (a line of their own, or a household line of the
  household they belong to at the month's end; one-off payments, keyed by their case, are not counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.core.replica import read_alias, read_connection
from doudi.core.scoping import get_visible_or_404
from doudi.payments.models import HOUSEHOLD_SCHEMES, PayrollRun, PayScheme, RunStatus
from doudi.policy.periods import Period
from doudi.regions.models import Region, RegionLevel
from doudi.regions.selectors import regions_visible_to
from doudi.registry.models import AreaType, Category

if TYPE_CHECKING:
    from doudi.accounts.models import User

# Schemes paid every month, where new and stopped mean something; a one-off payment (丧葬救助, and
# the one-off schemes) is new by nature and never "stops".
MONTHLY_SCHEMES = frozenset(
    {PayScheme.DIBAO, PayScheme.TEKUN, PayScheme.CHILDREN, PayScheme.PRICE_SUBSIDY, PayScheme.COVID}
)
# Schemes keyed by the person paid (`beneficiary_id` is the person's id): how a 建档立卡 person's own
# line is found. One-off payments are keyed by their case, and are not counted in the coverage.
PERSON_SCHEMES = frozenset({PayScheme.TEKUN, PayScheme.CHILDREN, PayScheme.PRICE_SUBSIDY, PayScheme.COVID})
# Household schemes whose persons are the household's members (the dibao unit).
MEMBER_SCHEMES = frozenset({PayScheme.DIBAO})
STATUSES = ("paid", "issued", "pending", "held", "failed")


@dataclass(frozen=True)
class Column:
    """One column group of the report: a scheme, or 低保 of one area type."""

    key: str
    label: str
    scheme: str
    area: str = ""

    @property
    def household_scheme(self) -> bool:
        return self.scheme in HOUSEHOLD_SCHEMES

    @property
    def counts_persons(self) -> bool:
        return not self.household_scheme or self.scheme in MEMBER_SCHEMES

    @property
    def monthly(self) -> bool:
        return self.scheme in MONTHLY_SCHEMES


@dataclass
class Cell:
    """One row's figures for one column group."""

    households: int | None = 0
    persons: int | None = 0
    due_fen: int = 0
    paid_fen: int = 0
    new: int | None = 0
    stopped: int | None = 0

    def add(self, other: Cell) -> None:
        self.due_fen += other.due_fen
        self.paid_fen += other.paid_fen
        for name in ("households", "persons", "new", "stopped"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, None if mine is None or theirs is None else mine + theirs)


@dataclass
class Row:
    code: str
    name: str
    level: int
    cells: dict[str, Cell]
    amounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("due", *STATUSES), 0))
    new: int = 0
    stopped: int = 0
    poor: int = 0  # 建档立卡 persons
    covered: int = 0  # of whom receive at least one scheme

    @property
    def due_fen(self) -> int:
        return self.amounts["due"]

    @property
    def paid_fen(self) -> int:
        return self.amounts["paid"]

    @property
    def coverage(self) -> Decimal | None:
        """Percent with one decimal, rounded half up; None without 建档立卡 persons."""
        if not self.poor:
            return None
        return (Decimal(100 * self.covered) / self.poor).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def drillable(self) -> bool:
        return self.level < RegionLevel.VILLAGE

    def add(self, other: Row) -> None:
        for key, cell in other.cells.items():
            self.cells[key].add(cell)
        for key, value in other.amounts.items():
            self.amounts[key] += value
        self.new += other.new
        self.stopped += other.stopped
        self.poor += other.poor
        self.covered += other.covered


@dataclass
class MonthlyReport:
    region: Region
    month: Period
    generated_at: datetime
    has_payroll: bool  # the month's payroll is computed
    columns: list[Column]
    rows: list[Row]
    total: Row

    @property
    def previous_month(self) -> Period:
        return self.month.shift(-1)

    @property
    def chart(self) -> dict[str, Any]:
        """Per row: 应发 and 实发 in yuan (the payroll review's bar chart reads this shape)."""
        return {
            "labels": [r.name for r in self.rows],
            "current": [r.due_fen / 100 for r in self.rows],
            "previous": [r.paid_fen / 100 for r in self.rows],
        }


# --- the queries -------------------------------------------------------------------------------------


def _rows_of(region: Region) -> list[Region]:
    """The report's rows: the region's children, or the region itself when it has none (a village)."""
    children = list(Region.objects.filter(parent=region).order_by("code"))
    return children or [region]


def _row_keys(region: Region, rows: list[Region]) -> tuple[str, list[Any]]:
    """A derived table mapping every region in the rows' subtrees (`place`) to its row (`row_code`):
    a join of the small region table with itself, so the lines are grouped by one hash join."""
    if rows == [region]:
        return (
            "SELECT v.code AS place, %s AS row_code FROM regions_region v WHERE v.path LIKE %s",
            [region.code, region.path + "%"],
        )
    return (
        "SELECT v.code AS place, c.code AS row_code FROM regions_region c "
        "JOIN regions_region v ON v.path LIKE c.path || '%%' WHERE c.parent_id = %s",
        [region.code],
    )


def _fetch(sql: str, params: list[Any]) -> list[tuple]:
    """The rows, sums as int (PostgreSQL's SUM of a bigint is a numeric), NULL sums as 0."""
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return [
            tuple(int(v or 0) if isinstance(v, Decimal | int) or v is None else v for v in row)
            for row in cursor.fetchall()
        ]


def _in(values) -> str:
    # Scheme codes are the code's own constants (TextChoices values), never user input.
    return ", ".join(f"'{v}'" for v in sorted(values))


def _area_join(alias: str) -> str:
    """低保 is reported by the household's area type (`a.area_type`; other schemes in one column, ''):
    a hash join with the households, not a lookup per line."""
    return (
        f"LEFT JOIN registry_household a ON a.id = {alias}.household_id "
        f"AND {alias}.scheme IN ({_in(MEMBER_SCHEMES)}) "
    )


def _line_figures(keys: str, params: list[Any], month: Period) -> list[tuple]:
    """Per row, scheme and area: lines, persons of the member schemes (the household size the payroll
    computed the amount on, `size`), 应发, the amounts by status, new lines. Nothing here stops
    PostgreSQL from aggregating in parallel by hash: no COUNT(DISTINCT …) (a sort of the month's lines)
    and no subquery per line."""
    status_sums = ", ".join(f"SUM(CASE WHEN l.status = '{s}' THEN l.amount_fen ELSE 0 END)" for s in STATUSES)
    return _fetch(
        # An arrears line (补发差额, arrears_seq > 0) adds to the owed month's amounts, not a recipient:
        # recipients, persons and new lines count the month's own lines only.
        "SELECT k.row_code, l.scheme, COALESCE(a.area_type, '') AS area, "
        "SUM(CASE WHEN l.arrears_seq = 0 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN l.arrears_seq = 0 AND l.scheme IN ({_in(MEMBER_SCHEMES)}) THEN COALESCE(l.size, 0) "
        "ELSE 0 END), "
        f"SUM(l.amount_fen), {status_sums}, SUM(CASE WHEN l.change = 'new' AND l.arrears_seq = 0 THEN 1 ELSE 0 END) "
        f"FROM payments_paymentline l JOIN ({keys}) k ON k.place = l.region_id {_area_join('l')}"
        "WHERE l.month = %s GROUP BY k.row_code, l.scheme, COALESCE(a.area_type, '')",
        [*params, str(month)],
    )


def _stopped(keys: str, params: list[Any], month: Period) -> list[tuple]:
    """Last month's own lines (not arrears) of monthly schemes with no own line this month, by where
    they were paid."""
    return _fetch(
        "SELECT k.row_code, p.scheme, COALESCE(a.area_type, '') AS area, COUNT(*) FROM payments_paymentline p "
        f"JOIN ({keys}) k ON k.place = p.region_id {_area_join('p')}"
        f"WHERE p.month = %s AND p.arrears_seq = 0 AND p.scheme IN ({_in(MONTHLY_SCHEMES)}) AND NOT EXISTS ("
        "SELECT 1 FROM payments_paymentline l WHERE l.beneficiary_id = p.beneficiary_id "
        "AND l.scheme = p.scheme AND l.month = %s AND l.arrears_seq = 0) GROUP BY k.row_code, p.scheme, COALESCE(a.area_type, '')",
        [*params, str(month.shift(-1)), str(month)],
    )


def _coverage(keys: str, params: list[Any], month: Period) -> list[tuple]:
    """建档立卡 persons by row, and how many receive at least one scheme in the month. The registered
    poor are found first (tens of thousands, by the category's index; a materialised CTE so the planner
    does not start from every person of the region), then placed in their rows."""
    first, last = month.first_day.isoformat(), month.last_day.isoformat()
    household = _in(HOUSEHOLD_SCHEMES)
    return _fetch(
        "WITH poor AS MATERIALIZED (SELECT p.id AS person_id, p.region_id AS region_id "
        "FROM registry_person p WHERE p.merged_into_id IS NULL AND p.id IN ("
        "SELECT c.person_id FROM registry_personcategory c WHERE c.category = %s "
        "AND c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to >= %s))) "
        "SELECT k.row_code, COUNT(*), SUM(CASE WHEN EXISTS ("
        "SELECT 1 FROM payments_paymentline l WHERE l.beneficiary_id = poor.person_id "
        f"AND l.scheme IN ({_in(PERSON_SCHEMES)}) AND l.month = %s) OR EXISTS ("
        "SELECT 1 FROM registry_membership m JOIN payments_paymentline l ON l.beneficiary_id = m.household_id "
        f"AND l.scheme IN ({household}) AND l.month = %s "
        "WHERE m.person_id = poor.person_id AND m.joined_on <= %s AND (m.left_on IS NULL OR m.left_on > %s)"
        ") THEN 1 ELSE 0 END) "
        f"FROM poor JOIN ({keys}) k ON k.place = poor.region_id GROUP BY k.row_code",
        [Category.REGISTERED_POOR.value, last, first, str(month), str(month), last, last, *params],
    )


# --- the report --------------------------------------------------------------------------------------


def columns(schemes_seen: set[str] | None = None) -> list[Column]:
    """The report's column groups: 城市低保, 农村低保, then every other scheme in PayScheme's order
    (and, defensively, any scheme code found in the lines that PayScheme no longer names)."""
    labels = dict(PayScheme.choices)
    out = [
        Column("dibao_urban", _("城市低保"), PayScheme.DIBAO, AreaType.URBAN),
        Column("dibao_rural", _("农村低保"), PayScheme.DIBAO, AreaType.RURAL),
    ]
    others = [s for s in PayScheme.values if s != PayScheme.DIBAO]
    others += sorted((schemes_seen or set()) - set(PayScheme.values))
    out += [Column(s, str(labels.get(s, s)), s) for s in others]
    return out


def _column_key(scheme: str, area: str | None) -> str:
    if scheme == PayScheme.DIBAO:
        return f"dibao_{area or AreaType.URBAN}"
    return scheme


def _empty_row(region: Region, cols: list[Column]) -> Row:
    return Row(
        code=region.code,
        name=region.name,
        level=region.level,
        cells={
            c.key: Cell(
                households=0 if c.household_scheme else None,
                persons=0 if c.counts_persons else None,
                new=0 if c.monthly else None,
                stopped=0 if c.monthly else None,
            )
            for c in cols
        },
    )


def has_payroll(month: Period) -> bool:
    """Whether the month's payroll (round 0) has been computed."""
    return PayrollRun.objects.filter(month=str(month), round=0, status=RunStatus.COMPUTED).exists()


# PostgreSQL's default work_mem (4 MB) makes it sort and spill the month's lines, and probe last month's
# lines one by one for 停发; with this much the aggregates and the anti-join are hashed in memory
# (docs/benchmarks.md R1). Set for the report's transaction only.
REPORT_WORK_MEM = "256MB"


def _report_memory() -> None:
    if read_connection().vendor == "postgresql":
        with read_connection().cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")


def _queries(keys: str, params: list[Any], month: Period) -> tuple[list[tuple], ...]:
    # On the replica when there is one (doudi.core.replica): the report's transaction is opened there.
    with transaction.atomic(using=read_alias()):
        _report_memory()
        return (
            _line_figures(keys, params, month),
            _stopped(keys, params, month),
            _coverage(keys, params, month),
        )


def grouped_figures(keys: str, params: list[Any], month: Period) -> tuple[list[tuple], list[tuple]]:
    """The report's payment figures and 建档立卡 coverage of `month`, grouped by any mapping of places to
    rows (`keys`: a derived table of `place`, `row_code`), as the report computes them: what supervision's
    aggregate tables are refreshed from. Payment rows: (row, scheme, area, own lines, persons, 应发, then
    the amounts by `STATUSES`, new lines); coverage rows: (row, registered poor, covered)."""
    with transaction.atomic(using=read_alias()):
        _report_memory()
        return _line_figures(keys, params, month), _coverage(keys, params, month)


def monthly_report(region: Region, month: Period) -> MonthlyReport:
    """The report of `region` (not scoped: callers check the user may see it) for `month`."""
    rows_regions = _rows_of(region)
    keys, params = _row_keys(region, rows_regions)
    figures, stopped, coverage = _queries(keys, params, month)
    seen = {r[1] for r in figures}
    cols = columns(seen)
    by_key = {c.key: c for c in cols}
    rows = {r.code: _empty_row(r, cols) for r in rows_regions}
    for code, scheme, area, count, members, due, *rest in figures:
        row, column = rows[code], by_key[_column_key(scheme, area)]
        status_fen, new = rest[: len(STATUSES)], rest[len(STATUSES)]
        cell = row.cells[column.key]
        # One line per beneficiary and month: a household scheme's lines are households, a person
        # scheme's lines are persons.
        if column.household_scheme:
            cell.households = (cell.households or 0) + count
        if not column.household_scheme:
            cell.persons = (cell.persons or 0) + count
        elif column.counts_persons:
            cell.persons = (cell.persons or 0) + members
        cell.due_fen += due
        cell.paid_fen += status_fen[0]
        row.amounts["due"] += due
        for status, fen in zip(STATUSES, status_fen, strict=True):
            row.amounts[status] += fen
        if column.monthly:
            cell.new = (cell.new or 0) + new
            row.new += new
    for code, scheme, area, n in stopped:
        cell = rows[code].cells[_column_key(scheme, area)]
        cell.stopped = (cell.stopped or 0) + n
        rows[code].stopped += n
    for code, poor, covered in coverage:
        rows[code].poor, rows[code].covered = poor, covered
    total = _empty_row(region, cols)
    for row in rows.values():
        total.add(row)
    return MonthlyReport(
        region=region,
        month=month,
        generated_at=timezone.now(),
        has_payroll=has_payroll(month),
        columns=cols,
        rows=list(rows.values()),
        total=total,
    )


def report_regions(user: User) -> list[Region]:
    """The regions the user may pick: their own, and below it down to townships."""
    level = user.region.level
    return list(regions_visible_to(user, max_level=max(level, min(level + 1, RegionLevel.TOWNSHIP))))


def monthly_report_for(user: User, *, region_code: str, month: Period) -> MonthlyReport:
    """The report of a region in the user's subtree (another region is a 404, as if missing)."""
    region = get_visible_or_404(Region, user, code=region_code)
    return monthly_report(region, month)


def latest_month() -> Period | None:
    """The latest month with a computed payroll, the page's default."""
    month = (
        PayrollRun.objects.filter(round=0, status=RunStatus.COMPUTED)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return Period.parse(month) if month else None


def months_with_lines() -> list[str]:
    """Months with a computed payroll, newest first (the month picker's suggestions)."""
    return list(
        PayrollRun.objects.filter(round=0, status=RunStatus.COMPUTED)
        .order_by("-month")
        .values_list("month", flat=True)[:36]
    )
