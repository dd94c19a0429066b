"""发放花名册: the monthly payroll as a batch job — freeze, then compute from the frozen snapshot alone.

    freeze (DB → Parquet under DOUDI_DATA_DIR/payroll/<month>-r<round>/, SHA-256 and row counts)
    → compute (snapshot → doudi.policy.evaluate on the whole population, once per distinct emergency
      window → payment lines as Arrow, no Python loop per row)
    → write (services.compute_run: the lines in one transaction, binary COPY on PostgreSQL)

`freeze` is the only step that reads the registry, the enrolments, the payee accounts and the
parameters; `compute` reads only the snapshot, so a payroll computed twice — or killed and computed
again — gives the same lines to the fen, whatever was edited in between (docs/payments.md).

Snapshot files:

- ``households.parquet`` — the policy/batch.py population schema (``dibao_enrolled`` and
  ``dibao_last_amount`` from the month's dibao enrolment), plus ``region_id`` and ``head_id``;
- ``persons.parquet`` — the population schema of the current members;
- ``enrolments.parquet`` — ``enrolment_id, scheme, household_id, person_id (0 for dibao), amount``;
- ``accounts.parquet`` — the active payee account of each member: ``person_id, account_id,
  bank_code, account_number, holder_name``;
- ``previous.parquet`` — last month's lines (``beneficiary_id, scheme, district, amount_fen``), to
  show what changed (one-off payments left out: paid once, they never "stop");
- ``oneoffs.parquet`` — the decided, not yet paid 临时救助 / 一事一议 / 先行救助 cases (oneoffs.py);
- ``parameters.json`` — the bureau's stored parameter values and declared windows (overlaid on the
  YAML defaults, whose digest is recorded), and the emergency window of every district.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.payments import oneoffs
from doudi.policy.batch import read_population
from doudi.policy.engine import Result, evaluate
from doudi.policy.money import FEN_PER_YUAN
from doudi.policy.parameters import ParameterSet, StoredValue, load_defaults
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME, Category
from doudi.policy.rules.dibao import DECISIONS

Progress = Callable[[str, int], None]
Interval = tuple[date, date | None]

SNAPSHOT_FILES = (
    "households.parquet",
    "persons.parquet",
    "enrolments.parquet",
    "accounts.parquet",
    "previous.parquet",
    "parameters.json",
    "oneoffs.parquet",  # absent from a snapshot frozen before one-offs were paid: hashed when present
)

# Scheme codes of the line table, in the order lines of one household are listed.
SCHEMES = ("dibao", "tekun", "children", "price_subsidy", "covid", "bereavement")
SCHEME = {name: code for code, name in enumerate(SCHEMES)}
FLAGS = (
    "",
    "reduce",
    "exit",
    "deferred_hold",
    "deferred_exit",
    "no_account",
    "district_standard",
    "index_missing",
)
FLAG = {name: code for code, name in enumerate(FLAGS)}
CHANGES = ("new", "changed", "same")
_D = {name: code for code, name in enumerate(DECISIONS)}

# --- reading the database ---------------------------------------------------------------------------


def _enrolled_sql(month: Period) -> str:
    """Enrolments in force in the month: begun by its first day, not ended before it, and not 停发 in
    it by the ledger — a suspension or resumption counts from its `effective_month`, not from the day
    it was recorded (a suspension dated ahead still pays the months before it)."""
    m = month.first_day.isoformat()
    latest = (
        "(SELECT c.kind FROM benefits_enrolmentchange c WHERE c.enrolment_id = e.id "
        f"AND c.kind IN ('suspend', 'resume') AND c.effective_month <= '{m}' ORDER BY c.at DESC, c.id DESC LIMIT 1)"
    )
    dated_ahead = (
        "SELECT enrolment_id FROM benefits_enrolmentchange "
        f"WHERE kind IN ('suspend', 'resume') AND effective_month > '{m}'"
    )
    # The first branch is the common case, decided without the correlated subquery.
    return (
        f"e.from_month <= '{m}' AND (e.end_month IS NULL OR e.end_month >= '{m}') "
        f"AND ((e.status = 'active' AND e.id NOT IN ({dated_ahead})) OR COALESCE({latest}, 'resume') <> 'suspend')"
    )


def _amount_sql(month: Period) -> str:
    """The monthly amount in force in the month by the enrolment ledger: the amount set by the change
    recorded last among those effective by the month (a later decision overrides an earlier one from
    its own month on). `monthly_amount` is the amount of the latest change, so only an enrolment with
    an amount change dated after the month needs the ledger."""
    from doudi.verification.dataio import is_postgres

    m = month.first_day.isoformat()

    def amount_of(column: str) -> str:
        if is_postgres():
            return f"CAST(c.{column} ->> 'monthly_amount' AS BIGINT)"
        return f"CAST(json_extract(c.{column}, '$.monthly_amount') AS INTEGER)"

    in_force = (
        f"(SELECT {amount_of('after')} FROM benefits_enrolmentchange c WHERE c.enrolment_id = e.id "
        f"AND c.kind IN ('enrolled', 'amount') AND c.effective_month <= '{m}' ORDER BY c.at DESC, c.id DESC LIMIT 1)"
    )
    first_before = (
        f"(SELECT {amount_of('before')} FROM benefits_enrolmentchange c WHERE c.enrolment_id = e.id "
        "AND c.kind = 'amount' ORDER BY c.at, c.id LIMIT 1)"
    )
    return (
        "CASE WHEN e.id IN (SELECT enrolment_id FROM benefits_enrolmentchange "
        f"WHERE kind = 'amount' AND effective_month > '{m}') "
        f"THEN COALESCE({in_force}, {first_before}, e.monthly_amount) ELSE e.monthly_amount END"
    )


def _queries(
    month: Period, *, whole_registry: bool = False, households: list[int] | None = None
) -> dict[str, tuple[str, pa.Schema]]:
    """The payroll's reads; `whole_registry`: every household with a current member, not only those
    with an enrolment in force (the what-if's population, `read_registry`); `households`: only these
    (an arrears run's households enrolled for an owed month after it was frozen)."""
    enrolled = _enrolled_sql(month)
    in_payroll = f"EXISTS (SELECT 1 FROM benefits_enrolment e WHERE e.household_id = h.id AND {enrolled})"
    if whole_registry:
        in_payroll = (
            "EXISTS (SELECT 1 FROM registry_membership c WHERE c.household_id = h.id AND c.left_on IS NULL)"
        )
    if households is not None:
        in_payroll += f" AND h.id IN ({', '.join(str(int(i)) for i in households) or 'NULL'})"
    incomes = ", ".join(f"p.income_{k}_fen AS income_{k}_fen" for k in COUNTED_INCOME)
    first, last = month.first_day.isoformat(), month.last_day.isoformat()
    return {
        "enrolments": (
            "SELECT e.id AS enrolment_id, e.scheme AS scheme, e.household_id AS household_id, "
            f"COALESCE(e.person_id, 0) AS person_id, {_amount_sql(month)} AS amount "
            f"FROM benefits_enrolment e WHERE {enrolled}",
            ENROLMENT_SCHEMA,
        ),
        "households": (
            "SELECT h.id AS household_id, h.region_id AS region_id, h.area_type AS area_type, "
            "h.deposits_fen AS deposits_fen, h.vehicles AS vehicles, h.houses AS houses, "
            f"COALESCE(h.head_id, 0) AS head_id FROM registry_household h WHERE {in_payroll}",
            _DB_HOUSEHOLD_SCHEMA,
        ),
        "members": (
            "SELECT m.household_id AS household_id, p.id AS person_id, p.birth_date AS birth_date, "
            "p.work AS work, p.orphan_care AS orphan_care, p.covid_confirmed_on AS covid_confirmed_on, "
            "p.covid_discharged_on AS covid_discharged_on, p.covid_died_on AS covid_died_on, "
            f"{incomes} FROM registry_membership m JOIN registry_person p ON p.id = m.person_id "
            f"JOIN registry_household h ON h.id = m.household_id WHERE m.left_on IS NULL AND {in_payroll}",
            _DB_MEMBER_SCHEMA,
        ),
        "categories": (
            "SELECT c.person_id AS person_id, c.category AS category FROM registry_personcategory c "
            f"WHERE c.valid_from <= '{last}' AND (c.valid_to IS NULL OR c.valid_to >= '{first}')",
            pa.schema([("person_id", pa.int64()), ("category", pa.string())]),
        ),
        "accounts": (
            "SELECT a.person_id AS person_id, a.id AS account_id, b.code AS bank_code, "
            "a.account_number AS account_number, a.holder_name AS holder_name "
            "FROM payments_payeeaccount a JOIN payments_bank b ON b.id = a.bank_id WHERE a.status = 'active' "
            "ORDER BY a.person_id",
            ACCOUNT_SCHEMA,
        ),
        "previous": (
            "SELECT beneficiary_id, scheme, district, amount_fen FROM payments_paymentline "
            f"WHERE month = '{month.shift(-1)}' AND scheme NOT IN ({_ONE_OFF_SQL})",
            PREVIOUS_SCHEMA,
        ),
        "oneoffs": oneoffs.query(),
        "villages": (
            "SELECT code, path FROM regions_region WHERE level = 4",
            pa.schema([("code", pa.string()), ("path", pa.string())]),
        ),
    }


_ONE_OFF_SQL = ", ".join(f"'{s}'" for s in oneoffs.SCHEMES)

ENROLMENT_SCHEMA = pa.schema(
    [
        ("enrolment_id", pa.int64()),
        ("scheme", pa.string()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("amount", pa.int64()),
    ]
)
_DB_HOUSEHOLD_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("region_id", pa.string()),
        ("area_type", pa.string()),
        ("deposits_fen", pa.int64()),
        ("vehicles", pa.int64()),
        ("houses", pa.int64()),
        ("head_id", pa.int64()),
    ]
)
_DB_MEMBER_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("birth_date", pa.date32()),
        ("work", pa.string()),
        ("orphan_care", pa.string()),
        ("covid_confirmed_on", pa.date32()),
        ("covid_discharged_on", pa.date32()),
        ("covid_died_on", pa.date32()),
        *((f"income_{k}_fen", pa.int64()) for k in COUNTED_INCOME),
    ]
)
ACCOUNT_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("account_id", pa.int64()),
        ("bank_code", pa.string()),
        ("account_number", pa.string()),
        ("holder_name", pa.string()),
    ]
)
PREVIOUS_SCHEMA = pa.schema(
    [
        ("beneficiary_id", pa.int64()),
        ("scheme", pa.string()),
        ("district", pa.string()),
        ("amount_fen", pa.int64()),
    ]
)

# The line table, typed as the database columns (binary COPY needs exact types).
LINE_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("issue_run_id", pa.int64()),
        ("ref", pa.string()),
        ("month", pa.string()),
        ("scheme", pa.string()),
        ("beneficiary_id", pa.int64()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("region_id", pa.string()),
        ("district", pa.string()),
        ("amount_fen", pa.int64()),
        ("previous_fen", pa.int64()),
        ("change", pa.string()),
        ("decision", pa.string()),
        ("flag", pa.string()),
        ("status", pa.string()),
        ("account_id", pa.int64()),
        ("bank_code", pa.string()),
        ("account_number", pa.string()),
        ("holder_name", pa.string()),
        ("standard_fen", pa.int64()),
        ("size", pa.int16()),
        ("income_fen", pa.int64()),
        ("computed_fen", pa.int64()),
        ("enrolled_fen", pa.int64()),
        ("explanation", pa.string()),
        ("attempts", pa.int16()),
        ("failure_code", pa.string()),
        ("failure_reason", pa.string()),
    ]
)


def read_database(month: Period) -> dict[str, pa.Table]:
    """Everything the month's payroll reads, as Arrow, in one consistent read."""
    from doudi.verification import dataio

    return dataio.read_consistent(_queries(month))


def read_registry(month: Period) -> dict[str, pa.Table]:
    """Every registry household with its current members, read as `read_database` reads the payroll's
    (dibao status and categories as in force in `month`), without payee accounts or payment lines:
    the tables `freeze` writes for a what-if on the registry (parameters/snapshots.py)."""
    from doudi.verification import dataio

    queries = _queries(month, whole_registry=True)
    del queries["accounts"], queries["previous"], queries["oneoffs"]
    tables = dataio.read_consistent(queries)
    return tables | {"accounts": ACCOUNT_SCHEMA.empty_table(), "previous": PREVIOUS_SCHEMA.empty_table()}


# --- freezing ------------------------------------------------------------------------------------


@dataclass
class Frozen:
    directory: Path
    sha256: str
    rows: dict[str, int]


def _district_of(villages: pa.Table, region: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The district code (level-2 node of the path) of each village code."""
    codes = villages.column("code")
    district = pa.array([p.split("/")[1] for p in villages.column("path").to_pylist()], pa.string())
    index = pc.index_in(region, value_set=codes)  # ~11,000 villages: the loop above is per village
    if index.null_count:
        raise ValueError(
            "a household in the payroll is registered in a region that is not a village/community"
        )
    return pc.take(district, index)


def _sorted(table: pa.Table, first: str, second: str | None = None) -> pa.Table:
    """`table` in ascending order of its integer key column(s). The database mostly hands rows over
    in that order already (merge joins, index scans): a check costs far less than a sort, which
    moves every column of millions of rows."""
    a = np.asarray(table.column(first).to_numpy(), dtype=np.int64)
    if second is None:
        ordered = bool(np.all(a[1:] >= a[:-1]))
    else:
        b = np.asarray(table.column(second).to_numpy(), dtype=np.int64)
        ordered = bool(np.all((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (b[1:] >= b[:-1]))))
    if ordered:
        return table
    keys = [(first, "ascending")] + ([(second, "ascending")] if second else [])
    return table.sort_by(keys)


def dibao_columns(h_ids: pa.ChunkedArray | pa.Array, enrolments: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Each household's ``dibao_enrolled`` and ``dibao_last_amount`` (yuan, null if not enrolled) from
    the enrolments in force (ENROLMENT_SCHEMA)."""
    dibao = enrolments.filter(pc.equal(enrolments.column("scheme"), "dibao"))
    at = pc.index_in(h_ids, value_set=dibao.column("household_id"))
    enrolled = pc.is_valid(at)
    if dibao.num_rows:
        last = pc.if_else(enrolled, pc.take(dibao.column("amount"), pc.fill_null(at, 0)), None)
    else:  # nobody enrolled in dibao (a registry snapshot may have no enrolment at all)
        last = pa.nulls(len(h_ids), pa.int64())
    return enrolled, last


def build_snapshot(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The database tables as the snapshot's Parquet tables (population schema of policy/batch.py)."""
    enrolments = _sorted(tables["enrolments"], "enrolment_id")
    households = _sorted(tables["households"], "household_id")
    h_ids = households.column("household_id")
    enrolled, last = dibao_columns(h_ids, enrolments)
    district = _district_of(tables["villages"], households.column("region_id"))
    households = pa.table(
        {
            "household_id": h_ids,
            "district": district,
            "region_id": households.column("region_id"),
            "head_id": households.column("head_id"),
            "area_type": households.column("area_type"),
            "dibao_enrolled": enrolled,
            "dibao_last_amount": last,
            "deposits_fen": households.column("deposits_fen"),
            "vehicles": households.column("vehicles"),
            "houses": households.column("houses"),
        }
    )
    members = _sorted(tables["members"], "household_id", "person_id")
    cats = tables["categories"]
    m_ids = members.column("person_id").to_numpy()
    columns = {name: members.column(name) for name in members.column_names}
    columns["work"] = pc.fill_null(columns["work"], "none")
    sorter = np.argsort(m_ids, kind="stable")
    c_person = np.asarray(cats.column("person_id").to_numpy(), dtype=np.int64)
    pos, found = _lookup(m_ids[sorter], c_person)
    for name in CATEGORY_NAMES:
        flag = np.zeros(len(m_ids), dtype=np.bool_)
        hit = found & np.asarray(
            pc.equal(cats.column("category"), name).to_numpy(zero_copy_only=False), dtype=np.bool_
        )
        flag[sorter[pos[hit]]] = True
        columns[f"cat_{name}"] = pa.array(flag)
    persons = pa.table(columns)
    accounts = _sorted(tables["accounts"], "person_id")
    previous = tables["previous"].sort_by([("beneficiary_id", "ascending"), ("scheme", "ascending")])
    return {
        "households.parquet": households,
        "persons.parquet": persons,
        "enrolments.parquet": enrolments,
        "accounts.parquet": accounts,
        "previous.parquet": previous,
        oneoffs.FILE: oneoffs.snapshot_table(tables.get("oneoffs")),
    }


def freeze(
    directory: Path,
    tables: dict[str, pa.Table],
    parameters: dict[str, Any],
) -> Frozen:
    """Write the snapshot to `directory` (a temporary directory renamed into place: a killed freeze
    leaves no half-written snapshot) and return its SHA-256 and row counts."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows: dict[str, int] = {}
    for name, table in build_snapshot(tables).items():
        pq.write_table(table, tmp / name, compression="zstd")
        rows[name.removesuffix(".parquet")] = table.num_rows
    (tmp / "parameters.json").write_text(json.dumps(parameters, ensure_ascii=False, sort_keys=True, indent=1))
    for path in tmp.iterdir():
        _fsync(path)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return Frozen(directory, snapshot_sha256(directory), rows)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_sha256(directory: Path) -> str:
    """One digest over the snapshot files' digests, in a fixed order."""
    names = SNAPSHOT_FILES if (directory / "parameters.json").exists() else ("follow_up.parquet",)
    names = tuple(name for name in names if name != oneoffs.FILE or (directory / name).exists())
    lines = "".join(f"{file_sha256(directory / name)}  {name}\n" for name in names)
    return hashlib.sha256(lines.encode()).hexdigest()


def defaults_digest() -> str:
    """Digest of the shipped YAML parameter files (the code's defaults), recorded with the snapshot."""
    from doudi.policy import parameters as package

    root = Path(package.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def parameters_json(records: list[StoredValue], windows: dict[str, Interval | None]) -> dict[str, Any]:
    def value(v: Any) -> Any:
        return (
            {"date": v.isoformat()}
            if isinstance(v, date)
            else (str(v) if v is not None and not isinstance(v, int) else v)
        )

    return {
        "defaults_sha256": defaults_digest(),
        "stored": [
            {
                "name": r.name,
                "region": r.region,
                "since": r.effective_date.isoformat(),
                "value": value(r.value),
                "reference": r.reference,
                "verified": r.verified,
            }
            for r in records
        ],
        "windows": {
            code: None if w is None else [w[0].isoformat(), w[1].isoformat() if w[1] else None]
            for code, w in sorted(windows.items())
        },
    }


def load_parameters(
    directory: Path, name: str = "parameters.json"
) -> tuple[ParameterSet, dict[int, Interval | None]]:
    """The parameter set and the districts' windows exactly as frozen (`name`: an arrears snapshot
    also keeps the parameters the month was paid with, arrears.py)."""
    return parameters_from(json.loads((directory / name).read_text()))


def parameters_from(data: dict[str, Any]) -> tuple[ParameterSet, dict[int, Interval | None]]:
    """`load_parameters` of the file's content (doudi.batch reads it from a cluster file system)."""
    from decimal import Decimal

    def value(v: Any) -> Any:
        if isinstance(v, dict):
            return date.fromisoformat(v["date"])
        return Decimal(v) if isinstance(v, str) else v

    records = [
        StoredValue(
            r["name"],
            r["region"],
            date.fromisoformat(r["since"]),
            value(r["value"]),
            r["reference"],
            r["verified"],
        )
        for r in data["stored"]
    ]
    windows = {
        int(code): None
        if w is None
        else (date.fromisoformat(w[0]), date.fromisoformat(w[1]) if w[1] else None)
        for code, w in data["windows"].items()
    }
    return load_defaults().overlay(records), windows


# --- computing -----------------------------------------------------------------------------------


@dataclass
class Computed:
    # LINE_SCHEMA without run_id/issue_run_id; sorted (district, household, scheme, person), then the
    # one-off payments of decided cases by case id
    lines: pa.Table
    stopped: pa.Table  # last month's lines with no line this month: district, scheme, amount_fen
    in_window: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def _window_overrides(window: Interval | None) -> dict[str, object]:
    from doudi.verification.evaluation import window_overrides

    return window_overrides(window)


def _evaluate(
    population, period: Period, params: ParameterSet, windows: dict[int, Interval | None]
) -> dict[str, Any]:
    """Every rule for every household, each household under its district's window: one evaluation per
    distinct window (usually one), rows taken from the one that applies."""
    names_h = (
        "dibao.decision",
        "dibao.amount",
        "dibao.computed_amount",
        "dibao.standard",
        "dibao.size",
        "dibao.counted_income",
        "bereavement.amount",
    )
    names_p = ("tekun.amount", "child_allowance.amount", "price_subsidy.amount", "covid_assistance.amount")
    groups: dict[Interval | None, list[int]] = {}
    for code, window in windows.items():
        groups.setdefault(window, []).append(code)
    district = population.household_district
    covered = np.zeros(population.households, dtype=np.bool_)
    plan: list[tuple[ParameterSet, np.ndarray]] = []
    for window, codes in groups.items():
        rows = np.isin(district, np.array(codes, dtype=np.int64))
        covered |= rows
        plan.append((params.with_overrides(_window_overrides(window)), rows))
    if not covered.all():
        plan.append((params, ~covered))
    out: dict[str, Any] = {}
    in_window = np.zeros(population.households, dtype=np.bool_)
    for overridden, rows in plan:
        if not rows.any():
            continue
        result: Result = evaluate(population, period, overridden)
        person_rows = rows[population.person_household]
        for name in (*names_h, *names_p):
            mask = person_rows if name in names_p else rows
            values = result[name]
            null = result.null(name)
            if name not in out:
                out[name] = np.zeros(len(values), dtype=values.dtype)
                out[name + ":null"] = np.zeros(len(values), dtype=np.bool_)
            out[name][mask] = values[mask]
            if null is not None:
                out[name + ":null"][mask] = null[mask]
        in_window[rows] = bool(result["emergency.in_window"])
    if not plan or population.households == 0:
        for name in (*names_h, *names_p):
            size = population.persons if name in names_p else population.households
            out[name] = np.zeros(size, dtype=np.int64)
            out[name + ":null"] = np.zeros(size, dtype=np.bool_)
    out["in_window"] = in_window
    return out


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def stopwatch() -> tuple[dict[str, float], Callable[[str], None]]:
    """`timings` and `lap(name)`, which records the seconds since the previous lap under `name`."""
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 3)
        clock[0] = now

    return timings, lap


def compute(snapshot: Path, month: Period, *, progress: Progress = lambda stage, percent: None) -> Computed:
    """The month's payment lines from the snapshot alone (see the module docstring)."""
    timings, lap = stopwatch()

    # Held in a one-slot list and popped into the call, so that compute_lines holds the only reference
    # and its `del population` releases the rules' inputs (~0.3 GB at 1M households) before the lines.
    population = [read_population(snapshot)]
    hh = pq.read_table(
        snapshot / "households.parquet", columns=["household_id", "district", "region_id", "head_id"]
    )
    hh = _sorted(hh, "household_id")  # read_population's household order
    enrolments = pq.read_table(snapshot / "enrolments.parquet")
    accounts = pq.read_table(snapshot / "accounts.parquet")
    previous = pq.read_table(snapshot / "previous.parquet")
    params, windows = load_parameters(snapshot)
    lap("read")
    lines, stopped, in_window = compute_lines(
        population.pop(),
        hh,
        enrolments,
        accounts,
        previous,
        month,
        params,
        windows,
        progress=progress,
        lap=lap,
    )
    # One-off payments of decided cases (a few): after the scheme lines, 流水号 continuing theirs.
    extra = oneoffs.lines(
        oneoffs.read(snapshot), accounts, month=str(month), first_ref=lines.num_rows + 1, schema=lines.schema
    )
    if extra.num_rows:
        lines = pa.concat_tables([lines, extra])
    lap("lines")
    progress("lines", 75)
    return Computed(lines=lines, stopped=stopped, in_window=in_window, timings=timings)


def compute_lines(
    population,
    hh: pa.Table,
    enrolments: pa.Table,
    accounts: pa.Table,
    previous: pa.Table,
    month: Period,
    params: ParameterSet,
    windows: dict[int, Interval | None],
    *,
    progress: Progress = lambda stage, percent: None,
    lap: Callable[[str], None] = lambda name: None,
) -> tuple[pa.Table, pa.Table, bool]:
    """The scheme lines (流水号 from 1, in district, household, scheme, person order), last month's
    lines that have none now, and whether a window applied — of the whole snapshot, or of one
    district's partition of it (doudi.batch: the same function on each district, on DuckDB or Spark).
    `hh`: household_id, district, region_id, head_id in `population`'s household order."""
    progress("evaluating", 30)
    r = _evaluate(population, month, params, windows)
    lap("evaluate")
    progress("lines", 60)

    P = population.persons
    hidx = population.person_household
    h_ids = population.household_id
    p_ids = population.person_id
    dibao_enrolled = population.household_enrolled
    household_last = population.household_last_amount_fen
    categories = population.person_categories
    del population  # the incomes, dates and assets were the rules' input only: released for the lines
    in_window_h = r["in_window"]

    # Person-level enrolments (特困, children): the enrolled amount per member, 0 if none.
    e_scheme = enrolments.column("scheme")
    e_person = np.asarray(enrolments.column("person_id").to_numpy(), dtype=np.int64)
    e_amount = np.asarray(enrolments.column("amount").to_numpy(), dtype=np.int64) * FEN_PER_YUAN
    p_sorter = np.argsort(p_ids, kind="stable")

    def person_enrolment(scheme: str) -> tuple[np.ndarray, np.ndarray]:
        chosen = np.asarray(pc.equal(e_scheme, scheme).to_numpy(zero_copy_only=False), dtype=np.bool_)
        pos, found = _lookup(p_ids[p_sorter], e_person[chosen])
        enrolled = np.zeros(P, dtype=np.bool_)
        amount = np.zeros(P, dtype=np.int64)
        enrolled[p_sorter[pos[found]]] = True
        amount[p_sorter[pos[found]]] = e_amount[chosen][found]
        return enrolled, amount

    tekun_enrolled, tekun_last = person_enrolment("tekun")
    child_enrolled, child_last = person_enrolment("children")
    person_enrolled = tekun_enrolled | child_enrolled

    parts: list[dict[str, Any]] = []

    # 低保金 (R1) per enrolled household: never reduced or stopped silently.
    h = np.flatnonzero(dibao_enrolled)
    decision = r["dibao.decision"][h]
    computed = r["dibao.computed_amount"][h]
    last = household_last[h]
    exitish = np.isin(decision, [_D["exit"], _D["exit_deferred"], _D["not_applicable"]])
    reduce = ~exitish & (computed < last)
    paid = np.where(exitish | reduce, last, r["dibao.amount"][h])
    win = in_window_h[h]
    flag = np.select(
        [win & exitish, win & reduce, exitish, reduce],
        [FLAG["deferred_exit"], FLAG["deferred_hold"], FLAG["exit"], FLAG["reduce"]],
        FLAG[""],
    )
    decision_text = pc.take(pa.array(DECISIONS), pa.array(decision.astype(np.int64)))
    basis = {
        "standard": r["dibao.standard"][h],
        "size": r["dibao.size"][h],
        "income": r["dibao.counted_income"][h],
        "computed": computed,
        "enrolled": last,
    }
    parts.append(_part("dibao", h, h_ids[h], None, paid, None, flag, decision_text, basis))

    # 特困 (R2) and children (R3) per enrolled person: same rule — the computed amount, never below the
    # enrolled one without a written decision.
    for scheme, enrolled, last_p, rule in (
        ("tekun", tekun_enrolled, tekun_last, "tekun.amount"),
        ("children", child_enrolled, child_last, "child_allowance.amount"),
    ):
        p = np.flatnonzero(enrolled)
        computed = r[rule][p]
        last = last_p[p]
        exitish = computed == 0
        reduce = ~exitish & (computed < last)
        paid = np.where(exitish | reduce, last, computed)
        flag = np.select([exitish, reduce], [FLAG["exit"], FLAG["reduce"]], FLAG[""])
        basis = {"computed": computed, "enrolled": last}
        parts.append(_part(scheme, hidx[p], p_ids[p], p, paid, None, flag, None, basis))

    # Persons the payroll pays the other schemes to: members of an enrolled dibao household, enrolled
    # 特困/children, and (R5) the other categories the notice names.
    member_of_dibao = dibao_enrolled[hidx]
    paid_persons = member_of_dibao | person_enrolled | ((categories & np.uint8(Category.TEKUN)) != 0)

    # 价格临时补贴 (R4): a missing index leaves the amount unknown: held, not guessed.
    amount = r["price_subsidy.amount"]
    null = r["price_subsidy.amount:null"]
    p = np.flatnonzero(paid_persons & ((amount > 0) | null))
    flag = np.where(null[p], FLAG["index_missing"], FLAG[""])
    parts.append(_part("price_subsidy", hidx[p], p_ids[p], p, amount[p], null[p], flag, None, {}))

    # 新冠临时救助 (R5).
    other = np.uint8(
        Category.HARDSHIP_CHILD
        | Category.REGISTERED_POOR
        | Category.ORPHAN
        | Category.DE_FACTO_UNSUPPORTED_CHILD
    )
    covid_persons = paid_persons | ((categories & other) != 0)
    amount = r["covid_assistance.amount"]
    p = np.flatnonzero(covid_persons & (amount > 0))
    parts.append(_part("covid", hidx[p], p_ids[p], p, amount[p], None, np.zeros(len(p), np.int8), None, {}))

    # 丧葬救助 (R6): null where the district has set no standard — held for the district to decide.
    amount = r["bereavement.amount"]
    null = r["bereavement.amount:null"]
    h = np.flatnonzero((amount > 0) | null)
    flag = np.where(null[h], FLAG["district_standard"], FLAG[""])
    parts.append(_part("bereavement", h, h_ids[h], None, amount[h], null[h], flag, None, {}))
    del r

    lines = _assemble(parts, hh, h_ids, p_ids, accounts, previous, month)
    return lines, _stopped(lines, previous), bool(in_window_h.any())


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos = np.searchsorted(sorted_keys, keys)
    found = pos < len(sorted_keys)
    found[found] = sorted_keys[pos[found]] == keys[found]
    return pos, found


# The figures a line's 计算依据 is rendered from (payments/explain.py); null where the scheme has none.
BASIS = ("standard", "size", "income", "computed", "enrolled")


def _part(scheme, hrow, beneficiary, prow, amount, null, flag, decision, basis) -> dict[str, Any]:
    """One scheme's lines; `basis`: the figures of BASIS it has (the computed amount defaults to
    what the rule gave, null where the rule has no value)."""
    n = len(hrow)
    amount = np.asarray(amount, dtype=np.int64)
    null = np.zeros(n, dtype=np.bool_) if null is None else np.asarray(null, dtype=np.bool_)
    figures = {"computed": (amount, null)} | {
        name: (np.asarray(values, dtype=np.int64), np.zeros(n, dtype=np.bool_))
        for name, values in basis.items()
    }
    absent = (np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.bool_))
    return {
        "scheme": np.full(n, SCHEME[scheme], dtype=np.int8),
        "hrow": np.asarray(hrow, dtype=np.int64),
        "prow": np.full(n, -1, dtype=np.int64) if prow is None else np.asarray(prow, dtype=np.int64),
        "beneficiary": np.asarray(beneficiary, dtype=np.int64),
        "amount": amount,
        "null": null,
        "flag": np.asarray(flag, dtype=np.int8),
        "decision": pa.nulls(n, pa.string()) if decision is None else decision,
        **{f"basis_{name}": figures.get(name, absent)[0] for name in BASIS},
        **{f"basis_{name}_null": figures.get(name, absent)[1] for name in BASIS},
    }


def _assemble(
    parts,
    hh: pa.Table,
    h_ids: np.ndarray,
    p_ids: np.ndarray,
    accounts: pa.Table,
    previous: pa.Table,
    month: Period,
) -> pa.Table:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in parts])

    scheme, hrow, prow = cat("scheme"), cat("hrow"), cat("prow")
    beneficiary, amount, null, flag = cat("beneficiary"), cat("amount"), cat("null"), cat("flag")
    decision = pa.concat_arrays([pa.array(p["decision"], pa.string()) for p in parts])
    basis = {name: (cat(f"basis_{name}"), cat(f"basis_{name}_null")) for name in BASIS}
    parts.clear()  # the concatenated copies replace them: not both in memory

    district = hh.column("district").combine_chunks()
    head = np.asarray(hh.column("head_id").to_numpy(), dtype=np.int64)
    # Who is paid: the person, or the household head for a household scheme.
    payee = np.where(prow >= 0, p_ids[np.maximum(prow, 0)], head[hrow])
    district_code = np.asarray(pc.cast(district, pa.int64()).to_numpy(), dtype=np.int64)[hrow]
    order = np.lexsort((np.where(prow >= 0, payee, 0), scheme, h_ids[hrow], district_code))
    scheme, hrow, payee, beneficiary, amount, null, flag = (
        a[order] for a in (scheme, hrow, payee, beneficiary, amount, null, flag)
    )
    decision = pc.take(decision, pa.array(order))
    figures = {
        f"{name}_fen" if name != "size" else name: pa.array(values[order], mask=nulls[order])
        for name, (values, nulls) in basis.items()
    }

    a_person = np.asarray(accounts.column("person_id").to_numpy(), dtype=np.int64)
    pos, has_account = _lookup(a_person, payee)
    slot = pa.array(np.where(has_account, pos, 0), mask=~has_account)

    def account(name: str) -> pa.Array:
        column = accounts.column(name).combine_chunks()
        if not len(column):
            return pa.nulls(len(payee), column.type)
        return pc.take(column, slot)

    held = null | ~has_account
    flag = np.where(~has_account & ~null, FLAG["no_account"], flag)
    amount = np.where(null, 0, amount)

    scheme_text = pc.take(pa.array(SCHEMES), pa.array(scheme.astype(np.int64)))
    prev_amount, found = _previous(previous, beneficiary, scheme_text)
    change = np.where(~found, 0, np.where(prev_amount != amount, 1, 2))
    n = len(amount)
    prefix = f"{month.first_day:%Y%m}"
    return pa.table(
        {
            "ref": pc.binary_join_element_wise(prefix, pc.utf8_lpad(_text(np.arange(1, n + 1)), 10, "0"), ""),
            "month": pa.repeat(pa.scalar(str(month)), n),
            "scheme": scheme_text,
            "beneficiary_id": pa.array(beneficiary),
            "household_id": pa.array(h_ids[hrow]),
            "person_id": pa.array(payee),
            "region_id": pc.take(hh.column("region_id").combine_chunks(), pa.array(hrow)),
            "district": pc.take(district, pa.array(hrow)),
            "amount_fen": pa.array(amount),
            "previous_fen": pa.array(prev_amount, mask=~found),
            "change": pc.take(pa.array(CHANGES), pa.array(change)),
            "decision": pc.fill_null(decision, ""),
            "flag": pc.take(pa.array(FLAGS), pa.array(flag.astype(np.int64))),
            "status": pc.take(pa.array(["pending", "held"]), pa.array(held.astype(np.int8))),
            "account_id": account("account_id"),
            "bank_code": pc.fill_null(account("bank_code"), ""),
            "account_number": pc.fill_null(account("account_number"), ""),
            "holder_name": pc.fill_null(account("holder_name"), ""),
            **figures,
            "explanation": pa.repeat(pa.scalar(""), n),
            "attempts": pa.array(np.zeros(n, np.int16)),
            "failure_code": pa.repeat(pa.scalar(""), n),
            "failure_reason": pa.repeat(pa.scalar(""), n),
        }
    )


def _keys(beneficiary: np.ndarray, scheme: pa.Array) -> np.ndarray:
    code = pc.index_in(scheme, value_set=pa.array(SCHEMES))
    return beneficiary.astype(np.int64) * 8 + np.asarray(pc.fill_null(code, 7).to_numpy(), dtype=np.int64)


def _previous(previous: pa.Table, beneficiary: np.ndarray, scheme: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Last month's amount of each line's (beneficiary, scheme), and whether there was one."""
    keys = _keys(
        np.asarray(previous.column("beneficiary_id").to_numpy(), dtype=np.int64), previous.column("scheme")
    )
    amounts = np.asarray(previous.column("amount_fen").to_numpy(), dtype=np.int64)
    sorter = np.argsort(keys, kind="stable")
    pos, found = _lookup(keys[sorter], _keys(beneficiary, scheme))
    return np.where(found, amounts[sorter][np.where(found, pos, 0)] if len(keys) else 0, 0), found


def _stopped(lines: pa.Table, previous: pa.Table) -> pa.Table:
    """Last month's lines with none this month (停发): by district and scheme."""
    now = np.sort(
        _keys(np.asarray(lines.column("beneficiary_id").to_numpy(), dtype=np.int64), lines.column("scheme"))
    )
    before = _keys(
        np.asarray(previous.column("beneficiary_id").to_numpy(), dtype=np.int64), previous.column("scheme")
    )
    _, still = _lookup(now, before)
    gone = pa.array(~still)
    return previous.filter(gone).select(["district", "scheme", "amount_fen"])


# --- summaries ---------------------------------------------------------------------------------------


# The figures of a district's batch per scheme (batch_summaries; doudi.batch totals them in Ibis).
SUMMARY_FIGURES = (
    "count",
    "total_fen",
    "previous_total_fen",
    "new",
    "changed",
    "held",
    "deferred",
    "needs_decision",
    "stopped",
    "stopped_fen",
)


def batch_summaries(lines: pa.Table, stopped: pa.Table) -> dict[str, dict[str, Any]]:
    """Per district, per scheme: count, total_fen, new, changed, held, deferred, flagged, stopped,
    previous_total_fen (a few hundred groups: grouped by Arrow, not by a loop over lines)."""
    t = lines.select(["district", "scheme", "amount_fen", "previous_fen", "change", "status", "flag"])
    t = t.append_column("is_new", pc.equal(t.column("change"), "new"))
    t = t.append_column("is_changed", pc.equal(t.column("change"), "changed"))
    t = t.append_column("is_held", pc.equal(t.column("status"), "held"))
    t = t.append_column(
        "is_deferred", pc.is_in(t.column("flag"), pa.array(["deferred_hold", "deferred_exit"]))
    )
    t = t.append_column("is_decision", pc.is_in(t.column("flag"), pa.array(["reduce", "exit"])))
    grouped = t.group_by(["district", "scheme"]).aggregate(
        [
            ("amount_fen", "count"),
            ("amount_fen", "sum"),
            ("previous_fen", "sum"),
            ("is_new", "sum"),
            ("is_changed", "sum"),
            ("is_held", "sum"),
            ("is_deferred", "sum"),
            ("is_decision", "sum"),
        ]
    )
    out: dict[str, dict[str, Any]] = {}
    for row in grouped.to_pylist():
        out.setdefault(row["district"], {})[row["scheme"]] = {
            "count": row["amount_fen_count"],
            "total_fen": row["amount_fen_sum"] or 0,
            "previous_total_fen": row["previous_fen_sum"] or 0,
            "new": row["is_new_sum"] or 0,
            "changed": row["is_changed_sum"] or 0,
            "held": row["is_held_sum"] or 0,
            "deferred": row["is_deferred_sum"] or 0,
            "needs_decision": row["is_decision_sum"] or 0,
            "stopped": 0,
            "stopped_fen": 0,
        }
    if stopped.num_rows:
        gone = stopped.group_by(["district", "scheme"]).aggregate(
            [("amount_fen", "count"), ("amount_fen", "sum")]
        )
        for row in gone.to_pylist():
            entry = out.setdefault(row["district"], {}).setdefault(
                row["scheme"],
                {
                    "count": 0,
                    "total_fen": 0,
                    "previous_total_fen": 0,
                    "new": 0,
                    "changed": 0,
                    "held": 0,
                    "deferred": 0,
                    "needs_decision": 0,
                    "stopped": 0,
                    "stopped_fen": 0,
                },
            )
            entry["stopped"] = row["amount_fen_count"]
            entry["stopped_fen"] = row["amount_fen_sum"] or 0
            entry["previous_total_fen"] += row["amount_fen_sum"] or 0
    return out


# --- follow-up runs ---------------------------------------------------------------------------------

# The failed lines a follow-up run re-issues, with the corrected account (the follow-up snapshot).
FOLLOW_UP_SCHEMA = pa.schema(
    [
        ("line_id", pa.int64()),
        ("beneficiary_id", pa.int64()),
        ("scheme", pa.string()),
        ("district", pa.string()),
        ("amount_fen", pa.int64()),
        ("status", pa.string()),
        ("flag", pa.string()),
        ("change", pa.string()),
        ("previous_fen", pa.int64()),
        ("account_id", pa.int64()),
        ("bank_code", pa.string()),
        ("account_number", pa.string()),
        ("holder_name", pa.string()),
    ]
)


def freeze_follow_up(directory: Path, table: pa.Table) -> Frozen:
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pq.write_table(table.cast(FOLLOW_UP_SCHEMA), tmp / "follow_up.parquet", compression="zstd")
    _fsync(tmp / "follow_up.parquet")
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return Frozen(directory, snapshot_sha256(directory), {"follow_up": table.num_rows})


def follow_up_lines(directory: Path) -> pa.Table:
    return pq.read_table(directory / "follow_up.parquet")
