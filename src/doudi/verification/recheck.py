"""动态复核: the monthly re-check of every recipient household against department data.

    read (DB → Arrow) → members in household order (numpy) → match (DuckDB: members × extracts, on
    the ID number) → figures → verified incomes/assets → R1 under each district's window
    (doudi.policy) → signals with their evidence rows + the changed households' outcomes (Arrow)

Strings are touched once, in the DuckDB join; everything else is numpy on integer columns, so a
province of a million households fits the 15 s / 2 GB budget (docs/benchmarks.md, P3).
`compute` is pure (Arrow in, Arrow out) so it can be tested and benchmarked without a database;
services.execute_recheck wraps it with the run record, progress and the write-back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME, WORK_NAMES, Population
from doudi.verification import dataio
from doudi.verification.evaluation import CHANGES, DECISIONS, DEFERRED, Interval, evaluate_dibao
from doudi.verification.extracts import connect
from doudi.verification.matching import (
    DEPOSIT_TOLERANCE_FEN,
    INCOME_TOLERANCE_FEN,
    RECHECK_SOURCES,
    SOURCE_CODE,
    ExtractFile,
    figures,
    id_keys,
    match,
    verified,
)
from doudi.verification.sources import Source

Progress = Callable[[str, int], None]

# Signal kinds (models.SignalKind values) and the sources whose rows are the evidence of each.
KINDS = (
    "income_up",
    "income_down",
    "new_vehicle",
    "new_property",
    "deposits_up",
    "new_business",
    "death",
    "hospitalisation",
    "name_mismatch",
    "no_consent",
)
KIND = {k: i for i, k in enumerate(KINDS)}
EVIDENCE_SOURCES: dict[str, tuple[Source, ...]] = {
    "income_up": (Source.SOCIAL_INSURANCE, Source.TAX),
    "income_down": (Source.SOCIAL_INSURANCE, Source.TAX),
    "new_vehicle": (Source.VEHICLES,),
    "new_property": (Source.REAL_ESTATE,),
    "deposits_up": (Source.BANK_DEPOSITS,),
    "new_business": (Source.BUSINESS,),
    "death": (Source.DEATHS,),
    "hospitalisation": (Source.HOSPITALISATION,),
    "name_mismatch": RECHECK_SOURCES,
    "no_consent": (),
}

# The written tables, typed as their database columns (binary COPY needs exact types).
OUTCOME_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("household_id", pa.int64()),
        ("region_id", pa.string()),
        ("last_amount", pa.int32()),
        ("computed_amount", pa.int32()),
        ("proposed_amount", pa.int32()),
        ("decision", pa.string()),
        ("change", pa.string()),
        ("deferred", pa.bool_()),
        ("declared_income_fen", pa.int64()),
        ("verified_income_fen", pa.int64()),
        ("signal_kinds", pa.string()),
    ]
)
SIGNAL_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("household_id", pa.int64()),
        ("region_id", pa.string()),
        ("person_id", pa.int64()),
        ("kind", pa.string()),
        ("declared_value", pa.int64()),
        ("found_value", pa.int64()),
        ("found_date", pa.date32()),
        ("evidence", pa.string()),
        ("status", pa.string()),
        ("note", pa.string()),
    ]
)


@dataclass
class Inputs:
    """What the re-check reads from the database (`prepare` turns it into the arrays `compute` uses)."""

    households: pa.Table  # dataio.HOUSEHOLD_SCHEMA: enrolled households
    memberships: pa.Table  # dataio.MEMBERSHIP_SCHEMA: current members of enrolled households
    persons: pa.Table  # dataio.PERSON_SCHEMA
    consents: pa.Table  # household ids with a consent valid on the run's day
    categories: pa.Table  # (person_id, category) held during the month
    villages: pa.Table  # (code, path) of every village/community


@dataclass
class Results:
    outcomes: pa.Table  # OUTCOME_SCHEMA without run_id: households whose payment would change
    signals: pa.Table  # SIGNAL_SCHEMA without run_id
    households: int = 0
    persons: int = 0
    skipped_no_consent: int = 0
    deferred: int = 0
    in_window: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def read_inputs(month: Period) -> Inputs:
    """Everything the re-check needs from the database, as Arrow (concurrent ADBC reads on PostgreSQL)."""
    tables = dataio.read_tables(
        {
            "households": (dataio.HOUSEHOLD_SQL, dataio.HOUSEHOLD_SCHEMA),
            "memberships": (dataio.MEMBERSHIP_SQL, dataio.MEMBERSHIP_SCHEMA),
            "persons": (dataio.PERSON_SQL, dataio.PERSON_SCHEMA),
            "consents": (dataio.consent_sql(month.last_day), dataio.CONSENT_SCHEMA),
            "categories": (dataio.category_sql(month.first_day, month.last_day), dataio.CATEGORY_SCHEMA),
            "villages": (dataio.VILLAGE_SQL, dataio.VILLAGE_SCHEMA),
        }
    )
    return Inputs(**tables)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _positions(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each key in `sorted_keys`, and whether it is there at all."""
    pos = np.searchsorted(sorted_keys, keys)
    found = pos < len(sorted_keys)
    found[found] = sorted_keys[pos[found]] == keys[found]
    return pos, found


@dataclass
class Frame:
    """Recipient households (consent given) in id order, and their members in household order."""

    household_id: np.ndarray
    region: pa.Array
    district: np.ndarray
    urban: np.ndarray
    last_fen: np.ndarray
    declared: dict[
        str, np.ndarray
    ]  # income_<kind>_fen per member; deposits_fen, vehicles, houses per household
    person_id: np.ndarray
    hidx: np.ndarray
    work: np.ndarray
    categories: np.ndarray
    members: pa.Table  # pidx, hidx, id_key, name: for the join (the name is the only string)
    no_consent_id: np.ndarray  # recipient households without a valid consent
    no_consent_region: pa.Array


def prepare(inputs: Inputs) -> Frame:
    """Recipient households with a consent in id order and their members in household order, as numpy
    arrays (and the members' ID keys and names for the join). The caller should let `inputs` go:
    the people table is the largest input and nothing of it is needed afterwards."""
    hh = inputs.households
    ids = _ints(hh, "household_id")
    consents = np.sort(_ints(inputs.consents, "household_id"))
    _, has_consent = _positions(consents, ids)
    keep = np.flatnonzero(has_consent)
    order = keep[np.argsort(ids[keep], kind="stable")]
    household_id = ids[order]
    region = pc.take(hh.column("region_id"), pa.array(order))
    v_codes = inputs.villages.column("code")
    v_district = np.array(
        [int(p.split("/")[1]) for p in inputs.villages.column("path").to_pylist()], dtype=np.int64
    )  # one per village (~11,000): a Python loop is fine here
    v_index = pc.index_in(region, value_set=v_codes)
    if v_index.null_count:
        raise ValueError("a recipient household is registered in a region that is not a village/community")
    district = v_district[np.asarray(v_index.to_numpy(zero_copy_only=False), dtype=np.int64)]

    m_h, m_p = _ints(inputs.memberships, "household_id"), _ints(inputs.memberships, "person_id")
    pos, found = _positions(household_id, m_h)
    hidx, m_p = pos[found], m_p[found]
    by_household = np.argsort(hidx, kind="stable")
    hidx, m_p = hidx[by_household], m_p[by_household]
    people = inputs.persons
    p_ids = _ints(people, "person_id")
    sorter = None if np.all(p_ids[1:] > p_ids[:-1]) else np.argsort(p_ids, kind="stable")
    at, present = _positions(p_ids if sorter is None else p_ids[sorter], m_p)
    if not present.all():
        raise ValueError(f"membership of unknown person {m_p[~present][0]}")
    person_pos = at if sorter is None else sorter[at]
    take = pa.array(person_pos)
    declared = {f"income_{k}_fen": _ints(people, f"income_{k}_fen")[person_pos] for k in COUNTED_INCOME}
    declared |= {
        "deposits_fen": _ints(hh, "deposits_fen")[order],
        "vehicles": _ints(hh, "vehicles")[order],
        "houses": _ints(hh, "houses")[order],
    }
    work = pc.index_in(people.column("work"), value_set=pa.array(WORK_NAMES))
    work = np.asarray(pc.fill_null(work, 0).to_numpy(), dtype=np.int8)[person_pos]

    categories = np.zeros(len(m_p), dtype=np.uint8)
    c_person = _ints(inputs.categories, "person_id")
    if len(c_person):
        c_bit = pc.index_in(inputs.categories.column("category"), value_set=pa.array(CATEGORY_NAMES))
        c_bit = np.asarray(pc.fill_null(c_bit, 0).to_numpy(), dtype=np.uint8)
        member_sorter = np.argsort(m_p, kind="stable")
        at, known = _positions(m_p[member_sorter], c_person)
        np.bitwise_or.at(categories, member_sorter[at[known]], (np.uint8(1) << c_bit[known]).astype(np.uint8))

    members = pa.table(
        {
            "pidx": pa.array(np.arange(len(m_p), dtype=np.int64)),
            "hidx": pa.array(hidx),
            "id_key": pa.array(id_keys(pc.take(people.column("id_number"), take))),
            "name": pc.take(people.column("name"), take),
        }
    )
    return Frame(
        household_id=household_id,
        region=region.combine_chunks() if isinstance(region, pa.ChunkedArray) else region,
        district=district,
        urban=pc.equal(hh.column("area_type"), "urban").to_numpy(zero_copy_only=False)[order],
        last_fen=_ints(hh, "last_amount")[order] * 100,
        declared=declared,
        person_id=m_p,
        hidx=hidx,
        work=work,
        categories=categories,
        members=members,
        no_consent_id=ids[~has_consent],
        no_consent_region=pc.take(hh.column("region_id"), pa.array(np.flatnonzero(~has_consent))),
    )


def compute(
    month: Period,
    fr: Frame,
    files: list[ExtractFile],
    params: ParameterSet,
    windows: dict[int, Interval | None],
    *,
    data_dir: Path,
    progress: Progress = lambda stage, percent: None,
) -> Results:
    """The month's re-check of the prepared households against the stored extracts: signals (with
    their evidence rows) and, for the households whose payment would change, R1's outcome."""
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    H, P = len(fr.household_id), len(fr.person_id)
    progress("matching", 30)

    # DuckDB is needed only until the signals have their evidence: closing it before the evaluation
    # keeps its join memory and the evaluation's arrays from adding up (the 2 GB budget).
    con = connect(data_dir, memory_limit="800MB")
    try:
        con.register("members", fr.members)
        match(con, files, RECHECK_SOURCES)
        con.unregister("members")
        lap("match")
        f = figures(con, P, H, lookback_from=month.shift(-1).first_day, until=month.last_day)
        lap("aggregate")
        progress("signals", 50)

        d = fr.declared
        v = verified(d, f)
        declared_person = sum(d[f"income_{k}_fen"] for k in COUNTED_INCOME)
        verified_person = (
            v.wage + v.business + v.property + d["income_agricultural_fen"] + d["income_transfer_fen"]
        )
        declared_hh = _sum_by(fr.hidx, declared_person, H)
        verified_hh = _sum_by(fr.hidx, verified_person, H)
        sig = _signals(f, d, declared_hh, verified_hh, fr.hidx)
        signals = _signal_table(fr, sig, _evidence(con, sig, files))
        lap("signals")
    finally:
        con.close()
    pa.default_memory_pool().release_unused()
    progress("evaluating", 70)

    alive = ~(f.died_on < np.datetime64(month.first_day, "D"))
    # R1 reads neither birth dates nor COVID dates (they feed R3/R5, which the re-check does not run).
    no_date = np.full(int(alive.sum()), np.datetime64("NaT"), dtype="datetime64[D]")
    population = Population(
        household_id=fr.household_id,
        household_district=fr.district,
        household_urban=fr.urban,
        household_enrolled=np.ones(H, dtype=np.bool_),
        household_last_amount_fen=fr.last_fen,
        household_deposits_fen=v.deposits,
        household_vehicles=v.vehicles,
        household_houses=v.houses,
        person_id=fr.person_id[alive],
        person_household=fr.hidx[alive],
        person_birth_date=no_date,
        person_wage_fen=v.wage[alive],
        person_counted_income_fen=verified_person[alive],
        person_work=fr.work[alive],
        person_categories=fr.categories[alive],
        person_orphan_institutional=np.zeros(len(no_date), dtype=np.bool_),
        person_covid_confirmed_on=no_date,  # one array shared by the four date columns
        person_covid_discharged_on=no_date,
        person_covid_died_on=no_date,
    )
    dibao = evaluate_dibao(population, month, params, windows)
    del population
    changed = np.flatnonzero(dibao.change != CHANGES.index("none"))
    outcomes = _outcome_table(fr, dibao, changed, declared_hh, verified_hh, sig)
    lap("evaluate")
    return Results(
        outcomes=outcomes,
        signals=signals,
        households=H,
        persons=P,
        skipped_no_consent=len(fr.no_consent_id),
        deferred=int(DEFERRED[dibao.decision].sum()),
        in_window=bool(dibao.in_window.any()),
        timings=timings,
    )


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-household sums of a member array; members are sorted by household (contiguous runs)."""
    out = np.zeros(n, dtype=np.int64)
    if len(index):
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        out[index[starts]] = np.add.reduceat(values.astype(np.int64), starts)
    return out


@dataclass
class _Signals:
    hidx: np.ndarray
    pidx: np.ndarray  # -1 for a household signal
    kind: np.ndarray  # codes of KINDS
    declared: np.ndarray
    found: np.ndarray
    found_date: np.ndarray


def _signals(f, d, declared_hh, verified_hh, hidx) -> _Signals:
    parts: list[tuple] = []

    def add(kind, households, persons=None, declared=None, found=None, found_date=None):
        n = len(households)
        if n:
            zeros = np.zeros(n, np.int64)
            parts.append(
                (
                    households,
                    persons if persons is not None else np.full(n, -1, np.int64),
                    np.full(n, KIND[kind], np.int8),
                    declared if declared is not None else zeros,
                    found if found is not None else zeros,
                    found_date if found_date is not None else np.full(n, np.datetime64("NaT"), "M8[D]"),
                )
            )

    h = np.flatnonzero(verified_hh - declared_hh >= INCOME_TOLERANCE_FEN)
    add("income_up", h, declared=declared_hh[h], found=verified_hh[h])
    h = np.flatnonzero(declared_hh - verified_hh >= INCOME_TOLERANCE_FEN)
    add("income_down", h, declared=declared_hh[h], found=verified_hh[h])
    h = np.flatnonzero(f.has_vehicles & (f.vehicles > d["vehicles"]))
    add("new_vehicle", h, declared=d["vehicles"][h], found=f.vehicles[h])
    h = np.flatnonzero(f.has_houses & (f.houses > d["houses"]))
    add("new_property", h, declared=d["houses"][h], found=f.houses[h])
    h = np.flatnonzero(f.has_deposits & (f.deposits > d["deposits_fen"] + DEPOSIT_TOLERANCE_FEN))
    add("deposits_up", h, declared=d["deposits_fen"][h], found=f.deposits[h])
    p = np.flatnonzero((f.active_businesses > 0) & (d["income_business_fen"] == 0))
    add("new_business", hidx[p], p, declared=d["income_business_fen"][p], found=f.active_businesses[p])
    p = np.flatnonzero(~np.isnat(f.died_on))
    add("death", hidx[p], p, found_date=f.died_on[p])
    p = np.flatnonzero(~np.isnat(f.hospital_from))
    add("hospitalisation", hidx[p], p, found_date=f.hospital_from[p])
    p = np.flatnonzero(f.name_differs)
    add("name_mismatch", hidx[p], p)
    if not parts:
        empty = np.zeros(0, np.int64)
        return _Signals(empty, empty, np.zeros(0, np.int8), empty, empty, np.zeros(0, "M8[D]"))
    columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.lexsort((columns[2], columns[1], columns[0]))  # by household, member, kind
    return _Signals(*(c[order] for c in columns))


def _evidence(con, sig: _Signals, files: list[ExtractFile]) -> pa.Array:
    """Per signal, JSON text of the rows behind it: [{"source", "extract_date", "rows": [...]}, …]."""
    n = len(sig.hidx)
    con.register(
        "sig",
        pa.table(
            {
                "sid": np.arange(n),
                "hidx": sig.hidx.astype(np.int32),
                "pidx": sig.pidx.astype(np.int32),
                "kind": sig.kind.astype(np.int8),
            }
        ),
    )
    con.register(
        "kind_src",
        pa.table(
            {
                "kind": pa.array([KIND[k] for k, srcs in EVIDENCE_SOURCES.items() for _ in srcs], pa.int8()),
                "src": pa.array(
                    [SOURCE_CODE[s] for srcs in EVIDENCE_SOURCES.values() for s in srcs], pa.uint8()
                ),
            }
        ),
    )
    con.register(
        "files",
        pa.table(
            {
                "file": pa.array(range(len(files)), pa.uint16()),
                "label": [
                    f'{{"source":"{f.source.value}","extract_date":"{f.extract_date.isoformat()}","rows":['
                    for f in files
                ],
            }
        ),
    )
    found = con.sql(
        f"""
        WITH ev AS (
          SELECT s.sid, m.file, string_agg(CAST(m._row AS VARCHAR), ',' ORDER BY m._row) AS rows
          FROM sig s JOIN kind_src k ON k.kind = s.kind JOIN matched m ON m.hidx = s.hidx AND m.src = k.src
          WHERE (s.pidx < 0 OR m.pidx = s.pidx) AND (s.kind <> {KIND["name_mismatch"]} OR m.name_differs)
          GROUP BY s.sid, m.file)
        SELECT ev.sid, '[' || string_agg(f.label || ev.rows || ']}}', ',' ORDER BY ev.file) || ']' AS evidence
        FROM ev JOIN files f USING (file) GROUP BY ev.sid ORDER BY ev.sid
        """
    ).to_arrow_table()
    for name in ("sig", "kind_src", "files"):
        con.unregister(name)
    sids = found.column("sid").to_numpy()
    if len(sids) == n:
        return found.column("evidence").combine_chunks()
    slot = np.full(n, -1, np.int64)
    slot[sids] = np.arange(len(sids))
    values = pc.take(found.column("evidence"), pa.array(slot, mask=slot < 0))
    return pc.fill_null(values, "[]").combine_chunks()


def _signal_table(fr: Frame, sig: _Signals, evidence: pa.Array) -> pa.Table:
    n = len(sig.hidx)
    person_ids = fr.person_id[np.maximum(sig.pidx, 0)] if len(fr.person_id) else np.zeros(n, np.int64)
    person = pa.array(person_ids, mask=sig.pidx < 0)
    table = pa.table(
        {
            "household_id": pa.array(fr.household_id[sig.hidx]),
            "region_id": pc.take(fr.region, pa.array(sig.hidx)),
            "person_id": person,
            "kind": pc.take(pa.array(KINDS), pa.array(sig.kind.astype(np.int64))),
            "declared_value": pa.array(sig.declared),
            "found_value": pa.array(sig.found),
            "found_date": pa.array(sig.found_date, pa.date32()),
            "evidence": evidence,
            "status": pa.array(np.full(n, "open", dtype=object), pa.string()),
            "note": pa.array(np.full(n, "", dtype=object), pa.string()),
        }
    )
    m = len(fr.no_consent_id)
    if m:
        no_consent = pa.table(
            {
                "household_id": pa.array(fr.no_consent_id),
                "region_id": fr.no_consent_region,
                "person_id": pa.nulls(m, pa.int64()),
                "kind": pa.array(["no_consent"] * m),
                "declared_value": pa.array(np.zeros(m, np.int64)),
                "found_value": pa.array(np.zeros(m, np.int64)),
                "found_date": pa.nulls(m, pa.date32()),
                "evidence": pa.array(["[]"] * m),
                "status": pa.array(["open"] * m),
                "note": pa.array([""] * m),
            }
        )
        table = pa.concat_tables([table, no_consent.cast(table.schema)])
    return table


def _outcome_table(fr: Frame, dibao, rows: np.ndarray, declared_hh, verified_hh, sig: _Signals) -> pa.Table:
    # The signal kinds of each household, in KINDS order, as "income_up,death".
    kinds = np.zeros(len(fr.household_id), dtype=np.int64)
    np.bitwise_or.at(kinds, sig.hidx, np.int64(1) << sig.kind.astype(np.int64))
    masks = kinds[rows]
    distinct = np.unique(masks)  # a few hundred combinations at most: named one by one
    labels = pa.array([",".join(k for i, k in enumerate(KINDS) if m >> i & 1) for m in distinct], pa.string())
    kind_text = pc.take(labels, pa.array(np.searchsorted(distinct, masks)))

    return pa.table(
        {
            "household_id": pa.array(fr.household_id[rows]),
            "region_id": pc.take(fr.region, pa.array(rows)),
            "last_amount": pa.array(fr.last_fen[rows] // 100),
            "computed_amount": pa.array(dibao.computed_fen[rows] // 100),
            "proposed_amount": pa.array(dibao.amount_fen[rows] // 100),
            "decision": pc.take(pa.array(DECISIONS), pa.array(dibao.decision[rows].astype(np.int64))),
            "change": pc.take(pa.array(CHANGES), pa.array(dibao.change[rows].astype(np.int64))),
            "deferred": pa.array(DEFERRED[dibao.decision[rows]]),
            "declared_income_fen": pa.array(declared_hh[rows]),
            "verified_income_fen": pa.array(verified_hh[rows]),
            "signal_kinds": kind_text,
        }
    )
