"""动态复核: the monthly re-check of every recipient household against department data.

    read (DB → Arrow) → match (DuckDB: members × extracts) → figures → verified incomes/assets
    → R1 under each district's window (doudi.policy) → signals + outcomes with evidence (DuckDB)

`compute` is pure (Arrow in, Arrow out) so it can be tested and benchmarked without a database;
services.execute_recheck wraps it with the run record, progress and the write-back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME, WORK_NAMES, Population
from doudi.verification import dataio
from doudi.verification.evaluation import Interval, evaluate_dibao, yuan
from doudi.verification.extracts import connect
from doudi.verification.matching import (
    DEPOSIT_TOLERANCE_FEN,
    INCOME_TOLERANCE_FEN,
    RECHECK_SOURCES,
    ExtractFile,
    figures,
    match,
    verified,
)

Progress = Callable[[str, int], None]

# The department sources whose rows are the evidence of each signal.
EVIDENCE_SOURCES: dict[str, tuple[str, ...]] = {
    "income_up": ("social_insurance", "tax"),
    "income_down": ("social_insurance", "tax"),
    "new_vehicle": ("vehicles",),
    "new_property": ("real_estate",),
    "new_business": ("business",),
    "deposits_up": ("bank_deposits",),
    "death": ("deaths",),
    "hospitalisation": ("hospitalisation",),
    "name_mismatch": tuple(s.value for s in RECHECK_SOURCES),
    "no_consent": (),
}
HOUSEHOLD_SIGNALS = ("income_up", "income_down", "new_vehicle", "new_property", "deposits_up", "no_consent")

OUTCOME_COLUMNS = (
    "run_id", "household_id", "region_id", "last_amount", "computed_amount", "proposed_amount", "decision",
    "change", "deferred", "declared_income_fen", "verified_income_fen", "signal_kinds",
)  # fmt: skip
SIGNAL_COLUMNS = (
    "run_id", "household_id", "region_id", "person_id", "kind", "declared_value", "found_value", "found_date",
    "evidence", "status", "note",
)  # fmt: skip


@dataclass
class Inputs:
    households: pa.Table  # dataio.HOUSEHOLD_SCHEMA, enrolled households
    members: pa.Table  # dataio.MEMBER_SCHEMA, current members of any household
    consents: pa.Table  # household ids with a consent valid on the run's day
    categories: pa.Table  # (person_id, category) held during the month
    villages: pa.Table  # (code, path) of every village/community


@dataclass
class Results:
    outcomes: pa.Table  # OUTCOME_COLUMNS without run_id
    signals: pa.Table  # SIGNAL_COLUMNS without run_id
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
            "members": (dataio.MEMBER_SQL, dataio.MEMBER_SCHEMA),
            "consents": (dataio.consent_sql(month.last_day), dataio.CONSENT_SCHEMA),
            "categories": (dataio.category_sql(month.first_day, month.last_day), dataio.CATEGORY_SCHEMA),
            "villages": (dataio.VILLAGE_SQL, dataio.VILLAGE_SCHEMA),
        }
    )
    return Inputs(**tables)


def compute(
    month: Period,
    inputs: Inputs,
    files: list[ExtractFile],
    params: ParameterSet,
    windows: dict[int, Interval | None],
    *,
    data_dir: Path,
    progress: Progress = lambda stage, percent: None,
) -> Results:
    import time

    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    con = connect(data_dir, memory_limit="1200MB")
    try:
        con.register("in_households", inputs.households)
        con.register("in_members", inputs.members)
        con.register("in_consents", inputs.consents)
        con.register("in_categories", inputs.categories)
        con.register("in_villages", inputs.villages)
        con.execute(
            "CREATE TABLE hh AS SELECT row_number() OVER (ORDER BY household_id) - 1 AS hidx, h.*, "
            "CAST(split_part(v.path, '/', 2) AS BIGINT) AS district "
            "FROM in_households h JOIN in_villages v ON v.code = h.region_id "
            "SEMI JOIN in_consents c USING (household_id)"
        )
        con.execute(
            "CREATE TABLE members AS SELECT row_number() OVER (ORDER BY hh.hidx, m.person_id) - 1 AS pidx, "
            "hh.hidx, m.* FROM in_members m JOIN hh USING (household_id)"
        )
        H = con.execute("SELECT count(*) FROM hh").fetchone()[0]
        P = con.execute("SELECT count(*) FROM members").fetchone()[0]
        lap("prepare")
        progress("matching", 30)

        match(con, files, RECHECK_SOURCES)
        lap("match")
        f = figures(con, P, H, lookback_from=month.shift(-1).first_day, until=month.last_day)
        lap("aggregate")
        progress("evaluating", 55)

        hh = con.execute(
            "SELECT district, area_type = 'urban' AS urban, coalesce(last_amount, 0) * 100 AS last_fen, "
            "deposits_fen, vehicles, houses FROM hh ORDER BY hidx"
        ).fetchnumpy()
        mem = con.execute(
            "SELECT m.hidx, m.person_id, m.birth_date, m.income_wage_fen, m.income_business_fen, "
            "m.income_agricultural_fen, m.income_property_fen, m.income_transfer_fen, "
            f"list_position({_sql_list(WORK_NAMES)}, m.work) - 1 AS work, "
            "m.orphan_care = 'institutional' AS orphan_institutional, "
            "m.covid_confirmed_on, m.covid_discharged_on, m.covid_died_on, coalesce(c.bits, 0) AS categories "
            "FROM members m LEFT JOIN (SELECT person_id, "
            f"bit_or(CAST(1 AS UTINYINT) << CAST(list_position({_sql_list(CATEGORY_NAMES)}, category) - 1 "
            "AS UTINYINT)) AS bits FROM in_categories GROUP BY person_id) c USING (person_id) ORDER BY m.pidx"
        ).fetchnumpy()
        lap("fetch")

        declared = {k: _filled(mem[k]) for k in mem if k.startswith("income_")}
        declared.update({k: _filled(hh[k]) for k in ("deposits_fen", "vehicles", "houses")})
        v = verified(declared, f)
        hidx = _filled(mem["hidx"])
        declared_person = sum(declared[f"income_{k}_fen"] for k in COUNTED_INCOME)
        verified_person = (
            v.wage
            + v.business
            + v.property
            + declared["income_agricultural_fen"]
            + declared["income_transfer_fen"]
        )
        alive = ~(f.died_on < np.datetime64(month.first_day, "D"))
        population = Population(
            household_id=np.arange(H),
            household_district=_filled(hh["district"]),
            household_urban=_filled(hh["urban"]),
            household_enrolled=np.ones(H, dtype=np.bool_),
            household_last_amount_fen=_filled(hh["last_fen"]),
            household_deposits_fen=v.deposits,
            household_vehicles=v.vehicles,
            household_houses=v.houses,
            person_id=_filled(mem["person_id"])[alive],
            person_household=hidx[alive],
            person_birth_date=_dates(mem["birth_date"])[alive],
            person_wage_fen=v.wage[alive],
            person_counted_income_fen=verified_person[alive],
            person_work=np.maximum(_filled(mem["work"]), 0).astype(np.int8)[alive],
            person_categories=_filled(mem["categories"]).astype(np.uint8)[alive],
            person_orphan_institutional=_filled(mem["orphan_institutional"]).astype(np.bool_)[alive],
            person_covid_confirmed_on=_dates(mem["covid_confirmed_on"])[alive],
            person_covid_discharged_on=_dates(mem["covid_discharged_on"])[alive],
            person_covid_died_on=_dates(mem["covid_died_on"])[alive],
        )
        dibao = evaluate_dibao(population, month, params, windows)
        lap("evaluate")
        progress("signals", 75)

        declared_hh = _sum_by(hidx, declared_person, H)
        verified_hh = _sum_by(hidx, verified_person, H)
        last_fen = _filled(hh["last_fen"])
        signals = _signals(f, declared, declared_hh, verified_hh, hidx)
        con.register("sig", signals)
        has_signal = np.zeros(H, dtype=np.bool_)
        has_signal[signals.column("hidx").to_numpy()] = True
        rows = np.flatnonzero((dibao.change != "none") | has_signal)
        con.register(
            "out_hh",
            pa.table(
                {
                    "hidx": rows,
                    "last_amount": yuan(last_fen[rows]),
                    "computed_amount": yuan(dibao.computed_fen[rows]),
                    "proposed_amount": yuan(dibao.amount_fen[rows]),
                    "decision": pa.array(dibao.decision[rows], pa.string()),
                    "change": pa.array(dibao.change[rows], pa.string()),
                    "deferred": dibao.deferred[rows],
                    "declared_income_fen": declared_hh[rows],
                    "verified_income_fen": verified_hh[rows],
                }
            ),
        )
        outcomes = con.sql(
            "SELECT hh.household_id, hh.region_id, o.* EXCLUDE (hidx), coalesce(k.kinds, '') AS signal_kinds "
            "FROM out_hh o JOIN hh USING (hidx) "
            "LEFT JOIN (SELECT hidx, string_agg(DISTINCT kind, ',' ORDER BY kind) AS kinds FROM sig GROUP BY hidx) k "
            "USING (hidx) ORDER BY hh.household_id"
        ).to_arrow_table()
        con.register(
            "kind_src",
            pa.table(
                {
                    "kind": [k for k, srcs in EVIDENCE_SOURCES.items() for _ in srcs],
                    "src": [s for srcs in EVIDENCE_SOURCES.values() for s in srcs],
                }
            ),
        )
        signal_table = con.sql(
            """
            WITH ev AS (
              SELECT s.sid, m.src, m.extract_date, list(m._row ORDER BY m._row) AS rows
              FROM sig s JOIN kind_src k ON k.kind = s.kind
              JOIN matched m ON m.hidx = s.hidx AND m.src = k.src
              WHERE (s.pidx < 0 OR m.pidx = s.pidx) AND (s.kind <> 'name_mismatch' OR m.name_differs)
              GROUP BY s.sid, m.src, m.extract_date),
            evj AS (
              SELECT sid, CAST(to_json(list({'source': src, 'extract_date': CAST(extract_date AS VARCHAR),
                                             'rows': rows} ORDER BY src, extract_date)) AS VARCHAR) AS evidence
              FROM ev GROUP BY sid)
            SELECT hh.household_id, hh.region_id, mem.person_id, s.kind, s.declared_value, s.found_value,
                   s.found_date, coalesce(evj.evidence, '[]') AS evidence, 'open' AS status, '' AS note
            FROM sig s JOIN hh USING (hidx) LEFT JOIN members mem ON mem.pidx = s.pidx
            LEFT JOIN evj USING (sid)
            ORDER BY hh.household_id, s.sid
            """
        ).to_arrow_table()
        no_consent = con.sql(
            "SELECT h.household_id, h.region_id, CAST(NULL AS BIGINT) AS person_id, 'no_consent' AS kind, "
            "CAST(NULL AS BIGINT) AS declared_value, CAST(NULL AS BIGINT) AS found_value, "
            "CAST(NULL AS DATE) AS found_date, '[]' AS evidence, 'open' AS status, '' AS note "
            "FROM in_households h ANTI JOIN in_consents c USING (household_id) ORDER BY h.household_id"
        ).to_arrow_table()
        signal_table = pa.concat_tables([signal_table, no_consent.cast(signal_table.schema)])
        lap("evidence")
        return Results(
            outcomes=outcomes,
            signals=signal_table,
            households=H,
            persons=P,
            skipped_no_consent=no_consent.num_rows,
            deferred=int(dibao.deferred.sum()),
            in_window=bool(dibao.in_window.any()),
            timings=timings,
        )
    finally:
        con.close()


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _filled(values: np.ndarray) -> np.ndarray:
    return values.filled(0) if np.ma.isMaskedArray(values) else np.asarray(values)


def _dates(values: np.ndarray) -> np.ndarray:
    if np.ma.isMaskedArray(values):
        out = values.data.astype("datetime64[D]")
        out[np.ma.getmaskarray(values)] = np.datetime64("NaT")
        return out
    return np.asarray(values, dtype="datetime64[D]")


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-household sums of a member array; members are sorted by household (contiguous runs)."""
    out = np.zeros(n, dtype=np.int64)
    if len(index):
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        out[index[starts]] = np.add.reduceat(values.astype(np.int64), starts)
    return out


def _signals(f, declared, declared_hh, verified_hh, hidx) -> pa.Table:
    """One row per signal: sid, hidx, pidx (-1 for a household signal), kind and its figures."""
    parts: list[dict] = []

    def add(
        kind: str, households: np.ndarray, persons: np.ndarray | None, declared_v, found_v, found_date=None
    ):
        n = len(households)
        if not n:
            return
        parts.append(
            {
                "hidx": households.astype(np.int64),
                "pidx": persons.astype(np.int64) if persons is not None else np.full(n, -1, np.int64),
                "kind": np.full(n, kind, dtype=object),
                "declared_value": declared_v,
                "found_value": found_v,
                "found_date": found_date
                if found_date is not None
                else np.full(n, np.datetime64("NaT"), "M8[D]"),
            }
        )

    up = np.flatnonzero(verified_hh - declared_hh >= INCOME_TOLERANCE_FEN)
    add("income_up", up, None, declared_hh[up], verified_hh[up])
    down = np.flatnonzero(declared_hh - verified_hh >= INCOME_TOLERANCE_FEN)
    add("income_down", down, None, declared_hh[down], verified_hh[down])
    h = np.flatnonzero(f.has_vehicles & (f.vehicles > declared["vehicles"]))
    add("new_vehicle", h, None, declared["vehicles"][h], f.vehicles[h])
    h = np.flatnonzero(f.has_houses & (f.houses > declared["houses"]))
    add("new_property", h, None, declared["houses"][h], f.houses[h])
    h = np.flatnonzero(f.has_deposits & (f.deposits > declared["deposits_fen"] + DEPOSIT_TOLERANCE_FEN))
    add("deposits_up", h, None, declared["deposits_fen"][h], f.deposits[h])
    p = np.flatnonzero((f.active_businesses > 0) & (declared["income_business_fen"] == 0))
    add("new_business", hidx[p], p, declared["income_business_fen"][p], f.active_businesses[p])
    p = np.flatnonzero(~np.isnat(f.died_on))
    add("death", hidx[p], p, np.zeros(len(p), np.int64), np.zeros(len(p), np.int64), f.died_on[p])
    p = np.flatnonzero(~np.isnat(f.hospital_from))
    add(
        "hospitalisation",
        hidx[p],
        p,
        np.zeros(len(p), np.int64),
        np.zeros(len(p), np.int64),
        f.hospital_from[p],
    )
    p = np.flatnonzero(f.name_differs)
    add("name_mismatch", hidx[p], p, np.zeros(len(p), np.int64), np.zeros(len(p), np.int64))

    if not parts:
        columns = {
            "hidx": [],
            "pidx": [],
            "kind": [],
            "declared_value": [],
            "found_value": [],
            "found_date": [],
        }
    else:
        columns = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    table = pa.table(
        {
            "sid": pa.array(np.arange(len(columns["hidx"]), dtype=np.int64)),
            "hidx": pa.array(columns["hidx"], pa.int64()),
            "pidx": pa.array(columns["pidx"], pa.int64()),
            "kind": pa.array(columns["kind"], pa.string()),
            "declared_value": pa.array(columns["declared_value"], pa.int64()),
            "found_value": pa.array(columns["found_value"], pa.int64()),
            "found_date": pa.array(np.asarray(columns["found_date"], "M8[D]"), pa.date32()),
        }
    )
    return table
