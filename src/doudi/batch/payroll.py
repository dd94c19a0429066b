"""The payroll's computation as a batch job on DuckDB or Spark (docs/scale.md, "Batch jobs").

    snapshot (payments.payroll.freeze) → staged (each table with `_row`, its row number in the snapshot)
    → input/<table>/district=…  (Ibis: every row joined to the district it is computed in)
    → output/lines_local/district=…  (per district: payroll.compute_lines, the numpy rules; 流水号 1…n)
    → output/lines/district=…  (Ibis: 流水号 renumbered over districts in code order, then the one-off
      payments after them, as payroll.compute numbers them)
    → output/stopped/district=…, output/totals/district=…  (Ibis: last month's lines with none now; the
      per district and scheme figures of payroll.batch_summaries)

Under `<root>/payroll/month=YYYY-MM/`. Every district's lines are those payroll.compute gives for the
whole snapshot, to the fen (tests/batch): a row's district is the one its household is in now — a
person's enrolment, payee account and last month's line go where the person is a member now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from doudi.batch import engines
from doudi.batch.engines import DuckDBEngine, SparkEngine, read_partition
from doudi.payments import oneoffs
from doudi.payments import payroll as rules
from doudi.policy.batch import population_from_tables
from doudi.policy.periods import Period

TABLES = ("households", "persons", "enrolments", "accounts", "previous")
HOUSEHOLD_SCHEMES = ("dibao", "bereavement")  # paid to the household: beneficiary_id is its id
# The lines as written (payroll.LINE_SCHEMA without the run's ids).
OUT_SCHEMA = pa.schema([f for f in rules.LINE_SCHEMA if f.name not in ("run_id", "issue_run_id")])
# What a district's partition function returns: the lines without 流水号 and district (the partition),
# with their number in the district and whether the district was in an emergency window.
LOCAL_SCHEMA = pa.schema(
    [
        *(f for f in OUT_SCHEMA if f.name not in ("ref", "district")),
        pa.field("line_no", pa.int64()),
        pa.field("in_window", pa.bool_()),
    ]
)
STOPPED_SCHEMA = pa.schema([("district", pa.string()), ("scheme", pa.string()), ("amount_fen", pa.int64())])
TOTAL_COLUMNS = rules.SUMMARY_FIGURES


TOTALS_SCHEMA = pa.schema(
    [("district", pa.string()), ("scheme", pa.string()), *((name, pa.int64()) for name in TOTAL_COLUMNS)]
)


def _with_district(schema: pa.Schema) -> pa.Schema:
    return pa.schema([*schema, pa.field("district", pa.string())])


def base(root: str, month: Period | str) -> str:
    return f"{str(root).rstrip('/')}/payroll/month={month}"


@dataclass
class BatchRun:
    base: str
    lines: int
    in_window: bool
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def lines_path(self) -> str:
        return f"{self.base}/output/lines"

    @property
    def stopped_path(self) -> str:
        return f"{self.base}/output/stopped"

    @property
    def totals_path(self) -> str:
        return f"{self.base}/output/totals"


def _write_file(table: pa.Table, path: str) -> None:
    fs, where = engines._fs(path)
    fs.create_dir(where.rsplit("/", 1)[0], recursive=True)
    pq.write_table(table, where, filesystem=fs, compression="zstd")


def stage(snapshot: Path | str, where: str) -> None:
    """The snapshot's tables with `_row` (the order payroll.compute reads them in, which the engines
    do not keep), the one-off cases and the parameters, under `where/staged`. `snapshot`: a local
    directory or a URI pyarrow reads."""
    fs, at = engines._fs(str(snapshot))
    for name in TABLES:
        table = pq.read_table(f"{at}/{name}.parquet", filesystem=fs)
        table = table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        _write_file(table, f"{where}/staged/{name}.parquet")
    cases_at = f"{at}/{oneoffs.FILE}"
    exists = fs.get_file_info(cases_at).type != pafs.FileType.NotFound
    cases = pq.read_table(cases_at, filesystem=fs) if exists else oneoffs.SCHEMA.empty_table()
    _write_file(cases, f"{where}/staged/{oneoffs.FILE}")
    out_fs, out_at = engines._fs(f"{where}/staged/parameters.json")
    with fs.open_input_stream(f"{at}/parameters.json") as f, out_fs.open_output_stream(out_at) as out:
        out.write(f.read())


def partition(engine: DuckDBEngine | SparkEngine, where: str) -> list[str]:
    """input/<table>/district=…: each row in the district it is computed in (Ibis, on the engine).
    Returns the districts."""
    t = {name: engine.read(f"{where}/staged/{name}.parquet") for name in TABLES}
    households = t["households"]
    of_household = households.select("household_id", "district")
    persons = t["persons"].join(of_household, "household_id")
    of_person = persons.select("person_id", "district").distinct()
    e = t["enrolments"]
    enrolments = (
        e.filter(e.person_id != 0)
        .join(of_person, "person_id")
        .union(e.filter(e.person_id == 0).join(of_household, "household_id"))
    )
    payees = of_person.union(
        households.select(person_id=households.head_id, district=households.district), distinct=True
    )
    accounts = t["accounts"].join(payees, "person_id")
    p = t["previous"].rename(line_district="district")
    previous = (
        p.filter(p.scheme.isin(HOUSEHOLD_SCHEMES))
        .join(of_household, p.beneficiary_id == of_household.household_id)
        .select(*p.columns, "district")
        .union(
            p.filter(~p.scheme.isin(HOUSEHOLD_SCHEMES))
            .join(of_person, p.beneficiary_id == of_person.person_id)
            .select(*p.columns, "district")
        )
    )
    for name, expr in (
        ("households", households),
        ("persons", persons),
        ("enrolments", enrolments),
        ("accounts", accounts),
        ("previous", previous),
    ):
        engine.write(expr, f"{where}/input/{name}")
    keys = engine.to_arrow(of_household.select("district").distinct()).column("district").to_pylist()
    return sorted(keys, key=int)


@dataclass(frozen=True)
class DistrictLines:
    """One district's lines from its partition of the inputs: the function both engines run (Spark
    pickles it to its workers, so it holds only text)."""

    where: str
    month: str

    def __call__(self, district: str) -> pa.Table:
        fs, at = engines._fs(f"{self.where}/staged/parameters.json")
        with fs.open_input_stream(at) as f:
            params, windows = rules.parameters_from(json.loads(f.read()))
        tables = {name: self._read(name, district) for name in TABLES}
        households = tables["households"].append_column(
            "district", pa.repeat(pa.scalar(district), tables["households"].num_rows)
        )
        previous = tables["previous"].rename_columns(
            ["district" if n == "line_district" else n for n in tables["previous"].column_names]
        )
        population = population_from_tables(households, tables["persons"])
        hh = rules._sorted(
            households.select(["household_id", "district", "region_id", "head_id"]), "household_id"
        )
        lines, _, in_window = rules.compute_lines(
            population,
            hh,
            tables["enrolments"],
            tables["accounts"],
            previous,
            Period.parse(self.month),
            params,
            windows,
        )
        n = lines.num_rows
        lines = lines.append_column("line_no", pa.array(np.arange(1, n + 1, dtype=np.int64)))
        lines = lines.append_column("in_window", pa.repeat(pa.scalar(in_window), n))
        return lines.select(LOCAL_SCHEMA.names).cast(LOCAL_SCHEMA)

    def _read(self, name: str, district: str) -> pa.Table:
        """The district's rows of one input table in the snapshot's order (`_row`), without `_row`."""
        table = read_partition(f"{self.where}/input/{name}", district)
        staged = _staged_schema(self.where, name)
        if not table.num_columns:
            table = staged.empty_table()
        table = table.sort_by("_row") if table.num_rows else table
        names = [n for n in staged.names if n != "_row"]
        if name == "previous":
            names = ["line_district" if n == "district" else n for n in names]
        elif name != "households":
            names = [n for n in names if n != "district"] + (
                ["district"] if "district" in table.column_names else []
            )
        return table.select([n for n in names if n in table.column_names])


def _staged_schema(where: str, name: str) -> pa.Schema:
    fs, at = engines._fs(f"{where}/staged/{name}.parquet")
    schema = pq.read_schema(fs.open_input_file(at))
    drop = {"district"} if name != "previous" else set()
    if name == "previous":
        schema = pa.schema(
            [pa.field("line_district" if f.name == "district" else f.name, f.type) for f in schema]
        )
    return pa.schema([f for f in schema if f.name not in drop])


def run(snapshot: Path | str, month: Period, root: str, engine: DuckDBEngine | SparkEngine) -> BatchRun:
    """The month's payroll computed from `snapshot` on `engine`, written under `base(root, month)`."""
    import ibis

    timings, lap = rules.stopwatch()
    where = base(root, month)
    engines.remove(where)
    stage(snapshot, where)
    districts = partition(engine, where)
    lap("partition")
    engine.map_partitions(
        districts, DistrictLines(where, str(month)), LOCAL_SCHEMA, f"{where}/output/lines_local"
    )
    lap("evaluate")

    local = engine.read(f"{where}/output/lines_local", partitioned=True, schema=_with_district(LOCAL_SCHEMA))
    counts = local.group_by("district").aggregate(n=local.count(), in_window=local.in_window.any())
    counts = counts.mutate(before=counts.n.cumsum(order_by=counts.district.cast("int64")) - counts.n)
    summary = engine.to_arrow(counts.aggregate(n=counts.n.sum(), in_window=counts.in_window.any()))
    total = int(summary.column("n")[0].as_py() or 0)
    in_window = bool(summary.column("in_window")[0].as_py())
    numbered = local.join(counts.select("district", "before"), "district")
    prefix = f"{month.first_day:%Y%m}"
    ref = ibis.literal(prefix) + (numbered.before + numbered.line_no).cast("string").lpad(10, "0")
    lines = numbered.mutate(ref=ref).select(*OUT_SCHEMA.names)
    engine.write(lines, f"{where}/output/lines")

    previous = engine.read(f"{where}/staged/previous.parquet")
    stopped = previous.anti_join(
        local, [previous.beneficiary_id == local.beneficiary_id, previous.scheme == local.scheme]
    ).select("district", "scheme", "amount_fen")
    engine.write(stopped, f"{where}/output/stopped")
    lap("number")

    # One-off payments of decided cases (a handful): numbered after the scheme lines, as payroll.compute.
    cases = pq.read_table(
        engines._fs(f"{where}/staged/{oneoffs.FILE}")[0].open_input_file(
            engines._fs(f"{where}/staged/{oneoffs.FILE}")[1]
        )
    )
    if cases.num_rows:
        accounts = engine.read(f"{where}/staged/accounts.parquet")
        wanted = [int(p) for p in set(cases.column("person_id").to_pylist()) if p is not None]
        accounts = engine.to_arrow(accounts.filter(accounts.person_id.isin(wanted)))
        accounts = accounts.sort_by("_row").drop_columns(["_row"])
        extra = oneoffs.lines(cases, accounts, month=str(month), first_ref=total + 1, schema=OUT_SCHEMA)
        if extra.num_rows:
            fs, at = engines._fs(f"{where}/output/lines")
            pq.write_to_dataset(
                extra.cast(OUT_SCHEMA),
                at,
                filesystem=fs,
                partition_cols=["district"],
                basename_template="oneoffs-{i}.parquet",
                existing_data_behavior="overwrite_or_ignore",
            )
            total += extra.num_rows
    _write_totals(engine, where)
    lap("totals")
    return BatchRun(where, total, in_window, timings)


def _write_totals(engine: DuckDBEngine | SparkEngine, where: str) -> None:
    """Per district and scheme, the figures of payroll.batch_summaries (Ibis: one union, one group-by)."""
    import ibis

    lines = engine.read(f"{where}/output/lines", partitioned=True, schema=OUT_SCHEMA)
    stopped = engine.read(f"{where}/output/stopped", partitioned=True, schema=STOPPED_SCHEMA)
    zero, one = ibis.literal(0, "int64"), ibis.literal(1, "int64")

    def flag(condition: Any) -> Any:
        return condition.ifelse(one, zero)

    counted = lines.select(
        district=lines.district,
        scheme=lines.scheme,
        count=one,
        total_fen=lines.amount_fen.cast("int64"),
        previous_total_fen=lines.previous_fen.cast("int64").fill_null(0),
        new=flag(lines.change == "new"),
        changed=flag(lines.change == "changed"),
        held=flag(lines.status == "held"),
        deferred=flag(lines.flag.isin(("deferred_hold", "deferred_exit"))),
        needs_decision=flag(lines.flag.isin(("reduce", "exit"))),
        stopped=zero,
        stopped_fen=zero,
    )
    gone = stopped.select(
        district=stopped.district,
        scheme=stopped.scheme,
        count=zero,
        total_fen=zero,
        previous_total_fen=stopped.amount_fen.cast("int64"),
        new=zero,
        changed=zero,
        held=zero,
        deferred=zero,
        needs_decision=zero,
        stopped=one,
        stopped_fen=stopped.amount_fen.cast("int64"),
    )
    both = counted.union(gone)
    totals = both.group_by("district", "scheme").aggregate(
        **{name: both[name].sum().fill_null(0) for name in TOTAL_COLUMNS}
    )
    engine.write(totals, f"{where}/output/totals")


def totals_dict(table: pa.Table) -> dict[str, dict[str, dict[str, int]]]:
    """The totals table as payroll.batch_summaries gives them: district → scheme → figures."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for row in table.to_pylist():
        out.setdefault(row["district"], {})[row["scheme"]] = {name: int(row[name]) for name in TOTAL_COLUMNS}
    return out


def read_lines(batch: BatchRun) -> pa.Table:
    """The lines in 流水号 order, typed as payroll.compute's (what payments.services writes)."""
    return engines.read_dataset(batch.lines_path, OUT_SCHEMA).sort_by("ref")


def compute(
    snapshot: Path, month: Period, *, root: str, engine: DuckDBEngine | SparkEngine
) -> rules.Computed:
    """payroll.compute through the batch path: what payments.services writes (lines in 流水号 order)."""
    batch = run(snapshot, month, root, engine)
    stopped = engines.read_dataset(batch.stopped_path, STOPPED_SCHEMA)
    return rules.Computed(
        lines=read_lines(batch), stopped=stopped, in_window=batch.in_window, timings=batch.timings
    )


def lines_of(table: pa.Table) -> pa.Table:
    """payroll.compute's lines typed as the batch's (for comparing them)."""
    return table.select(OUT_SCHEMA.names).cast(OUT_SCHEMA)


__all__ = ["BatchRun", "compute", "lines_of", "read_lines", "run", "totals_dict"]
