"""补发差额 (arrears): when a dated parameter changes for months already paid, pay exactly the difference.

For each owed month M the arrears run re-evaluates **M's frozen population** (the households, members
and enrolments of M's own payroll snapshot) with the **parameters in force now**, frozen anew for the
arrears run, and compares each (beneficiary, scheme, M) with what was already paid or issued for it —
the month's own line plus any earlier arrears lines:

    due B (payroll.compute on the re-frozen month)  −  paid A (sum of the lines of M)  =  D
    D > 0  → an arrears line of D fen (its own key: arrears_seq = the run's number)
    D < 0  → listed for the bureau, never clawed back (R1: 减发 needs a written decision)

The evaluation is payroll.compute itself, unchanged: each owed month gets a directory that is a
complete payroll snapshot — M's population files (hard links to M's snapshot, which never changes),
the payee accounts in use now (the arrears are paid now), ``previous.parquet`` = what was paid for M
(so ``previous_fen`` of each computed line is A), ``parameters.json`` = the parameters now — plus
``paid_parameters.json``, the parameters M was last paid with, to say what changed.

Layout: DOUDI_DATA_DIR/payroll/<paying month>-r<round>/arrears.json and one <M>/ directory per owed
month. Its SHA-256 is over the manifest and every month's snapshot digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.payments import payroll
from doudi.policy.parameters import Kind, ParameterSet
from doudi.policy.periods import Period

MANIFEST = "arrears.json"
PAID_PARAMETERS = "paid_parameters.json"
PAID_ENROLMENTS = "paid_enrolments.parquet"  # M's enrolments as its payroll froze them
# Files of an owed month's directory taken from the month's own snapshot as they are.
POPULATION_FILES = ("households.parquet", "persons.parquet", "enrolments.parquet")

# What was paid or issued for (beneficiary, scheme, M): PREVIOUS_SCHEMA (what payroll.compute reads)
# plus who and where, for the reductions listed of a beneficiary no longer entitled at all.
PAID_SCHEMA = pa.schema(
    [
        *payroll.PREVIOUS_SCHEMA,
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("region_id", pa.string()),
    ]
)
ARREARS_LINE_SCHEMA = payroll.LINE_SCHEMA.append(pa.field("arrears_seq", pa.int32()))  # integer column
_LINE_NAMES = [n for n in ARREARS_LINE_SCHEMA.names if n not in ("run_id", "issue_run_id")]
_LINE_TYPES = pa.schema([ARREARS_LINE_SCHEMA.field(n) for n in _LINE_NAMES])
REDUCTION_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("month", pa.string()),
        ("scheme", pa.string()),
        ("beneficiary_id", pa.int64()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("region_id", pa.string()),
        ("district", pa.string()),
        ("paid_fen", pa.int64()),
        ("due_fen", pa.int64()),
        ("explanation", pa.string()),
    ]
)

# The parameters each scheme's amount depends on ({area}: the household's urban/rural standard).
SCHEME_PARAMETERS = {
    "dibao": (
        "dibao.standard.{area}",
        "dibao.work_cost_deduction.rate",
        "dibao.work_cost_deduction.cap_ratio",
        "dibao.assets.deposit_limit_months",
        "dibao.assets.max_vehicles",
        "dibao.assets.max_houses",
    ),
    "tekun": ("dibao.standard.urban", "tekun.basic_living_ratio"),
    "children": ("children.allowance.institutional", "children.allowance.scattered", "children.adult_age"),
    "price_subsidy": (
        "dibao.standard.{area}",
        "dibao.standard.urban",
        "price_index.cpi_yoy",
        "price_index.food_yoy",
        "price_subsidy.trigger.cpi",
        "price_subsidy.trigger.food",
        "price_subsidy.food_weight",
        "price_subsidy.multiplier",
        "price_subsidy.district_supplement",
    ),
    "covid": ("dibao.standard.{area}", "covid.assistance_multiple"),
    "bereavement": ("covid.bereavement_assistance",),
}
UNCHANGED = "按现行参数重新计算"  # what changed when no parameter did
# A due amount the rules cannot know (a missing index, a district without a standard) is neither
# paid nor listed as a reduction: it waits for the value.
UNKNOWN_DUE = ("index_missing", "district_standard")


@dataclass
class OwedMonth:
    """One owed month as frozen: M's own snapshot, what was paid for it, and the parameters of the
    run that last paid it."""

    month: Period
    source: Path  # M's payroll snapshot (round 0)
    source_sha256: str
    paid: pa.Table  # PAID_SCHEMA
    paid_parameters: Path  # parameters.json of the run that last paid M
    parameters: dict[str, Any]  # payroll.parameters_json: the parameters now
    # The enrolments in force for M as the enrolment ledger says now (payroll.ENROLMENT_SCHEMA): a raise,
    # a resumption or an enrolment recorded after M was paid but effective in M (追溯) is owed for M.
    enrolments: pa.Table | None = None
    # households.parquet / persons.parquet (payroll.build_snapshot) of the households enrolled for M now
    # that M's snapshot does not hold, read from the registry as it is now.
    joined: dict[str, pa.Table] | None = None


# --- freezing ------------------------------------------------------------------------------------


def _link(source: Path, target: Path) -> None:
    """A hard link where the filesystem allows (a snapshot is never written again), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def restated(owed: OwedMonth) -> dict[str, pa.Table] | None:
    """M's frozen population with the enrolments in force for M as the ledger says now: each
    household's dibao status and last amount (what R1 holds) follow them, and the households enrolled
    since are added. None when the ledger says what M's snapshot says (the files are then linked)."""
    if owed.enrolments is None:
        return None
    then = pq.read_table(owed.source / "enrolments.parquet")
    now = owed.enrolments.cast(then.schema).sort_by([("enrolment_id", "ascending")])
    if owed.joined is None and then.sort_by([("enrolment_id", "ascending")]).equals(now):
        return None
    households = pq.read_table(owed.source / "households.parquet")
    persons = pq.read_table(owed.source / "persons.parquet")
    if owed.joined is not None:
        households = pa.concat_tables(
            [
                households,
                owed.joined["households.parquet"].select(households.column_names).cast(households.schema),
            ]
        ).sort_by([("household_id", "ascending")])
        persons = pa.concat_tables(
            [persons, owed.joined["persons.parquet"].select(persons.column_names).cast(persons.schema)]
        ).sort_by([("household_id", "ascending"), ("person_id", "ascending")])
    enrolled, last = payroll.dibao_columns(households.column("household_id"), now)
    for name, column in (("dibao_enrolled", enrolled), ("dibao_last_amount", last)):
        i = households.schema.get_field_index(name)
        households = households.set_column(
            i, households.schema.field(i), column.cast(households.schema.field(i).type)
        )
    return {"households.parquet": households, "persons.parquet": persons, "enrolments.parquet": now}


def freeze(
    directory: Path, months: list[OwedMonth], accounts: pa.Table, manifest: dict[str, Any]
) -> payroll.Frozen:
    """Write the arrears snapshot under a temporary name and rename it into place."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    accounts = accounts.sort_by([("person_id", "ascending")])
    rows: dict[str, int] = {}
    entries = []
    for owed in months:
        sub = tmp / str(owed.month)
        sub.mkdir()
        population = restated(owed)
        for name in POPULATION_FILES:
            if population is None:
                _link(owed.source / name, sub / name)
            else:
                pq.write_table(population[name], sub / name, compression="zstd")
        _link(owed.source / "enrolments.parquet", sub / PAID_ENROLMENTS)
        shutil.copyfile(owed.paid_parameters, sub / PAID_PARAMETERS)
        pq.write_table(accounts, sub / "accounts.parquet", compression="zstd")
        paid = owed.paid.cast(PAID_SCHEMA).sort_by([("beneficiary_id", "ascending"), ("scheme", "ascending")])
        pq.write_table(paid, sub / "previous.parquet", compression="zstd")
        (sub / "parameters.json").write_text(
            json.dumps(owed.parameters, ensure_ascii=False, sort_keys=True, indent=1)
        )
        for path in sub.iterdir():
            payroll._fsync(path)
        rows[f"{owed.month} paid"] = paid.num_rows
        entries.append({"month": str(owed.month), "source_sha256": owed.source_sha256})
    rows["accounts"] = accounts.num_rows
    (tmp / MANIFEST).write_text(
        json.dumps({**manifest, "months": entries}, ensure_ascii=False, sort_keys=True, indent=1)
    )
    payroll._fsync(tmp / MANIFEST)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return payroll.Frozen(directory, snapshot_sha256(directory), rows)


def owed_months(directory: Path) -> list[Period]:
    return [Period.parse(m["month"]) for m in json.loads((directory / MANIFEST).read_text())["months"]]


def snapshot_sha256(directory: Path) -> str:
    """One digest over the manifest and each owed month's snapshot and paid parameters."""
    lines = [f"{payroll.file_sha256(directory / MANIFEST)}  {MANIFEST}"]
    for month in owed_months(directory):
        sub = directory / str(month)
        lines.append(f"{payroll.snapshot_sha256(sub)}  {month}/")
        lines.append(f"{payroll.file_sha256(sub / PAID_PARAMETERS)}  {month}/{PAID_PARAMETERS}")
        if (sub / PAID_ENROLMENTS).exists():
            lines.append(f"{payroll.file_sha256(sub / PAID_ENROLMENTS)}  {month}/{PAID_ENROLMENTS}")
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


# --- what changed ----------------------------------------------------------------------------------


def _shown(value: Any, unit: str) -> str:
    if value is None:
        return "未设定"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = value.normalize()
        text = f"{value:f}"
    else:
        text = str(value)
    short = unit.split("/")[0].split("（")[0]
    return text if short in ("", "比例", "日期") else f"{text} {short}"


def _window_text(window: Any) -> str:
    if window is None:
        return "未宣布"
    start, end = window
    return f"{start.isoformat()} 至 {end.isoformat() if end else '未结束'}"


def changes(
    old: tuple[ParameterSet, dict[int, Any]],
    new: tuple[ParameterSet, dict[int, Any]],
    month: Period,
    scheme: str,
    area: str,
    district: str,
) -> str:
    """What changed between the parameters M was paid with and those in force now, for one scheme,
    area type and district: "城市最低生活保障标准由 546 元调整为 600 元（自 2020-03-01 起）"."""
    on = month.first_day
    (old_params, old_windows), (new_params, new_windows) = old, new
    parts = []
    names = dict.fromkeys(n.format(area=area) for n in SCHEME_PARAMETERS.get(scheme, ()))
    for name in names:
        if name not in new_params:
            continue
        parameter = new_params[name]
        region = district if parameter.region_indexed else None
        before = old_params.value_at(name, on, region) if name in old_params else None
        after = new_params.value_at(name, on, region)
        before_value = before.value if before else None
        after_value = after.value if after else None
        if before_value == after_value:
            continue
        since = ""
        if after is not None and after.since is not None:
            since = (
                f"（{month} 数据）" if parameter.kind is Kind.MONTHLY_SERIES else f"（自 {after.since} 起）"
            )
        parts.append(
            f"{parameter.label or name}由 {_shown(before_value, parameter.unit)}"
            f"调整为 {_shown(after_value, parameter.unit)}{since}"
        )
    code = int(district)
    if old_windows.get(code) != new_windows.get(code):
        parts.append(
            f"疫情防控期间由 {_window_text(old_windows.get(code))} 调整为 {_window_text(new_windows.get(code))}"
        )
    return "；".join(parts) if parts else UNCHANGED


# --- computing -------------------------------------------------------------------------------------


@dataclass
class ArrearsComputed:
    lines: pa.Table  # ARREARS_LINE_SCHEMA without run_id/issue_run_id
    reductions: pa.Table  # REDUCTION_SCHEMA without run_id
    timings: dict[str, float] = field(default_factory=dict)


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of string arrays and plain strings."""
    return pc.binary_join_element_wise(*parts, "")


def _yuan(fen: pa.Array | np.ndarray) -> pa.Array:
    """Fen as yuan text: 338, or 338.50 when there are fen."""
    fen = np.asarray(fen, dtype=np.int64)
    whole = payroll._text(fen // 100)
    cents = pc.utf8_lpad(payroll._text(fen % 100), 2, "0")
    return pc.if_else(pa.array(fen % 100 == 0), whole, _join(whole, ".", cents))


def _change_texts(sub: Path, month: Period, lines: pa.Table, households: pa.Table) -> pa.Array:
    """For each line, what changed for its scheme, area type and district (a few distinct texts)."""
    old = payroll.load_parameters(sub, PAID_PARAMETERS)
    new = payroll.load_parameters(sub)
    h_ids = households.column("household_id")
    at = pc.index_in(lines.column("household_id"), value_set=h_ids)
    area = pc.take(households.column("area_type"), at)
    key = _join(lines.column("scheme"), "|", area, "|", lines.column("district"))
    distinct = pc.unique(key)
    texts = [changes(old, new, month, *k.split("|")) for k in distinct.to_pylist()]
    return pc.take(pa.array(texts, pa.string()), pc.index_in(key, value_set=distinct))


def _beneficiary_keys(enrolments: pa.Table) -> np.ndarray:
    person = np.asarray(enrolments.column("person_id").to_numpy(), dtype=np.int64)
    household = np.asarray(enrolments.column("household_id").to_numpy(), dtype=np.int64)
    return payroll._keys(np.where(person == 0, household, person), enrolments.column("scheme"))


def _enrolment_texts(sub: Path, lines: pa.Table, texts: pa.Array) -> pa.Array:
    """`texts` with what the enrolment ledger changed for M since it was paid, line by line:
    "月救助金由 338 元调整为 400 元" or "追溯纳入保障"."""
    if not (sub / PAID_ENROLMENTS).exists() or not lines.num_rows:
        return texts
    then = pq.read_table(sub / PAID_ENROLMENTS)
    now = pq.read_table(sub / "enrolments.parquet")
    keys = payroll._keys(
        np.asarray(lines.column("beneficiary_id").to_numpy(), dtype=np.int64), lines.column("scheme")
    )

    def amounts(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        k = _beneficiary_keys(table)
        sorter = np.argsort(k, kind="stable")
        pos, found = payroll._lookup(k[sorter], keys)
        amount = np.asarray(table.column("amount").to_numpy(), dtype=np.int64)[sorter]
        return np.where(found, amount[np.where(found, pos, 0)] if len(k) else 0, 0), found

    before, was = amounts(then)
    after, now_in = amounts(now)
    joined = now_in & ~was
    raised = now_in & was & (before != after)
    if not (joined.any() or raised.any()):
        return texts
    out = np.asarray(texts.to_pylist(), dtype=object)
    for i in np.flatnonzero(joined | raised):
        what = "追溯纳入保障" if joined[i] else f"月救助金由 {before[i]} 元调整为 {after[i]} 元"
        out[i] = what if out[i] == UNCHANGED else f"{what}；{out[i]}"
    return pa.array(out, pa.string())


def compute_month(
    sub: Path, month: Period, seq: int, labels: dict[str, str], *, progress: payroll.Progress
) -> tuple[pa.Table, pa.Table, dict[str, float]]:
    """The arrears lines and the reductions of one owed month."""
    computed = payroll.compute(sub, month, progress=progress)
    lines = computed.lines
    households = pq.read_table(sub / "households.parquet", columns=["household_id", "area_type"])
    paid_table = pq.read_table(sub / "previous.parquet")
    due = np.asarray(lines.column("amount_fen").to_numpy(), dtype=np.int64)
    paid_known = lines.column("previous_fen").is_valid().to_numpy(zero_copy_only=False)
    paid = np.asarray(pc.fill_null(lines.column("previous_fen"), 0).to_numpy(), dtype=np.int64)
    unknown = np.asarray(
        pc.is_in(lines.column("flag"), pa.array(UNKNOWN_DUE)).to_numpy(zero_copy_only=False), dtype=np.bool_
    )
    difference = due - paid
    scheme_label = pc.take(
        pa.array([labels[s] for s in payroll.SCHEMES]),
        pc.index_in(lines.column("scheme"), value_set=pa.array(payroll.SCHEMES)),
    )
    changed = _change_texts(sub, month, lines, households) if lines.num_rows else pa.array([], pa.string())
    changed = _enrolment_texts(sub, lines, changed)

    def explain(rows: np.ndarray, verb: str) -> pa.Array:
        take = pa.array(rows, pa.int64())
        return _join(
            f"{month} ",
            pc.take(scheme_label, take),
            "：",
            pc.take(changed, take),
            "，已发 ",
            _yuan(paid[rows]),
            " 元，应发 ",
            _yuan(due[rows]),
            f" 元，{verb} ",
            _yuan(np.abs(difference[rows])),
            " 元",
        )

    top = np.flatnonzero(~unknown & (difference > 0))
    arrears = lines.take(pa.array(top, pa.int64()))
    n = len(top)
    ref = _join(f"{month.first_day:%Y%m}{seq:04d}", pc.utf8_lpad(payroll._text(np.arange(1, n + 1)), 10, "0"))
    arrears = (
        arrears.set_column(
            arrears.schema.get_field_index("ref"), "ref", ref if n else pa.array([], pa.string())
        )
        .set_column(arrears.schema.get_field_index("amount_fen"), "amount_fen", pa.array(difference[top]))
        .set_column(
            arrears.schema.get_field_index("change"),
            "change",
            pa.array(np.where(paid_known[top], "changed", "new").astype(object), pa.string()),
        )
        .set_column(
            arrears.schema.get_field_index("previous_fen"),
            "previous_fen",
            pa.array(paid[top], pa.int64()),
        )
        .set_column(
            arrears.schema.get_field_index("explanation"),
            "explanation",
            explain(top, "补发") if n else pa.array([], pa.string()),
        )
        .append_column("arrears_seq", pa.array(np.full(n, seq, dtype=np.int32)))
    )

    # Reductions: a line now due less than was paid, and a paid key with nothing due now.
    lower = np.flatnonzero(~unknown & (difference < 0))
    reductions = pa.table(
        {
            "month": pa.array([str(month)] * len(lower), pa.string()),
            "scheme": lines.column("scheme").take(pa.array(lower, pa.int64())),
            "beneficiary_id": lines.column("beneficiary_id").take(pa.array(lower, pa.int64())),
            "household_id": lines.column("household_id").take(pa.array(lower, pa.int64())),
            "person_id": lines.column("person_id").take(pa.array(lower, pa.int64())),
            "region_id": lines.column("region_id").take(pa.array(lower, pa.int64())),
            "district": lines.column("district").take(pa.array(lower, pa.int64())),
            "paid_fen": pa.array(paid[lower], pa.int64()),
            "due_fen": pa.array(due[lower], pa.int64()),
            "explanation": explain(lower, "应核减（不追回）") if len(lower) else pa.array([], pa.string()),
        }
    )
    now_keys = np.sort(
        payroll._keys(
            np.asarray(lines.column("beneficiary_id").to_numpy(), dtype=np.int64), lines.column("scheme")
        )
    )
    paid_keys = payroll._keys(
        np.asarray(paid_table.column("beneficiary_id").to_numpy(), dtype=np.int64),
        paid_table.column("scheme"),
    )
    _, still = payroll._lookup(now_keys, paid_keys)
    amount = np.asarray(paid_table.column("amount_fen").to_numpy(), dtype=np.int64)
    gone = np.flatnonzero(~still & (amount > 0))
    if len(gone):
        g = paid_table.take(pa.array(gone, pa.int64()))
        g_label = pc.take(
            pa.array([labels[s] for s in payroll.SCHEMES]),
            pc.index_in(g.column("scheme"), value_set=pa.array(payroll.SCHEMES)),
        )
        stopped = pa.table(
            {
                "month": pa.array([str(month)] * len(gone), pa.string()),
                "scheme": g.column("scheme"),
                "beneficiary_id": g.column("beneficiary_id"),
                "household_id": g.column("household_id"),
                "person_id": g.column("person_id"),
                "region_id": g.column("region_id"),
                "district": g.column("district"),
                "paid_fen": g.column("amount_fen"),
                "due_fen": pa.array(np.zeros(len(gone), np.int64)),
                "explanation": _join(
                    f"{month} ",
                    g_label,
                    "：按现行参数不再应发，已发 ",
                    _yuan(amount[gone]),
                    " 元，应核减（不追回）",
                ),
            }
        )
        reductions = pa.concat_tables([reductions, stopped.cast(reductions.schema)])
    return arrears, reductions, computed.timings


def compute(
    directory: Path, seq: int, labels: dict[str, str], *, progress: payroll.Progress = lambda s, p: None
) -> ArrearsComputed:
    """Every owed month of the snapshot: arrears lines (ordered month by month, then as the payroll
    orders a month: district, household, scheme, person) and the reductions listed, not paid."""
    months = owed_months(directory)
    parts, reductions = [], []
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    for i, month in enumerate(months):
        lo, span = 5 + 70 * i // len(months), max(1, 70 // len(months))

        def scaled(stage: str, percent: int, lo: int = lo, span: int = span, month: Period = month) -> None:
            progress(f"{month} {stage}", lo + span * percent // 100)

        lines, reduced, t = compute_month(directory / str(month), month, seq, labels, progress=scaled)
        parts.append(lines.select(_LINE_NAMES).cast(_LINE_TYPES))
        reductions.append(reduced)
        timings[str(month)] = round(sum(t.values()), 3)
    timings["arrears"] = round(time.perf_counter() - clock, 3)
    if not parts:
        raise ValueError("an arrears snapshot without owed months")
    return ArrearsComputed(
        lines=pa.concat_tables(parts),
        reductions=pa.concat_tables(reductions).sort_by(
            [
                ("district", "ascending"),
                ("month", "ascending"),
                ("household_id", "ascending"),
                ("scheme", "ascending"),
            ]
        ),
        timings=timings,
    )
